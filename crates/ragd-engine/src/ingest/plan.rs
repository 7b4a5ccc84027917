//! The plan of a run: the asset's embedder and tokenizer, what its budgets still allow, the
//! documents stored now, the targets of a targeted update, and the opened credentials.

use super::IngestExecutor;
use crate::sources::Stages;
use crate::worker::{Job, JobError};
use ragd_core::domain::{Credentials, Document, OperationType};
use ragd_core::ports::embed::Embedder;
use ragd_core::time::now_ms;
use ragd_pipeline::Sizer;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What the asset may still spend, per budget: `(name, limit, tokens left before this operation)`.
/// Cost budgets are converted to tokens with the model's price. Enforced text by text before
/// every pool of batches is embedded.
pub(super) struct Budget {
    pub(super) limits: Vec<(String, i64)>,
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
    pub(super) fn crossed(&self, spent: i64, batch: i64) -> Option<&str> {
        self.limits
            .iter()
            .find(|(_, left)| spent + batch > *left)
            .map(|(name, _)| name.as_str())
    }
}

pub(super) struct Models {
    /// `None` for assets that are not vectorized (full-text only).
    pub(super) embedder: Option<Arc<dyn Embedder>>,
    pub(super) sizer: Sizer,
    /// `provider/model`: the embedding cache's key.
    pub(super) key: String,
    pub(super) budget: Budget,
}

/// What one run works with, decided before the source is asked for anything.
pub(super) struct Plan {
    pub(super) models: Models,
    /// Re-index even unchanged documents (a forced refresh, a `REINDEX`).
    pub(super) force: bool,
    /// The asset's documents as indexed now, by source key.
    pub(super) stored: HashMap<String, Document>,
    /// A targeted update's document ids (ids derive from source keys, so a webhook can also name
    /// documents that are new to the index), and the source keys of those already stored.
    pub(super) target_ids: Option<HashSet<uuid::Uuid>>,
    pub(super) targeted: Option<HashSet<String>>,
    pub(super) credentials: Option<Credentials>,
    /// The chunking: `(chunk size, overlap)` in the model's tokens.
    pub(super) chunking: (usize, usize),
    pub(super) stages: Stages,
}

impl Plan {
    /// The plan, or the operation's error message when the asset's model or credentials cannot be
    /// used.
    pub(super) async fn make(
        ex: &IngestExecutor,
        job: &Job,
    ) -> Result<Result<Plan, String>, JobError> {
        let (op, asset, lease) = (&job.claim.operation, &job.claim.asset, &job.claim.lease);
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
        let budget = Budget::new(asset, &stats, ex.models.price(&asset.embedding));
        let embedder = if asset.vectorized {
            let endpoint =
                ragd_core::services::asset_endpoint(job.store.as_ref(), &ex.secrets, asset).await;
            match endpoint.and_then(|e| ex.models.embedder(&asset.embedding, e.as_ref())) {
                Ok(e) => Some(e),
                Err(error_message) => return Ok(Err(error_message)),
            }
        } else {
            None
        };
        let sizer = match ex.models.sizer(&asset.embedding) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let models = Models {
            embedder,
            sizer,
            key: format!("{}/{}", asset.embedding.provider, asset.embedding.model),
            budget,
        };
        let stored: HashMap<String, Document> = job
            .store
            .document_list(&lease.tenant, asset.id)
            .await?
            .into_iter()
            .map(|d| (d.source_key.clone(), d))
            .collect();
        let target_ids: Option<HashSet<uuid::Uuid>> =
            (!op.document_ids.is_empty()).then(|| op.document_ids.iter().copied().collect());
        let targeted = target_ids.as_ref().map(|ids| {
            stored
                .values()
                .filter(|d| ids.contains(&d.id))
                .map(|d| d.source_key.clone())
                .collect()
        });
        let credentials = match ex.credentials(job).await {
            Ok(c) => c,
            Err(error_message) => return Ok(Err(error_message)),
        };
        Ok(Ok(Plan {
            models,
            force: op.force || op.op_type == OperationType::Reindex,
            stored,
            target_ids,
            targeted,
            credentials,
            chunking: (
                asset.embedding.chunk_size as usize,
                asset.embedding.chunk_overlap as usize,
            ),
            stages: Stages::default(),
        }))
    }
}
