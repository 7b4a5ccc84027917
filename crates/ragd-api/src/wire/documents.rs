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
    /// **(ragd)** The document's metadata: what ragd derived from the source (`path`,
    /// `extension`, `title`, `url`, `urlPath`, `modifiedTime`, `encoding`, `ocrPages`,
    /// `ocrProblem`), overlaid by what the client gave at create or upload, overlaid by what a
    /// PATCH of the document set.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

/// The schema of a document's metadata: a flat object of strings, numbers, booleans and string
/// lists within the bounds the services check, and `null`s (removals) where `nulls`; the whole
/// may be `null` (absent) where `optional`.
fn metadata_schema_of(nulls: bool, optional: bool) -> Schema {
    let text = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_METADATA_STRING_CHARS))
    };
    let mut value = OneOfBuilder::new()
        .item(text())
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(
            ArrayBuilder::new()
                .items(text())
                .max_items(Some(MAX_METADATA_LIST_ITEMS)),
        );
    if nulls {
        value = value.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    let object = if optional {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::Type(Type::Object)
    };
    ObjectBuilder::new()
        .schema_type(object)
        .max_properties(Some(MAX_METADATA_KEYS))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!(
                    "^[A-Za-z0-9_.-]{{1,{MAX_METADATA_KEY_BYTES}}}$"
                ))),
        ))
        .additional_properties(Some(Schema::from(value)))
        .into()
}

/// The metadata a client may give with a document.
pub(crate) fn metadata_schema() -> Schema {
    metadata_schema_of(false, true)
}

/// The metadata of a PATCH: `null` removes a key.
fn metadata_patch_schema() -> Schema {
    metadata_schema_of(true, false)
}

/// **(ragd)** `PATCH …/documents/{document}`: changes the document's metadata without
/// re-embedding it. Each key given is set; a `null` removes the key (ragd's derived value too).
/// Later refreshes keep what a PATCH set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchDocumentRequest {
    #[schema(schema_with = metadata_patch_schema)]
    pub metadata: Map<String, Value>,
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
            metadata: d.effective_metadata(),
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
    /// **(ragd)** What ragd knows of the chunk itself: `{"ocr": true}` when its text was read by
    /// OCR (its page had no text layer); `{}` otherwise.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
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
            metadata: match c.ocr {
                true => Map::from_iter([("ocr".to_owned(), Value::Bool(true))]),
                false => Map::new(),
            },
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
