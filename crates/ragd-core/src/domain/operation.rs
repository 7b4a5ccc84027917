//! Operations and the queue's vocabulary: counters, exclusions, leases, claims and outcomes.

use super::*;

/// Merges the document lists of two targeted updates; an empty list means "everything".
pub fn merge_targets(a: &[Uuid], b: &[Uuid]) -> Vec<Uuid> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|id| !a.contains(id)));
    out
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
    /// Pages read by OCR (ragd).
    pub ocr_pages: i64,
    /// Pages found without a text layer, to be read by OCR (ragd).
    pub ocr_pages_total: i64,
    /// How much of the documents being read is done, in millionths of a document: a long scan's
    /// pages move `progress` before the document is finished.
    pub partial_ppm: i64,
    /// What a `REINDEX` reckoned it would do as it started (ragd), from the stored texts.
    pub estimate: Option<IndexEstimate>,
}

/// What indexing an asset's stored texts with some settings would do (ragd's `:estimate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexEstimate {
    /// Documents with a stored text (the indexed ones).
    pub documents: i64,
    pub chunks: i64,
    /// Tokens the model would be sent: texts not in the embedding cache, each once.
    pub token_count: i64,
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
    /// Share of discovered documents finished, counting the read pages of documents being read
    /// by OCR: 1 once completed, 0 before discovery ends.
    pub fn progress(&self) -> f64 {
        let c = &self.counters;
        match self.status {
            OperationStatus::Completed => 1.0,
            _ if c.items_total > 0 => {
                let done = c.items_processed as f64 + c.partial_ppm as f64 / 1e6;
                (done / c.items_total as f64).min(1.0)
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
