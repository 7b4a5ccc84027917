//! Process: the documents are fetched ahead (see `fetch`) in one future and taken in the
//! listing's order in another, in this task: a remote source's round trips and the parsing of the
//! next documents overlap the embedding of the ones before them.

use super::batcher::{Batcher, PARTIAL_BATCH_WAIT};
use super::fetch::{Fetched, Step, fetch_ahead, new_record};
use super::plan::Plan;
use crate::sources::{Context, Source, SourceDoc};
use crate::worker::{Job, JobError};
use futures::StreamExt;
use ragd_core::domain::{Document, DocumentStatus, Outcome};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What processing leaves for the finish: the end, if a budget or the model stopped the run, the
/// source keys seen, and the documents that failed with why.
pub(super) struct Processed {
    pub(super) stopped: Option<Outcome>,
    pub(super) present: HashSet<String>,
    pub(super) failures: Vec<(String, String)>,
}

/// Fetches up to `fetch_ahead` documents ahead of the one being indexed and indexes them all.
pub(super) async fn index(
    cx: &Context<'_>,
    source: &dyn Source,
    plan: &Plan,
    docs: Vec<SourceDoc>,
    fetch_ahead: usize,
) -> Result<Processed, JobError> {
    // A document holds a permit from before its fetch until the batcher has it: at most
    // `fetch_ahead` are fetched or parsed (or being so) beyond the one being taken.
    let window = fetch_ahead + 1;
    let (tx, mut rx) = mpsc::channel::<Fetched>(window);
    let (mut present, mut failures) = (HashSet::new(), Vec::new());
    let consume = consume(cx.job, plan, &mut rx, &mut present, &mut failures);
    let produce = produce(cx, source, plan, docs, window, tx);
    let stopped =
        match futures::future::select(std::pin::pin!(consume), std::pin::pin!(produce)).await {
            futures::future::Either::Left((r, _)) => r?,
            futures::future::Either::Right(((), consume)) => consume.await?,
        };
    Ok(Processed {
        stopped,
        present,
        failures,
    })
}

/// Fetches the documents in the listing's order, `window` at a time, and sends them on.
async fn produce(
    cx: &Context<'_>,
    source: &dyn Source,
    plan: &Plan,
    docs: Vec<SourceDoc>,
    window: usize,
    tx: mpsc::Sender<Fetched>,
) {
    // `buffered` first polls its futures in the listing's order and tokio's semaphore grants
    // permits in the order they were asked for, so a later document never holds the permit an
    // earlier one waits for.
    let permits = Arc::new(tokio::sync::Semaphore::new(window));
    let mut fetched = futures::stream::iter(docs)
        .map(|doc| fetch_ahead(cx, source, plan, doc, permits.clone()))
        .buffered(window);
    while let Some(item) = fetched.next().await {
        if tx.send(item).await.is_err() {
            return;
        }
    }
}

/// Takes the fetched documents in order; `Some` is the operation's end (a budget, the model).
async fn consume(
    job: &Job,
    plan: &Plan,
    rx: &mut mpsc::Receiver<Fetched>,
    present: &mut HashSet<String>,
    failures: &mut Vec<(String, String)>,
) -> Result<Option<Outcome>, JobError> {
    let mut batcher = Batcher::new(job, &plan.models, &plan.stages);
    loop {
        while batcher.full() {
            if let Some(outcome) = batcher.embed_pool().await? {
                return Ok(Some(outcome));
            }
        }
        // A partial pool waits a little for the next document's chunks.
        let next = if batcher.queue.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(PARTIAL_BATCH_WAIT, rx.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    if let Some(outcome) = batcher.embed_pool().await? {
                        return Ok(Some(outcome));
                    }
                    continue;
                }
            }
        };
        let Some((doc, step, _held)) = next else {
            break;
        };
        present.insert(doc.key.clone());
        take(job, plan, &mut batcher, &doc, step, failures).await?;
    }
    while !batcher.queue.is_empty() {
        if let Some(outcome) = batcher.embed_pool().await? {
            return Ok(Some(outcome));
        }
    }
    batcher.write_ready().await?;
    Ok(None)
}

/// Takes one document's step: counts a skip, stores a failure alone, or hands new chunks to the
/// batcher.
async fn take(
    job: &Job,
    plan: &Plan,
    batcher: &mut Batcher<'_>,
    doc: &SourceDoc,
    step: Step,
    failures: &mut Vec<(String, String)>,
) -> Result<(), JobError> {
    let (op, asset, lease) = (&job.claim.operation, &job.claim.asset, &job.claim.lease);
    let previous = plan.stored.get(&doc.key);
    let failed = match step {
        Step::Unchanged => {
            match previous {
                Some(p) if p.operation_id == op.id => own_earlier_work(job, p),
                Some(p) => skip_unchanged(job, p),
                None => failures.push((
                    doc.file_name.clone(),
                    "the source reported no change to a document ragd does not have".to_owned(),
                )),
            }
            None
        }
        Step::Own => {
            own_earlier_work(job, previous.expect("stored"));
            None
        }
        Step::Skip => {
            skip_unchanged(job, previous.expect("stored"));
            None
        }
        Step::Failed(reason) => {
            // A version indexed before stays searchable; the failure is reported.
            let keep = previous.is_some_and(|p| p.status == DocumentStatus::Indexed);
            let record = (!keep).then(|| new_record(asset.id, op.id, doc, previous));
            Some((record, reason))
        }
        Step::Index(prepared) => match *prepared {
            Ok(prepared) => return batcher.add(prepared).await,
            Err((record, reason)) => Some((Some(record), reason)),
        },
    };
    if let Some((record, reason)) = failed {
        if let Some(mut record) = record {
            record.status = DocumentStatus::Failed;
            record.error_message = Some(reason.clone());
            if !job
                .store
                .document_replace(lease, &record, &[], None)
                .await?
            {
                return Err(JobError::LeaseLost);
            }
        }
        failures.push((doc.file_name.clone(), reason.clone()));
        job.update(|c| {
            c.items_failed += 1;
            c.items_processed += 1;
        });
    }
    job.checkpoint().await
}

/// Counts a document an earlier attempt of this very operation wrote as this operation's work.
fn own_earlier_work(job: &Job, p: &Document) {
    job.update(|c| {
        c.items_processed += 1;
        c.token_count += p.token_count;
        c.chunk_count += p.chunk_count;
        c.items_failed += i64::from(p.status == DocumentStatus::Failed);
    });
}

fn skip_unchanged(job: &Job, p: &Document) {
    job.update(|c| {
        c.items_processed += 1;
        c.items_skipped += 1;
        c.tokens_saved += p.token_count;
    });
}
