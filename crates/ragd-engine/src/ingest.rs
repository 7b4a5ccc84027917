//! The ingestion executor, the same for every source: list the asset's documents through its
//! [`Source`], diff them against what is indexed (the source's change token, then the content
//! hash), and for each new or changed document parse it, chunk it by the model's tokens, embed the
//! chunks (the embedding cache first, then the model in batches, with a checkpoint after each
//! batch), and replace its chunks atomically. Documents that vanished from the source are removed
//! only after a complete, untargeted traversal.

use crate::models::ModelRegistry;
use crate::sources::{Body, Context, Source, SourceDoc, Stages};
use crate::worker::{Executor, Job, JobError};
use futures::StreamExt;
use ragd_core::embed::Embedder;
use ragd_core::model::{Chunk, Document, DocumentStatus, OperationType, Outcome, SourceType, content_hash};
use ragd_core::time::now_ms;
use ragd_pipeline::{ChunkDraft, Parsed, Sizer, chunk_document};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Chunks embedded per model call: also the most work a cancel waits for.
pub const EMBED_BATCH: usize = 32;

pub struct IngestExecutor {
    pub models: Arc<dyn ModelRegistry>,
    pub text: crate::sources::text::TextSource,
    pub file: crate::sources::file::FileSource,
    pub web: crate::sources::web::WebSource,
    pub git: crate::sources::git::GitSource,
    pub s3: crate::sources::s3::S3Source,
    pub github: crate::sources::github::GitHubSource,
    pub drive: crate::sources::gdrive::DriveSource,
    pub notion: crate::sources::notion::NotionSource,
    /// Opens the assets' sealed `auth`.
    pub secrets: Arc<ragd_core::secrets::SecretBox>,
    /// Refreshes OAuth tokens that are about to expire.
    pub oauth: Option<Arc<dyn ragd_core::connect::OAuthClients>>,
    /// Documents fetched ahead of the one being indexed (0: one at a time).
    pub fetch_ahead: usize,
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
    /// `None` for assets that are not vectorized (full-text only).
    embedder: Option<Arc<dyn Embedder>>,
    sizer: Sizer,
    /// `provider/model`: the embedding cache's key.
    key: String,
    budget: Budget,
}

/// Parses (unless already parsed) and chunks a document off the async runtime; a panic in a
/// parser or the splitter fails that document only.
async fn parse_and_chunk(
    stages: &Stages,
    content_type: &str,
    input: Result<bytes::Bytes, Parsed>,
    sizer: &Sizer,
    size: usize,
    overlap: usize,
) -> Result<(Parsed, Vec<ChunkDraft>), String> {
    let (content_type, sizer) = (content_type.to_owned(), sizer.clone());
    let task = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let start = std::time::Instant::now();
            let parsed = match input {
                Ok(bytes) => ragd_pipeline::parse(&bytes, &content_type)?,
                Err(parsed) => parsed,
            };
            let parse_time = start.elapsed();
            let drafts = chunk_document(&parsed.text, parsed.markdown, &sizer, size, overlap)?;
            Ok::<_, String>((parsed, drafts, parse_time, start.elapsed() - parse_time))
        }))
        .unwrap_or_else(|_| Err("the document could not be parsed (the parser failed on it)".to_owned()))
    });
    let (parsed, drafts, parse_time, chunk_time) =
        task.await.unwrap_or_else(|_| Err("the document could not be parsed (the parser failed on it)".to_owned()))?;
    stages.add("parse", parse_time);
    stages.add("chunk", chunk_time);
    Ok((parsed, drafts))
}

impl IngestExecutor {
    fn source(&self, t: SourceType) -> &dyn Source {
        match t {
            SourceType::Text => &self.text,
            SourceType::File => &self.file,
            SourceType::Web => &self.web,
            SourceType::Git => &self.git,
            SourceType::S3 => &self.s3,
            SourceType::Github => &self.github,
            SourceType::GoogleDrive => &self.drive,
            SourceType::Notion => &self.notion,
        }
    }

    /// The asset's `auth`, opened, with OAuth tokens refreshed if they are about to expire; the
    /// error is the operation's message.
    async fn credentials(&self, job: &Job) -> Result<Option<ragd_core::model::Credentials>, String> {
        let asset = &job.claim.asset;
        let Some(sealed) = &asset.auth_sealed else { return Ok(None) };
        let opened = self.secrets.open_json(sealed, asset.id.as_bytes()).map_err(|e| e.to_string())?;
        ragd_core::connect::fresh_credentials(job.store.as_ref(), &self.secrets, self.oauth.as_deref(), asset, opened, now_ms())
            .await
            .map(Some)
    }

    /// Embeds the chunks of one parsed document, then writes it with its chunks in one transaction.
    async fn index(
        &self,
        job: &Job,
        m: &Models,
        stages: &Stages,
        parsed: &Parsed,
        drafts: Vec<ChunkDraft>,
        record: &mut Document,
    ) -> Result<(), DocError> {
        let lease = &job.claim.lease;
        let title = parsed.title.as_deref().unwrap_or(&record.file_name).to_owned();
        let contexts: Vec<String> = drafts
            .iter()
            .map(|d| if d.heading_path.is_empty() { title.clone() } else { format!("{title} > {}", d.heading_path) })
            .collect();
        let inputs: Vec<String> = drafts.iter().zip(&contexts).map(|(d, c)| format!("{c}\n\n{}", d.content)).collect();
        let hashes: Vec<String> = inputs.iter().map(|t| content_hash(t.as_bytes())).collect();

        let mut known: HashMap<String, (Vec<f32>, i64)> = HashMap::new();
        if let Some(embedder) = &m.embedder {
            // The cache first: identical text embedded with this model is never paid for twice.
            known = job.store.embedding_cache_get(&lease.tenant, &m.key, &hashes).await?;
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
                        tokens += embedder.count_tokens(t).await.map_err(|e| DocError::Embedding(e.to_string()))? as i64;
                    }
                    if let Some(name) = m.budget.crossed(job.counters().token_count, tokens) {
                        return Err(DocError::Budget(format!("the next batch of {tokens} tokens would exceed the {name}")));
                    }
                }
                let out = stages.time("embed", embedder.embed(texts)).await.map_err(|e| {
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
                stages.time("write", job.store.embedding_cache_put(&lease.tenant, &m.key, &entries)).await?;
                job.update(|c| c.token_count += out.token_counts.iter().sum::<usize>() as i64);
                for (h, v, t) in entries {
                    known.insert(h, (v, t));
                }
                job.checkpoint().await?;
            }
        }

        let chunks: Vec<Chunk> = drafts
            .into_iter()
            .zip(contexts)
            .zip(&hashes)
            .map(|((d, context_text), h)| Chunk {
                id: Chunk::id_for(record.id, h, d.index as i64),
                document_id: record.id,
                chunk_index: d.index as i64,
                page_number: parsed.page_at(d.start_char).map(|p| p.to_string()),
                content: d.content,
                context_text,
                heading_path: d.heading_path,
                start_char: d.start_char as i64,
                end_char: d.end_char as i64,
                start_line: d.start_line as i64,
                end_line: d.end_line as i64,
                token_count: d.token_count as i64,
                text_hash: h.clone(),
                embedding: known.get(h).map(|(v, _)| v.clone()).unwrap_or_default(),
            })
            .collect();
        record.chunk_count = chunks.len() as i64;
        record.token_count = hashes.iter().filter_map(|h| known.get(h)).map(|(_, t)| t).sum();
        record.status = DocumentStatus::Indexed;
        if !stages.time("write", job.store.document_replace(lease, record, &chunks)).await? {
            return Err(DocError::Job(JobError::LeaseLost));
        }
        job.update(|c| c.chunk_count += record.chunk_count);
        Ok(())
    }
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

#[async_trait::async_trait]
impl Executor for IngestExecutor {
    async fn run(&self, job: &Job) -> Result<Outcome, JobError> {
        let (op, asset, lease) = (&job.claim.operation, &job.claim.asset, &job.claim.lease);
        let source = self.source(asset.source_type);
        let (today, month) = ragd_core::time::day_and_month_start(now_ms());
        let windows = ragd_core::model::UsageWindows { day_start: today, month_start: month };
        let stats = job.store.asset_get(&lease.tenant, asset.id, windows).await?.map(|v| v.stats).unwrap_or_default();
        let budget = Budget::new(asset, &stats, self.models.price(&asset.embedding));
        let embedder = if asset.vectorized {
            let endpoint = ragd_core::llm::asset_endpoint(job.store.as_ref(), &self.secrets, asset).await;
            match endpoint.and_then(|e| self.models.embedder(&asset.embedding, e.as_ref())) {
                Ok(e) => Some(e),
                Err(error_message) => return Ok(Outcome::Failed { error_message }),
            }
        } else {
            None
        };
        let sizer = match self.models.sizer(&asset.embedding) {
            Ok(s) => s,
            Err(e) => return Ok(Outcome::Failed { error_message: e }),
        };
        let models = Models { embedder, sizer, key: format!("{}/{}", asset.embedding.provider, asset.embedding.model), budget };
        let force = op.force || op.op_type == OperationType::Reindex;
        let stored: HashMap<String, Document> =
            job.store.document_list(&lease.tenant, asset.id).await?.into_iter().map(|d| (d.source_key.clone(), d)).collect();
        // A targeted update names documents by id; ids derive from source keys, so a webhook can
        // also name documents that are new to the index.
        let target_ids: Option<HashSet<uuid::Uuid>> = (!op.document_ids.is_empty()).then(|| op.document_ids.iter().copied().collect());
        let targeted: Option<HashSet<String>> =
            target_ids.as_ref().map(|ids| stored.values().filter(|d| ids.contains(&d.id)).map(|d| d.source_key.clone()).collect());
        let credentials = match self.credentials(job).await {
            Ok(c) => c,
            Err(error_message) => return Ok(Outcome::Failed { error_message }),
        };
        let stages = Stages::default();
        let cx = Context { job, stored: &stored, targeted: targeted.as_ref(), force, stages: &stages, credentials: credentials.as_ref() };

        // Discover (and, for crawls, fetch).
        let collected = source.collect(&cx).await?;
        let docs: Vec<SourceDoc> = collected
            .docs
            .into_iter()
            .filter(|d| target_ids.as_ref().is_none_or(|t| t.contains(&ragd_core::model::Document::id_for(asset.id, &d.key))))
            .collect();
        job.update(|c| {
            c.items_total = docs.len() as i64;
            c.items_excluded = collected.excluded.len() as i64;
        });
        if !collected.excluded.is_empty() && !job.store.operation_exclusions(lease, &collected.excluded).await? {
            return Err(JobError::LeaseLost);
        }
        job.checkpoint().await?;

        // Process each document. Fetching runs up to `fetch_ahead` documents ahead of indexing,
        // in this task: a remote source's round trips overlap each other and the parsing and
        // embedding of the documents before them. Indexing stays in the listing's order.
        let mut failures = Vec::new();
        let mut present = HashSet::new();
        let (size, overlap) = (asset.embedding.chunk_size as usize, asset.embedding.chunk_overlap as usize);
        // A document holds a permit from before its fetch until it is indexed: at most
        // `fetch_ahead` are fetched (or fetching) beyond the one being indexed.
        let window = self.fetch_ahead + 1;
        let permits = Arc::new(tokio::sync::Semaphore::new(window));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(SourceDoc, Body, tokio::sync::OwnedSemaphorePermit)>(window);
        let produce = async {
            let tx = tx;
            let cx = &cx;
            // `buffered` first polls its futures in the listing's order and tokio's semaphore
            // grants permits in the order they were asked for, so a later document never holds
            // the permit an earlier one waits for.
            let mut fetched = futures::stream::iter(docs)
                .map(|mut doc| {
                    let permits = permits.clone();
                    async move {
                        let permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                        let body = match std::mem::replace(&mut doc.body, Body::Pending(serde_json::Value::Null)) {
                            Body::Pending(listed) => cx.stages.time("fetch", source.fetch(cx, &doc, listed)).await,
                            listed => listed,
                        };
                        (doc, body, permit)
                    }
                })
                .buffered(window);
            while let Some(item) = fetched.next().await {
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        };
        let consume = async {
            while let Some((doc, body, _permit)) = rx.recv().await {
                present.insert(doc.key.clone());
                let previous = stored.get(&doc.key);
                let (input, hash, file_size, meta) = match body {
                    Body::Pending(_) => unreachable!("Source::fetch returns a fetched body"),
                    Body::Unchanged => {
                        match previous {
                            Some(p) if p.operation_id == op.id => own_earlier_work(job, p),
                            Some(p) => skip_unchanged(job, p),
                            None => {
                                failures.push(format!("{}: the source reported no change to a document ragd does not have", doc.file_name))
                            }
                        }
                        job.checkpoint().await?;
                        continue;
                    }
                    Body::Failed(reason) => {
                        // A version indexed before stays searchable; the failure is reported.
                        if previous.is_none_or(|p| p.status != DocumentStatus::Indexed) {
                            let mut record = new_record(asset.id, op.id, &doc, previous);
                            record.status = DocumentStatus::Failed;
                            record.error_message = Some(reason.clone());
                            if !job.store.document_replace(lease, &record, &[]).await? {
                                return Err(JobError::LeaseLost);
                            }
                        }
                        failures.push(format!("{}: {reason}", doc.file_name));
                        job.update(|c| {
                            c.items_failed += 1;
                            c.items_processed += 1;
                        });
                        job.checkpoint().await?;
                        continue;
                    }
                    Body::Bytes { bytes, meta } => {
                        let hash = content_hash(&bytes);
                        let size = bytes.len() as i64;
                        (Ok(bytes), hash, size, meta)
                    }
                    Body::Parsed { parsed, hash, size, meta } => (Err(parsed), hash, size, meta),
                };
                match previous {
                    Some(p) if p.operation_id == op.id && p.content_hash == hash => own_earlier_work(job, p),
                    Some(p) if !force && p.content_hash == hash && p.status == DocumentStatus::Indexed => skip_unchanged(job, p),
                    _ => {
                        let mut record = new_record(asset.id, op.id, &doc, previous);
                        (record.file_size, record.content_hash, record.source_meta) = (file_size, hash, meta);
                        let result = match parse_and_chunk(&stages, &doc.content_type, input, &models.sizer, size, overlap).await {
                            Ok((parsed, drafts)) => self.index(job, &models, &stages, &parsed, drafts, &mut record).await,
                            Err(reason) => Err(DocError::Document(reason)),
                        };
                        match result {
                            Ok(()) => {}
                            Err(DocError::Job(e)) => return Err(e),
                            Err(DocError::Embedding(message)) => {
                                return Ok(Some(Outcome::Failed {
                                    error_message: format!("embedding {} failed: {message}", doc.file_name),
                                }));
                            }
                            Err(DocError::Budget(message)) => {
                                return Ok(Some(Outcome::Failed { error_message: format!("stopped before {}: {message}", doc.file_name) }));
                            }
                            Err(DocError::Document(reason)) => {
                                record.status = DocumentStatus::Failed;
                                record.error_message = Some(reason.clone());
                                if !job.store.document_replace(lease, &record, &[]).await? {
                                    return Err(JobError::LeaseLost);
                                }
                                failures.push(format!("{}: {reason}", doc.file_name));
                                job.update(|c| c.items_failed += 1);
                            }
                        }
                        job.update(|c| c.items_processed += 1);
                    }
                }
                job.checkpoint().await?;
            }
            Ok::<_, JobError>(None)
        };
        let stopped = match futures::future::select(std::pin::pin!(consume), std::pin::pin!(produce)).await {
            futures::future::Either::Left((r, _)) => r?,
            futures::future::Either::Right(((), consume)) => consume.await?,
        };
        if let Some(outcome) = stopped {
            return Ok(outcome);
        }

        // Remove what vanished from the source (of the targeted documents, if targeted), only
        // after a complete traversal.
        if collected.complete {
            let vanished: Vec<_> = stored
                .values()
                .filter(|d| !present.contains(&d.source_key) && target_ids.as_ref().is_none_or(|t| t.contains(&d.id)))
                .map(|d| d.id)
                .collect();
            if !vanished.is_empty() && !job.store.document_delete(lease, &vanished).await? {
                return Err(JobError::LeaseLost);
            }
        }

        let times = stages.snapshot();
        for (stage, d) in times {
            metrics::counter!("ragd_ingest_stage_microseconds_total", "stage" => stage).increment(d.as_micros() as u64);
        }
        tracing::info!(stages = ?times, "ingestion stages");
        let c = job.counters();
        Ok(summarise(c.items_total, &failures))
    }
}

/// The record this operation writes for a document, before indexing sets its counts and status.
fn new_record(asset_id: uuid::Uuid, op_id: uuid::Uuid, doc: &SourceDoc, previous: Option<&Document>) -> Document {
    let now = now_ms();
    Document {
        id: Document::id_for(asset_id, &doc.key),
        asset_id,
        source_key: doc.key.clone(),
        file_name: doc.file_name.clone(),
        content_type: doc.content_type.clone(),
        source_url: doc.source_url.clone(),
        file_size: 0,
        content_hash: String::new(),
        chunk_count: 0,
        token_count: 0,
        status: DocumentStatus::Processing,
        error_message: None,
        operation_id: op_id,
        created_at: previous.map_or(now, |p| p.created_at),
        modified_at: now,
        processed_at: Some(now),
        source_meta: serde_json::Value::Object(Default::default()),
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
