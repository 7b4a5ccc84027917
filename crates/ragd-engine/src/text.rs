//! The ingestion executor for inline `TEXT` sources: discover the documents given in the asset's
//! parameters, diff them against what is indexed by content hash, and for each new or changed
//! document chunk it by the model's tokens, embed the chunks (the embedding cache first, then the
//! model in batches, with a checkpoint after each batch), and replace its chunks atomically.
//! Documents that vanished from the source are removed after a complete, untargeted traversal.

use crate::models::ModelRegistry;
use crate::worker::{Executor, Job, JobError};
use ragd_core::embed::Embedder;
use ragd_core::model::{Chunk, Document, DocumentStatus, OperationType, Outcome, content_hash};
use ragd_core::time::now_ms;
use ragd_pipeline::{Sizer, chunk_document};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Chunks embedded per model call: also the most work a cancel waits for.
pub const EMBED_BATCH: usize = 32;

pub struct InlineTextExecutor {
    pub models: Arc<dyn ModelRegistry>,
}

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

/// What the asset may still spend, per budget: `(name, limit, tokens left before this operation)`.
/// Cost budgets are converted to tokens with the model's price. Enforced before every batch.
struct Budget {
    limits: Vec<(String, i64)>,
}

impl Budget {
    fn new(asset: &ragd_core::model::Asset, stats: &ragd_core::model::AssetStats, price: f64) -> Self {
        let (t, c) = (asset.budget.tokens, asset.budget.costs);
        let mut limits = Vec::new();
        let mut add = |name: &str, limit: Option<i64>, used: i64| {
            if let Some(limit) = limit {
                limits.push((format!("{name} of {limit} tokens (used {used})"), limit - used));
            }
        };
        add("tokenBudget", t.total, stats.total_tokens);
        add("monthlyTokenBudget", t.monthly, stats.monthly_tokens);
        add("dailyTokenBudget", t.daily, stats.daily_tokens);
        if price > 0.0 {
            let tokens = |usd: Option<f64>| usd.map(|u| (u * 1e6 / price).floor() as i64);
            add("costBudget", tokens(c.total), stats.total_tokens);
            add("monthlyCostBudget", tokens(c.monthly), stats.monthly_tokens);
            add("dailyCostBudget", tokens(c.daily), stats.daily_tokens);
        }
        Budget { limits }
    }

    /// The budget a batch of `batch` tokens would cross, after `spent` by this operation.
    fn crossed(&self, spent: i64, batch: i64) -> Option<&str> {
        self.limits.iter().find(|(_, left)| spent + batch > *left).map(|(name, _)| name.as_str())
    }
}

/// Why an indexing attempt of one document stopped.
enum DocError {
    /// The document cannot be indexed; it fails alone.
    Document(String),
    /// The embedding model failed after its retries; the operation fails, keeping what it wrote.
    Embedding(String),
    /// The next batch would cross a budget; the operation fails, keeping what it wrote.
    Budget(String),
    Job(JobError),
}

impl From<JobError> for DocError {
    fn from(e: JobError) -> Self {
        DocError::Job(e)
    }
}

impl From<ragd_core::Error> for DocError {
    fn from(e: ragd_core::Error) -> Self {
        DocError::Job(JobError::Store(e))
    }
}

struct Models {
    embedder: Arc<dyn Embedder>,
    sizer: Sizer,
    /// `provider/model`: the embedding cache's key.
    key: String,
    budget: Budget,
}

/// Chunks a document off the async runtime; a panic in a parser fails that document only.
async fn chunks_of(doc: &InlineDocument<'_>, sizer: &Sizer, size: usize, overlap: usize) -> Result<Vec<ragd_pipeline::ChunkDraft>, String> {
    let (text, markdown, sizer) = (doc.text.to_owned(), doc.content_type == "text/markdown", sizer.clone());
    tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chunk_document(&text, markdown, &sizer, size, overlap)))
            .unwrap_or_else(|_| Err("the document could not be split into chunks".to_owned()))
    })
    .await
    .unwrap_or_else(|_| Err("the document could not be split into chunks".to_owned()))
}

impl InlineTextExecutor {
    /// Chunks and embeds one document, then writes it with its chunks in one transaction.
    async fn index(&self, job: &Job, m: &Models, doc: &InlineDocument<'_>, record: &mut Document) -> Result<(), DocError> {
        let (asset, lease) = (&job.claim.asset, &job.claim.lease);
        if doc.text.trim().is_empty() {
            return Err(DocError::Document("the document has no text".to_owned()));
        }
        let spec = &asset.embedding;
        let drafts = chunks_of(doc, &m.sizer, spec.chunk_size as usize, spec.chunk_overlap as usize).await.map_err(DocError::Document)?;
        let contexts: Vec<String> = drafts
            .iter()
            .map(|d| if d.heading_path.is_empty() { doc.name.to_owned() } else { format!("{} > {}", doc.name, d.heading_path) })
            .collect();
        let inputs: Vec<String> = drafts.iter().zip(&contexts).map(|(d, c)| format!("{c}\n\n{}", d.content)).collect();
        let hashes: Vec<String> = inputs.iter().map(|t| content_hash(t.as_bytes())).collect();

        // The cache first: identical text embedded with this model is never paid for twice.
        let mut known: HashMap<String, (Vec<f32>, i64)> = job.store.embedding_cache_get(&lease.tenant, &m.key, &hashes).await?;
        let saved: i64 = hashes.iter().filter_map(|h| known.get(h)).map(|(_, t)| t).sum();
        job.update(|c| c.tokens_saved += saved);
        let mut missing: Vec<usize> = Vec::new();
        let mut queued = HashSet::new();
        for (i, h) in hashes.iter().enumerate() {
            if !known.contains_key(h) && queued.insert(h) {
                missing.push(i);
            }
        }
        for batch in missing.chunks(EMBED_BATCH) {
            let texts: Vec<String> = batch.iter().map(|&i| inputs[i].clone()).collect();
            if !m.budget.limits.is_empty() {
                let mut tokens = 0i64;
                for t in &texts {
                    tokens += m.embedder.count_tokens(t).await.map_err(|e| DocError::Embedding(e.to_string()))? as i64;
                }
                if let Some(name) = m.budget.crossed(job.counters().token_count, tokens) {
                    return Err(DocError::Budget(format!("the next batch of {tokens} tokens would exceed the {name}")));
                }
            }
            let out = m.embedder.embed(texts).await.map_err(|e| {
                DocError::Embedding(match e {
                    ragd_core::Error::Upstream(s) | ragd_core::Error::Unavailable(s) => s,
                    other => {
                        tracing::error!(error = %other, "embedding failed");
                        "the embedding model failed".to_owned()
                    }
                })
            })?;
            let entries: Vec<(String, Vec<f32>, i64)> =
                batch.iter().zip(out.vectors).zip(&out.token_counts).map(|((&i, v), &t)| (hashes[i].clone(), v, t as i64)).collect();
            job.store.embedding_cache_put(&lease.tenant, &m.key, &entries).await?;
            job.update(|c| c.token_count += out.token_counts.iter().sum::<usize>() as i64);
            for (h, v, t) in entries {
                known.insert(h, (v, t));
            }
            job.checkpoint().await?;
        }

        let chunks: Vec<Chunk> = drafts
            .into_iter()
            .zip(contexts)
            .zip(&hashes)
            .map(|((d, context_text), h)| Chunk {
                id: Chunk::id_for(record.id, h, d.index as i64),
                document_id: record.id,
                chunk_index: d.index as i64,
                content: d.content,
                context_text,
                heading_path: d.heading_path,
                page_number: None,
                start_char: d.start_char as i64,
                end_char: d.end_char as i64,
                start_line: d.start_line as i64,
                end_line: d.end_line as i64,
                token_count: d.token_count as i64,
                text_hash: h.clone(),
                embedding: known[h].0.clone(),
            })
            .collect();
        record.chunk_count = chunks.len() as i64;
        record.token_count = hashes.iter().map(|h| known[h].1).sum();
        record.status = DocumentStatus::Indexed;
        if !job.store.document_replace(lease, record, &chunks).await? {
            return Err(DocError::Job(JobError::LeaseLost));
        }
        job.update(|c| c.chunk_count += record.chunk_count);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Executor for InlineTextExecutor {
    async fn run(&self, job: &Job) -> Result<Outcome, JobError> {
        let (op, asset, lease) = (&job.claim.operation, &job.claim.asset, &job.claim.lease);
        let (today, month) = ragd_core::time::day_and_month_start(now_ms());
        let windows = ragd_core::model::UsageWindows { day_start: today, month_start: month };
        let stats = job.store.asset_get(&lease.tenant, asset.id, windows).await?.map(|v| v.stats).unwrap_or_default();
        let budget = Budget::new(asset, &stats, self.models.price(&asset.embedding));
        let models = match (self.models.embedder(&asset.embedding), self.models.sizer(&asset.embedding)) {
            (Ok(embedder), Ok(sizer)) => {
                Models { embedder, sizer, key: format!("{}/{}", asset.embedding.provider, asset.embedding.model), budget }
            }
            (Err(e), _) | (_, Err(e)) => return Ok(Outcome::Failed { error_message: e }),
        };
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
                    c.items_failed += i64::from(p.status == DocumentStatus::Failed);
                }),
                Some(p) if !force && p.content_hash == hash && p.status == DocumentStatus::Indexed => job.update(|c| {
                    c.items_processed += 1;
                    c.items_skipped += 1;
                    c.tokens_saved += p.token_count;
                }),
                _ => {
                    let now = now_ms();
                    let mut record = Document {
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
                        status: DocumentStatus::Processing,
                        error_message: None,
                        operation_id: op.id,
                        created_at: previous.map_or(now, |p| p.created_at),
                        modified_at: now,
                        processed_at: Some(now),
                    };
                    match self.index(job, &models, doc, &mut record).await {
                        Ok(()) => {}
                        Err(DocError::Job(e)) => return Err(e),
                        Err(DocError::Embedding(message)) => {
                            return Ok(Outcome::Failed { error_message: format!("embedding {} failed: {message}", doc.name) });
                        }
                        Err(DocError::Budget(message)) => {
                            return Ok(Outcome::Failed { error_message: format!("stopped before {}: {message}", doc.name) });
                        }
                        Err(DocError::Document(reason)) => {
                            record.status = DocumentStatus::Failed;
                            record.error_message = Some(reason.clone());
                            if !job.store.document_replace(lease, &record, &[]).await? {
                                return Err(JobError::LeaseLost);
                            }
                            failures.push(format!("{}: {reason}", doc.name));
                            job.update(|c| c.items_failed += 1);
                        }
                    }
                    job.update(|c| c.items_processed += 1);
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
