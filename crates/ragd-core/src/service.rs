//! The use cases behind the HTTP API. Handlers parse wire input into these request types, call
//! one method, and render what it returns; every rule of the contract that is not about HTTP
//! lives here.

use crate::catalog::{self, EmbeddingRequest, ModelCatalog};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::model::*;
use crate::page::{Page, PageRequest};
use crate::secrets::SecretBox;
use crate::store::{AssetQuery, BlobStream, Blobs, Store};
use crate::time::{day_and_month_start, now_ms};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Longest `:wait` a client may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often waiters re-read the store, which makes other processes' changes visible.
const WAIT_RECHECK: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Default)]
pub struct CreateAsset {
    pub display_name: Option<String>,
    pub source_type: String,
    pub parameters: Map<String, Value>,
    /// The `auth` block; sealed before it is stored, never returned.
    pub auth: Option<Credentials>,
    pub embedding: EmbeddingRequest,
    pub token_budget: Option<TokenBudget>,
    pub cost_budget: Option<CostBudget>,
    pub auto_update: Option<AutoUpdateConfig>,
    pub embedding_llm_config_id: Option<String>,
    /// Whether chunks are embedded (default true); without, the asset is searchable by full text only.
    pub vectorize: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct PatchAsset {
    pub display_name: Option<String>,
    pub token_budget: Option<TokenBudget>,
    pub cost_budget: Option<CostBudget>,
    pub embedding: Option<EmbeddingRequest>,
    pub source_type: Option<String>,
    pub parameters: Option<Map<String, Value>>,
    pub embedding_llm_config_id: Option<String>,
    /// New credentials (method `NONE` removes them); sealed, never returned.
    pub auth: Option<Credentials>,
    pub auto_update: Option<AutoUpdateConfig>,
    pub disable_auto_update: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Refresh {
    pub document_ids: Vec<Uuid>,
    pub force: bool,
}

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
    pub embedders: Option<Arc<dyn crate::embed::EmbedderRegistry>>,
    /// Seals credentials and webhook secrets before they are stored.
    pub secrets: Arc<SecretBox>,
    /// The configured OAuth providers (`None`: no source type can be authorised).
    pub oauth: Option<Arc<dyn crate::connect::OAuthClients>>,
    /// Whether this deployment can render pages with JavaScript (it has a Chromium): a `WEB`
    /// asset with `render: true` is refused without one.
    pub can_render: bool,
}

/// A webhook just created or rotated, with its signing secret: shown to the caller this once.
#[derive(Debug, Clone)]
pub struct WebhookIssued {
    pub webhook: Webhook,
    pub secret: String,
}

/// The current UTC day and month, for usage figures.
fn usage_windows() -> UsageWindows {
    let (day_start, month_start) = day_and_month_start(now_ms());
    UsageWindows {
        day_start,
        month_start,
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 {
        return Err(Error::invalid(
            "displayName",
            "must be 1-256 characters, not blank",
        ));
    }
    Ok(name.to_owned())
}

fn validate_budgets(tokens: Option<&TokenBudget>, costs: Option<&CostBudget>) -> Result<()> {
    let mut v = crate::error::Violations::default();
    if let Some(t) = tokens {
        for (name, x) in [
            ("tokenBudget", t.total),
            ("monthlyTokenBudget", t.monthly),
            ("dailyTokenBudget", t.daily),
        ] {
            if x.is_some_and(|x| x < 0) {
                v.add(format!("budget.{name}"), "must not be negative");
            }
        }
    }
    if let Some(c) = costs {
        for (name, x) in [
            ("costBudget", c.total),
            ("monthlyCostBudget", c.monthly),
            ("dailyCostBudget", c.daily),
        ] {
            if x.is_some_and(|x| !(x >= 0.0 && x.is_finite())) {
                v.add(
                    format!("currencyBudget.{name}"),
                    "must be a non-negative number",
                );
            }
        }
    }
    v.into_result()
}

fn check_auto_update(
    desc: &catalog::SourceTypeDescriptor,
    cfg: Option<&AutoUpdateConfig>,
) -> Result<()> {
    let Some(cfg) = cfg else { return Ok(()) };
    if !desc.supports_auto_update {
        return Err(Error::invalid(
            "autoUpdate",
            format!(
                "source type {} does not support auto-update",
                desc.source_type
            ),
        ));
    }
    let supported = match cfg.strategy {
        UpdateStrategy::Webhook => desc.supports_webhook_registration,
        UpdateStrategy::Poll => desc.supports_poll_schedule,
    };
    if !supported {
        return Err(Error::invalid(
            "autoUpdate.strategy",
            format!(
                "source type {} does not support {}",
                desc.source_type, cfg.strategy
            ),
        ));
    }
    crate::schedule::time_zone(cfg, "autoUpdate.timezone")?;
    Ok(())
}

pub(crate) fn source_descriptor(
    name: &str,
    field: &str,
) -> Result<&'static catalog::SourceTypeDescriptor> {
    let available = || {
        catalog::SOURCE_TYPES
            .iter()
            .map(|d| d.source_type.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    SourceType::parse(name)
        .and_then(catalog::source_type)
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "unsupported source type {name:?}; this build ingests {}",
                    available()
                ),
            )
        })
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
            upload_limit: catalog::DEFAULT_UPLOAD_LIMIT_BYTES,
            max_active_operations: None,
            embedders: None,
            secrets,
            oauth: None,
            can_render: false,
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

    /// `render: true` needs a Chromium this deployment has.
    fn check_render(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
        at: &str,
    ) -> Result<()> {
        if params.get("render").and_then(serde_json::Value::as_bool) == Some(true)
            && !self.can_render
        {
            return Err(Error::invalid(
                format!("{at}.render"),
                "rendering pages needs Chromium, which this server does not have (install it, e.g. Debian's chromium, or set chromium_path)",
            ));
        }
        Ok(())
    }

    /// Creates an asset and queues its `INGEST`; with a WEBHOOK auto-update, also its webhook.
    pub async fn asset_create(
        &self,
        caller: &Caller,
        req: CreateAsset,
    ) -> Result<(AssetView, Operation, Option<WebhookIssued>)> {
        let desc = source_descriptor(&req.source_type, "config.sourceType")?;
        catalog::validate_parameters(desc, &req.parameters, "config.parameters")?;
        self.check_render(&req.parameters, "config.parameters")?;
        if let Some(auth) = &req.auth {
            catalog::validate_auth(desc, auth)?;
        }
        let embedding = self.models.resolve(None, &req.embedding)?;
        if let Some(id) = &req.embedding_llm_config_id {
            self.check_llm_config(caller, id, &embedding.provider)
                .await?;
        }
        validate_budgets(req.token_budget.as_ref(), req.cost_budget.as_ref())?;
        check_auto_update(desc, req.auto_update.as_ref())?;
        let vectorized = req.vectorize.unwrap_or(true);
        if !vectorized
            && (req.embedding != EmbeddingRequest::default()
                || req.token_budget.is_some()
                || req.cost_budget.is_some())
        {
            return Err(Error::invalid(
                "embedding",
                "vector settings need a vectorized asset (vectorize is false)",
            ));
        }
        let files = match desc.source_type {
            SourceType::File => self.uploaded_files(caller, &req.parameters).await?,
            _ => Vec::new(),
        };
        let display_name = match (req.display_name, files.as_slice()) {
            (Some(n), _) => validate_name(&n)
                .map_err(|_| Error::invalid("name", "must be 1-256 characters, not blank"))?,
            (None, [f]) => f.file_name.chars().take(256).collect(),
            (None, [_, ..]) => format!("{} files", files.len()),
            (None, []) => default_name(desc.source_type, &req.parameters),
        };
        for f in &files {
            self.store.file_retain(&caller.tenant, f.id).await?;
        }
        let now = now_ms();
        let id = Uuid::now_v7();
        let auth = req.auth.filter(|a| a.method != AuthMethod::None);
        let asset = Asset {
            id,
            tenant: caller.tenant.clone(),
            display_name,
            source_type: desc.source_type,
            parameters: req.parameters,
            auth_method: auth.as_ref().map(|a| a.method),
            auth_sealed: auth
                .as_ref()
                .map(|a| self.secrets.seal_json(a, id.as_bytes())),
            auth_error: None,
            next_poll_at: req
                .auto_update
                .as_ref()
                .and_then(|c| crate::schedule::next_fire(c, now)),
            vectorized,
            integration_id: None,
            embedding,
            budget: BudgetLimits {
                tokens: req.token_budget.unwrap_or_default(),
                costs: req.cost_budget.unwrap_or_default(),
            },
            auto_update: req.auto_update,
            embedding_llm_config_id: req.embedding_llm_config_id,
            created_by: caller.subject.clone(),
            created_at: now,
            modified_at: now,
            last_polled_at: None,
        };
        self.check_operation_cap(&caller.tenant).await?;
        let op = self
            .store
            .asset_create(
                &asset,
                &NewOperation::new(asset.id, OperationType::Ingest, &caller.subject, now),
            )
            .await?;
        self.events.work_added();
        let webhook = match &asset.auto_update {
            Some(c) if c.strategy == UpdateStrategy::Webhook => {
                Some(self.webhook_issue(&caller.tenant, asset.id).await?)
            }
            _ => None,
        };
        let view = self.asset_get(caller, asset.id).await?;
        Ok((view, op, webhook))
    }

    pub async fn asset_get(&self, caller: &Caller, id: Uuid) -> Result<AssetView> {
        self.store
            .asset_get(&caller.tenant, id, usage_windows())
            .await?
            .ok_or(Error::NotFound("asset"))
    }

    pub async fn asset_list(
        &self,
        caller: &Caller,
        page: PageRequest,
        search: Option<String>,
    ) -> Result<Page<AssetView>> {
        let name_contains = search
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        self.store
            .asset_list(
                &caller.tenant,
                &AssetQuery {
                    page,
                    name_contains,
                },
                usage_windows(),
            )
            .await
    }

    /// Applies a PATCH. Changing embedding or chunking starts a `REINDEX`; changing the source's
    /// parameters starts a `REFRESH`; budgets, names and auto-update start nothing. Turning a
    /// WEBHOOK auto-update on creates the webhook (returned with its secret, once); turning it off
    /// deletes it.
    pub async fn asset_patch(
        &self,
        caller: &Caller,
        id: Uuid,
        req: PatchAsset,
    ) -> Result<(AssetView, Option<Operation>, Option<WebhookIssued>)> {
        let mut asset = self.asset_get(caller, id).await?.asset;
        let desc = catalog::source_type(asset.source_type).ok_or(Error::NotFound("asset"))?;
        let mut op_type = None;
        if let Some(name) = &req.display_name {
            asset.display_name = validate_name(name)?;
        }
        validate_budgets(req.token_budget.as_ref(), req.cost_budget.as_ref())?;
        if let Some(t) = req.token_budget {
            asset.budget.tokens = t;
        }
        if let Some(c) = req.cost_budget {
            asset.budget.costs = c;
        }
        if let Some(e) = &req.embedding {
            if !asset.vectorized {
                return Err(Error::invalid("embedding", "the asset is not vectorized"));
            }
            let spec = self.models.resolve(Some(&asset.embedding), e)?;
            if spec != asset.embedding {
                asset.embedding = spec;
                op_type = Some(OperationType::Reindex);
            }
        }
        if let Some(t) = &req.source_type
            && source_descriptor(t, "sourceConfig.sourceType")?.source_type != asset.source_type
        {
            return Err(Error::invalid(
                "sourceConfig.sourceType",
                "the source type of an asset cannot change",
            ));
        }
        if let Some(params) = req.parameters {
            catalog::validate_parameters(desc, &params, "sourceConfig.parameters")?;
            self.check_render(&params, "sourceConfig.parameters")?;
            if params != asset.parameters {
                asset.parameters = params;
                op_type = op_type.or(Some(OperationType::Refresh));
            }
        }
        let auth_changed = req.auth.is_some();
        if let Some(auth) = req.auth {
            catalog::validate_auth(desc, &auth)?;
            let auth = Some(auth).filter(|a| a.method != AuthMethod::None);
            asset.auth_method = auth.as_ref().map(|a| a.method);
            asset.auth_sealed = auth
                .as_ref()
                .map(|a| self.secrets.seal_json(a, asset.id.as_bytes()));
            asset.auth_error = None;
            op_type = op_type.or(Some(OperationType::Refresh));
        }
        // An empty id clears the config (the server's endpoint serves the asset again).
        let config_changed = req.embedding_llm_config_id.is_some();
        if let Some(id) = req.embedding_llm_config_id {
            asset.embedding_llm_config_id = Some(id).filter(|id| !id.is_empty());
        }
        if let Some(id) = &asset.embedding_llm_config_id
            && (config_changed || req.embedding.is_some())
        {
            self.check_llm_config(caller, id, &asset.embedding.provider)
                .await?;
        }
        let had_webhook = asset
            .auto_update
            .as_ref()
            .is_some_and(|c| c.strategy == UpdateStrategy::Webhook);
        let now = now_ms();
        if req.disable_auto_update {
            asset.auto_update = None;
            asset.next_poll_at = None;
        } else if let Some(cfg) = req.auto_update {
            check_auto_update(desc, Some(&cfg))?;
            if asset.auto_update.as_ref() != Some(&cfg) {
                asset.next_poll_at = crate::schedule::next_fire(&cfg, now);
            }
            asset.auto_update = Some(cfg);
        }
        let has_webhook = asset
            .auto_update
            .as_ref()
            .is_some_and(|c| c.strategy == UpdateStrategy::Webhook);
        asset.modified_at = now;
        let new_op = op_type.map(|t| {
            let mut op = NewOperation::new(asset.id, t, &caller.subject, now);
            op.force = t == OperationType::Reindex;
            op
        });
        if new_op.is_some() {
            self.check_operation_cap(&caller.tenant).await?;
        }
        let op = self
            .store
            .asset_update(&asset, new_op.as_ref(), auth_changed)
            .await?;
        if op.is_some() {
            self.events.work_added();
        }
        let webhook = match (had_webhook, has_webhook) {
            (false, true) => Some(self.webhook_issue(&caller.tenant, id).await?),
            (true, false) => {
                self.store.webhook_set(&caller.tenant, id, None).await?;
                None
            }
            _ => None,
        };
        Ok((self.asset_get(caller, id).await?, op, webhook))
    }

    /// Deletes the asset with its documents and chunks, and its uploaded file.
    pub async fn asset_delete(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let asset = self
            .store
            .assets(&caller.tenant, Some(&[id]))
            .await?
            .pop()
            .ok_or(Error::NotFound("asset"))?;
        if !self
            .store
            .asset_delete(&caller.tenant, id, now_ms())
            .await?
        {
            return Err(Error::NotFound("asset"));
        }
        self.events.operation_changed();
        if asset.source_type == SourceType::File {
            for file_id in catalog::file_ids(&asset.parameters) {
                self.file_discard(&caller.tenant, file_id).await?;
            }
        }
        Ok(())
    }

    /// The uploads a `FILE` asset's parameters name, or a 400 naming the first unknown one.
    async fn uploaded_files(
        &self,
        caller: &Caller,
        params: &Map<String, Value>,
    ) -> Result<Vec<StoredFile>> {
        let mut files = Vec::new();
        for (i, id) in catalog::file_ids(params).into_iter().enumerate() {
            let field = if params.get("fileIds").is_some_and(|v| !v.is_null()) {
                format!("config.parameters.fileIds[{i}]")
            } else {
                "config.parameters.fileId".to_owned()
            };
            let unknown = || {
                Error::invalid(
                    field.clone(),
                    "no such file was uploaded (POST /storage) for this tenant",
                )
            };
            files.push(
                self.store
                    .file_get(&caller.tenant, id)
                    .await?
                    .ok_or_else(unknown)?,
            );
        }
        Ok(files)
    }

    /// Streams an upload to the blob store. The content type comes from the file's name, its
    /// first bytes and the declared type; one ragd cannot parse is a 415, a body over the upload
    /// limit a 413, and neither leaves anything stored.
    pub async fn file_store(
        &self,
        caller: &Caller,
        file_name: &str,
        declared: Option<&str>,
        mut body: BlobStream,
        temporary: bool,
    ) -> Result<StoredFile> {
        use futures::StreamExt;
        let file_name = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .trim();
        if file_name.is_empty()
            || file_name.chars().count() > 1024
            || file_name.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "file",
                "the file part needs a file name of 1-1024 characters, none a control character",
            ));
        }
        let mut head = Vec::new();
        while head.len() < 8 {
            match body.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => break,
            }
        }
        let content_type =
            catalog::detect_content_type(file_name, declared, &head).ok_or_else(|| {
                let supported: Vec<&str> = catalog::CONTENT_TYPES
                    .iter()
                    .flat_map(|(_, exts)| exts.iter().copied())
                    .collect();
                Error::UnsupportedMediaType(format!(
                    "{file_name} ({}) is not a supported type; ragd ingests {}",
                    declared.unwrap_or("no content type"),
                    supported.join(" ")
                ))
            })?;
        if head.is_empty() {
            return Err(Error::invalid("file", "the file is empty"));
        }
        let id = Uuid::now_v7();
        let key = StoredFile::blob_key(&caller.tenant, id);
        let body = futures::stream::once(async move { Ok(bytes::Bytes::from(head)) })
            .chain(body)
            .boxed();
        let (size, sha256) = self.blobs.put(&key, body, self.upload_limit).await?;
        let file = StoredFile {
            id,
            tenant: caller.tenant.clone(),
            file_name: file_name.to_owned(),
            content_type: content_type.to_owned(),
            size: size as i64,
            sha256,
            temporary,
            created_at: now_ms(),
        };
        if let Err(e) = self.store.file_create(&file).await {
            let _ = self.blobs.delete(&key).await;
            return Err(e);
        }
        Ok(file)
    }

    /// The bytes of an uploaded file, for its download link.
    pub async fn file_get(&self, caller: &Caller, id: Uuid) -> Result<(StoredFile, bytes::Bytes)> {
        let file = self
            .store
            .file_get(&caller.tenant, id)
            .await?
            .ok_or(Error::NotFound("file"))?;
        let bytes = self
            .blobs
            .get(&StoredFile::blob_key(&caller.tenant, id))
            .await?
            .ok_or(Error::NotFound("file"))?;
        Ok((file, bytes))
    }

    /// Removes an upload, its bytes and its record (its asset was deleted or could not be
    /// created, or it expired).
    pub async fn file_discard(&self, tenant: &TenantId, id: Uuid) -> Result<()> {
        self.blobs.delete(&StoredFile::blob_key(tenant, id)).await?;
        self.store.file_delete(tenant, id).await?;
        Ok(())
    }

    /// Deletes temporary uploads older than a day that no asset imported. Returns how many.
    pub async fn files_sweep(&self, now: crate::time::Millis) -> Result<usize> {
        let expired = self
            .store
            .files_expired(now - TEMPORARY_FILE_TTL_MS, 1000)
            .await?;
        for f in &expired {
            self.file_discard(&f.tenant, f.id).await?;
        }
        Ok(expired.len())
    }

    pub async fn asset_refresh(
        &self,
        caller: &Caller,
        id: Uuid,
        req: Refresh,
    ) -> Result<(AssetView, Operation)> {
        if !self.store.asset_exists(&caller.tenant, id).await? {
            return Err(Error::NotFound("asset"));
        }
        if !req.document_ids.is_empty() {
            let known: std::collections::HashSet<Uuid> = self
                .store
                .document_list(&caller.tenant, id)
                .await?
                .into_iter()
                .map(|d| d.id)
                .collect();
            let unknown: Vec<String> = req
                .document_ids
                .iter()
                .filter(|d| !known.contains(d))
                .map(Uuid::to_string)
                .collect();
            if !unknown.is_empty() {
                return Err(Error::invalid(
                    "documentIds",
                    format!("unknown documents of this asset: {}", unknown.join(", ")),
                ));
            }
        }
        let mut op = NewOperation::new(id, OperationType::Refresh, &caller.subject, now_ms());
        op.document_ids = req.document_ids;
        op.force = req.force;
        self.check_operation_cap(&caller.tenant).await?;
        let op = self.store.operation_create(&caller.tenant, &op).await?;
        self.events.work_added();
        Ok((self.asset_get(caller, id).await?, op))
    }

    pub async fn operation_get(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Operation> {
        self.store
            .operation_get(&caller.tenant, asset_id, id)
            .await?
            .ok_or(Error::NotFound("operation"))
    }

    pub async fn operation_list(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Operation>> {
        if !self.store.asset_exists(&caller.tenant, asset_id).await? {
            return Err(Error::NotFound("asset"));
        }
        self.store
            .operation_list(&caller.tenant, asset_id, &page)
            .await
    }

    pub async fn operation_cancel(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Operation> {
        let op = self
            .store
            .operation_cancel(&caller.tenant, asset_id, id, now_ms())
            .await?
            .ok_or(Error::NotFound("operation"))?;
        self.events.operation_changed();
        Ok(op)
    }

    /// Returns as soon as the operation is done, or as it stands when `timeout` passes.
    pub async fn operation_wait(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Operation> {
        let deadline = tokio::time::Instant::now() + timeout.min(MAX_WAIT);
        let mut changes = self.events.watch_operations();
        loop {
            changes.borrow_and_update();
            let op = self.operation_get(caller, asset_id, id).await?;
            if op.status.is_terminal() || tokio::time::Instant::now() >= deadline {
                return Ok(op);
            }
            let recheck = (tokio::time::Instant::now() + WAIT_RECHECK).min(deadline);
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(recheck) => {}
            }
        }
    }

    /// Waits until the operation differs from `seen` (or is done), for `:watch` streams.
    pub async fn operation_next_change(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        seen: &Operation,
    ) -> Result<Operation> {
        let mut changes = self.events.watch_operations();
        loop {
            changes.borrow_and_update();
            let op = self.operation_get(caller, asset_id, seen.id).await?;
            if op.status != seen.status
                || op.counters != seen.counters
                || op.cancel_requested != seen.cancel_requested
            {
                return Ok(op);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(WAIT_RECHECK) => {}
            }
        }
    }

    /// Documents of an asset; 404 until the asset has completed one ingestion.
    pub async fn document_list(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        page: PageRequest,
        search: Option<String>,
    ) -> Result<Page<Document>> {
        self.documents_visible(caller, asset_id).await?;
        let search = search
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        self.store
            .document_page(&caller.tenant, asset_id, &page, search.as_deref())
            .await
    }

    async fn documents_visible(&self, caller: &Caller, asset_id: Uuid) -> Result<()> {
        if !self.store.asset_exists(&caller.tenant, asset_id).await? {
            return Err(Error::NotFound("asset"));
        }
        if !self
            .store
            .asset_has_completed(&caller.tenant, asset_id)
            .await?
        {
            return Err(Error::NotFound(
                "documents (the asset has not completed an ingestion yet)",
            ));
        }
        Ok(())
    }

    pub async fn document_get(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Document> {
        self.store
            .asset_exists(&caller.tenant, asset_id)
            .await?
            .then_some(())
            .ok_or(Error::NotFound("asset"))?;
        self.store
            .document_get(&caller.tenant, asset_id, id)
            .await?
            .ok_or(Error::NotFound("document"))
    }

    /// Removes a document and its chunks from the index at once; a full refresh brings it back.
    pub async fn document_delete(&self, caller: &Caller, asset_id: Uuid, id: Uuid) -> Result<()> {
        self.store
            .asset_exists(&caller.tenant, asset_id)
            .await?
            .then_some(())
            .ok_or(Error::NotFound("asset"))?;
        self.store
            .document_remove(&caller.tenant, asset_id, id)
            .await?
            .then_some(())
            .ok_or(Error::NotFound("document"))
    }

    /// A page of a document's chunks in `chunkIndex` order, after `after_index`.
    pub async fn chunk_page(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
        after_index: Option<i64>,
        size: u32,
    ) -> Result<(Vec<Chunk>, i64)> {
        self.document_get(caller, asset_id, id).await?;
        self.store
            .chunk_page(&caller.tenant, id, after_index, size)
            .await
    }

    /// USD an operation cost, at the asset's current model price.
    pub fn operation_cost(&self, op: &Operation) -> f64 {
        op.counters.token_count as f64 * self.models.price(&op.provider, &op.model) / 1e6
    }

    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await
    }
}

fn default_name(t: SourceType, params: &Map<String, Value>) -> String {
    let first = params
        .get("documents")
        .and_then(|d| d.get(0))
        .and_then(|d| d.get("name"))
        .or_else(|| params.get("urls").and_then(|u| u.get(0)))
        .and_then(Value::as_str);
    match first {
        Some(n) => n.chars().take(256).collect(),
        None => format!("{t} asset"),
    }
}
