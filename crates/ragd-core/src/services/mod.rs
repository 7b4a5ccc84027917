//! The use cases behind the HTTP API. Handlers parse wire input into these request types, call
//! one method, and render what it returns; every rule of the contract that is not about HTTP
//! lives here.
//!
//! # Layout
//! One file per resource, mirroring `ragd-api`'s routes; each adds its methods to [`Services`].
//! - `assets`: create, read, list, patch, delete and refresh an asset.
//! - `files`: uploads to `/storage`, their download and their sweep.
//! - `operations`: read, list, cancel and wait on operations.
//! - `documents`: an asset's documents and their chunks.
//! - `oauth`: the OAuth flow (authorize, callback, the single-use credential exchange) and keeping
//!   tokens fresh.
//! - `webhooks`: an asset's inbound webhook (issue, rotate, receive).
//! - `search`: search over one asset or several.
//! - `generations`: **(ragd)** a change of embedding settings becomes a generation built
//!   beside the serving one.
//! - `estimate`: **(ragd)** what re-indexing an asset with another model or chunking would embed
//!   and cost, from its stored texts.
//! - `llm_configs`: **(ragd)** a tenant's endpoints and keys for remote embedding and re-ranking
//!   providers, and the endpoint an asset's embedder or a search's re-ranker uses.
//! - `scheduler`: the tick that fires due poll schedules and starts deferred webhook updates.
//!
//! Talking to OAuth providers is behind [`crate::ports::oauth::OAuthClients`], implemented by the
//! binary.

mod assets;
mod documents;
mod estimate;
mod files;
mod generations;
mod llm_configs;
mod oauth;
mod operations;
mod scheduler;
mod search;
mod webhooks;

pub use assets::{CreateAsset, PatchAsset, Refresh};
pub use estimate::{Estimate, estimate_index};
pub use llm_configs::{LlmConfigRequest, asset_endpoint, config_endpoint};
pub use oauth::{GRANT_TTL_MS, REFRESH_MARGIN_MS, fresh_credentials, oauth_credentials};
pub use scheduler::{SCHEDULER, schedule_tick};
pub use webhooks::{DeliveryHeaders, WEBHOOK, WebhookIssued, delivery_targets};

use crate::domain::*;
use crate::embedding::ModelCatalog;
use crate::error::{Error, Result};
use crate::events::Events;
use crate::ports::store::{Blobs, Store};
use crate::secrets::SecretBox;
use crate::time::{day_and_month_start, now_ms};
use std::sync::Arc;
use std::time::Duration;

/// Longest `:wait` a client may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often waiters re-read the store, which makes other processes' changes visible.
const WAIT_RECHECK: Duration = Duration::from_millis(250);

/// The domain's entry point, shared by all handlers.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub models: Arc<ModelCatalog>,
    pub events: Arc<Events>,
    pub blobs: Arc<dyn Blobs>,
    /// Largest upload accepted, in bytes.
    pub upload_limit: u64,
    /// Most operations one tenant may have `PENDING` or `RUNNING`; `None`: no limit.
    pub max_active_operations: Option<i64>,
    /// Embeds search queries; `None` where no model is available (vector search is then a 503).
    pub embedders: Option<Arc<dyn crate::ports::embed::EmbedderRegistry>>,
    /// Seals credentials and webhook secrets before they are stored.
    pub secrets: Arc<SecretBox>,
    /// The configured OAuth providers (`None`: no source type can be authorised).
    pub oauth: Option<Arc<dyn crate::ports::oauth::OAuthClients>>,
    /// Whether this deployment can render pages with JavaScript (it has a Chromium): a `WEB`
    /// asset with `render: true` is refused without one.
    pub can_render: bool,
    /// Re-rank search candidates (ragd); `None`: a re-ranking falls back to the fused order.
    pub rerankers: Option<Arc<dyn crate::ports::rerank::Rerankers>>,
    /// Longest a search waits for its re-ranker before it keeps the fused order.
    pub rerank_timeout: std::time::Duration,
    /// How long a swapped-out generation is kept for a rollback (ragd).
    pub generation_retention: Duration,
    /// Chunks stored texts for `:estimate` (ragd); `None`: estimates are a 503.
    pub chunker: Option<Arc<dyn crate::ports::embed::Chunker>>,
}

/// The current UTC day and month, for usage figures.
fn usage_windows() -> UsageWindows {
    let (day_start, month_start) = day_and_month_start(now_ms());
    UsageWindows {
        day_start,
        month_start,
    }
}

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        models: Arc<ModelCatalog>,
        events: Arc<Events>,
        blobs: Arc<dyn Blobs>,
        secrets: Arc<SecretBox>,
    ) -> Self {
        Self {
            store,
            models,
            events,
            blobs,
            upload_limit: crate::sources::DEFAULT_UPLOAD_LIMIT_BYTES,
            max_active_operations: None,
            embedders: None,
            secrets,
            oauth: None,
            can_render: false,
            rerankers: None,
            rerank_timeout: std::time::Duration::from_secs(5),
            chunker: None,
            generation_retention: Duration::from_secs(86_400),
        }
    }

    /// A new operation of the tenant is refused (429) while it has its most active ones: a soft
    /// cap (two requests at once may both pass the count) that keeps one tenant from filling the
    /// queue for everyone.
    async fn check_operation_cap(&self, tenant: &TenantId) -> Result<()> {
        let Some(max) = self.max_active_operations else {
            return Ok(());
        };
        let active = self.store.operations_active(tenant).await?;
        if active >= max {
            return Err(Error::RateLimited {
                detail: format!(
                    "the tenant has {active} operations pending or running, the most it may have at once ({max}); retry when some are done"
                ),
                retry_after_seconds: 5,
            });
        }
        Ok(())
    }

    /// USD per million tokens of the operation's model: the asset's current one.
    pub fn operation_price(&self, op: &Operation) -> f64 {
        self.models.price(&op.provider, &op.model)
    }

    /// `NotFound("asset")` unless the tenant has the asset.
    async fn asset_found(&self, tenant: &TenantId, id: uuid::Uuid) -> Result<()> {
        if self.store.asset_exists(tenant, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("asset"))
        }
    }

    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await
    }
}
