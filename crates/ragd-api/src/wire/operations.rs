//! Operations on the wire (`AssetOperation`) and what they left out.

use super::*;

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
    /// (ragd) Pages read by OCR so far (scanned PDF pages, images).
    pub ocr_pages: i64,
    /// (ragd) Pages found without a text layer so far, to be read by OCR.
    pub ocr_pages_total: i64,
    /// USD: tokenCount × the asset's current model price per million tokens.
    pub cost: f64,
    /// 0–1: itemsProcessed / itemsTotal, where a document being read by OCR counts the share of
    /// its pages read; 1 once completed.
    pub progress: f64,
    pub error_message: Option<String>,
    pub created_by: String,
    pub document_ids: Vec<Uuid>,
    /// (ragd) What a `REINDEX` reckoned it would do as it started, counted as `:estimate`
    /// counts (from the stored texts); `null` for other operations and before it starts.
    pub estimate: Option<OperationEstimate>,
    /// (ragd) What was left out and why (the first 1,000), in `GET …/operations/{operation}` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Vec<ExcludedItem>>,
}

/// (ragd) The documents, chunks, tokens and cost a `REINDEX` expects.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationEstimate {
    pub documents: i64,
    pub chunks: i64,
    pub token_count: i64,
    /// USD, at the asset's current model price.
    pub cost: f64,
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

    /// `price`: USD per million tokens of the asset's current model.
    pub fn from_domain(op: &Operation, price: f64) -> Self {
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
            ocr_pages: c.ocr_pages,
            ocr_pages_total: c.ocr_pages_total,
            cost: super::cost(c.token_count, price),
            progress: op.progress(),
            error_message: op.error_message.clone(),
            created_by: op.created_by.clone(),
            document_ids: op.document_ids.clone(),
            excluded: None,
            estimate: c.estimate.map(|e| OperationEstimate {
                documents: e.documents,
                chunks: e.chunks,
                token_count: e.token_count,
                cost: super::cost(e.token_count, price),
            }),
        }
    }
}
