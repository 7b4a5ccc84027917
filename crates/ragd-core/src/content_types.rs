//! Content types ragd parses, with their file extensions, and how a file's type is detected.
//! The parsers are in `ragd-pipeline`.

pub const CONTENT_TYPES: &[(&str, &[&str])] = &[
    ("text/plain", &[".txt", ".text", ".log"]),
    ("text/markdown", &[".md", ".markdown"]),
    ("text/html", &[".html", ".htm"]),
    ("application/pdf", &[".pdf"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &[".docx"],
    ),
    ("text/csv", &[".csv"]),
    ("application/json", &[".json"]),
];

/// The content type of a file from its name, its declared type and its first bytes: PDF magic
/// bytes win, then the extension, then the declared type (a generic one is ignored).
pub fn detect_content_type(
    file_name: &str,
    declared: Option<&str>,
    head: &[u8],
) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    let lower = file_name.to_ascii_lowercase();
    let by_name = CONTENT_TYPES
        .iter()
        .find(|(_, exts)| exts.iter().any(|e| lower.ends_with(e)))
        .map(|(ct, _)| *ct);
    by_name.or_else(|| declared.and_then(normalise_content_type))
}

/// `text/html; charset=utf-8` → `text/html`, with common aliases, if ragd parses the type.
pub fn normalise_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let essence = match essence.as_str() {
        "application/xhtml+xml" => "text/html",
        "text/x-markdown" => "text/markdown",
        "application/csv" => "text/csv",
        "text/json" => "application/json",
        other => other,
    };
    CONTENT_TYPES
        .iter()
        .map(|(ct, _)| *ct)
        .find(|ct| *ct == essence)
}
