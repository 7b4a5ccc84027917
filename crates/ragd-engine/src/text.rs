//! The executor for inline `TEXT` sources: discover the documents given in the asset's
//! parameters, diff them against what is stored by content hash, write new and changed ones,
//! and remove vanished ones after a complete traversal.
//!
//! Until the chunking and embedding pipeline lands, a document is "indexed" when its record and
//! content hash are stored; it has no chunks and costs no tokens yet.

use crate::worker::{Executor, Job, JobError};
use ragd_core::model::{Document, DocumentStatus, OperationType, Outcome, content_hash};
use ragd_core::time::now_ms;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub struct InlineTextExecutor;

struct InlineDocument<'a> {
    name: &'a str,
    text: &'a str,
    content_type: &'a str,
}

fn inline_documents(params: &serde_json::Map<String, Value>) -> Vec<InlineDocument<'_>> {
    params
        .get("documents")
        .and_then(Value::as_array)
        .map(|docs| {
            docs.iter()
                .filter_map(|d| {
                    Some(InlineDocument {
                        name: d.get("name")?.as_str()?,
                        text: d.get("text")?.as_str()?,
                        content_type: d.get("contentType").and_then(Value::as_str).unwrap_or("text/plain"),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a document can be indexed; the reason is shown to the user when it cannot.
fn check(doc: &InlineDocument<'_>) -> Result<(), String> {
    if doc.text.trim().is_empty() {
        return Err("the document has no text".to_owned());
    }
    Ok(())
}

#[async_trait::async_trait]
impl Executor for InlineTextExecutor {
    async fn run(&self, job: &Job) -> Result<Outcome, JobError> {
        let (op, asset, lease) = (&job.claim.operation, &job.claim.asset, &job.claim.lease);
        let force = op.force || op.op_type == OperationType::Reindex;
        let targeted: HashSet<_> = op.document_ids.iter().copied().collect();

        // Discover.
        let source = inline_documents(&asset.parameters);
        let selected: Vec<_> =
            source.iter().filter(|d| targeted.is_empty() || targeted.contains(&Document::id_for(asset.id, d.name))).collect();
        let stored: HashMap<String, Document> =
            job.store.document_list(&lease.tenant, asset.id).await?.into_iter().map(|d| (d.source_key.clone(), d)).collect();
        job.update(|c| c.items_total = selected.len() as i64);
        job.checkpoint().await?;

        // Process each document.
        let mut failures = Vec::new();
        for doc in selected {
            let hash = content_hash(doc.text.as_bytes());
            let previous = stored.get(doc.name);
            match previous {
                // Written by an earlier attempt of this very operation: count it as this operation's work.
                Some(p) if p.operation_id == op.id && p.content_hash == hash => job.update(|c| {
                    c.items_processed += 1;
                    c.token_count += p.token_count;
                    c.chunk_count += p.chunk_count;
                    if p.status == DocumentStatus::Failed {
                        c.items_failed += 1;
                    }
                }),
                Some(p) if !force && p.content_hash == hash && p.status == DocumentStatus::Indexed => job.update(|c| {
                    c.items_processed += 1;
                    c.items_skipped += 1;
                    c.tokens_saved += p.token_count;
                }),
                _ => {
                    let now = now_ms();
                    let verdict = check(doc);
                    let record = Document {
                        id: Document::id_for(asset.id, doc.name),
                        asset_id: asset.id,
                        source_key: doc.name.to_owned(),
                        file_name: doc.name.to_owned(),
                        content_type: doc.content_type.to_owned(),
                        source_url: None,
                        file_size: doc.text.len() as i64,
                        content_hash: hash,
                        chunk_count: 0,
                        token_count: 0,
                        status: if verdict.is_ok() { DocumentStatus::Indexed } else { DocumentStatus::Failed },
                        error_message: verdict.as_ref().err().cloned(),
                        operation_id: op.id,
                        created_at: previous.map_or(now, |p| p.created_at),
                        modified_at: now,
                        processed_at: Some(now),
                    };
                    if !job.store.document_put(lease, &record).await? {
                        return Err(JobError::LeaseLost);
                    }
                    if let Err(reason) = verdict {
                        failures.push(format!("{}: {reason}", doc.name));
                    }
                    job.update(|c| {
                        c.items_processed += 1;
                        c.items_failed += i64::from(record.status == DocumentStatus::Failed);
                    });
                }
            }
            job.checkpoint().await?;
        }

        // Remove what vanished from the source, only after a complete, untargeted traversal.
        if targeted.is_empty() {
            let present: HashSet<&str> = source.iter().map(|d| d.name).collect();
            let vanished: Vec<_> = stored.values().filter(|d| !present.contains(d.source_key.as_str())).map(|d| d.id).collect();
            if !vanished.is_empty() && !job.store.document_delete(lease, &vanished).await? {
                return Err(JobError::LeaseLost);
            }
        }

        let c = job.counters();
        Ok(summarise(c.items_total, &failures))
    }
}

/// The operation fails when every document failed; otherwise it completes and names the failures.
fn summarise(total: i64, failures: &[String]) -> Outcome {
    if failures.is_empty() {
        return Outcome::Completed { error_message: None };
    }
    const SHOWN: usize = 5;
    let mut message = format!("{} of {} documents failed: {}", failures.len(), total, failures[..failures.len().min(SHOWN)].join("; "));
    if failures.len() > SHOWN {
        message.push_str(&format!("; and {} more", failures.len() - SHOWN));
    }
    if failures.len() as i64 == total {
        Outcome::Failed { error_message: message }
    } else {
        Outcome::Completed { error_message: Some(message) }
    }
}
