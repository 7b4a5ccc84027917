//! Parsing: bytes of a supported content type to text ready for chunking, keeping structure.
//!
//! HTML (main content only, as Markdown), Markdown, plain text, PDF (text per page), DOCX (as
//! Markdown), CSV (one paragraph per row) and JSON (one line per leaf). Text formats are decoded
//! from whatever encoding they are in (`decode`); scanned PDF pages and uploaded images are read
//! by OCR (`ocr`). Every parser works on
//! untrusted input: walks are iterative (deep nesting cannot overflow the stack), archives are read
//! with a cap on inflated bytes, and callers run this under `catch_unwind` so that a panicking
//! third-party parser fails one document, not the process.

pub mod decode;
mod docx;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
mod html;
pub mod ocr;
mod pdf;
#[cfg(test)]
mod tests;

use docx::docx;
use html::html;
pub use html::robots_directives;
use pdf::pdf;

pub const PLAIN: &str = "text/plain";
pub const MARKDOWN: &str = "text/markdown";
pub const HTML: &str = "text/html";
pub const PDF: &str = "application/pdf";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const CSV: &str = "text/csv";
pub const JSON: &str = "application/json";

pub use ragd_core::content_types::CONTENT_TYPES;

/// Most bytes a DOCX may inflate to: a zip bomb fails its document instead of filling memory.
pub const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;
/// List nesting deeper than this is flattened (its indentation would otherwise grow without bound).
const MAX_INDENT: usize = 8;

/// A parsed document.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    /// The document's own title (HTML `<title>`), when it has one.
    pub title: Option<String>,
    pub text: String,
    /// Whether `text` is Markdown (chunked at headings and paragraphs).
    pub markdown: bool,
    /// `(character offset, page number)` where each page starts, ascending; empty without pages.
    pub pages: Vec<(usize, u32)>,
    /// Links as written, for crawlers: what a browser without JavaScript can follow (see [`PageHints`]).
    pub links: Vec<String>,
    /// What an HTML page tells crawlers about itself.
    pub hints: PageHints,
    /// The encoding a text format was decoded from (`None` for PDF and DOCX).
    pub encoding: Option<&'static str>,
    /// Pages whose text was read by OCR (they had no text layer).
    pub ocr_pages: Vec<u32>,
    /// Why some page without a text layer was not read (the first reason), when one was not.
    pub ocr_problem: Option<String>,
}

/// What an HTML page tells crawlers about itself, as written in it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageHints {
    /// `<meta name="robots">` (or `name="ragd"`) says `noindex` or `none`.
    pub noindex: bool,
    /// … says `nofollow` or `none`.
    pub nofollow: bool,
    /// `<link rel="canonical" href>`.
    pub canonical: Option<String>,
    /// `<base href>`: what the page's relative links resolve against.
    pub base: Option<String>,
    /// The target of an instant `<meta http-equiv="refresh" content="0; url=…">`: the page is a
    /// redirect stub, not content (rustdoc writes one per re-exported item).
    pub redirect: Option<String>,
}

impl Parsed {
    /// The page holding character `offset`, if the document has pages.
    pub fn page_at(&self, offset: usize) -> Option<u32> {
        let i = self.pages.partition_point(|(start, _)| *start <= offset);
        i.checked_sub(1).map(|i| self.pages[i].1)
    }
}

pub use ragd_core::content_types::{
    detect_content_type as detect, normalise_content_type as normalise,
};

/// Parses `bytes` of `content_type` (one of [`CONTENT_TYPES`], with an optional `charset`), with
/// OCR on.
pub fn parse(bytes: &[u8], content_type: &str) -> Result<Parsed, String> {
    parse_with(bytes, content_type, &ocr::Ocr::default())
}

/// Parses `bytes` of `content_type` (one of [`CONTENT_TYPES`] or of the upload-only image types,
/// with an optional `charset`), reading pages without a text layer as `ocr` says.
pub fn parse_with(bytes: &[u8], content_type: &str, ocr: &ocr::Ocr) -> Result<Parsed, String> {
    if let Some(image) = ragd_core::content_types::image_content_type(content_type) {
        return ocr::image(bytes, image, ocr);
    }
    let declared = decode::charset_param(content_type);
    let kind = normalise(content_type);
    let text = || decode::decode(bytes, declared, kind == Some(HTML));
    let (mut parsed, encoding) = match kind {
        Some(PDF) => (pdf(bytes, ocr)?, None),
        Some(DOCX) => (docx(bytes)?, None),
        Some(HTML | MARKDOWN | PLAIN | CSV | JSON) => {
            let decoded = text()?;
            let parsed = match kind {
                Some(HTML) => html(&decoded.text)?,
                Some(CSV) => csv(decoded.text.as_bytes())?,
                Some(JSON) => json(decoded.text.as_bytes())?,
                _ => Parsed {
                    markdown: kind == Some(MARKDOWN),
                    text: decoded.text,
                    ..Default::default()
                },
            };
            (parsed, Some(decoded.encoding))
        }
        _ => return Err(format!("unsupported content type {content_type}")),
    };
    if parsed.text.trim().is_empty() {
        return Err("the document has no text".to_owned());
    }
    parsed.encoding = encoding;
    Ok(parsed)
}

// ------------------------------------------------------------------------------------ CSV, JSON

/// One paragraph per row, each cell as `column: value`.
fn csv(bytes: &[u8]) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the CSV could not be read: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut out = String::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| format!("the CSV could not be read at row {}: {e}", i + 2))?;
        for (j, value) in record.iter().enumerate() {
            let column = headers
                .get(j)
                .map_or_else(|| format!("column {}", j + 1), Clone::clone);
            out.push_str(&format!("{column}: {value}\n"));
        }
        out.push('\n');
    }
    Ok(Parsed {
        text: out,
        ..Default::default()
    })
}

/// One line per leaf value, `path.to[0].leaf: value`; the elements of a top-level array are
/// separate paragraphs.
fn json(bytes: &[u8]) -> Result<Parsed, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = String::new();
    match &value {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, &format!("[{i}]"), &mut out);
                out.push('\n');
            }
        }
        other => leaves(other, "", &mut out),
    }
    Ok(Parsed {
        text: out,
        ..Default::default()
    })
}

/// serde_json refuses nesting deeper than 128, so this recursion is bounded.
fn leaves(value: &serde_json::Value, path: &str, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                leaves(
                    v,
                    &if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    },
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => out.push_str(&format!("{path}: {s}\n")),
        Value::Null => {}
        other => out.push_str(&format!("{path}: {other}\n")),
    }
}
