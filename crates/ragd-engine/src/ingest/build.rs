//! Build (ragd): the `REINDEX` of an asset with a building generation chunks and embeds the
//! documents' stored texts with the new settings into that generation's index, beside the serving
//! one (through the embedding cache, in batches, with a checkpoint after each), then swaps it in
//! with one transaction. Failed or cancelled, it is discarded; the serving generation is never
//! touched, so a search sees the old index or the new one, never a mix.

use super::batcher::Batcher;
use super::fetch::{Prepared, chunk_text};
use super::plan::Plan;
use crate::worker::{Job, JobError};
use ragd_core::domain::{Chunk, Document, DocumentStatus, DocumentText, Generation, Outcome};
use ragd_core::time::now_ms;
use std::collections::HashMap;
use uuid::Uuid;

/// Stored texts read per round.
const TEXTS_PER_ROUND: u32 = 64;

/// Fills `generation` and swaps it in; discards it if the run fails or is cancelled (a lost
/// lease or a storage error leaves it to the attempt that retries).
pub(super) async fn build(
    job: &Job,
    plan: &Plan,
    generation: &Generation,
) -> Result<Outcome, JobError> {
    let outcome = fill(job, plan, generation).await;
    let keep = matches!(
        outcome,
        Ok(Outcome::Completed { .. }) | Err(JobError::LeaseLost | JobError::Store(_))
    );
    if !keep {
        let asset = &job.claim.asset;
        job.store
            .generation_discard(&asset.tenant, asset.id, generation.index)
            .await?;
    }
    outcome
}

async fn fill(job: &Job, plan: &Plan, generation: &Generation) -> Result<Outcome, JobError> {
    let (asset, lease) = (&job.claim.asset, &job.claim.lease);
    let documents: HashMap<Uuid, Document> = job
        .store
        .document_list(&lease.tenant, asset.id)
        .await?
        .into_iter()
        .filter(|d| d.status == DocumentStatus::Indexed)
        .map(|d| (d.id, d))
        .collect();
    job.update(|c| c.items_total = documents.len() as i64);
    job.checkpoint().await?;
    let mut batcher = Batcher::new(job, &plan.models, &plan.stages);
    batcher.building = Some((generation.index, Vec::new()));
    let mut after = None;
    loop {
        let round = job
            .store
            .document_texts(&lease.tenant, asset.id, after, TEXTS_PER_ROUND)
            .await?;
        let Some((last, _)) = round.last() else {
            break;
        };
        after = Some(*last);
        for (id, text) in round {
            let Some(record) = documents.get(&id) else {
                continue;
            };
            let prepared = prepare(plan, generation.index, record.clone(), text).await?;
            batcher.add(prepared).await?;
            while batcher.full() {
                if let Some(outcome) = batcher.embed_pool().await? {
                    return Ok(outcome);
                }
            }
        }
    }
    while !batcher.queue.is_empty() {
        if let Some(outcome) = batcher.embed_pool().await? {
            return Ok(outcome);
        }
    }
    batcher.write_ready().await?;
    let counts = batcher.building.take().map(|(_, c)| c).unwrap_or_default();
    if !job.store.generation_swap(lease, &counts, now_ms()).await? {
        return Err(JobError::LeaseLost);
    }
    Ok(Outcome::Completed {
        error_message: None,
    })
}

/// A document's stored text chunked with the generation's settings, off the async runtime; its
/// chunks get ids of the generation (a chunk of the same text and place in the serving one
/// keeps its own).
async fn prepare(
    plan: &Plan,
    index: Uuid,
    record: Document,
    text: DocumentText,
) -> Result<Prepared, JobError> {
    let (sizer, chunking) = (plan.models.sizer.clone(), plan.chunking);
    let id = record.id;
    let chunked = tokio::task::spawn_blocking(move || {
        chunk_text(&text, id, &sizer, chunking).map(|(chunks, inputs)| (chunks, inputs, text))
    })
    .await
    .map_err(|_| JobError::Source("a stored text could not be chunked".to_owned()))?;
    let (mut chunks, inputs, text) = chunked.map_err(JobError::Source)?;
    let scope = Uuid::new_v5(&index, id.as_bytes());
    for c in &mut chunks {
        c.id = Chunk::id_for(scope, &c.text_hash, c.chunk_index);
    }
    Ok(Prepared {
        record,
        chunks,
        inputs,
        text,
    })
}
