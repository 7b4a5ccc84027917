//! Where a search looks and what it finds.

use super::*;

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
    /// The document's metadata as clients see it.
    pub metadata: Metadata,
}
