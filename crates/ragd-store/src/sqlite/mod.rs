//! The embedded backend: one WAL-mode SQLite database file, safe for many connections and
//! processes, with the chunks' vectors in per-asset HNSW graphs ([`vectors`]) and their text in a
//! Tantivy index ([`text`]) beside it, both synced from the database's `chunk_log`; operation
//! polls are read on the calling thread ([`inline`]).

mod inline;
pub mod text;
pub mod vectors;

use crate::db::{Pool, db};
use crate::sql::search::{MetadataCache, batched};
use crate::sql::{Backend, SqlStore, push_scope};
use async_trait::async_trait;
use ragd_core::domain::{Operation, SearchScope, TenantId};
use ragd_core::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The store on the embedded backend.
pub type SqliteStore = SqlStore<Sqlite>;

/// What the embedded backend keeps beside the shared statements.
#[derive(Clone)]
pub struct Sqlite {
    pool: SqlitePool,
    /// Per-asset HNSW graphs beside the database file, synced from `chunk_log`.
    vectors: Arc<vectors::VectorIndexes>,
    /// The Tantivy full-text index beside it, synced from `chunk_log` (FTS5 serves filtered
    /// queries, and every query when another process holds the index).
    text: Arc<text::TextIndex>,
    /// Reads answered on the calling thread (polling an operation), see `inline.rs`.
    inline: Arc<inline::InlineReads>,
    /// Assets' document metadata between filtered searches (see migration 0013).
    metadata: Arc<MetadataCache>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives any process crash; only an OS crash can lose the last
            // commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(db)?;
        let dir = path
            .parent()
            .map_or_else(|| Path::new(".").to_owned(), Path::to_owned)
            .join("indexes");
        let backend = Sqlite {
            pool: pool.clone(),
            text: Arc::new(text::TextIndex::new(dir.join("text"))),
            vectors: Arc::new(vectors::VectorIndexes::new(dir)),
            inline: Arc::new(inline::InlineReads::new(path)),
            metadata: Arc::default(),
        };
        let store = SqlStore {
            pool: Pool::Sqlite(pool),
            backend,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.backend.pool)
            .await
            .map_err(Error::internal)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.backend.pool
    }
}

impl Sqlite {
    /// Exact search: every embedding in scope (of at most a batch of documents), scored as it
    /// streams in, the best `limit` kept.
    async fn exact_vectors(
        &self,
        scope: &SearchScope,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT c.seq, c.embedding FROM chunks c JOIN documents d ON d.id = c.document_id WHERE",
        );
        push_scope(&mut qb, scope);
        qb.push(" AND length(c.embedding) = ")
            .push_bind(query.len() as i64 * 4);
        let mut rows = qb.build().fetch(&self.pool);
        let mut best = TopK::new(limit as usize);
        use futures::TryStreamExt;
        while let Some(row) = rows.try_next().await.map_err(db)? {
            let blob: &[u8] = row.try_get(1).map_err(db)?;
            best.offer(dot(query, blob), || row.try_get(0).map_err(db))?;
        }
        Ok(best.into_sorted())
    }
}

fn dot(a: &[f32], b: &[u8]) -> f32 {
    a.iter()
        .zip(b.chunks_exact(4))
        .map(|(x, y)| x * f32::from_le_bytes([y[0], y[1], y[2], y[3]]))
        .sum()
}

#[async_trait]
impl Backend for Sqlite {
    async fn search_text(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        if !scope.is_filtered()
            && let Some(hits) = self
                .text
                .search(&self.pool, &scope.asset_ids, terms, limit as usize)
                .await?
        {
            return Ok(hits);
        }
        // Terms are runs of alphanumerics (`search::query_terms`), so quoting them is enough.
        let fts_query = terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut qb = sqlx::QueryBuilder::new(
            // CROSS JOIN keeps the full-text index as the outer loop: the match is evaluated once
            // and each hit joined by key (the planner otherwise re-ran MATCH per chunk row).
            "SELECT c.seq, -bm25(chunks_fts, 1.0, 0.5) AS score
             FROM chunks_fts CROSS JOIN chunks c ON c.seq = chunks_fts.rowid
             CROSS JOIN documents d ON d.id = c.document_id WHERE chunks_fts MATCH ",
        );
        qb.push_bind(fts_query).push(" AND");
        push_scope(&mut qb, scope);
        qb.push(" ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ")
            .push_bind(limit);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?)))
            .collect()
    }

    async fn search_vectors(
        &self,
        scope: &SearchScope,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        // The approximate index of each asset, among the scope's documents when it names them
        // (a metadata filter, `documentIds`); the tenant is checked by the caller having resolved
        // the assets within it, and again when the hits are read.
        let graphs = scope.content_types.is_empty() && scope.source_url_prefix.is_none();
        if graphs {
            let documents: HashSet<Uuid> = scope.document_ids.iter().copied().collect();
            let among = (!documents.is_empty()).then_some(&documents);
            let mut out = Vec::new();
            for asset in &scope.asset_ids {
                let v = &self.vectors;
                out.extend(
                    v.search(&self.pool, *asset, query, limit as usize, among)
                        .await?,
                );
            }
            out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            out.truncate(limit as usize);
            return Ok(out);
        }
        batched(scope, limit, |s| async move {
            self.exact_vectors(&s, query, limit).await
        })
        .await
    }

    fn operation_inline(
        &self,
        sql: &str,
        tenant: &TenantId,
        asset: Uuid,
        id: Uuid,
    ) -> Option<Result<Option<Operation>>> {
        self.inline.operation(sql, tenant, asset, id)
    }

    fn asset_deleted(&self, asset: Uuid) {
        self.vectors.drop_asset(asset);
    }

    fn metadata_cache(&self) -> Option<&MetadataCache> {
        Some(&self.metadata)
    }
}

/// The best `k` keys by score, kept in a min-heap as candidates stream in.
struct TopK {
    k: usize,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(Score, i64)>>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: Default::default(),
        }
    }

    /// Keeps the candidate if it is among the best so far (reading its key only then).
    fn offer(&mut self, score: f32, key: impl FnOnce() -> Result<i64>) -> Result<()> {
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse((Score(score), key()?)));
        } else if self
            .heap
            .peek()
            .is_some_and(|std::cmp::Reverse((s, _))| s.0 < score)
        {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse((Score(score), key()?)));
        }
        Ok(())
    }

    fn into_sorted(self) -> Vec<(i64, f64)> {
        let mut out: Vec<(i64, f64)> = self
            .heap
            .into_iter()
            .map(|std::cmp::Reverse((s, k))| (k, s.0 as f64))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// An `f32` score with a total order, for the top-k heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f32);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
