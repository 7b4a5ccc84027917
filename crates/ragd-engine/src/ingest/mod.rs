//! The ingestion executor, the same for every source: list the asset's documents through its
//! [`Source`], diff them against what is indexed (the source's change token, then the content
//! hash), and for each new or changed document parse it, chunk it by the model's tokens, embed the
//! chunks (the embedding cache first, then the model in batches, with a checkpoint after each
//! batch), and replace its chunks atomically. Documents that vanished from the source are removed
//! only after a complete, untargeted traversal.
//!
//! # Layout
//! One file per phase, in the order [`IngestExecutor::run`] calls them:
//! - `plan`: what this run works with (the asset's model, tokenizer, budget, stored documents,
//!   targets, credentials).
//! - `collect`: the source lists its documents (a crawl fetches as it goes); targets filter them.
//! - `fetch`: up to `fetch_ahead` documents ahead, each is fetched, compared with what is stored
//!   and, when new or changed, parsed and chunked: a `Step` per document.
//! - `process`: the steps are taken in the listing's order: skips counted, failures stored, new
//!   chunks handed to the `batcher`.
//! - `batcher`: embeds the chunks of consecutive documents together and writes each document.
//! - `finish`: documents that vanished are swept, the stage times reported, the outcome summarised.
//!
//! A `REINDEX` of an asset with a building generation takes another road after the plan:
//! - `build`: the stored texts are chunked and embedded into the new generation beside the
//!   serving one, which it then replaces at once (ragd).

mod batcher;
mod build;
mod collect;
mod fetch;
mod finish;
mod plan;
mod process;

pub use fetch::chunk_text;

use crate::models::ModelRegistry;
use crate::sources::{Context, Source};
use crate::worker::{Executor, Job, JobError};
use ragd_core::domain::{OperationType, Outcome, SourceType};
use ragd_core::time::now_ms;
use std::collections::HashMap;
use std::sync::Arc;

/// Chunks embedded per model call: also the most work a cancel waits for.
pub const EMBED_BATCH: usize = 32;

pub struct IngestExecutor {
    pub models: Arc<dyn ModelRegistry>,
    /// The collector of each source type (`sources/<type>.rs`), registered by the binary.
    pub sources: HashMap<SourceType, Box<dyn Source>>,
    /// Opens the assets' sealed `auth`.
    pub secrets: Arc<ragd_core::secrets::SecretBox>,
    /// Refreshes OAuth tokens that are about to expire.
    pub oauth: Option<Arc<dyn ragd_core::ports::oauth::OAuthClients>>,
    /// Documents fetched ahead of the one being indexed (0: one at a time).
    pub fetch_ahead: usize,
}

impl IngestExecutor {
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

impl IngestExecutor {
    /// A `REINDEX` says what it expects to do as it starts (ragd), counted from the stored texts
    /// as `:estimate` counts (the next heartbeat shows it), and ends at once if that would cross
    /// a budget: nothing is re-indexed rather than a part of it. `Some` is that end.
    async fn estimate(&self, job: &Job, plan: &plan::Plan) -> Option<Outcome> {
        let embedder = plan.models.embedder.as_ref()?;
        let asset = &job.claim.asset;
        let chunker = crate::models::TextChunker(self.models.clone());
        let counted = ragd_core::services::estimate_index(
            job.store.as_ref(),
            &chunker,
            embedder.as_ref(),
            &asset.tenant,
            asset.id,
            &asset.embedding,
        )
        .await;
        let tokens = match counted {
            Ok(e) => {
                job.update(|c| c.estimate = Some(e));
                e.token_count
            }
            Err(e) => {
                tracing::warn!(error = %e, "the re-index could not be estimated");
                return None;
            }
        };
        let name = plan.models.budget.crossed(0, tokens)?;
        Some(Outcome::Failed {
            error_message: format!(
                "re-indexing would embed {tokens} tokens, more than the {name} leaves; nothing \
                 was re-indexed"
            ),
        })
    }
}

#[async_trait::async_trait]
impl Executor for IngestExecutor {
    async fn run(&self, job: &Job) -> Result<Outcome, JobError> {
        let plan = match plan::Plan::make(self, job).await? {
            Ok(plan) => plan,
            Err(error_message) => return Ok(Outcome::Failed { error_message }),
        };
        let source_type = job.claim.asset.source_type;
        let Some(source) = self.sources.get(&source_type).map(Box::as_ref) else {
            return Ok(Outcome::Failed {
                error_message: format!("this worker has no collector for {source_type} assets"),
            });
        };
        let cx = Context {
            job,
            stored: &plan.stored,
            targeted: plan.targeted.as_ref(),
            force: plan.force,
            stages: &plan.stages,
            credentials: plan.credentials.as_ref(),
        };
        if job.claim.operation.op_type == OperationType::Reindex {
            if let Some(outcome) = self.estimate(job, &plan).await {
                if let Some(g) = &job.claim.asset.building {
                    let asset = &job.claim.asset;
                    job.store
                        .generation_discard(&asset.tenant, asset.id, g.index)
                        .await?;
                }
                return Ok(outcome);
            }
            if let Some(generation) = &job.claim.asset.building {
                return build::build(job, &plan, generation).await;
            }
        }
        let (docs, complete) = collect::collect(&cx, source, &plan).await?;
        let done = process::index(&cx, source, &plan, docs, self.fetch_ahead).await?;
        if let Some(outcome) = done.stopped {
            return Ok(outcome);
        }
        if complete {
            finish::sweep_vanished(job, &plan, &done.present).await?;
        }
        finish::report_stages(&plan.stages);
        Ok(finish::summarise(
            job.counters().items_total,
            &done.failures,
        ))
    }
}
