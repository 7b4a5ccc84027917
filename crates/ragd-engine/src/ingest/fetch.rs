//! Fetch ahead: each document is fetched (unless the listing already carries its body), compared
//! with what is stored and, when new or changed, parsed and chunked off the async runtime: a
//! [`Step`] per document, ready before the batcher reaches it.

use super::plan::Plan;
use crate::sources::{Body, Context, Source, SourceDoc, Stages};
use crate::worker::DocumentPages;
use ragd_core::domain::{Chunk, Document, DocumentStatus, DocumentText, content_hash};
use ragd_core::time::now_ms;
use ragd_pipeline::parse::ocr::Ocr;
use ragd_pipeline::{ChunkDraft, Parsed, Sizer, chunk_document};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What the indexing loop does with a fetched document; decided, and for `Index` parsed and
/// chunked, ahead of it (while the documents before it embed).
pub(super) enum Step {
    /// The source says the stored version is current.
    Unchanged,
    /// Could not be fetched; fails alone.
    Failed(String),
    /// Same content as stored and written by an earlier attempt of this operation.
    Own,
    /// Same content as stored and indexed.
    Skip,
    /// New or changed: the document to write, or why it cannot be parsed (with its record).
    Index(Box<Result<Prepared, (Document, String)>>),
}

/// A fetched document, its step, and what it holds until the batcher has taken it: its permit,
/// and the tally of its pages read (so progress counts them until the document is indexed).
pub(super) type Fetched = (SourceDoc, Step, Held);

pub(super) type Held = (OwnedSemaphorePermit, Arc<DocumentPages>);

/// Fetches one document and decides its step, after waiting for one of the window's permits.
pub(super) async fn fetch_ahead(
    cx: &Context<'_>,
    source: &dyn Source,
    plan: &Plan,
    mut doc: SourceDoc,
    permits: Arc<Semaphore>,
) -> Fetched {
    let (op, asset) = (&cx.job.claim.operation, &cx.job.claim.asset);
    let permit = permits
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let (ocr, pages) = cx.ocr();
    let held = (permit, pages);
    let body = match std::mem::replace(&mut doc.body, Body::Pending(serde_json::Value::Null)) {
        Body::Pending(listed) => {
            cx.stages
                .time("fetch", source.fetch(cx, &doc, listed))
                .await
        }
        listed => listed,
    };
    let previous = plan.stored.get(&doc.key);
    let (input, hash, file_size, meta) = match body {
        Body::Pending(_) => {
            unreachable!("Source::fetch returns a fetched body")
        }
        Body::Unchanged => return (doc, Step::Unchanged, held),
        Body::Failed(reason) => return (doc, Step::Failed(reason), held),
        Body::Bytes { bytes, meta } => {
            let (hash, size) = (content_hash(&bytes), bytes.len() as i64);
            (Ok(bytes), hash, size, meta)
        }
        Body::Parsed {
            parsed,
            hash,
            size,
            meta,
        } => (Err(parsed), hash, size, meta),
    };
    let step = match previous {
        Some(p) if p.operation_id == op.id && p.content_hash == hash => Step::Own,
        Some(p) if !plan.force && p.content_hash == hash && p.status == DocumentStatus::Indexed => {
            Step::Skip
        }
        _ => {
            let mut record = new_record(asset.id, op.id, &doc, previous);
            (record.file_size, record.content_hash, record.source_meta) = (file_size, hash, meta);
            Step::Index(Box::new(
                parse_and_chunk(
                    cx.stages,
                    &doc.content_type,
                    input,
                    ocr,
                    &plan.models.sizer,
                    plan.chunking,
                    record,
                )
                .await,
            ))
        }
    };
    (doc, step, held)
}

/// The record this operation writes for a document, before indexing sets its counts and status.
pub(super) fn new_record(
    asset_id: uuid::Uuid,
    op_id: uuid::Uuid,
    doc: &SourceDoc,
    previous: Option<&Document>,
) -> Document {
    let now = now_ms();
    Document {
        id: Document::id_for(asset_id, &doc.key),
        asset_id,
        source_key: doc.key.clone(),
        file_name: doc.file_name.clone(),
        content_type: doc.content_type.clone(),
        source_url: doc.source_url.clone(),
        file_size: 0,
        content_hash: String::new(),
        chunk_count: 0,
        token_count: 0,
        status: DocumentStatus::Processing,
        error_message: None,
        operation_id: op_id,
        created_at: previous.map_or(now, |p| p.created_at),
        modified_at: now,
        processed_at: Some(now),
        source_meta: serde_json::Value::Object(Default::default()),
        metadata: doc.metadata.clone(),
        metadata_patch: previous
            .map(|p| p.metadata_patch.clone())
            .unwrap_or_default(),
    }
}

/// Parses (unless already parsed) and chunks a document off the async runtime, into its chunks
/// (without vectors) and what the model reads for each; a panic in a parser or the splitter
/// fails that document only.
async fn parse_and_chunk(
    stages: &Stages,
    content_type: &str,
    input: Result<bytes::Bytes, Parsed>,
    ocr: Ocr,
    sizer: &Sizer,
    (size, overlap): (usize, usize),
    record: Document,
) -> Result<Prepared, (Document, String)> {
    let (content_type, sizer, id, file_name) = (
        content_type.to_owned(),
        sizer.clone(),
        record.id,
        record.file_name.clone(),
    );
    let task = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let start = std::time::Instant::now();
            let parsed = match input {
                Ok(bytes) => ragd_pipeline::parse_with(&bytes, &content_type, &ocr)?,
                Err(parsed) => parsed,
            };
            let parse_time = start.elapsed();
            let (text, derived) = stored_text(parsed, file_name);
            let (chunks, inputs) = chunk_text(&text, id, &sizer, (size, overlap))?;
            let times = (parse_time, start.elapsed() - parse_time);
            Ok::<_, String>((chunks, inputs, text, times, derived))
        }))
        .unwrap_or_else(|_| {
            Err("the document could not be parsed (the parser failed on it)".to_owned())
        })
    });
    match task.await.unwrap_or_else(|_| {
        Err("the document could not be parsed (the parser failed on it)".to_owned())
    }) {
        Ok((
            chunks,
            inputs,
            text,
            (parse_time, chunk_time),
            (title, encoding, (ocr_pages, ocr_problem)),
        )) => {
            stages.add("parse", parse_time);
            stages.add("chunk", chunk_time);
            let mut record = record;
            if let Some(t) = title.filter(|t| !t.is_empty()) {
                // Derived: what the client gave wins.
                record.metadata.entry("title").or_insert(t.into());
            }
            if let Some(e) = encoding {
                record.metadata.entry("encoding").or_insert(e.into());
            }
            if ocr_pages > 0 {
                record
                    .metadata
                    .entry("ocrPages")
                    .or_insert(ocr_pages.into());
            }
            if let Some(problem) = ocr_problem {
                // A page left unread is said on the document, never dropped in silence.
                let shown: String = problem
                    .chars()
                    .take(ragd_core::domain::MAX_METADATA_STRING_CHARS)
                    .collect();
                record.metadata.entry("ocrProblem").or_insert(shown.into());
            }
            Ok(Prepared {
                record,
                chunks,
                inputs,
                text,
            })
        }
        Err(reason) => Err((record, reason)),
    }
}

/// What of a parsed document is stored beside it (its title, or else its file name, leading its
/// chunks' context lines), and what is derived from it for its metadata.
fn stored_text(parsed: Parsed, file_name: String) -> (DocumentText, Derived) {
    let ocr = (parsed.ocr_pages.len(), parsed.ocr_problem);
    let derived = (parsed.title.clone(), parsed.encoding, ocr);
    let text = DocumentText {
        title: Some(parsed.title.unwrap_or(file_name)),
        text: parsed.text,
        markdown: parsed.markdown,
        pages: parsed.pages,
        ocr_pages: parsed.ocr_pages,
    };
    (text, derived)
}

/// A parsed document's title, encoding, and pages read by OCR with why some were not.
type Derived = (
    Option<String>,
    Option<&'static str>,
    (usize, Option<String>),
);

/// A document parsed and chunked, waiting for its chunks' vectors before it is written.
pub(super) struct Prepared {
    pub(super) record: Document,
    pub(super) chunks: Vec<Chunk>,
    /// What the model reads for each chunk (context line and content) and its length in the
    /// model's tokens; moved out once queued.
    pub(super) inputs: Vec<(String, usize)>,
    /// What it was chunked from, stored beside it.
    pub(super) text: DocumentText,
}

/// Chunks a document's text into chunks (without vectors) and what the model reads for each,
/// with its length in the model's tokens: the same for ingestion and for an `:estimate`.
pub fn chunk_text(
    text: &DocumentText,
    id: uuid::Uuid,
    sizer: &Sizer,
    (size, overlap): (usize, usize),
) -> Result<(Vec<Chunk>, Vec<(String, usize)>), String> {
    let drafts = chunk_document(&text.text, text.markdown, sizer, size, overlap)?;
    Ok(prepare(text, drafts, id, sizer))
}

/// Turns a document's chunk drafts into chunks (without vectors) and the model's inputs.
fn prepare(
    parsed: &DocumentText,
    drafts: Vec<ChunkDraft>,
    id: uuid::Uuid,
    sizer: &Sizer,
) -> (Vec<Chunk>, Vec<(String, usize)>) {
    let title = parsed.title.clone().unwrap_or_default();
    let mut inputs = Vec::with_capacity(drafts.len());
    let chunks = drafts
        .into_iter()
        .map(|d| {
            let context_text = if d.heading_path.is_empty() {
                title.clone()
            } else {
                format!("{title} > {}", d.heading_path)
            };
            let input = format!("{context_text}\n\n{}", d.content);
            let text_hash = content_hash(input.as_bytes());
            inputs.push((input, d.token_count + sizer.count(&context_text)));
            let page = parsed.page_at(d.start_char);
            Chunk {
                id: Chunk::id_for(id, &text_hash, d.index as i64),
                document_id: id,
                chunk_index: d.index as i64,
                page_number: page.map(|p| p.to_string()),
                ocr: page.is_some_and(|p| parsed.ocr_pages.contains(&p)),
                content: d.content,
                context_text,
                heading_path: d.heading_path,
                start_char: d.start_char as i64,
                end_char: d.end_char as i64,
                start_line: d.start_line as i64,
                end_line: d.end_line as i64,
                token_count: d.token_count as i64,
                text_hash,
                embedding: Vec::new(),
            }
        })
        .collect();
    (chunks, inputs)
}
