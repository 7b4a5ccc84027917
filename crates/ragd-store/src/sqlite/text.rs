//! The embedded backend's full-text index: one Tantivy index beside the database, BM25 over chunk
//! content and contextText, kept consistent with the database through `chunk_log`.
//!
//! SQLite FTS5 scores every matching chunk before it can sort, so a query with one common word
//! costs hundreds of milliseconds at 100k chunks. Tantivy ranks a disjunction with block-max WAND,
//! skipping blocks that cannot reach the current top k. Scoping stays in the query: every indexed
//! term is prefixed with its asset's id (`<asset>:<stem>`), so a search over assets A and B is a
//! pure disjunction of A's and B's terms (WAND still applies) and can never reach another asset's
//! chunk; document frequencies are per asset as a side effect.
//!
//! Like the vector graphs, the index applies the log entries after its position before each
//! search, so a chunk committed by any process is searchable by the next query. The position is
//! the payload of Tantivy's commit, so index and position never disagree. Only one process can
//! hold the index's writer; another process (a second API process on the same data directory)
//! gets `None` and the store falls back to FTS5.

use crate::db::db;
use ragd_core::{Error, Result};
use sqlx::{Row, SqlitePool};
use std::path::PathBuf;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, PreTokenizedString, RemoveLongFilter,
    SimpleTokenizer, Stemmer, TextAnalyzer, Token,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use uuid::Uuid;

/// Log entries (or chunks, when building) read and applied per round.
const BATCH: i64 = 5_000;
/// Weight of contextText against content, as FTS5's `bm25(chunks_fts, 1.0, 0.5)` had it.
const CONTEXT_WEIGHT: f32 = 0.5;
const WRITER_HEAP_BYTES: usize = 64 << 20;

#[derive(Clone, Copy)]
struct Fields {
    seq: Field,
    content: Field,
    context: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(true),
    );
    let seq = b.add_u64_field("seq", NumericOptions::default().set_indexed().set_fast());
    let content = b.add_text_field("content", text.clone());
    let context = b.add_text_field("context", text);
    (
        b.build(),
        Fields {
            seq,
            content,
            context,
        },
    )
}

/// Words to index terms: split on non-alphanumerics, lowercased, accents folded, English stems
/// (what FTS5's `porter unicode61 remove_diacritics 2` did).
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

fn prefix(asset: Uuid) -> String {
    format!("{}:", asset.simple())
}

fn tantivy_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("full-text index: {e}"))
}

struct Writable {
    writer: IndexWriter,
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// The last `chunk_log.seq` applied; `None` until the first build has committed.
    position: Option<i64>,
}

enum Slot {
    Closed,
    Open(Box<Writable>),
    /// Another process holds the writer: this one searches with FTS5.
    Unavailable,
}

pub struct TextIndex {
    dir: PathBuf,
    slot: tokio::sync::Mutex<Slot>,
}

impl Writable {
    fn open(dir: &std::path::Path) -> Result<Option<Writable>> {
        std::fs::create_dir_all(dir).map_err(tantivy_error)?;
        let (schema, fields) = schema();
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            // A missing or foreign index (another version's schema) is rebuilt from the database.
            _ => {
                std::fs::remove_dir_all(dir).map_err(tantivy_error)?;
                std::fs::create_dir_all(dir).map_err(tantivy_error)?;
                Index::create_in_dir(dir, schema).map_err(tantivy_error)?
            }
        };
        let writer = match index.writer_with_num_threads(1, WRITER_HEAP_BYTES) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(..)) => return Ok(None),
            Err(e) => return Err(tantivy_error(e)),
        };
        let position = index
            .load_metas()
            .map_err(tantivy_error)?
            .payload
            .and_then(|p| p.parse().ok());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_error)?;
        Ok(Some(Writable {
            writer,
            reader,
            fields,
            analyzer: analyzer(),
            position,
        }))
    }

    fn tokens(&mut self, prefix: &str, text: &str) -> PreTokenizedString {
        let mut tokens = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while let Some(t) = stream.next() {
            tokens.push(Token {
                text: format!("{prefix}{}", t.text),
                ..t.clone()
            });
        }
        PreTokenizedString {
            text: String::new(),
            tokens,
        }
    }

    /// Deletes chunk `seq`, and indexes it again when it still exists. Deleting first makes every
    /// entry idempotent: replaying a log entry that is already in the index changes nothing.
    fn apply(&mut self, seq: i64, chunk: Option<(&str, &str, &str)>) -> Result<()> {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.seq, seq as u64));
        if let Some((asset, content, context)) = chunk {
            let asset: Uuid = asset.parse().map_err(tantivy_error)?;
            let p = prefix(asset);
            let mut doc = TantivyDocument::default();
            doc.add_u64(self.fields.seq, seq as u64);
            doc.add_pre_tokenized_text(self.fields.content, self.tokens(&p, content));
            doc.add_pre_tokenized_text(self.fields.context, self.tokens(&p, context));
            self.writer.add_document(doc).map_err(tantivy_error)?;
        }
        Ok(())
    }

    fn commit(&mut self, position: i64) -> Result<()> {
        let mut commit = self.writer.prepare_commit().map_err(tantivy_error)?;
        commit.set_payload(&position.to_string());
        commit.commit().map_err(tantivy_error)?;
        self.reader.reload().map_err(tantivy_error)?;
        self.position = Some(position);
        Ok(())
    }
}

/// Ranks the chunks of `assets` by BM25 for any of `terms` (see the module comment for scoping).
fn search(
    searcher: &tantivy::Searcher,
    fields: Fields,
    analyzer: &mut TextAnalyzer,
    assets: &[Uuid],
    terms: &[String],
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    let mut stems: Vec<String> = Vec::new();
    for term in terms {
        let mut stream = analyzer.token_stream(term);
        while let Some(t) = stream.next() {
            if !stems.contains(&t.text) {
                stems.push(t.text.clone());
            }
        }
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for asset in assets {
        let p = prefix(*asset);
        for stem in &stems {
            let term = |field| Term::from_field_text(field, &format!("{p}{stem}"));
            clauses.push((
                Occur::Should,
                Box::new(TermQuery::new(
                    term(fields.content),
                    IndexRecordOption::WithFreqs,
                )),
            ));
            let context = TermQuery::new(term(fields.context), IndexRecordOption::WithFreqs);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(context), CONTEXT_WEIGHT)),
            ));
        }
    }
    if clauses.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let top = searcher
        .search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit).order_by_score(),
        )
        .map_err(tantivy_error)?;
    let mut out = Vec::with_capacity(top.len());
    for (score, address) in top {
        let seqs = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .u64("seq")
            .map_err(tantivy_error)?;
        if let Some(seq) = seqs.first(address.doc_id) {
            out.push((seq as i64, score as f64));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// `(chunk key, its asset, content, context)` rows; the chunk part is `None` for a deletion.
type Change = (i64, Option<(String, String, String)>);

fn changes(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<Change>> {
    rows.iter()
        .map(|r| {
            let asset: Option<String> = r.try_get(2).map_err(db)?;
            let chunk = match asset {
                Some(asset) => Some((asset, r.try_get(3).map_err(db)?, r.try_get(4).map_err(db)?)),
                None => None,
            };
            Ok((r.try_get(1).map_err(db)?, chunk))
        })
        .collect()
}

/// Applies `changes` to the index off the async runtime, handing it back. On failure the index is
/// dropped (its writer lock with it) and the next search reopens it at its last commit.
async fn apply(mut open: Box<Writable>, changes: Vec<Change>) -> Result<Box<Writable>> {
    tokio::task::spawn_blocking(move || {
        for (seq, chunk) in &changes {
            open.apply(
                *seq,
                chunk
                    .as_ref()
                    .map(|(a, c, x)| (a.as_str(), c.as_str(), x.as_str())),
            )?;
        }
        Ok(open)
    })
    .await
    .map_err(tantivy_error)?
}

/// Every chunk, by key: `(key, key, asset, content, context)` after `?1`.
const ALL_CHUNKS: &str = "SELECT seq, seq, asset_id, content, context_text FROM chunks WHERE seq > ?1 ORDER BY seq LIMIT ?2";
/// The log after `?1`: `(log seq, chunk key, asset, content, context)`, the chunk part NULL when
/// the entry is a deletion or the chunk is gone since.
const LOG_TAIL: &str = "SELECT l.seq, l.chunk_seq, c.asset_id, c.content, c.context_text FROM chunk_log l
    LEFT JOIN chunks c ON c.seq = l.chunk_seq AND l.added = 1 WHERE l.seq > ?1 ORDER BY l.seq LIMIT ?2";

/// Applies what `sql` returns after `from` (its first column is the cursor), a batch at a time.
/// Returns the index and the last cursor.
async fn replay(
    mut open: Box<Writable>,
    pool: &SqlitePool,
    sql: &'static str,
    mut from: i64,
) -> Result<(Box<Writable>, i64)> {
    loop {
        let rows = sqlx::query(sql)
            .bind(from)
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(db)?;
        let Some(last) = rows.last() else {
            return Ok((open, from));
        };
        from = last.try_get(0).map_err(db)?;
        open = apply(open, changes(&rows)?).await?;
    }
}

impl TextIndex {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            slot: tokio::sync::Mutex::new(Slot::Closed),
        }
    }

    /// The chunks of `assets` best matching any of `terms`, or `None` when this process cannot
    /// hold the index (the caller then uses FTS5).
    pub async fn search(
        &self,
        pool: &SqlitePool,
        assets: &[Uuid],
        terms: &[String],
        limit: usize,
    ) -> Result<Option<Vec<(i64, f64)>>> {
        let Some((searcher, fields, mut analyzer)) = self.synced(pool).await? else {
            return Ok(None);
        };
        search(&searcher, fields, &mut analyzer, assets, terms, limit).map(Some)
    }

    /// A searcher that sees every change committed to the database before the call.
    async fn synced(
        &self,
        pool: &SqlitePool,
    ) -> Result<Option<(tantivy::Searcher, Fields, TextAnalyzer)>> {
        let mut slot = self.slot.lock().await;
        if matches!(*slot, Slot::Closed) {
            let dir = self.dir.clone();
            *slot = match tokio::task::spawn_blocking(move || Writable::open(&dir))
                .await
                .map_err(tantivy_error)??
            {
                Some(open) => Slot::Open(Box::new(open)),
                None => {
                    tracing::info!(dir = %self.dir.display(), "the full-text index is held by another process; searching with FTS5");
                    Slot::Unavailable
                }
            };
        }
        let mut open = match std::mem::replace(&mut *slot, Slot::Closed) {
            Slot::Open(open) => open,
            other => {
                *slot = other;
                return Ok(None);
            }
        };
        let head: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM chunk_log")
            .fetch_one(pool)
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        if open.position != Some(head) {
            let from = match open.position {
                Some(position) => position,
                // First build: every chunk as of `head` (read before them, so a later change is
                // in the log tail too and replaying it is harmless), then the tail.
                None => {
                    open = replay(open, pool, ALL_CHUNKS, 0).await?.0;
                    head
                }
            };
            let (replayed, from) = replay(open, pool, LOG_TAIL, from).await?;
            open = replayed;
            open = tokio::task::spawn_blocking(move || open.commit(from).map(|()| open))
                .await
                .map_err(tantivy_error)??;
        }
        let out = (open.reader.searcher(), open.fields, open.analyzer.clone());
        *slot = Slot::Open(open);
        Ok(Some(out))
    }
}
