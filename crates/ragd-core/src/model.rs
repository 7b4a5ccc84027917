//! The domain's nouns: tenants, assets, operations and documents, with the rules that belong to them.

use crate::error::{Error, Result};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a closed enum with its contract spelling (UPPER_SNAKE on the wire and in the database).
macro_rules! spelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact contract spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled_enum!(
    /// Where an asset's documents come from.
    SourceType {
        Text => "TEXT", File => "FILE", Web => "WEB", Git => "GIT", S3 => "S3",
        Github => "GITHUB", GoogleDrive => "GOOGLE_DRIVE", Notion => "NOTION",
    }
);
spelled_enum!(OperationType {
    Ingest => "INGEST", Refresh => "REFRESH", WebhookUpdate => "WEBHOOK_UPDATE",
    ScheduledRefresh => "SCHEDULED_REFRESH", Reindex => "REINDEX",
});
spelled_enum!(OperationStatus {
    Pending => "PENDING", Running => "RUNNING", Completed => "COMPLETED",
    Failed => "FAILED", Cancelled => "CANCELLED",
});
spelled_enum!(AssetStatus {
    Pending => "PENDING", Processing => "PROCESSING", Ready => "READY", Partial => "PARTIAL", Failed => "FAILED",
});
spelled_enum!(DocumentStatus {
    Pending => "PENDING", Processing => "PROCESSING", Indexed => "INDEXED", Failed => "FAILED",
});
spelled_enum!(AuthMethod { None => "NONE", ApiKey => "API_KEY", Basic => "BASIC", OAuth2 => "OAUTH2", Aws => "AWS" });
spelled_enum!(UpdateStrategy { Webhook => "WEBHOOK", Poll => "POLL" });
spelled_enum!(
    /// What an OAuth grant holds: a pending authorization's state, or tokens behind a credential key.
    GrantKind { State => "STATE", Credential => "CREDENTIAL" }
);
spelled_enum!(PollFrequency { Hourly => "HOURLY", Daily => "DAILY", Weekly => "WEEKLY", Monthly => "MONTHLY" });
spelled_enum!(Weekday {
    Monday => "MONDAY", Tuesday => "TUESDAY", Wednesday => "WEDNESDAY", Thursday => "THURSDAY",
    Friday => "FRIDAY", Saturday => "SATURDAY", Sunday => "SUNDAY",
});

impl OperationStatus {
    /// `done` in the contract: the three terminal states, which never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A tenant id: 1–64 characters of `[A-Za-z0-9_-]`, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "tenant",
                "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is calling: the tenant the request acts for and the token's subject.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub subject: String,
}

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
    pub integration_id: Option<String>,
    pub embedding: EmbeddingSpec,
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

/// Credentials for a source (`auth` in the contract), as sealed in the store. Never logged.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub method: AuthMethod,
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.method)
    }
}

impl Credentials {
    /// A string parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.parameters
            .get(name)
            .and_then(serde_json::Value::as_str)
    }
}

/// An asset's inbound webhook: its id is in the URL, its signing secret sealed under the id.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: Uuid,
    pub tenant: TenantId,
    pub asset_id: Uuid,
    pub secret_sealed: Vec<u8>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

/// **(ragd)** A tenant's endpoint and key for a remote embedding provider: what an asset's
/// `embeddingLlmConfigId` names. The key is sealed under the config's id and never returned.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub id: Uuid,
    pub tenant: TenantId,
    pub display_name: String,
    /// A remote provider of the catalog (`openai`: any OpenAI-compatible `/v1/embeddings`).
    pub provider: String,
    /// The API's base URL (`None`: the provider's own, `https://api.openai.com/v1`).
    pub base_url: Option<String>,
    pub api_key_sealed: Option<Vec<u8>>,
    /// The key's limits at the provider, enforced per config in each process.
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub max_concurrency: Option<i64>,
    pub created_by: String,
    pub created_at: Millis,
    pub modified_at: Millis,
}

/// A short-lived OAuth record: an authorization's state (`kind` STATE, `id` = the state) or the
/// tokens behind a credential key (`kind` CREDENTIAL, `id` = SHA-256 of the key). Taken once.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub tenant: TenantId,
    pub kind: GrantKind,
    pub sealed: Vec<u8>,
    pub expires_at: Millis,
}

/// What became of a webhook delivery.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A new `WEBHOOK_UPDATE` operation (this id) was queued.
    Started(Uuid),
    /// It joined the asset's `WEBHOOK_UPDATE` that is still pending.
    Joined(Uuid),
    /// Another operation is active: the delivery waits in the asset's backlog, which the scheduler
    /// turns into one `WEBHOOK_UPDATE` when the asset is free.
    Deferred,
}

/// Merges the document lists of two targeted updates; an empty list means "everything".
pub fn merge_targets(a: &[Uuid], b: &[Uuid]) -> Vec<Uuid> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|id| !a.contains(id)));
    out
}

/// An asset the scheduler has to look at: its poll time has come, or a webhook backlog waits.
#[derive(Debug, Clone)]
pub struct Due {
    pub asset: Asset,
    pub backlog: bool,
}

/// What the store aggregates about an asset when reading it.
#[derive(Debug, Clone, Default)]
pub struct AssetStats {
    pub document_count: i64,
    pub chunk_count: i64,
    /// Status and failed-item count of the newest operation, if any.
    pub latest_operation: Option<(OperationStatus, i64)>,
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

/// Progress counters of an operation (see `AssetOperation` in the contract).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub items_total: i64,
    pub items_processed: i64,
    pub items_failed: i64,
    pub items_skipped: i64,
    /// Found and left out on purpose (ragd): see [`Excluded`].
    pub items_excluded: i64,
    pub token_count: i64,
    pub tokens_saved: i64,
    pub chunk_count: i64,
}

/// Something a traversal found and left out on purpose (a crawled page marked `noindex`, a
/// duplicate, a page robots.txt disallows), and why: so a user can see why a page is absent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Excluded {
    pub url: String,
    pub reason: String,
}

/// How many exclusions an operation keeps (all are counted in `items_excluded`).
pub const MAX_EXCLUDED: usize = 1000;

/// A long-running operation on an asset.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: Uuid,
    pub tenant: TenantId,
    pub asset_id: Uuid,
    pub op_type: OperationType,
    pub status: OperationStatus,
    pub cancel_requested: bool,
    pub created_by: String,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub completed_at: Option<Millis>,
    pub counters: Counters,
    pub error_message: Option<String>,
    pub document_ids: Vec<Uuid>,
    /// The first [`MAX_EXCLUDED`] of what its traversal left out on purpose, with why.
    pub excluded: Vec<Excluded>,
    pub force: bool,
    pub attempts: i64,
    /// The asset's current embedding model, which prices the operation.
    pub provider: String,
    pub model: String,
}

impl Operation {
    /// Share of discovered documents finished: 1 once completed, 0 before discovery ends.
    pub fn progress(&self) -> f64 {
        match self.status {
            OperationStatus::Completed => 1.0,
            _ if self.counters.items_total > 0 => {
                (self.counters.items_processed as f64 / self.counters.items_total as f64).min(1.0)
            }
            _ => 0.0,
        }
    }
}

/// What a caller asks the queue to run.
#[derive(Debug, Clone)]
pub struct NewOperation {
    pub id: Uuid,
    pub asset_id: Uuid,
    pub op_type: OperationType,
    pub created_by: String,
    pub created_at: Millis,
    pub document_ids: Vec<Uuid>,
    pub force: bool,
}

impl NewOperation {
    pub fn new(asset_id: Uuid, op_type: OperationType, created_by: &str, now: Millis) -> Self {
        Self {
            id: Uuid::now_v7(),
            asset_id,
            op_type,
            created_by: created_by.to_owned(),
            created_at: now,
            document_ids: Vec::new(),
            force: false,
        }
    }
}

/// The right to work on one operation until `expires_at`, held by one worker attempt.
/// Every write the worker makes is fenced by `token`: once the lease is lost, writes do nothing.
#[derive(Debug, Clone)]
pub struct Lease {
    pub tenant: TenantId,
    pub operation_id: Uuid,
    pub asset_id: Uuid,
    pub token: Uuid,
}

/// What the store says about a lease when the worker checks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    Held {
        cancel_requested: bool,
    },
    /// Expired and taken by another attempt, or the operation ended (cancelled, asset deleted).
    Lost,
}

/// A claimed operation: the lease plus what the executor needs to do the work.
#[derive(Debug, Clone)]
pub struct Claim {
    pub lease: Lease,
    pub operation: Operation,
    pub asset: Asset,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed { error_message: Option<String> },
    Failed { error_message: String },
    Cancelled,
}

/// One document of an asset: a file, page or object of the source; the unit of refresh.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: Uuid,
    pub asset_id: Uuid,
    /// The stable key of the document in its source (name, path or URL); unique per asset.
    pub source_key: String,
    pub file_name: String,
    pub content_type: String,
    pub source_url: Option<String>,
    pub file_size: i64,
    pub content_hash: String,
    pub chunk_count: i64,
    pub token_count: i64,
    pub status: DocumentStatus,
    pub error_message: Option<String>,
    /// The operation that last wrote this document, so that a retried attempt recognises its own work.
    pub operation_id: Uuid,
    pub created_at: Millis,
    pub modified_at: Millis,
    pub processed_at: Option<Millis>,
    /// What the source said about this version (`etag`, `lastModified`, `links`), for cheap
    /// change detection next time. A JSON object; `{}` when the source says nothing.
    pub source_meta: serde_json::Value,
}

impl Document {
    /// Document ids are derived from the asset and the source key, so a retry never duplicates.
    pub fn id_for(asset_id: Uuid, source_key: &str) -> Uuid {
        let mut name = asset_id.as_bytes().to_vec();
        name.extend_from_slice(source_key.as_bytes());
        Uuid::new_v5(&Uuid::NAMESPACE_URL, &name)
    }
}

/// One chunk of a document, with the vector of its `contextText` + content.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub id: Uuid,
    pub document_id: Uuid,
    pub chunk_index: i64,
    pub content: String,
    pub context_text: String,
    pub heading_path: String,
    pub page_number: Option<String>,
    pub start_char: i64,
    pub end_char: i64,
    pub start_line: i64,
    pub end_line: i64,
    pub token_count: i64,
    /// Hash of the exact text embedded (context + content): the embedding cache key.
    pub text_hash: String,
    pub embedding: Vec<f32>,
}

impl Chunk {
    /// Deterministic ids: a retried attempt writes the same chunk ids again.
    pub fn id_for(document_id: Uuid, text_hash: &str, index: i64) -> Uuid {
        Uuid::new_v5(&document_id, format!("{text_hash}/{index}").as_bytes())
    }
}

/// Hex SHA-256 of a document's content: the change detector of last resort.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A file uploaded to `/storage` (or with `:file`); its bytes are in the blob store under
/// [`StoredFile::blob_key`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub id: Uuid,
    pub tenant: TenantId,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Not yet imported into an asset; swept after [`TEMPORARY_FILE_TTL_MS`].
    pub temporary: bool,
    pub created_at: Millis,
}

/// How long a temporary upload waits to be imported before it is swept.
pub const TEMPORARY_FILE_TTL_MS: i64 = 24 * 3600 * 1000;

impl StoredFile {
    pub fn blob_key(tenant: &TenantId, id: Uuid) -> String {
        format!("{}/{id}", tenant.as_str())
    }
}

/// Where a search looks: always one tenant and a set of its assets, optionally narrowed.
#[derive(Debug, Clone)]
pub struct SearchScope {
    pub tenant: TenantId,
    pub asset_ids: Vec<Uuid>,
    pub document_ids: Vec<Uuid>,
    pub content_types: Vec<String>,
    pub source_url_prefix: Option<String>,
}

impl SearchScope {
    /// Whether anything narrows the scope below whole assets.
    pub fn is_filtered(&self) -> bool {
        !self.document_ids.is_empty()
            || !self.content_types.is_empty()
            || self.source_url_prefix.is_some()
    }
}

/// A chunk found by a search, with what the result shows of its document and asset.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The chunk's store key, for fusing result lists.
    pub key: i64,
    pub chunk: Chunk,
    pub asset_id: Uuid,
    pub source_type: SourceType,
    pub file_name: String,
    pub source_url: Option<String>,
}
