//! Assets on the wire: create and patch requests (embedding, budgets, auto-update, auth), the
//! Asset, its webhook and its usage.

use super::*;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Embedding {
    pub provider: String,
    pub model: String,
    pub chunk_size: u32,
    pub chunk_overlap: u32,
}

/// Embedding settings in a request; omitted fields take the model's defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmbeddingInput {
    /// A provider of `assets:embeddingModels`.
    pub provider: Option<String>,
    /// A model of that provider (`assets:embeddingModels`).
    pub model: Option<String>,
    /// Tokens per chunk: from 16 to the model's input limit.
    #[schema(minimum = 16)]
    pub chunk_size: Option<i64>,
    /// Tokens shared by neighbouring chunks: less than `chunkSize`.
    #[schema(minimum = 0)]
    pub chunk_overlap: Option<i64>,
}

impl From<&ragd_core::domain::EmbeddingSpec> for Embedding {
    fn from(e: &ragd_core::domain::EmbeddingSpec) -> Self {
        Embedding {
            provider: e.provider.clone(),
            model: e.model.clone(),
            chunk_size: e.chunk_size,
            chunk_overlap: e.chunk_overlap,
        }
    }
}

impl From<EmbeddingInput> for EmbeddingRequest {
    fn from(e: EmbeddingInput) -> Self {
        EmbeddingRequest {
            provider: e.provider,
            model: e.model,
            chunk_size: e.chunk_size,
            chunk_overlap: e.chunk_overlap,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetInput {
    #[schema(minimum = 0)]
    pub token_budget: Option<i64>,
    #[schema(minimum = 0)]
    pub monthly_token_budget: Option<i64>,
    #[schema(minimum = 0)]
    pub daily_token_budget: Option<i64>,
}

/// USD budgets, converted to tokens with the model's price when enforced.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CurrencyBudgetInput {
    #[schema(minimum = 0)]
    pub cost_budget: Option<f64>,
    #[schema(minimum = 0)]
    pub monthly_cost_budget: Option<f64>,
    #[schema(minimum = 0)]
    pub daily_cost_budget: Option<f64>,
}

impl From<BudgetInput> for TokenBudget {
    fn from(b: BudgetInput) -> Self {
        TokenBudget {
            total: b.token_budget,
            monthly: b.monthly_token_budget,
            daily: b.daily_token_budget,
        }
    }
}

impl From<CurrencyBudgetInput> for CostBudget {
    fn from(b: CurrencyBudgetInput) -> Self {
        CostBudget {
            total: b.cost_budget,
            monthly: b.monthly_cost_budget,
            daily: b.daily_cost_budget,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetBudget {
    pub token_budget: Option<i64>,
    pub monthly_token_budget: Option<i64>,
    pub daily_token_budget: Option<i64>,
    pub total_token_count: Option<i64>,
    pub monthly_tokens_used: Option<i64>,
    pub daily_tokens_used: Option<i64>,
    pub cost_budget: Option<f64>,
    pub monthly_cost_budget: Option<f64>,
    pub daily_cost_budget: Option<f64>,
    pub total_cost: Option<f64>,
    pub monthly_cost_used: Option<f64>,
    pub daily_cost_used: Option<f64>,
    pub price_per_million_tokens: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoUpdate {
    #[schema(schema_with = strategy_schema)]
    pub strategy: String,
    pub provider: Option<String>,
    pub external_context: Option<String>,
    pub filter: Option<String>,
    #[schema(schema_with = nullable_frequency_schema)]
    pub poll_frequency: Option<String>,
    #[schema(schema_with = nullable_weekday_schema)]
    pub poll_day: Option<String>,
    #[schema(schema_with = day_of_month_schema)]
    pub poll_day_of_month: Option<String>,
    #[schema(schema_with = hour_schema)]
    pub poll_hour: Option<String>,
    #[schema(schema_with = minute_schema)]
    pub poll_minute: Option<String>,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
}

impl AutoUpdate {
    pub fn into_domain(self, at: &str) -> Result<AutoUpdateConfig> {
        let mut v = Violations::default();
        let field = |f: &str| format!("{at}.{f}");
        let strategy = UpdateStrategy::parse(&self.strategy);
        if strategy.is_none() {
            v.add(field("strategy"), "must be WEBHOOK or POLL");
        }
        let frequency = self
            .poll_frequency
            .as_deref()
            .map(|f| PollFrequency::parse(f).ok_or(()));
        if matches!(frequency, Some(Err(()))) {
            v.add(
                field("pollFrequency"),
                "must be HOURLY, DAILY, WEEKLY or MONTHLY",
            );
        }
        let day = self
            .poll_day
            .as_deref()
            .map(|d| Weekday::parse(d).ok_or(()));
        if matches!(day, Some(Err(()))) {
            v.add(field("pollDay"), "must be MONDAY … SUNDAY");
        }
        let day_of_month = self.poll_day_of_month.as_deref().map(|d| match d {
            "LAST" => Ok(0u8),
            _ => d
                .strip_prefix('_')
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| (1..=31).contains(n))
                .ok_or(()),
        });
        if matches!(day_of_month, Some(Err(()))) {
            v.add(field("pollDayOfMonth"), "must be _1 … _31 or LAST");
        }
        let number = |s: &Option<String>, max: u8| {
            s.as_deref()
                .map(|s| s.parse::<u8>().ok().filter(|n| *n <= max).ok_or(()))
        };
        let (hour, minute) = (number(&self.poll_hour, 23), number(&self.poll_minute, 59));
        if matches!(hour, Some(Err(()))) {
            v.add(field("pollHour"), "must be \"0\" … \"23\"");
        }
        if matches!(minute, Some(Err(()))) {
            v.add(field("pollMinute"), "must be \"0\" … \"59\"");
        }
        if strategy == Some(UpdateStrategy::Poll) && frequency.is_none() {
            v.add(field("pollFrequency"), "is required for POLL");
        }
        v.into_result()?;
        Ok(AutoUpdateConfig {
            strategy: strategy.expect("checked"),
            provider: self.provider,
            external_context: self.external_context,
            filter: self.filter,
            poll_frequency: frequency.map(|f| f.expect("checked")),
            poll_day: day.map(|d| d.expect("checked")),
            poll_day_of_month: day_of_month.map(|d| d.expect("checked")),
            poll_hour: hour.map(|h| h.expect("checked")),
            poll_minute: minute.map(|m| m.expect("checked")),
            timezone: self.timezone,
        })
    }

    pub fn from_domain(c: &AutoUpdateConfig) -> Self {
        AutoUpdate {
            strategy: c.strategy.as_str().to_owned(),
            provider: c.provider.clone(),
            external_context: c.external_context.clone(),
            filter: c.filter.clone(),
            poll_frequency: c.poll_frequency.map(|f| f.as_str().to_owned()),
            poll_day: c.poll_day.map(|d| d.as_str().to_owned()),
            poll_day_of_month: c.poll_day_of_month.map(|d| {
                if d == 0 {
                    "LAST".to_owned()
                } else {
                    format!("_{d}")
                }
            }),
            poll_hour: c.poll_hour.map(|h| h.to_string()),
            poll_minute: c.poll_minute.map(|m| m.to_string()),
            timezone: c.timezone.clone(),
        }
    }
}

/// Credentials for the source. Secret values are write-only.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthInput {
    #[schema(schema_with = auth_method_schema)]
    pub method: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAssetRequest {
    pub config: AssetConfig,
    /// Display name (1-256 characters, not blank); defaults to the first document's name.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: Option<String>,
    pub auth: Option<AuthInput>,
    pub embedding: Option<EmbeddingInput>,
    pub budget: Option<BudgetInput>,
    pub currency_budget: Option<CurrencyBudgetInput>,
    pub auto_update: Option<AutoUpdate>,
    #[serde(alias = "embeddingLLMConfigId")]
    #[schema(format = Uuid)]
    pub embedding_llm_config_id: Option<String>,
    /// **(ragd)** Read PDF pages without a text layer (scans) and uploaded images by OCR
    /// (default true). Off, such pages are left out and said in the document's `ocrProblem`.
    pub ocr: Option<bool>,
}

impl AuthInput {
    fn into_domain(self) -> Result<Credentials> {
        Ok(Credentials {
            method: AuthMethod::parse(&self.method).ok_or_else(|| {
                Error::invalid("auth.method", "must be NONE, API_KEY, BASIC, OAUTH2 or AWS")
            })?,
            parameters: self.parameters,
        })
    }
}

impl CreateAssetRequest {
    pub fn into_domain(self) -> Result<CreateAsset> {
        let auth = self.auth.map(AuthInput::into_domain).transpose()?;
        Ok(CreateAsset {
            display_name: self.name,
            source_type: self.config.source_type,
            parameters: self.config.parameters,
            auth,
            embedding: self.embedding.map(Into::into).unwrap_or_default(),
            token_budget: self.budget.map(Into::into),
            cost_budget: self.currency_budget.map(Into::into),
            auto_update: self
                .auto_update
                .map(|a| a.into_domain("autoUpdate"))
                .transpose()?,
            embedding_llm_config_id: self.embedding_llm_config_id,
            vectorize: None,
            ocr: self.ocr,
            file_metadata: None,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchAssetRequest {
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub display_name: Option<String>,
    pub budget: Option<BudgetInput>,
    pub currency_budget: Option<CurrencyBudgetInput>,
    pub embedding: Option<EmbeddingInput>,
    pub source_config: Option<AssetConfig>,
    #[serde(alias = "embeddingLLMConfigId")]
    /// An LLM config id, or `""` to embed through the server's own endpoint again.
    #[schema(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    pub embedding_llm_config_id: Option<String>,
    /// **(ragd)** New credentials for the source (after a rotation, or when
    /// `needsReauthorization` is set): replaces the sealed ones, clears `needsReauthorization`,
    /// and starts a `REFRESH`. `{"method": "NONE"}` removes them.
    pub auth: Option<AuthInput>,
    pub auto_update: Option<AutoUpdate>,
    /// Turns auto-update off; wins over `autoUpdate`.
    #[serde(default)]
    pub disable_auto_update: bool,
    /// **(ragd)** Turns OCR on or off; a change starts a forced `REFRESH`, so every document is
    /// read again (unchanged chunks are not embedded again).
    pub ocr: Option<bool>,
}

impl PatchAssetRequest {
    pub fn into_domain(self) -> Result<PatchAsset> {
        let auto_update = if self.disable_auto_update {
            None
        } else {
            self.auto_update
                .map(|a| a.into_domain("autoUpdate"))
                .transpose()?
        };
        Ok(PatchAsset {
            display_name: self.display_name,
            token_budget: self.budget.map(Into::into),
            cost_budget: self.currency_budget.map(Into::into),
            embedding: self.embedding.map(Into::into),
            source_type: self.source_config.as_ref().map(|c| c.source_type.clone()),
            parameters: self.source_config.map(|c| c.parameters),
            embedding_llm_config_id: self.embedding_llm_config_id,
            auth: self.auth.map(AuthInput::into_domain).transpose()?,
            auto_update,
            disable_auto_update: self.disable_auto_update,
            ocr: self.ocr,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// Limit the refresh to these documents of the asset.
    #[serde(default)]
    pub document_ids: Vec<Uuid>,
    /// Re-process unchanged documents too.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub id: Uuid,
    pub display_name: String,
    #[serde(rename = "type")]
    #[schema(schema_with = source_type_schema)]
    pub source_type: String,
    pub vectorized: bool,
    /// **(ragd)** Whether scanned pages and uploaded images are read by OCR.
    pub ocr: bool,
    /// **(ragd)** The generation of the index searches read: its number (1 for the first, one
    /// more for each re-index) and the settings it was built with. `embedding` is what the asset
    /// is configured with, which differs while a `REINDEX` builds the next generation.
    pub serving_generation: IndexGeneration,
    /// **(ragd)** The generation a running `REINDEX` builds beside the serving one, which it
    /// replaces at once when complete, with the share of documents built.
    pub building_generation: Option<IndexGeneration>,
    /// **(ragd)** The generation the last re-index replaced, kept for `:rollback` until
    /// `generation_retention_secs` after its `retiredAt`.
    pub previous_generation: Option<IndexGeneration>,
    pub config: AssetConfig,
    pub integration_id: Option<String>,
    pub asset_link: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
    pub auto_update: bool,
    pub auto_update_config: Option<AutoUpdate>,
    pub last_polled_at: Option<i64>,
    pub embedding_llm_config_id: Option<String>,
    pub supports_auto_update: bool,
    pub supports_webhook_registration: bool,
    pub supports_poll_schedule: bool,
    pub embedding: Embedding,
    pub budget: AssetBudget,
    #[schema(schema_with = asset_status_schema)]
    pub status: String,
    pub document_count: i64,
    pub chunk_count: i64,
    /// **(ragd)** The provider refused to refresh the asset's OAuth tokens: authorise again and
    /// give the asset the new ones (`PATCH` with `auth`).
    pub needs_reauthorization: bool,
}

/// The canonical source URL: the first start URL of a crawl, the download link of an upload.
fn asset_link(a: &ragd_core::domain::Asset) -> Option<String> {
    Some(match sources::link(a.source_type, &a.parameters)? {
        sources::Link::Url(url) => url,
        sources::Link::Upload(id) => storage_link(a.tenant.as_str(), &id),
    })
}

impl Asset {
    pub fn from_domain(view: &AssetView, price: f64) -> Self {
        let (a, s) = (&view.asset, &view.stats);
        let desc = sources::source_type(a.source_type);
        // Secrets are write-only: whatever the descriptor marks secret is masked.
        let parameters = a
            .parameters
            .iter()
            .map(|(k, v)| {
                let secret =
                    desc.is_some_and(|d| d.properties.iter().any(|p| p.name == k && p.secret()));
                (
                    k.clone(),
                    if secret {
                        Value::String("***".into())
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        let (t, c) = (a.budget.tokens, a.budget.costs);
        Asset {
            id: a.id,
            display_name: a.display_name.clone(),
            source_type: a.source_type.as_str().to_owned(),
            vectorized: a.vectorized,
            ocr: a.ocr,
            serving_generation: IndexGeneration::from(&a.serving),
            building_generation: a
                .building
                .as_ref()
                .map(|g| IndexGeneration::building(g, s.latest_items)),
            previous_generation: a.previous.as_ref().map(IndexGeneration::from),
            config: AssetConfig {
                source_type: a.source_type.as_str().to_owned(),
                parameters,
            },
            integration_id: a.integration_id.clone(),
            asset_link: asset_link(a),
            created_at: a.created_at,
            modified_at: a.modified_at,
            auto_update: a.auto_update.is_some(),
            auto_update_config: a.auto_update.as_ref().map(AutoUpdate::from_domain),
            last_polled_at: a.last_polled_at,
            needs_reauthorization: a.auth_error.is_some(),
            embedding_llm_config_id: a.embedding_llm_config_id.clone(),
            supports_auto_update: desc.is_some_and(|d| d.supports_auto_update),
            supports_webhook_registration: desc.is_some_and(|d| d.supports_webhook_registration),
            supports_poll_schedule: desc.is_some_and(|d| d.supports_poll_schedule),
            embedding: Embedding::from(&a.embedding),
            budget: AssetBudget {
                token_budget: t.total,
                monthly_token_budget: t.monthly,
                daily_token_budget: t.daily,
                total_token_count: Some(s.total_tokens),
                monthly_tokens_used: Some(s.monthly_tokens),
                daily_tokens_used: Some(s.daily_tokens),
                cost_budget: c.total,
                monthly_cost_budget: c.monthly,
                daily_cost_budget: c.daily,
                total_cost: Some(cost(s.total_tokens, price)),
                monthly_cost_used: Some(cost(s.monthly_tokens, price)),
                daily_cost_used: Some(cost(s.daily_tokens, price)),
                price_per_million_tokens: Some(price),
            },
            status: view.status().as_str().to_owned(),
            document_count: s.document_count,
            chunk_count: s.chunk_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetWithOperation {
    pub asset: Asset,
    pub operation: AssetOperation,
    /// The webhook created with a WEBHOOK auto-update, with its signing secret (shown only here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<AssetWebhook>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatchAssetResponse {
    pub asset: Asset,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<AssetOperation>,
    /// Present when this PATCH enabled a WEBHOOK auto-update: the URL and signing secret, once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<AssetWebhook>,
}

/// An asset's inbound webhook. `signingSecret` is only ever shown in the response that created or
/// rotated it. Deliveries are signed like GitHub's: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256
/// of the raw body>` (`X-Ragd-Signature` is accepted too).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetWebhook {
    pub id: Uuid,
    /// `autoUpdate.provider` of the asset, or `GENERIC`.
    pub provider: String,
    /// Always `HMAC_SHA256`.
    pub auth_mode: String,
    /// Always `ACTIVE`: a rotated or disabled webhook no longer exists.
    pub status: String,
    /// Always null: webhooks do not expire.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub modified_at: i64,
    pub webhook_url: String,
    pub signing_secret: String,
}

impl AssetWebhook {
    pub fn from_domain(
        issued: &ragd_core::services::WebhookIssued,
        provider: Option<&str>,
        base_url: &str,
    ) -> Self {
        let w = &issued.webhook;
        AssetWebhook {
            id: w.id,
            provider: provider.unwrap_or("GENERIC").to_owned(),
            auth_mode: "HMAC_SHA256".into(),
            status: "ACTIVE".into(),
            expires_at: None,
            created_at: w.created_at,
            modified_at: w.modified_at,
            webhook_url: format!("{}/v1/webhooks/{}", base_url.trim_end_matches('/'), w.id),
            signing_secret: issued.secret.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetUsage {
    pub asset_id: Uuid,
    pub total_token_count: i64,
    pub total_chunk_count: i64,
    pub operation_count: i64,
}
