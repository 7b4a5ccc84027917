//! An asset as stored and as read: its embedding spec, budgets, auto-update settings and aggregates.

use super::*;

/// The embedding model and chunking an asset uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingSpec {
    pub provider: String,
    pub model: String,
    pub chunk_size: u32,
    pub chunk_overlap: u32,
}

/// Token limits: total, per UTC calendar month, per UTC day; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenBudget {
    pub total: Option<i64>,
    pub monthly: Option<i64>,
    pub daily: Option<i64>,
}

/// USD limits over the same windows, converted to tokens with the model's price when enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CostBudget {
    pub total: Option<f64>,
    pub monthly: Option<f64>,
    pub daily: Option<f64>,
}

/// Budget limits as configured (`budget` and `currencyBudget` of the contract).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetLimits {
    pub tokens: TokenBudget,
    pub costs: CostBudget,
}

/// When and how an asset refreshes itself (`null` = off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoUpdateConfig {
    pub strategy: UpdateStrategy,
    pub provider: Option<String>,
    pub external_context: Option<String>,
    pub filter: Option<String>,
    pub poll_frequency: Option<PollFrequency>,
    pub poll_day: Option<Weekday>,
    /// 1–31, or 0 for the last day of the month (`LAST`).
    pub poll_day_of_month: Option<u8>,
    pub poll_hour: Option<u8>,
    pub poll_minute: Option<u8>,
    pub timezone: Option<String>,
}

/// One generation of an asset's index (ragd): its chunks carry `index` in `chunks.asset_id` (the
/// asset's own id for its first generation), chunked and embedded with `spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub index: Uuid,
    pub number: i64,
    pub spec: EmbeddingSpec,
    /// When it stopped serving (a retained previous generation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Millis>,
}

impl Generation {
    /// An asset's first generation: its index is the asset's own id.
    pub fn first(asset_id: Uuid, spec: EmbeddingSpec) -> Self {
        Generation {
            index: asset_id,
            number: 1,
            spec,
            retired_at: None,
        }
    }
}

/// An asset as stored. Secrets never leave the store through this type unredacted by the API.
#[derive(Debug, Clone)]
pub struct Asset {
    pub id: Uuid,
    pub tenant: TenantId,
    pub display_name: String,
    pub source_type: SourceType,
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub auth_method: Option<AuthMethod>,
    pub vectorized: bool,
    /// Whether pages without a text layer and uploaded images are read by OCR (ragd).
    pub ocr: bool,
    pub integration_id: Option<String>,
    /// The embedding settings the asset is configured with: the building generation's while one
    /// builds, else the serving one's.
    pub embedding: EmbeddingSpec,
    /// The generation searches read (ragd).
    pub serving: Generation,
    /// The generation a `REINDEX` fills, until it swaps in (ragd).
    pub building: Option<Generation>,
    /// The generation that served before the last swap, kept for a rollback until it is swept
    /// (ragd).
    pub previous: Option<Generation>,
    pub budget: BudgetLimits,
    pub auto_update: Option<AutoUpdateConfig>,
    pub embedding_llm_config_id: Option<String>,
    pub created_by: String,
    pub created_at: Millis,
    pub modified_at: Millis,
    pub last_polled_at: Option<Millis>,
    /// When the poll schedule fires next (`None` without one).
    pub next_poll_at: Option<Millis>,
    /// The `auth` block (`Credentials`) sealed by `secrets::SecretBox` under the asset id; opaque
    /// to everything but the holder of the key.
    pub auth_sealed: Option<Vec<u8>>,
    /// Why the credentials stopped working (the provider refused to refresh them): the asset
    /// needs re-authorisation. Cleared when new credentials are stored.
    pub auth_error: Option<String>,
}

/// What the store aggregates about an asset when reading it.
#[derive(Debug, Clone, Default)]
pub struct AssetStats {
    pub document_count: i64,
    pub chunk_count: i64,
    /// Status and failed-item count of the newest operation, if any.
    pub latest_operation: Option<(OperationStatus, i64)>,
    /// Items processed and total of the newest operation (a building generation's progress).
    pub latest_items: (i64, i64),
    pub total_tokens: i64,
    pub monthly_tokens: i64,
    pub daily_tokens: i64,
    pub operation_count: i64,
}

/// An asset with its aggregates, as reads return it.
#[derive(Debug, Clone)]
pub struct AssetView {
    pub asset: Asset,
    pub stats: AssetStats,
}

impl AssetView {
    /// The outcome of the latest ingestion (ragd's `status`).
    ///
    /// A cancelled operation leaves what it wrote searchable, so the asset is `PARTIAL` when it
    /// has documents and `FAILED` when it has none.
    pub fn status(&self) -> AssetStatus {
        match self.stats.latest_operation {
            None | Some((OperationStatus::Pending, _)) => AssetStatus::Pending,
            Some((OperationStatus::Running, _)) => AssetStatus::Processing,
            Some((OperationStatus::Completed, 0)) => AssetStatus::Ready,
            Some((OperationStatus::Completed, _)) => AssetStatus::Partial,
            Some((OperationStatus::Failed, _)) => AssetStatus::Failed,
            Some((OperationStatus::Cancelled, _)) if self.stats.document_count > 0 => {
                AssetStatus::Partial
            }
            Some((OperationStatus::Cancelled, _)) => AssetStatus::Failed,
        }
    }
}

/// Start of the UTC day and month that budget usage is summed over.
#[derive(Debug, Clone, Copy)]
pub struct UsageWindows {
    pub day_start: Millis,
    pub month_start: Millis,
}
