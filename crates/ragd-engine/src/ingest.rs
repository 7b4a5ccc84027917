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
use ragd_core::domain::{
    Chunk, Document, DocumentStatus, OperationType, Outcome, SourceType, content_hash,
};
use ragd_core::ports::embed::Embedder;
use ragd_core::time::now_ms;
use ragd_pipeline::{ChunkDraft, Parsed, Sizer, chunk_document};
use std::collections::{HashMap, HashSet, VecDeque};
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
    pub oauth: Option<Arc<dyn ragd_core::ports::oauth::OAuthClients>>,
    /// Documents fetched ahead of the one being indexed (0: one at a time).
    pub fetch_ahead: usize,
}

/// What the asset may still spend, per budget: `(name, limit, tokens left before this operation)`.
/// Cost budgets are converted to tokens with the model's price. Enforced text by text before
/// every pool of batches is embedded.
struct Budget {
    limits: Vec<(String, i64)>,
}

impl Budget {
    fn new(
        asset: &ragd_core::domain::Asset,
        stats: &ragd_core::domain::AssetStats,
        price: f64,
    ) -> Self {
        let (t, c) = (asset.budget.tokens, asset.budget.costs);
        let mut limits = Vec::new();
        let mut add = |name: &str, limit: Option<i64>, used: i64| {
            if let Some(limit) = limit {
                limits.push((
                    format!("{name} of {limit} tokens (used {used})"),
                    limit - used,
                ));
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
        self.limits
            .iter()
            .find(|(_, left)| spent + batch > *left)
            .map(|(name, _)| name.as_str())
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

/// Parses (unless already parsed) and chunks a document off the async runtime, into its chunks
/// (without vectors) and what the model reads for each; a panic in a parser or the splitter
/// fails that document only.
async fn parse_and_chunk(
    stages: &Stages,
    content_type: &str,
    input: Result<bytes::Bytes, Parsed>,
    sizer: &Sizer,
    (size, overlap): (usize, usize),
    record: Document,
) -> Result<Prepared, (Document, String)> {
    let (content_type, sizer, id, file_name) = (
        content_type.to_owned(),
        sizer.clone(),
        record.id,
        record.file_name.clone(),
    );
    let task = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let start = std::time::Instant::now();
            let parsed = match input {
                Ok(bytes) => ragd_pipeline::parse(&bytes, &content_type)?,
                Err(parsed) => parsed,
            };
            let parse_time = start.elapsed();
            let drafts = chunk_document(&parsed.text, parsed.markdown, &sizer, size, overlap)?;
            let (chunks, inputs) = prepare(&parsed, drafts, id, &file_name, &sizer);
            Ok::<_, String>((chunks, inputs, parse_time, start.elapsed() - parse_time))
        }))
        .unwrap_or_else(|_| {
            Err("the document could not be parsed (the parser failed on it)".to_owned())
        })
    });
    match task.await.unwrap_or_else(|_| {
        Err("the document could not be parsed (the parser failed on it)".to_owned())
    }) {
        Ok((chunks, inputs, parse_time, chunk_time)) => {
            stages.add("parse", parse_time);
            stages.add("chunk", chunk_time);
            Ok(Prepared {
                record,
                chunks,
                inputs,
            })
        }
        Err(reason) => Err((record, reason)),
    }
}

/// A document parsed and chunked, waiting for its chunks' vectors before it is written.
struct Prepared {
    record: Document,
    chunks: Vec<Chunk>,
    /// What the model reads for each chunk (context line and content) and its length in the
    /// model's tokens; moved out once queued.
    inputs: Vec<(String, usize)>,
}

/// What the indexing loop does with a fetched document; decided, and for `Index` parsed and
/// chunked, ahead of it (while the documents before it embed).
enum Step {
    /// The source says the stored version is current.
    Unchanged,
    /// Could not be fetched; fails alone.
    Failed(String),
    /// Same content as stored and written by an earlier attempt of this operation.
    Own,
    /// Same content as stored and indexed.
    Skip,
    /// New or changed: the document to write, or why it cannot be parsed (with its record).
    Index(Box<Result<Prepared, (Document, String)>>),
}

/// Turns a parsed document's chunk drafts into chunks (without vectors) and the model's inputs.
fn prepare(
    parsed: &Parsed,
    drafts: Vec<ChunkDraft>,
    id: uuid::Uuid,
    file_name: &str,
    sizer: &Sizer,
) -> (Vec<Chunk>, Vec<(String, usize)>) {
    let title = parsed.title.as_deref().unwrap_or(file_name).to_owned();
    let mut inputs = Vec::with_capacity(drafts.len());
    let chunks = drafts
        .into_iter()
        .map(|d| {
            let context_text = if d.heading_path.is_empty() {
                title.clone()
            } else {
                format!("{title} > {}", d.heading_path)
            };
            let input = format!("{context_text}\n\n{}", d.content);
            let text_hash = content_hash(input.as_bytes());
            inputs.push((input, d.token_count + sizer.count(&context_text)));
            Chunk {
                id: Chunk::id_for(id, &text_hash, d.index as i64),
                document_id: id,
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
                text_hash,
                embedding: Vec::new(),
            }
        })
        .collect();
    (chunks, inputs)
}

/// Embeds the chunks of consecutive documents together, in batches of [`EMBED_BATCH`] whatever
/// the documents' sizes, and writes each document (with all its chunks, in one transaction) as
/// soon as its vectors are known, in the listing's order. Texts already in the embedding cache,
/// or queued for an earlier document, are never sent twice.
struct Batcher<'a> {
    job: &'a Job,
    m: &'a Models,
    stages: &'a Stages,
    /// Documents waiting for vectors, in order.
    pending: VecDeque<Pending>,
    /// Texts to embed, in order, each hash once.
    queue: VecDeque<Queued>,
    queued: HashSet<String>,
    /// Vectors (and the tokens they cost) of the hashes the pending documents use.
    known: HashMap<String, (Vec<f32>, i64)>,
    /// How many pending documents use each hash in `known` or `queue`.
    users: HashMap<String, usize>,
}

/// A text to embed: its hash, the text, its length in tokens and the document that queued it.
struct Queued {
    hash: String,
    text: String,
    tokens: usize,
    file: Arc<str>,
}

struct Pending {
    prepared: Prepared,
    /// Chunks whose vectors this document did not pay for (cached, or queued by an earlier one).
    borrowed: Vec<bool>,
}

/// Queued texts embedded together, sorted by length, in batches of [`EMBED_BATCH`]: chunks of
/// consecutive documents differ in length, and a batch is as wide as its longest text.
const POOL: usize = 8 * EMBED_BATCH;
/// How long a partial pool waits for the next document before it is embedded anyway.
const PARTIAL_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// Documents held waiting for vectors at most (each holds its chunks in memory).
const MAX_PENDING: usize = 256;

impl<'a> Batcher<'a> {
    fn new(job: &'a Job, m: &'a Models, stages: &'a Stages) -> Self {
        Batcher {
            job,
            m,
            stages,
            pending: VecDeque::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            known: HashMap::new(),
            users: HashMap::new(),
        }
    }

    /// A full pool is queued (or too many documents wait): embed before taking more.
    fn full(&self) -> bool {
        self.queue.len() >= POOL || self.pending.len() >= MAX_PENDING
    }

    /// Embeds the next [`POOL`] queued texts (or all, if fewer), sorted by length so that each
    /// batch pads little, and writes the documents they complete. `Some` is the operation's end:
    /// the model failed, or a budget would be crossed (then the texts that fit, in the listing's
    /// order, are embedded first: budgets are spent up to their limit, never beyond).
    async fn embed_pool(&mut self) -> Result<Option<Outcome>, JobError> {
        let Some(embedder) = self.m.embedder.clone() else {
            return Ok(None);
        };
        let n = self.queue.len().min(POOL);
        let mut pool: Vec<Queued> = self.queue.drain(..n).collect();
        let mut stop = None;
        if !self.m.budget.limits.is_empty() {
            let mut spent = self.job.counters().token_count;
            for (i, q) in pool.iter().enumerate() {
                let tokens = match embedder.count_tokens(&q.text).await {
                    Ok(n) => n as i64,
                    Err(e) => {
                        return Ok(Some(Outcome::Failed {
                            error_message: format!("embedding {} failed: {e}", q.file),
                        }));
                    }
                };
                if let Some(name) = self.m.budget.crossed(spent, tokens) {
                    stop = Some(Outcome::Failed {
                        error_message: format!(
                            "stopped before {}: its next {tokens} tokens would exceed the {name}",
                            q.file
                        ),
                    });
                    pool.truncate(i);
                    break;
                }
                spent += tokens;
            }
        }
        pool.sort_by_key(|q| q.tokens);
        while !pool.is_empty() {
            let rest = pool.split_off(pool.len().min(EMBED_BATCH));
            let batch = std::mem::replace(&mut pool, rest);
            if let Some(outcome) = self.embed_batch(embedder.as_ref(), batch).await? {
                return Ok(Some(outcome));
            }
        }
        Ok(stop)
    }

    /// Queues what `p` needs embedded (after looking in the cache) and writes what is ready.
    async fn add(&mut self, mut p: Prepared) -> Result<(), JobError> {
        let mut borrowed = vec![false; p.chunks.len()];
        if self.m.embedder.is_some() {
            let lease = &self.job.claim.lease;
            let mut fresh: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for c in &p.chunks {
                let h = &c.text_hash;
                if !self.known.contains_key(h) && !self.queued.contains(h) && seen.insert(h) {
                    fresh.push(h.clone());
                }
            }
            let cached = self
                .job
                .store
                .embedding_cache_get(&lease.tenant, &self.m.key, &fresh)
                .await?;
            let inputs = std::mem::take(&mut p.inputs);
            let file: Arc<str> = p.record.file_name.as_str().into();
            let mut mine = HashSet::new();
            for ((c, (text, tokens)), borrowed) in p.chunks.iter().zip(inputs).zip(&mut borrowed) {
                let h = &c.text_hash;
                if mine.insert(h.clone()) {
                    *self.users.entry(h.clone()).or_default() += 1;
                }
                if let Some(hit) = cached.get(h) {
                    self.known.entry(h.clone()).or_insert_with(|| hit.clone());
                }
                if self.known.contains_key(h) || (self.queued.contains(h) && !seen.contains(h)) {
                    // In the cache, or queued by an earlier document: as if read from the cache.
                    *borrowed = true;
                } else if self.queued.insert(h.clone()) {
                    self.queue.push_back(Queued {
                        hash: h.clone(),
                        text,
                        tokens,
                        file: file.clone(),
                    });
                }
            }
        }
        self.pending.push_back(Pending {
            prepared: p,
            borrowed,
        });
        self.write_ready().await
    }

    /// Embeds one batch of queued texts and writes the documents it completes. `Some` is the
    /// operation's end: the model failed.
    async fn embed_batch(
        &mut self,
        embedder: &dyn Embedder,
        batch: Vec<Queued>,
    ) -> Result<Option<Outcome>, JobError> {
        let Some(file) = batch.first().map(|q| q.file.clone()) else {
            return Ok(None);
        };
        let (hashes, texts): (Vec<String>, Vec<String>) =
            batch.into_iter().map(|q| (q.hash, q.text)).unzip();
        let out = match self.stages.time("embed", embedder.embed(texts)).await {
            Ok(out) => out,
            Err(e) => {
                let message = match e {
                    ragd_core::Error::Upstream(s) | ragd_core::Error::Unavailable(s) => s,
                    other => {
                        tracing::error!(error = %other, "embedding failed");
                        "the embedding model failed".to_owned()
                    }
                };
                return Ok(Some(Outcome::Failed {
                    error_message: format!("embedding {file} failed: {message}"),
                }));
            }
        };
        let entries: Vec<(String, Vec<f32>, i64)> = hashes
            .into_iter()
            .zip(out.vectors)
            .zip(&out.token_counts)
            .map(|((h, v), &t)| (h, v, t as i64))
            .collect();
        let lease = &self.job.claim.lease;
        self.stages
            .time(
                "write",
                self.job
                    .store
                    .embedding_cache_put(&lease.tenant, &self.m.key, &entries),
            )
            .await?;
        self.job
            .update(|c| c.token_count += out.token_counts.iter().sum::<usize>() as i64);
        for (h, v, t) in entries {
            self.queued.remove(&h);
            self.known.insert(h, (v, t));
        }
        self.job.checkpoint().await?;
        self.write_ready().await?;
        Ok(None)
    }

    /// Writes the documents at the front whose vectors are all known.
    async fn write_ready(&mut self) -> Result<(), JobError> {
        while let Some(front) = self.pending.front() {
            let vectorized = self.m.embedder.is_some();
            if vectorized
                && !front
                    .prepared
                    .chunks
                    .iter()
                    .all(|c| self.known.contains_key(&c.text_hash))
            {
                return Ok(());
            }
            let Pending {
                prepared:
                    Prepared {
                        mut record,
                        mut chunks,
                        ..
                    },
                borrowed,
            } = self.pending.pop_front().expect("a front document");
            let (mut tokens, mut saved) = (0, 0);
            for (c, borrowed) in chunks.iter_mut().zip(borrowed) {
                if let Some((v, t)) = self.known.get(&c.text_hash) {
                    c.embedding = v.clone();
                    tokens += t;
                    saved += if borrowed { *t } else { 0 };
                }
            }
            record.chunk_count = chunks.len() as i64;
            record.token_count = tokens;
            record.status = DocumentStatus::Indexed;
            if !self
                .stages
                .time(
                    "write",
                    self.job
                        .store
                        .document_replace(&self.job.claim.lease, &record, &chunks),
                )
                .await?
            {
                return Err(JobError::LeaseLost);
            }
            self.job.update(|c| {
                c.chunk_count += record.chunk_count;
                c.tokens_saved += saved;
                c.items_processed += 1;
            });
            for c in &chunks {
                if let Some(n) = self.users.get_mut(&c.text_hash) {
                    *n -= 1;
                    if *n == 0 {
                        self.users.remove(&c.text_hash);
                        self.known.remove(&c.text_hash);
                    }
                }
            }
            self.job.checkpoint().await?;
        }
        Ok(())
    }
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
    async fn credentials(
        &self,
        job: &Job,
    ) -> Result<Option<ragd_core::domain::Credentials>, String> {
        let asset = &job.claim.asset;
        let Some(sealed) = &asset.auth_sealed else {
            return Ok(None);
        };
        let opened = self
            .secrets
            .open_json(sealed, asset.id.as_bytes())
            .map_err(|e| e.to_string())?;
        ragd_core::services::fresh_credentials(
            job.store.as_ref(),
            &self.secrets,
            self.oauth.as_deref(),
            asset,
            opened,
            now_ms(),
        )
        .await
        .map(Some)
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
        let windows = ragd_core::domain::UsageWindows {
            day_start: today,
            month_start: month,
        };
        let stats = job
            .store
            .asset_get(&lease.tenant, asset.id, windows)
            .await?
            .map(|v| v.stats)
            .unwrap_or_default();
        let budget = Budget::new(asset, &stats, self.models.price(&asset.embedding));
        let embedder = if asset.vectorized {
            let endpoint =
                ragd_core::services::asset_endpoint(job.store.as_ref(), &self.secrets, asset).await;
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
        let models = Models {
            embedder,
            sizer,
            key: format!("{}/{}", asset.embedding.provider, asset.embedding.model),
            budget,
        };
        let force = op.force || op.op_type == OperationType::Reindex;
        let stored: HashMap<String, Document> = job
            .store
            .document_list(&lease.tenant, asset.id)
            .await?
            .into_iter()
            .map(|d| (d.source_key.clone(), d))
            .collect();
        // A targeted update names documents by id; ids derive from source keys, so a webhook can
        // also name documents that are new to the index.
        let target_ids: Option<HashSet<uuid::Uuid>> =
            (!op.document_ids.is_empty()).then(|| op.document_ids.iter().copied().collect());
        let targeted: Option<HashSet<String>> = target_ids.as_ref().map(|ids| {
            stored
                .values()
                .filter(|d| ids.contains(&d.id))
                .map(|d| d.source_key.clone())
                .collect()
        });
        let credentials = match self.credentials(job).await {
            Ok(c) => c,
            Err(error_message) => return Ok(Outcome::Failed { error_message }),
        };
        let stages = Stages::default();
        let cx = Context {
            job,
            stored: &stored,
            targeted: targeted.as_ref(),
            force,
            stages: &stages,
            credentials: credentials.as_ref(),
        };

        // Discover (and, for crawls, fetch).
        let collected = source.collect(&cx).await?;
        let docs: Vec<SourceDoc> = collected
            .docs
            .into_iter()
            .filter(|d| {
                target_ids.as_ref().is_none_or(|t| {
                    t.contains(&ragd_core::domain::Document::id_for(asset.id, &d.key))
                })
            })
            .collect();
        job.update(|c| {
            c.items_total = docs.len() as i64;
            c.items_excluded = collected.excluded.len() as i64;
        });
        if !collected.excluded.is_empty()
            && !job
                .store
                .operation_exclusions(lease, &collected.excluded)
                .await?
        {
            return Err(JobError::LeaseLost);
        }
        job.checkpoint().await?;

        // Process each document. Fetching, and then parsing and chunking, run up to `fetch_ahead`
        // documents ahead of indexing, in this task (parsers on blocking threads): a remote
        // source's round trips and the parsing of the next documents overlap the embedding of
        // the ones before them. The batcher embeds the chunks of consecutive documents together
        // and writes documents in the listing's order.
        let mut failures = Vec::new();
        let mut present = HashSet::new();
        let (size, overlap) = (
            asset.embedding.chunk_size as usize,
            asset.embedding.chunk_overlap as usize,
        );
        // A document holds a permit from before its fetch until the batcher has it: at most
        // `fetch_ahead` are fetched or parsed (or being so) beyond the one being taken.
        let window = self.fetch_ahead + 1;
        let permits = Arc::new(tokio::sync::Semaphore::new(window));
        let (tx, mut rx) =
            tokio::sync::mpsc::channel::<(SourceDoc, Step, tokio::sync::OwnedSemaphorePermit)>(
                window,
            );
        let produce = async {
            let tx = tx;
            let (cx, models, stored) = (&cx, &models, &stored);
            // `buffered` first polls its futures in the listing's order and tokio's semaphore
            // grants permits in the order they were asked for, so a later document never holds
            // the permit an earlier one waits for.
            let mut fetched = futures::stream::iter(docs)
                .map(|mut doc| {
                    let permits = permits.clone();
                    async move {
                        let permit = permits
                            .acquire_owned()
                            .await
                            .expect("the semaphore is never closed");
                        let body = match std::mem::replace(
                            &mut doc.body,
                            Body::Pending(serde_json::Value::Null),
                        ) {
                            Body::Pending(listed) => {
                                cx.stages
                                    .time("fetch", source.fetch(cx, &doc, listed))
                                    .await
                            }
                            listed => listed,
                        };
                        let previous = stored.get(&doc.key);
                        let (input, hash, file_size, meta) = match body {
                            Body::Pending(_) => {
                                unreachable!("Source::fetch returns a fetched body")
                            }
                            Body::Unchanged => return (doc, Step::Unchanged, permit),
                            Body::Failed(reason) => return (doc, Step::Failed(reason), permit),
                            Body::Bytes { bytes, meta } => {
                                let (hash, size) = (content_hash(&bytes), bytes.len() as i64);
                                (Ok(bytes), hash, size, meta)
                            }
                            Body::Parsed {
                                parsed,
                                hash,
                                size,
                                meta,
                            } => (Err(parsed), hash, size, meta),
                        };
                        let step = match previous {
                            Some(p) if p.operation_id == op.id && p.content_hash == hash => {
                                Step::Own
                            }
                            Some(p)
                                if !force
                                    && p.content_hash == hash
                                    && p.status == DocumentStatus::Indexed =>
                            {
                                Step::Skip
                            }
                            _ => {
                                let mut record = new_record(asset.id, op.id, &doc, previous);
                                (record.file_size, record.content_hash, record.source_meta) =
                                    (file_size, hash, meta);
                                Step::Index(Box::new(
                                    parse_and_chunk(
                                        cx.stages,
                                        &doc.content_type,
                                        input,
                                        &models.sizer,
                                        (size, overlap),
                                        record,
                                    )
                                    .await,
                                ))
                            }
                        };
                        (doc, step, permit)
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
            let mut batcher = Batcher::new(job, &models, &stages);
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
                let Some((doc, step, _permit)) = next else {
                    break;
                };
                present.insert(doc.key.clone());
                let previous = stored.get(&doc.key);
                let failed = match step {
                    Step::Unchanged => {
                        match previous {
                            Some(p) if p.operation_id == op.id => own_earlier_work(job, p),
                            Some(p) => skip_unchanged(job, p),
                            None => failures.push((
                                doc.file_name.clone(),
                                "the source reported no change to a document ragd does not have"
                                    .to_owned(),
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
                        let record = (!keep).then(|| new_record(asset.id, op.id, &doc, previous));
                        Some((record, reason))
                    }
                    Step::Index(prepared) => match *prepared {
                        Ok(prepared) => {
                            batcher.add(prepared).await?;
                            continue;
                        }
                        Err((record, reason)) => Some((Some(record), reason)),
                    },
                };
                if let Some((record, reason)) = failed {
                    if let Some(mut record) = record {
                        record.status = DocumentStatus::Failed;
                        record.error_message = Some(reason.clone());
                        if !job.store.document_replace(lease, &record, &[]).await? {
                            return Err(JobError::LeaseLost);
                        }
                    }
                    failures.push((doc.file_name.clone(), reason.clone()));
                    job.update(|c| {
                        c.items_failed += 1;
                        c.items_processed += 1;
                    });
                }
                job.checkpoint().await?;
            }
            while !batcher.queue.is_empty() {
                if let Some(outcome) = batcher.embed_pool().await? {
                    return Ok(Some(outcome));
                }
            }
            batcher.write_ready().await?;
            Ok::<_, JobError>(None)
        };
        let stopped =
            match futures::future::select(std::pin::pin!(consume), std::pin::pin!(produce)).await {
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
                .filter(|d| {
                    !present.contains(&d.source_key)
                        && target_ids.as_ref().is_none_or(|t| t.contains(&d.id))
                })
                .map(|d| d.id)
                .collect();
            if !vanished.is_empty() && !job.store.document_delete(lease, &vanished).await? {
                return Err(JobError::LeaseLost);
            }
        }

        let times = stages.snapshot();
        for (stage, d) in times {
            metrics::counter!("ragd_ingest_stage_microseconds_total", "stage" => stage)
                .increment(d.as_micros() as u64);
        }
        tracing::info!(stages = ?times, "ingestion stages");
        let c = job.counters();
        Ok(summarise(c.items_total, &failures))
    }
}

/// The record this operation writes for a document, before indexing sets its counts and status.
fn new_record(
    asset_id: uuid::Uuid,
    op_id: uuid::Uuid,
    doc: &SourceDoc,
    previous: Option<&Document>,
) -> Document {
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

/// The operation fails when every document failed; otherwise it completes and names the failures
/// `(document, reason)`: the first few, and when there are more, how many failed for each reason.
fn summarise(total: i64, failures: &[(String, String)]) -> Outcome {
    if failures.is_empty() {
        return Outcome::Completed {
            error_message: None,
        };
    }
    const SHOWN: usize = 5;
    let listed: Vec<String> = failures
        .iter()
        .take(SHOWN)
        .map(|(name, reason)| format!("{name}: {reason}"))
        .collect();
    let mut message = format!(
        "{} of {} documents failed: {}",
        failures.len(),
        total,
        listed.join("; ")
    );
    if failures.len() > SHOWN {
        let mut by_reason: Vec<(&str, usize)> = Vec::new();
        for (_, reason) in failures {
            match by_reason.iter_mut().find(|(r, _)| r == reason) {
                Some(entry) => entry.1 += 1,
                None => by_reason.push((reason, 1)),
            }
        }
        by_reason.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        let counts: Vec<String> = by_reason
            .iter()
            .take(SHOWN)
            .map(|(r, n)| format!("{n} × {r}"))
            .collect();
        let others = by_reason.len().saturating_sub(SHOWN);
        message.push_str(&format!(
            "; and {} more. By reason: {}",
            failures.len() - SHOWN,
            counts.join("; ")
        ));
        if others > 0 {
            message.push_str(&format!("; {others} other reasons"));
        }
    }
    if failures.len() as i64 == total {
        Outcome::Failed {
            error_message: message,
        }
    } else {
        Outcome::Completed {
            error_message: Some(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_failures_are_counted_by_reason() {
        let mut failures: Vec<(String, String)> = (0..7)
            .map(|i| (format!("p{i}"), "HTTP 404".to_owned()))
            .collect();
        failures.extend((0..3).map(|i| (format!("q{i}"), "timed out".to_owned())));
        let Outcome::Completed {
            error_message: Some(m),
        } = summarise(20, &failures)
        else {
            panic!("completes")
        };
        assert!(
            m.starts_with("10 of 20 documents failed: p0: HTTP 404; "),
            "{m}"
        );
        assert!(
            m.ends_with("; and 5 more. By reason: 7 × HTTP 404; 3 × timed out"),
            "{m}"
        );
        let Outcome::Failed { error_message } = summarise(2, &failures[..2]) else {
            panic!("fails")
        };
        assert_eq!(
            error_message,
            "2 of 2 documents failed: p0: HTTP 404; p1: HTTP 404"
        );
    }
}
