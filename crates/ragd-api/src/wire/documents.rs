//! Documents and chunks on the wire.

use super::*;

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
