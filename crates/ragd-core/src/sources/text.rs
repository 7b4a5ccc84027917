//! `TEXT`: documents given inline in the create request.

use super::*;

/// Content types an inline `TEXT` document may declare.
pub const TEXT_CONTENT_TYPES: &[&str] = &["text/plain", "text/markdown", "text/html"];
/// Largest inline document, in bytes of UTF-8.
pub const MAX_INLINE_DOCUMENT_BYTES: u64 = 5 * 1024 * 1024;
/// Most documents one `TEXT` asset may declare.
pub const MAX_INLINE_DOCUMENTS: usize = 10_000;

/// `TEXT`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TextParams {
    pub documents: Vec<InlineDocument>,
}

/// One inline document: `{name, text, contentType?}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineDocument {
    pub name: String,
    pub text: String,
    /// One of [`TEXT_CONTENT_TYPES`]; the first when not given.
    #[serde(default = "plain_text")]
    pub content_type: String,
    /// (ragd) The document's metadata.
    #[serde(default)]
    pub metadata: crate::domain::Metadata,
}

fn plain_text() -> String {
    TEXT_CONTENT_TYPES[0].to_owned()
}

impl Parameters for TextParams {
    const SOURCE_TYPE: SourceType = SourceType::Text;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::Text,
    display_name: "Inline text",
    description: "Documents given in the create request; for quick starts and tests.",
    supports_oauth: false,
    supports_auto_update: false,
    supports_webhook_registration: false,
    supports_poll_schedule: false,
    auth_methods: &[],
    validate,
    decode: decodes::<TextParams>,
    link,
    properties: &[prop(
        "documents",
        PropertyType::ObjectList,
        true,
        None,
        "Documents as [{name, text, contentType?, metadata?}]; contentType is text/plain (default), text/markdown or text/html; metadata (ragd) is a flat object of strings, numbers, booleans and string lists. Names are unique within the asset.",
    )],
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let docs = params
        .get("documents")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if docs.is_empty() {
        v.add(format!("{at}.documents"), "must hold at least one document");
    }
    if docs.len() > MAX_INLINE_DOCUMENTS {
        v.add(
            format!("{at}.documents"),
            format!("holds more than {MAX_INLINE_DOCUMENTS} documents"),
        );
    }
    let mut names = std::collections::HashSet::new();
    for (i, doc) in docs.iter().enumerate() {
        let field = |f: &str| format!("{at}.documents[{i}].{f}");
        let doc = doc.as_object().expect("checked by validate_parameters");
        for key in doc.keys() {
            if !matches!(key.as_str(), "name" | "text" | "contentType" | "metadata") {
                v.add(
                    field(key),
                    "unknown field (expected name, text, contentType, metadata)",
                );
            }
        }
        match doc.get("name").and_then(Value::as_str) {
            Some(n) if !n.trim().is_empty() && n.len() <= 1024 => {
                if !names.insert(n) {
                    v.add(field("name"), "is used by another document of this asset");
                }
            }
            Some(_) => v.add(field("name"), "must be 1-1024 characters, not blank"),
            None => v.add(field("name"), "is required and must be a string"),
        }
        match doc.get("text") {
            Some(Value::String(t)) if t.len() as u64 > MAX_INLINE_DOCUMENT_BYTES => v.add(
                field("text"),
                format!("exceeds {MAX_INLINE_DOCUMENT_BYTES} bytes"),
            ),
            Some(Value::String(_)) => {}
            _ => v.add(field("text"), "is required and must be a string"),
        }
        match doc.get("metadata") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                crate::domain::check_metadata(m, &field("metadata"), false, &mut v)
            }
            Some(_) => v.add(field("metadata"), "must be an object"),
        }
        match doc.get("contentType") {
            None | Some(Value::Null) => {}
            Some(Value::String(c)) if TEXT_CONTENT_TYPES.contains(&c.as_str()) => {}
            Some(_) => v.add(
                field("contentType"),
                format!("must be one of {}", TEXT_CONTENT_TYPES.join(", ")),
            ),
        }
    }
    v.into_result()
}

/// Inline text has no address of its own.
fn link(_: &Map<String, Value>) -> Option<Link> {
    None
}
