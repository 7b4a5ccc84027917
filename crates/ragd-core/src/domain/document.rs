//! Documents, their chunks and the content hash that detects change.

use super::*;

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
