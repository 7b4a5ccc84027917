//! Wire types: the JSON shapes of the contract, and their explicit conversions to and from the
//! domain. Nothing outside this crate sees them. Enum-valued fields are strings on the wire
//! whose allowed values are listed in the OpenAPI schema from the domain enums themselves.

use ragd_core::domain::*;
use ragd_core::embedding::{self, EmbeddingRequest};
use ragd_core::error::Violations;
use ragd_core::services::{CreateAsset, PatchAsset};
use ragd_core::sources;
use ragd_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, SchemaType, Type,
};
use uuid::Uuid;

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// `string_enum` that also allows `null` (an optional field).
fn nullable_enum(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    let values: Vec<Value> = values
        .into_iter()
        .map(Value::from)
        .chain([Value::Null])
        .collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
}

macro_rules! enum_schema {
    ($($fn_name:ident => $ty:ty),+ $(,)?) => {
        $(pub fn $fn_name() -> ObjectBuilder { string_enum(<$ty>::ALL.iter().map(|v| v.as_str())) })+
    };
}
enum_schema!(
    source_type_schema => SourceType,
    operation_type_schema => OperationType,
    operation_status_schema => OperationStatus,
    asset_status_schema => AssetStatus,
    auth_method_schema => AuthMethod,
    strategy_schema => UpdateStrategy,
    frequency_schema => PollFrequency,
    weekday_schema => Weekday,
);

fn nullable_frequency_schema() -> ObjectBuilder {
    nullable_enum(PollFrequency::ALL.iter().map(|v| v.as_str()))
}

fn nullable_weekday_schema() -> ObjectBuilder {
    nullable_enum(Weekday::ALL.iter().map(|v| v.as_str()))
}

fn day_of_month_schema() -> ObjectBuilder {
    const DAYS: [&str; 32] = [
        "_1", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9", "_10", "_11", "_12", "_13", "_14",
        "_15", "_16", "_17", "_18", "_19", "_20", "_21", "_22", "_23", "_24", "_25", "_26", "_27",
        "_28", "_29", "_30", "_31", "LAST",
    ];
    nullable_enum(DAYS).description(Some("`_1` … `_31`, or `LAST`."))
}

/// A nullable string of decimal digits from `"0"` to the given pattern's maximum.
fn number_string_schema(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(pattern))
        .description(Some(description))
}

fn hour_schema() -> ObjectBuilder {
    number_string_schema("^([0-9]|1[0-9]|2[0-3])$", "`\"0\"` … `\"23\"`.")
}

fn minute_schema() -> ObjectBuilder {
    number_string_schema("^([0-9]|[1-5][0-9])$", "`\"0\"` … `\"59\"`.")
}

/// The schema of one source parameter, from its descriptor: type, allowed values, range, and
/// `null` allowed when it is optional (the services treat `null` as absent).
fn parameter_schema(t: SourceType, p: &sources::Property) -> RefOr<Schema> {
    use sources::PropertyType as K;
    let types = |ty: Type| {
        if p.required {
            SchemaType::Type(ty)
        } else {
            SchemaType::from_iter([ty, Type::Null])
        }
    };
    let mut description = p.description.to_owned();
    if let Some(d) = p.default_value {
        description.push_str(&format!(" Default: `{d}`."));
    }
    let string = || {
        ObjectBuilder::new()
            .schema_type(types(Type::String))
            .description(Some(description.clone()))
    };
    let list = |items: RefOr<Schema>| {
        let array = ArrayBuilder::new()
            .items(items)
            .description(Some(description.clone()));
        if p.required {
            array
        } else {
            array.schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        }
    };
    match p.kind {
        K::String if !p.options.is_empty() => string()
            .enum_values(Some(
                p.options
                    .iter()
                    .copied()
                    .map(Value::from)
                    .chain((!p.required).then_some(Value::Null)),
            ))
            .into(),
        K::String if t == SourceType::File => string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into(),
        K::String => string().into(),
        K::Secret => string().write_only(Some(true)).into(),
        K::Boolean => ObjectBuilder::new()
            .schema_type(types(Type::Boolean))
            .description(Some(description))
            .into(),
        K::Integer => {
            let range = sources::PARAMETER_RANGES
                .iter()
                .find(|(s, n, _)| *s == t && *n == p.name)
                .map(|(.., r)| r);
            ObjectBuilder::new()
                .schema_type(types(Type::Integer))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(range.map(|r| *r.start() as f64))
                .maximum(range.map(|r| *r.end() as f64))
                .description(Some(description))
                .into()
        }
        K::StringList if t == SourceType::Web && p.name == "urls" => list(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("uri".into())))
                .into(),
        )
        .min_items(Some(1))
        .max_items(Some(sources::MAX_START_URLS))
        .into(),
        K::StringList if t == SourceType::File => list(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .into(),
        )
        .min_items(Some(1))
        .max_items(Some(sources::MAX_FILES))
        .into(),
        K::StringList => list(ObjectBuilder::new().schema_type(Type::String).into()).into(),
        K::ObjectList => {
            let document = ObjectBuilder::new()
                .property(
                    "name",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(1024))
                        .pattern(Some("\\S")),
                )
                .required("name")
                .property(
                    "text",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(sources::MAX_INLINE_DOCUMENT_BYTES as usize)),
                )
                .required("text")
                .property(
                    "contentType",
                    nullable_enum(sources::TEXT_CONTENT_TYPES.iter().copied()),
                )
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            list(document.into())
                .min_items(Some(1))
                .max_items(Some(sources::MAX_INLINE_DOCUMENTS))
                .into()
        }
    }
}

/// Pages of every list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Opaque cursor of the next page; `null` on the last page.
    pub next_page_token: Option<String>,
    /// Exact number of items in the whole list.
    pub total_count: i64,
}

/// Non-paginated lists (`assets:sourceTypes` and friends).
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}

/// A source type with its parameters. Its schema is one object per source type, generated from
/// the same descriptors (`assets:sourceTypes`) the services validate with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetConfig {
    pub source_type: String,
    /// Parameters of the source type (see `assets:sourceTypes`); secrets are shown as `"***"`.
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

impl utoipa::PartialSchema for AssetConfig {
    fn schema() -> RefOr<Schema> {
        let mut one_of = OneOfBuilder::new().description(Some(
            "The source type and its parameters (see `assets:sourceTypes`); secrets are write-only and shown as `\"***\"`.",
        ));
        for d in sources::SOURCE_TYPES {
            let mut parameters = ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for p in d.properties {
                parameters = parameters.property(p.name, parameter_schema(d.source_type, p));
                if p.required {
                    parameters = parameters.required(p.name);
                }
            }
            let mut variant = ObjectBuilder::new()
                .title(Some(d.source_type.as_str()))
                .property("sourceType", string_enum([d.source_type.as_str()]))
                .required("sourceType")
                .property("parameters", parameters)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            if d.properties.iter().any(|p| p.required) {
                variant = variant.required("parameters");
            }
            one_of = one_of.item(variant);
        }
        one_of.into()
    }
}

impl ToSchema for AssetConfig {}

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
    match a.source_type {
        ragd_core::domain::SourceType::Web => a
            .parameters
            .get("urls")?
            .get(0)?
            .as_str()
            .map(str::to_owned),
        ragd_core::domain::SourceType::File => a
            .parameters
            .get("fileId")?
            .as_str()
            .map(|id| storage_link(a.tenant.as_str(), id)),
        ragd_core::domain::SourceType::Git => a.parameters.get("url")?.as_str().map(str::to_owned),
        ragd_core::domain::SourceType::Github => {
            let repo = a.parameters.get("repository")?.as_str()?;
            Some(match a.parameters.get("apiUrl").and_then(|e| e.as_str()) {
                Some(api) => format!("{}/repos/{repo}", api.trim_end_matches('/')),
                None => format!("https://github.com/{repo}"),
            })
        }
        ragd_core::domain::SourceType::GoogleDrive => {
            let folder = a
                .parameters
                .get("folderId")
                .and_then(|f| f.as_str())
                .unwrap_or("root");
            Some(format!("https://drive.google.com/drive/folders/{folder}"))
        }
        ragd_core::domain::SourceType::Notion => {
            let first = a
                .parameters
                .get("pageIds")
                .or(a.parameters.get("databaseIds"))?
                .get(0)?
                .as_str()?;
            Some(format!("https://www.notion.so/{}", first.replace('-', "")))
        }
        ragd_core::domain::SourceType::S3 => {
            let bucket = a.parameters.get("bucket")?.as_str()?;
            Some(
                match a.parameters.get("endpointUrl").and_then(|e| e.as_str()) {
                    Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
                    None => format!("s3://{bucket}"),
                },
            )
        }
        _ => None,
    }
}

/// Where an uploaded file is downloaded.
pub fn storage_link(tenant: &str, file_id: &str) -> String {
    format!("/v1/tenants/{tenant}/storage/{file_id}")
}

fn cost(tokens: i64, price: f64) -> f64 {
    tokens as f64 * price / 1e6
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
            embedding: Embedding {
                provider: a.embedding.provider.clone(),
                model: a.embedding.model.clone(),
                chunk_size: a.embedding.chunk_size,
                chunk_overlap: a.embedding.chunk_overlap,
            },
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
#[serde(rename_all = "camelCase")]
pub struct AssetOperation {
    pub id: Uuid,
    pub asset_id: Uuid,
    pub tenant_id: String,
    #[serde(rename = "type")]
    #[schema(schema_with = operation_type_schema)]
    pub op_type: String,
    #[schema(schema_with = operation_status_schema)]
    pub status: String,
    /// True in the three terminal states; never goes back.
    pub done: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub items_processed: i64,
    pub items_total: i64,
    pub items_failed: i64,
    pub items_skipped: i64,
    /// (ragd) Found and left out on purpose: a crawled page marked `noindex`, a page whose
    /// canonical URL is another, a page with the same text as another, a page robots.txt disallows.
    pub items_excluded: i64,
    pub token_count: i64,
    pub tokens_saved: i64,
    pub chunk_count: i64,
    /// USD: tokenCount × the asset's current model price per million tokens.
    pub cost: f64,
    /// 0–1: itemsProcessed / itemsTotal; 1 once completed.
    pub progress: f64,
    pub error_message: Option<String>,
    pub created_by: String,
    pub document_ids: Vec<Uuid>,
    /// (ragd) What was left out and why (the first 1,000), in `GET …/operations/{operation}` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Vec<ExcludedItem>>,
}

/// (ragd) A page (or other item) a traversal found and left out on purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExcludedItem {
    pub url: String,
    pub reason: String,
}

impl AssetOperation {
    /// With the operation's exclusions listed.
    pub fn with_excluded(mut self, op: &Operation) -> Self {
        self.excluded = Some(
            op.excluded
                .iter()
                .map(|e| ExcludedItem {
                    url: e.url.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
        );
        self
    }

    pub fn from_domain(op: &Operation, cost: f64) -> Self {
        let c = &op.counters;
        AssetOperation {
            id: op.id,
            asset_id: op.asset_id,
            tenant_id: op.tenant.to_string(),
            op_type: op.op_type.as_str().to_owned(),
            status: op.status.as_str().to_owned(),
            done: op.status.is_terminal(),
            created_at: op.created_at,
            started_at: op.started_at,
            completed_at: op.completed_at,
            items_processed: c.items_processed,
            items_total: c.items_total,
            items_failed: c.items_failed,
            items_skipped: c.items_skipped,
            items_excluded: c.items_excluded,
            token_count: c.token_count,
            tokens_saved: c.tokens_saved,
            chunk_count: c.chunk_count,
            cost,
            progress: op.progress(),
            error_message: op.error_message.clone(),
            created_by: op.created_by.clone(),
            document_ids: op.document_ids.clone(),
            excluded: None,
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
pub struct PropertyDescriptor {
    pub name: String,
    /// STRING, INTEGER, BOOLEAN, STRING_LIST, SECRET, or OBJECT_LIST (ragd).
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
    pub secret: bool,
    pub default_value: Option<String>,
    pub description: String,
    pub options: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceTypeDescriptor {
    #[schema(schema_with = source_type_schema)]
    pub source_type: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "supportsOAuth")]
    pub supports_oauth: bool,
    pub supports_auto_update: bool,
    pub supports_webhook_registration: bool,
    pub supports_poll_schedule: bool,
    pub properties: Vec<PropertyDescriptor>,
}

impl From<&sources::SourceTypeDescriptor> for SourceTypeDescriptor {
    fn from(d: &sources::SourceTypeDescriptor) -> Self {
        SourceTypeDescriptor {
            source_type: d.source_type.as_str().to_owned(),
            display_name: d.display_name.to_owned(),
            description: d.description.to_owned(),
            supports_oauth: d.supports_oauth,
            supports_auto_update: d.supports_auto_update,
            supports_webhook_registration: d.supports_webhook_registration,
            supports_poll_schedule: d.supports_poll_schedule,
            properties: d
                .properties
                .iter()
                .map(|p| PropertyDescriptor {
                    name: p.name.to_owned(),
                    kind: p.kind.as_str().to_owned(),
                    required: p.required,
                    secret: p.secret(),
                    default_value: p.default_value.map(str::to_owned),
                    description: p.description.to_owned(),
                    options: p.options.iter().map(|o| (*o).to_owned()).collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportedType {
    pub content_type: String,
    pub extensions: Vec<String>,
    pub max_bytes: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingModel {
    pub provider: String,
    pub model: String,
    pub dimensions: u32,
    pub max_input_tokens: u32,
    pub price_per_million_tokens: f64,
    pub local: bool,
    pub default_chunk_size: u32,
    pub default_chunk_overlap: u32,
}

impl From<&embedding::EmbeddingModel> for EmbeddingModel {
    fn from(m: &embedding::EmbeddingModel) -> Self {
        EmbeddingModel {
            provider: m.provider.to_owned(),
            model: m.model.to_owned(),
            dimensions: m.dimensions,
            max_input_tokens: m.max_input_tokens,
            price_per_million_tokens: m.price_per_million_tokens,
            local: m.local,
            default_chunk_size: m.default_chunk_size,
            default_chunk_overlap: m.default_chunk_overlap,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// RFC 7807 problem details, as every error is answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// A stable code such as `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path.
    pub instance: String,
    pub request_id: Option<String>,
    /// Validation errors by field.
    pub errors: Option<Vec<FieldProblem>>,
    pub operation_id: Option<Uuid>,
    pub retry_after_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub id: Uuid,
    pub asset_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub source_url: Option<String>,
    pub file_size: i64,
    pub chunk_count: i64,
    /// PENDING, PROCESSING, INDEXED or FAILED.
    pub status: String,
    pub error_message: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
    pub processed_at: Option<i64>,
    pub content_hash: String,
    /// Tokens of all the document's chunks as the model counts them (with their contextText).
    pub token_count: i64,
}

impl From<&ragd_core::domain::Document> for Document {
    fn from(d: &ragd_core::domain::Document) -> Self {
        Document {
            id: d.id,
            asset_id: d.asset_id,
            file_name: d.file_name.clone(),
            content_type: d.content_type.clone(),
            source_url: d.source_url.clone(),
            file_size: d.file_size,
            chunk_count: d.chunk_count,
            status: d.status.as_str().to_owned(),
            error_message: d.error_message.clone(),
            created_at: d.created_at,
            modified_at: d.modified_at,
            processed_at: d.processed_at,
            content_hash: d.content_hash.clone(),
            token_count: d.token_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkItem {
    pub chunk_id: Uuid,
    pub chunk_index: i64,
    pub content: String,
    pub context_text: String,
    pub heading_path: String,
    pub page_number: Option<String>,
    pub start_char_idx: i64,
    pub end_char_idx: i64,
    pub start_line: i64,
    pub end_line: i64,
    pub token_count: i64,
}

impl From<&ragd_core::domain::Chunk> for ChunkItem {
    fn from(c: &ragd_core::domain::Chunk) -> Self {
        ChunkItem {
            chunk_id: c.id,
            chunk_index: c.chunk_index,
            content: c.content.clone(),
            context_text: c.context_text.clone(),
            heading_path: c.heading_path.clone(),
            page_number: c.page_number.clone(),
            start_char_idx: c.start_char,
            end_char_idx: c.end_char,
            start_line: c.start_line,
            end_line: c.end_line,
            token_count: c.token_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkPage {
    pub document_id: Uuid,
    pub chunks: Vec<ChunkItem>,
    pub total_chunks: i64,
    pub next_page_token: Option<String>,
}

/// `POST /storage` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredFileResponse {
    pub file_id: Uuid,
    /// The detected content type.
    pub file_type: String,
    /// Where the file can be downloaded (with a token of the tenant).
    pub prompt_link: String,
}

/// `POST /assets:import`: an asset from an uploaded file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportRequest {
    pub file_id: Uuid,
    /// Embed the chunks (default true); false makes a full-text-only asset.
    pub vectorize: Option<bool>,
    pub embedding_config: Option<EmbeddingInput>,
    #[serde(alias = "embeddingLLMConfigId")]
    #[schema(format = Uuid)]
    pub embedding_llm_config_id: Option<String>,
    /// **(ragd)** Display name; defaults to the file name.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub display_name: Option<String>,
}

/// The `Payload` part of `POST /assets:file` (keys case-insensitive).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilePayload {
    pub vectorize: Option<bool>,
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub display_name: Option<String>,
    pub embedding: Option<EmbeddingInput>,
    pub budget: Option<BudgetInput>,
    pub currency_budget: Option<CurrencyBudgetInput>,
    #[schema(format = Uuid)]
    pub embedding_llm_config_id: Option<String>,
}

impl FilePayload {
    /// The canonical spelling of a case-insensitive payload key.
    pub fn canonical_key(key: &str) -> Option<&'static str> {
        const KEYS: &[&str] = &[
            "vectorize",
            "displayName",
            "embedding",
            "budget",
            "currencyBudget",
            "embeddingLlmConfigId",
        ];
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "embeddingconfig" => Some("embedding"),
            "name" => Some("displayName"),
            _ => KEYS
                .iter()
                .copied()
                .find(|k| k.to_ascii_lowercase() == lower),
        }
    }

    pub fn into_domain(self, file_id: Uuid) -> CreateAsset {
        CreateAsset {
            display_name: self.display_name,
            source_type: "FILE".to_owned(),
            parameters: Map::from_iter([("fileId".to_owned(), Value::String(file_id.to_string()))]),
            auth: None,
            embedding: self.embedding.map(Into::into).unwrap_or_default(),
            token_budget: self.budget.map(Into::into),
            cost_budget: self.currency_budget.map(Into::into),
            auto_update: None,
            embedding_llm_config_id: self.embedding_llm_config_id,
            vectorize: self.vectorize,
        }
    }
}

impl ImportRequest {
    pub fn into_domain(self) -> CreateAsset {
        FilePayload {
            vectorize: self.vectorize,
            display_name: self.display_name,
            embedding: self.embedding_config,
            embedding_llm_config_id: self.embedding_llm_config_id,
            ..Default::default()
        }
        .into_domain(self.file_id)
    }
}

/// **(ragd)** Narrows a search.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchFilter {
    #[serde(default)]
    pub document_ids: Vec<Uuid>,
    #[serde(default)]
    pub content_types: Vec<String>,
    pub source_url_prefix: Option<String>,
}

fn search_mode_schema() -> ObjectBuilder {
    nullable_enum(["UNSPECIFIED", "VECTOR", "FULL_TEXT", "HYBRID"])
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequestBody {
    /// Not blank.
    #[schema(min_length = 1, max_length = 100_000, pattern = "\\S")]
    pub query: String,
    /// Default 10, at most 100.
    #[schema(minimum = 1, maximum = 100)]
    pub top_k: Option<i64>,
    /// Results scoring below this are dropped (after ranking, in the mode's own score).
    pub score_threshold: Option<f64>,
    /// `UNSPECIFIED` (= `HYBRID`), `VECTOR`, `FULL_TEXT` or `HYBRID`.
    #[schema(schema_with = search_mode_schema)]
    pub search_mode: Option<String>,
    #[schema(minimum = 0)]
    pub vector_weight: Option<f64>,
    #[schema(minimum = 0)]
    pub fts_weight: Option<f64>,
    /// Reciprocal rank fusion constant, default 60.
    #[schema(exclusive_minimum = 0)]
    pub rrf_k: Option<f64>,
    pub filter: Option<SearchFilter>,
    /// `POST /search` only: the assets to search (default: all of the tenant's).
    pub asset_ids: Option<Vec<Uuid>>,
}

impl SearchRequestBody {
    pub fn into_domain(self) -> Result<ragd_core::search::SearchRequest> {
        use ragd_core::search::SearchMode;
        let mode = match self.search_mode.as_deref() {
            None | Some("UNSPECIFIED") | Some("HYBRID") => SearchMode::Hybrid,
            Some("VECTOR") => SearchMode::Vector,
            Some("FULL_TEXT") => SearchMode::FullText,
            Some(_) => {
                return Err(Error::invalid(
                    "searchMode",
                    "must be UNSPECIFIED, VECTOR, FULL_TEXT or HYBRID",
                ));
            }
        };
        let filter = self.filter.unwrap_or_default();
        Ok(ragd_core::search::SearchRequest {
            query: self.query,
            top_k: self.top_k,
            score_threshold: self.score_threshold,
            mode,
            vector_weight: self.vector_weight,
            fts_weight: self.fts_weight,
            rrf_k: self.rrf_k,
            document_ids: filter.document_ids,
            content_types: filter.content_types,
            source_url_prefix: filter.source_url_prefix,
            asset_ids: self.asset_ids.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub content: String,
    pub asset_id: Uuid,
    pub source_type: String,
    pub chunk_id: Uuid,
    pub chunk_index: i64,
    /// The document's name (file name or page title).
    pub source: String,
    pub source_url: Option<String>,
    pub score: f64,
    pub start_char_idx: i64,
    pub end_char_idx: i64,
    pub page_number: Option<String>,
    pub start_line: i64,
    pub end_line: i64,
    pub document_id: Uuid,
    pub heading_path: String,
    pub context_text: String,
}

impl From<ragd_core::search::Scored> for SearchResult {
    fn from(s: ragd_core::search::Scored) -> Self {
        let (h, score) = (s.hit, s.score);
        let c = h.chunk;
        SearchResult {
            content: c.content,
            asset_id: h.asset_id,
            source_type: h.source_type.as_str().to_owned(),
            chunk_id: c.id,
            chunk_index: c.chunk_index,
            source: h.file_name,
            source_url: h.source_url,
            score,
            start_char_idx: c.start_char,
            end_char_idx: c.end_char,
            page_number: c.page_number,
            start_line: c.start_line,
            end_line: c.end_line,
            document_id: c.document_id,
            heading_path: c.heading_path,
            context_text: c.context_text,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
    pub took_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetUsage {
    pub asset_id: Uuid,
    pub total_token_count: i64,
    pub total_chunk_count: i64,
    pub operation_count: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeRequest {
    #[schema(schema_with = source_type_schema)]
    pub source_type: String,
    /// Where the browser goes after the callback, with `?credentialKey=…` (default: the
    /// configured success page).
    pub redirect_uri: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    pub authorization_url: String,
}

/// OAuth tokens, returned once per credential key; pass them back as
/// `auth: {method: "OAUTH2", parameters: {accessToken, refreshToken, expiresAt}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthCredentials {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: String,
    pub expires_at: Option<i64>,
}

impl OAuthCredentials {
    pub fn from_domain(t: ragd_core::ports::oauth::OAuthTokens) -> Self {
        OAuthCredentials {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: t.token_type,
            expires_at: t.expires_at,
        }
    }
}

/// **(ragd)** An LLM config: a tenant's endpoint and key for a remote embedding provider, which
/// assets name by `embeddingLlmConfigId`. The key is write-only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmConfig {
    pub id: Uuid,
    pub display_name: String,
    /// A remote provider of `assets:embeddingModels` (`openai`: any OpenAI-compatible API).
    pub provider: String,
    /// The API's base URL up to `/v1`; null: the provider's own.
    pub base_url: Option<String>,
    /// Whether a key is stored (it is never returned).
    pub has_api_key: bool,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub max_concurrency: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub modified_at: i64,
}

impl LlmConfig {
    pub fn from_domain(c: &ragd_core::domain::LlmConfig) -> Self {
        LlmConfig {
            id: c.id,
            display_name: c.display_name.clone(),
            provider: c.provider.clone(),
            base_url: c.base_url.clone(),
            has_api_key: c.api_key_sealed.is_some(),
            requests_per_minute: c.requests_per_minute,
            tokens_per_minute: c.tokens_per_minute,
            max_concurrency: c.max_concurrency,
            created_by: c.created_by.clone(),
            created_at: c.created_at,
            modified_at: c.modified_at,
        }
    }
}

/// The remote embedding providers an LLM config can name.
fn remote_provider_schema() -> ObjectBuilder {
    nullable_enum(embedding::remote_providers())
}

/// **(ragd)** Creates an LLM config (`provider` required), or changes one (every field optional;
/// `null` clears `baseUrl` and the limits; `provider` cannot change).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LlmConfigRequest {
    /// 1-200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub display_name: Option<String>,
    #[schema(schema_with = remote_provider_schema)]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub base_url: Option<Option<String>>,
    /// Write-only; at most 4,096 bytes.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S", write_only)]
    pub api_key: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub requests_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub tokens_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 64)]
    pub max_concurrency: Option<Option<i64>>,
}

impl LlmConfigRequest {
    pub fn into_domain(self) -> ragd_core::services::LlmConfigRequest {
        ragd_core::services::LlmConfigRequest {
            display_name: self.display_name,
            provider: self.provider,
            base_url: self.base_url,
            api_key: self.api_key,
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            max_concurrency: self.max_concurrency,
        }
    }
}

/// A field that may be absent (keep), `null` (clear) or a value.
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
