//! The batcher: embeds the chunks of consecutive documents together and writes each document as
//! soon as its vectors are known, in the listing's order.

use super::EMBED_BATCH;
use super::fetch::Prepared;
use super::plan::Models;
use crate::sources::Stages;
use crate::worker::{Job, JobError};
use ragd_core::domain::{DocumentStatus, Outcome};
use ragd_core::ports::embed::Embedder;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Embeds the chunks of consecutive documents together, in batches of [`EMBED_BATCH`] whatever
/// the documents' sizes, and writes each document (with all its chunks, in one transaction) as
/// soon as its vectors are known, in the listing's order. Texts already in the embedding cache,
/// or queued for an earlier document, are never sent twice.
pub(super) struct Batcher<'a> {
    job: &'a Job,
    m: &'a Models,
    stages: &'a Stages,
    /// Documents waiting for vectors, in order.
    pending: VecDeque<Pending>,
    /// Texts to embed, in order, each hash once.
    pub(super) queue: VecDeque<Queued>,
    queued: HashSet<String>,
    /// Vectors (and the tokens they cost) of the hashes the pending documents use.
    known: HashMap<String, (Vec<f32>, i64)>,
    /// How many pending documents use each hash in `known` or `queue`.
    users: HashMap<String, usize>,
    /// The index of the generation being built (ragd), and each document's `(id, chunks,
    /// tokens)` in it so far; `None`: documents are written to the serving one.
    pub(super) building: Option<(uuid::Uuid, Vec<(uuid::Uuid, i64, i64)>)>,
}

/// A text to embed: its hash, the text, its length in tokens and the document that queued it.
pub(super) struct Queued {
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
pub(super) const PARTIAL_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// Documents held waiting for vectors at most (each holds its chunks in memory).
const MAX_PENDING: usize = 256;

impl<'a> Batcher<'a> {
    pub(super) fn new(job: &'a Job, m: &'a Models, stages: &'a Stages) -> Self {
        Batcher {
            job,
            m,
            stages,
            pending: VecDeque::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            known: HashMap::new(),
            users: HashMap::new(),
            building: None,
        }
    }

    /// A full pool is queued (or too many documents wait): embed before taking more.
    pub(super) fn full(&self) -> bool {
        self.queue.len() >= POOL || self.pending.len() >= MAX_PENDING
    }

    /// Embeds the next [`POOL`] queued texts (or all, if fewer), sorted by length so that each
    /// batch pads little, and writes the documents they complete. `Some` is the operation's end:
    /// the model failed, or a budget would be crossed (then the texts that fit, in the listing's
    /// order, are embedded first: budgets are spent up to their limit, never beyond).
    pub(super) async fn embed_pool(&mut self) -> Result<Option<Outcome>, JobError> {
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
    pub(super) async fn add(&mut self, mut p: Prepared) -> Result<(), JobError> {
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
    pub(super) async fn write_ready(&mut self) -> Result<(), JobError> {
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
                        text,
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
            let lease = &self.job.claim.lease;
            let store = &self.job.store;
            let written = match &mut self.building {
                // A generation being built: only its chunks are written, the document's counts
                // in it wait for the swap.
                Some((index, counts)) => {
                    counts.push((record.id, record.chunk_count, record.token_count));
                    let write = store.index_put(lease, *index, record.id, &chunks);
                    self.stages.time("write", write).await?
                }
                None => {
                    let write = store.document_replace(lease, &record, &chunks, Some(&text));
                    self.stages.time("write", write).await?
                }
            };
            if !written {
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
