//! Assets: create (queuing the first `INGEST`), read, list, patch, delete and refresh.

use super::*;
use crate::domain::*;
use crate::embedding::EmbeddingRequest;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::ports::store::AssetQuery;
use crate::sources::{self, FileParams, Parameters};
use crate::time::now_ms;
use serde_json::{Map, Value};
use uuid::Uuid;

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
    /// Whether scanned pages and images are read by OCR (default true).
    pub ocr: Option<bool>,
    /// The metadata of the uploads a `FILE` asset names (`:file`'s `Payload`, `:import`).
    pub file_metadata: Option<Metadata>,
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
    /// Turns OCR on or off; a change re-reads every document (a forced `REFRESH`).
    pub ocr: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct Refresh {
    pub document_ids: Vec<Uuid>,
    pub force: bool,
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
    desc: &sources::SourceTypeDescriptor,
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
) -> Result<&'static sources::SourceTypeDescriptor> {
    let available = || {
        sources::SOURCE_TYPES
            .iter()
            .map(|d| d.source_type.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    SourceType::parse(name)
        .and_then(sources::source_type)
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
        let (embedding, vectorized) = self.check_create(caller, desc, &req).await?;
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
            let metadata = req.file_metadata.as_ref();
            self.store
                .file_retain(&caller.tenant, f.id, metadata)
                .await?;
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
            ocr: req.ocr.unwrap_or(true),
            integration_id: None,
            serving: Generation::first(id, embedding.clone()),
            building: None,
            previous: None,
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

    /// The checks of a create request, in the order their errors are reported; the asset's
    /// embedding spec and whether it is vectorized.
    async fn check_create(
        &self,
        caller: &Caller,
        desc: &sources::SourceTypeDescriptor,
        req: &CreateAsset,
    ) -> Result<(EmbeddingSpec, bool)> {
        sources::validate_parameters(desc, &req.parameters, "config.parameters")?;
        if let Some(m) = &req.file_metadata {
            let mut v = crate::error::Violations::default();
            check_metadata(m, "metadata", false, &mut v);
            v.into_result()?;
        }
        self.check_render(&req.parameters, "config.parameters")?;
        if let Some(auth) = &req.auth {
            sources::validate_auth(desc, auth)?;
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
        Ok((embedding, vectorized))
    }

    /// Applies a PATCH's source changes (parameters, auth; the source type cannot change):
    /// whether the source must be read again.
    fn patch_source(
        &self,
        desc: &sources::SourceTypeDescriptor,
        asset: &mut Asset,
        source_type: Option<&str>,
        parameters: Option<Map<String, Value>>,
        auth: Option<Credentials>,
    ) -> Result<bool> {
        let mut changed = false;
        if let Some(t) = source_type
            && source_descriptor(t, "sourceConfig.sourceType")?.source_type != asset.source_type
        {
            return Err(Error::invalid(
                "sourceConfig.sourceType",
                "the source type of an asset cannot change",
            ));
        }
        if let Some(params) = parameters {
            sources::validate_parameters(desc, &params, "sourceConfig.parameters")?;
            self.check_render(&params, "sourceConfig.parameters")?;
            if params != asset.parameters {
                asset.parameters = params;
                changed = true;
            }
        }
        if let Some(auth) = auth {
            sources::validate_auth(desc, &auth)?;
            let auth = Some(auth).filter(|a| a.method != AuthMethod::None);
            asset.auth_method = auth.as_ref().map(|a| a.method);
            asset.auth_sealed = auth
                .as_ref()
                .map(|a| self.secrets.seal_json(a, asset.id.as_bytes()));
            asset.auth_error = None;
            changed = true;
        }
        Ok(changed)
    }

    /// Applies a PATCH's `embeddingLlmConfigId` and checks the config the asset names fits its
    /// provider, when either changed.
    async fn patch_llm_config(
        &self,
        caller: &Caller,
        asset: &mut Asset,
        config_id: Option<String>,
        embedding_patched: bool,
    ) -> Result<()> {
        // An empty id clears the config (the server's endpoint serves the asset again).
        let config_changed = config_id.is_some();
        if let Some(id) = config_id {
            asset.embedding_llm_config_id = Some(id).filter(|id| !id.is_empty());
        }
        if let Some(id) = &asset.embedding_llm_config_id
            && (config_changed || embedding_patched)
        {
            self.check_llm_config(caller, id, &asset.embedding.provider)
                .await?;
        }
        Ok(())
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
    /// parameters starts a `REFRESH`, turning OCR on or off a forced one; budgets, names and
    /// auto-update start nothing. Turning a
    /// WEBHOOK auto-update on creates the webhook (returned with its secret, once); turning it off
    /// deletes it.
    pub async fn asset_patch(
        &self,
        caller: &Caller,
        id: Uuid,
        req: PatchAsset,
    ) -> Result<(AssetView, Option<Operation>, Option<WebhookIssued>)> {
        let mut asset = self.asset_get(caller, id).await?.asset;
        let desc = sources::source_type(asset.source_type).ok_or(Error::NotFound("asset"))?;
        let mut op_type = None;
        if let Some(name) = &req.display_name {
            asset.display_name = validate_name(name)?;
        }
        validate_budgets(req.token_budget.as_ref(), req.cost_budget.as_ref())?;
        asset.budget.tokens = req.token_budget.unwrap_or(asset.budget.tokens);
        asset.budget.costs = req.cost_budget.unwrap_or(asset.budget.costs);
        if let Some(e) = &req.embedding {
            if !asset.vectorized {
                return Err(Error::invalid("embedding", "the asset is not vectorized"));
            }
            let spec = self.models.resolve(Some(&asset.embedding), e)?;
            if spec != asset.embedding {
                self.reindex_into(&mut asset, spec).await?;
                op_type = Some(OperationType::Reindex);
            }
        }
        let ocr_changed = req.ocr.is_some_and(|ocr| ocr != asset.ocr);
        asset.ocr = req.ocr.unwrap_or(asset.ocr);
        let auth_changed = req.auth.is_some();
        let source = req.source_type.as_deref();
        if self.patch_source(desc, &mut asset, source, req.parameters, req.auth)? || ocr_changed {
            op_type = op_type.or(Some(OperationType::Refresh));
        }
        self.patch_llm_config(
            caller,
            &mut asset,
            req.embedding_llm_config_id,
            req.embedding.is_some(),
        )
        .await?;
        let now = now_ms();
        let (had_webhook, has_webhook) = patch_auto_update(
            desc,
            &mut asset,
            req.disable_auto_update,
            req.auto_update,
            now,
        )?;
        asset.modified_at = now;
        let new_op = op_type.map(|t| {
            let mut op = NewOperation::new(asset.id, t, &caller.subject, now);
            // Turning OCR on or off changes what unchanged documents read as.
            op.force = t == OperationType::Reindex || ocr_changed;
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
            // Saved parameters were checked when saved; nothing to discard if they did not decode.
            let ids = FileParams::parse(&asset.parameters).map_or_else(|_| Vec::new(), |p| p.ids());
            for file_id in ids {
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
        let ids = FileParams::parse_at(params, "config.parameters")?.ids();
        for (i, id) in ids.into_iter().enumerate() {
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

    pub async fn asset_refresh(
        &self,
        caller: &Caller,
        id: Uuid,
        req: Refresh,
    ) -> Result<(AssetView, Operation)> {
        self.asset_found(&caller.tenant, id).await?;
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

/// Applies a PATCH's auto-update change: whether the asset had a WEBHOOK auto-update before, and
/// whether it has one now.
fn patch_auto_update(
    desc: &sources::SourceTypeDescriptor,
    asset: &mut Asset,
    disable: bool,
    auto_update: Option<AutoUpdateConfig>,
    now: crate::time::Millis,
) -> Result<(bool, bool)> {
    let had_webhook = asset
        .auto_update
        .as_ref()
        .is_some_and(|c| c.strategy == UpdateStrategy::Webhook);
    if disable {
        asset.auto_update = None;
        asset.next_poll_at = None;
    } else if let Some(cfg) = auto_update {
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
    Ok((had_webhook, has_webhook))
}
