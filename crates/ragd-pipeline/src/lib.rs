//! Ingestion stages that are pure functions of their input: parsing and chunking.
//!
//! # Layout
//! - [`parse`]: bytes of a supported content type to text (Markdown where the source has
//!   structure), with page starts for PDFs and links for crawlers: one module per format (`html`,
//!   `pdf`, `docx`; plain text, Markdown, CSV and JSON in `parse` itself), `decode` (text in
//!   any encoding), `ocr` (scanned PDF pages and uploaded images through Tesseract), and `fixtures`, the document
//!   builders of tests (the `test-support` feature).
//! - [`chunk`]: structure-aware chunking (Markdown headings and paragraphs, never inside a code
//!   block unless it alone is too big) measured in the embedding model's own tokens, with the
//!   heading trail, character offsets and line numbers of every chunk.

pub mod chunk;
pub mod parse;

pub use chunk::{ChunkDraft, Sizer, chunk_document};
pub use parse::{Parsed, parse, parse_with};
