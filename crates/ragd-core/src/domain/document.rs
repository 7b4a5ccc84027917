//! Documents, their chunks and metadata, and the content hash that detects change.

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
    /// The metadata ingestion wrote: what ragd derived from the source, overlaid by what the
    /// client gave with the document at create or upload. Rewritten by each ingestion of it.
    pub metadata: Metadata,
    /// What `PATCH …/documents/{document}` set (a `null` hides a key of `metadata`). Only a
    /// PATCH writes it; ingestion keeps it.
    pub metadata_patch: Metadata,
}

/// A document's metadata: a flat JSON object of strings, numbers, booleans and string lists.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// `base` overlaid by a PATCH's `patch` (whose `null`s remove keys).
pub fn overlay_metadata(mut base: Metadata, patch: &Metadata) -> Metadata {
    for (k, v) in patch {
        if v.is_null() {
            base.remove(k);
        } else {
            base.insert(k.clone(), v.clone());
        }
    }
    base
}

/// The metadata keys ragd derives from the source (each where the source has it), documented in
/// the README. A client's own value for one of them wins over ragd's.
pub const DERIVED_METADATA_KEYS: &[&str] = &[
    "path",
    "extension",
    "title",
    "url",
    "urlPath",
    "modifiedTime",
    "encoding",
    "ocrPages",
    "ocrProblem",
];

/// Most keys of one document's metadata.
pub const MAX_METADATA_KEYS: usize = 64;
/// Longest key, in bytes.
pub const MAX_METADATA_KEY_BYTES: usize = 64;
/// Longest string value (and string list item), in characters.
pub const MAX_METADATA_STRING_CHARS: usize = 1024;
/// Most items of a string list value.
pub const MAX_METADATA_LIST_ITEMS: usize = 64;

/// Checks client metadata: at most [`MAX_METADATA_KEYS`] keys of 1-64 letters, digits, `_`, `-`
/// or `.`; each value a string, finite number, boolean or list of strings, within the bounds
/// above; `null` too when `nulls` (a PATCH's removal). Problems are added at `at.<key>`.
pub fn check_metadata(m: &Metadata, at: &str, nulls: bool, v: &mut crate::error::Violations) {
    if m.len() > MAX_METADATA_KEYS {
        v.add(at, format!("holds more than {MAX_METADATA_KEYS} keys"));
    }
    for (key, value) in m {
        let field = format!("{at}.{key}");
        let key_ok = !key.is_empty()
            && key.len() <= MAX_METADATA_KEY_BYTES
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !key_ok {
            v.add(
                field,
                format!("keys are 1-{MAX_METADATA_KEY_BYTES} letters, digits, '_', '-' or '.'"),
            );
            continue;
        }
        let long = |s: &str| s.chars().count() > MAX_METADATA_STRING_CHARS;
        match value {
            serde_json::Value::Null if nulls => {}
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
            serde_json::Value::String(s) if long(s) => v.add(
                field,
                format!("is longer than {MAX_METADATA_STRING_CHARS} characters"),
            ),
            serde_json::Value::String(_) => {}
            serde_json::Value::Array(items)
                if items.len() <= MAX_METADATA_LIST_ITEMS
                    && items.iter().all(|i| i.as_str().is_some_and(|s| !long(s))) => {}
            serde_json::Value::Array(_) => v.add(
                field,
                format!(
                    "a list holds at most {MAX_METADATA_LIST_ITEMS} strings of at most {MAX_METADATA_STRING_CHARS} characters"
                ),
            ),
            _ => v.add(
                field,
                if nulls {
                    "must be a string, number, boolean, list of strings, or null (to remove it)"
                } else {
                    "must be a string, number, boolean or list of strings"
                },
            ),
        }
    }
}

impl Document {
    /// The document's metadata as clients see it: what ingestion wrote, overlaid by what a
    /// PATCH set (a PATCH's `null` removes the key).
    pub fn effective_metadata(&self) -> Metadata {
        overlay_metadata(self.metadata.clone(), &self.metadata_patch)
    }

    /// Document ids are derived from the asset and the source key, so a retry never duplicates.
    pub fn id_for(asset_id: Uuid, source_key: &str) -> Uuid {
        let mut name = asset_id.as_bytes().to_vec();
        name.extend_from_slice(source_key.as_bytes());
        Uuid::new_v5(&Uuid::NAMESPACE_URL, &name)
    }
}

/// What chunking reads of a parsed document, kept beside it (ragd): another chunking or model
/// is priced from it (`:estimate`) without fetching the source again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentText {
    pub text: String,
    /// Whether `text` is Markdown (chunked at headings and paragraphs).
    pub markdown: bool,
    /// The document's own title, which leads each chunk's context line.
    pub title: Option<String>,
    /// `(character offset, page number)` where each page starts.
    pub pages: Vec<(usize, u32)>,
    /// Pages whose text was read by OCR.
    pub ocr_pages: Vec<u32>,
}

impl DocumentText {
    /// The page holding character `offset`, if the document has pages.
    pub fn page_at(&self, offset: usize) -> Option<u32> {
        let i = self.pages.partition_point(|(start, _)| *start <= offset);
        i.checked_sub(1).map(|i| self.pages[i].1)
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
    /// Read by OCR: its page had no text layer (ragd).
    pub ocr: bool,
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
