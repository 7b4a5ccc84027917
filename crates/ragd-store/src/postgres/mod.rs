//! The scale-out backend: any number of API and worker processes share one PostgreSQL database.
//!
//! The tables and encodings are the embedded backend's (so the statements of `sql/` serve both);
//! what PostgreSQL does itself: claims skip each other's locked rows, lease fences lock the
//! operation row for the writing transaction (see `db::Dialect`), pgvector HNSW indexes per
//! dimension for vectors, a generated `tsvector` for full text, and `NOTIFY` on new work.

#[cfg(feature = "test-support")]
mod throwaway;
#[cfg(feature = "test-support")]
pub use throwaway::throwaway_database;

use crate::db::{Pool, db};
use crate::sql::search::batched;
use crate::sql::{Backend, SqlStore, push_scope};
use async_trait::async_trait;
use ragd_core::domain::SearchScope;
use ragd_core::{Error, Result};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use std::sync::Arc;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The store on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

/// What the PostgreSQL backend keeps beside the shared statements.
#[derive(Clone)]
pub struct Postgres {
    pool: PgPool,
    /// Share of chunks each common lexeme occurs in (from `pg_stats`) and when it was read.
    lexemes: Arc<tokio::sync::Mutex<Option<(std::time::Instant, LexemeShares)>>>,
}

/// Lexeme → share of chunks containing it, for the lexemes ANALYZE found common; `floor` for the
/// others (half the least common share recorded; 0 before the first ANALYZE).
#[derive(Debug, Default)]
struct LexemeStats {
    shares: std::collections::HashMap<String, f32>,
    floor: f32,
}
type LexemeShares = std::sync::Arc<LexemeStats>;

/// Lexemes in more than this share of chunks do not select candidates for full-text search
/// (they still count in the ranking).
const COMMON_LEXEME: f32 = 0.02;

impl PgStore {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(db)?;
        let backend = Postgres {
            pool: pool.clone(),
            lexemes: Default::default(),
        };
        let store = SqlStore {
            pool: Pool::Postgres(pool),
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

    pub fn pool(&self) -> &PgPool {
        &self.backend.pool
    }

    /// Turns other processes' notifications into this process's wake-ups for as long as it
    /// runs: new or released work wakes idle workers, a changed operation wakes `:wait`/`:watch`.
    /// Only promptness depends on it; waiters re-check the database anyway, so a dropped
    /// connection (re-established by the listener) loses nothing.
    pub async fn forward_notifications(&self, events: std::sync::Arc<ragd_core::events::Events>) {
        let mut listener = loop {
            match sqlx::postgres::PgListener::connect_with(&self.backend.pool).await {
                Ok(mut l) => match l.listen_all(["ragd_work", "ragd_operations"]).await {
                    Ok(()) => break l,
                    Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "connecting the notification listener failed; retrying")
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        loop {
            match listener.recv().await {
                Ok(n) if n.channel() == "ragd_work" => events.work_added(),
                Ok(_) => events.operation_changed(),
                Err(e) => {
                    tracing::warn!(error = %e, "notification listener lost its connection; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

impl Postgres {
    /// The nearest chunks of a scope (of at most a batch of documents), by pgvector's HNSW index.
    async fn vectors_in(
        &self,
        scope: &SearchScope,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        // The partial HNSW index of this dimension (see the migration) is used when the query
        // repeats its expression and predicate; the dimension is a number, never user text.
        let dims = query.len();
        let cast = if dims > 2000 {
            format!("halfvec({dims})")
        } else {
            format!("vector({dims})")
        };
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Filters are applied inside the index scan, which keeps scanning until it has enough rows.
        sqlx::query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            .bind((limit as usize * 4).clamp(200, 1000).to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let mut qb = sqlx::QueryBuilder::new(format!("SELECT c.seq, c.embedding::{cast} <=> "));
        qb.push_bind(pgvector::Vector::from(query.to_vec()));
        qb.push(format!(
            "::{cast} AS distance FROM chunks c JOIN documents d ON d.id = c.document_id WHERE vector_dims(c.embedding) = {dims} AND"
        ));
        push_scope(&mut qb, scope);
        qb.push(" ORDER BY distance LIMIT ").push_bind(limit as i64);
        let rows = qb.build().fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(db)?,
                    1.0 - r.try_get::<f64, _>(1).map_err(db)?,
                ))
            })
            .collect::<Result<Vec<(i64, f64)>>>()?;
        // Relaxed order: the index may return near-ties slightly out of order.
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// The lexeme statistics of `chunks.tsv`, read from `pg_stats` at most once a minute (empty
    /// before the first ANALYZE: then every lexeme counts as rare).
    async fn lexeme_frequencies(&self) -> Result<LexemeShares> {
        let mut cached = self.lexemes.lock().await;
        if let Some((at, stats)) = &*cached
            && at.elapsed() < Duration::from_secs(60)
        {
            return Ok(stats.clone());
        }
        let row: Option<(Vec<String>, Vec<f32>)> = sqlx::query_as(
            "SELECT most_common_elems::TEXT::TEXT[], most_common_elem_freqs FROM pg_stats
             WHERE schemaname = current_schema() AND tablename = 'chunks' AND attname = 'tsv' AND most_common_elems IS NOT NULL",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        // The frequencies array ends with three summary numbers after the per-lexeme ones:
        // the least and the greatest frequency, and the share of empty values.
        let stats = row.map_or_else(LexemeStats::default, |(lexemes, freqs)| LexemeStats {
            floor: freqs.get(lexemes.len()).map_or(0.0, |least| least / 2.0),
            shares: lexemes.into_iter().zip(freqs).collect(),
        });
        let stats = std::sync::Arc::new(stats);
        *cached = Some((std::time::Instant::now(), stats.clone()));
        Ok(stats)
    }
}

#[async_trait]
impl Backend for Postgres {
    async fn search_text(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        // Ranking every row that matches is what costs: a term like "type" matches half of the
        // chunks (ts_rank_cd over them: 1.2 s at 100k). So candidates are the chunks matching the
        // query's rare lexemes (in ≤ 2 % of chunks by ANALYZE's statistics; the rarest one if
        // none is), ranked by the whole query: a chunk matching only common words would rank low
        // anyway. Content is weight A, contextText B; English stemming.
        let words = terms.join(" ");
        let (lexemes,): (Vec<String>,) =
            sqlx::query_as("SELECT tsvector_to_array(to_tsvector('english', $1))")
                .bind(&words)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        if lexemes.is_empty() {
            return Ok(Vec::new());
        }
        let stats = self.lexeme_frequencies().await?;
        let share = |l: &String| stats.shares.get(l).copied().unwrap_or(stats.floor);
        let mut rare: Vec<&String> = lexemes
            .iter()
            .filter(|l| share(l) <= COMMON_LEXEME)
            .collect();
        if rare.is_empty() {
            rare.push(
                lexemes
                    .iter()
                    .min_by(|a, b| share(a).total_cmp(&share(b)))
                    .expect("not empty"),
            );
        }
        let quote = |l: &str| format!("'{}'", l.replace('\'', "''"));
        let any = |ls: &[&String]| ls.iter().map(|l| quote(l)).collect::<Vec<_>>().join(" | ");
        // BM25 with a saturated term frequency, as near as SQL gets cheaply: each query lexeme
        // adds its IDF (from the same statistics) when it is in the content, half of it when it
        // is only in contextText; ts_rank_cd (proximity, counts) breaks ties.
        let mut qb = sqlx::QueryBuilder::new("SELECT c.seq, (0::FLOAT8");
        for l in &lexemes {
            let f = share(l).clamp(0.0, 1.0) as f64;
            let idf = (1.0 + (1.0 - f) / (f + 1e-4)).ln();
            qb.push(" + ")
                .push_bind(idf)
                .push("::FLOAT8 * GREATEST((c.tsv @@ ")
                .push_bind(format!("{}:A", quote(l)));
            qb.push("::tsquery)::INT::FLOAT8, 0.5 * (c.tsv @@ ")
                .push_bind(format!("{}:B", quote(l)))
                .push("::tsquery)::INT::FLOAT8)");
        }
        qb.push(" + 0.01 * ts_rank_cd(c.tsv, ")
            .push_bind(any(&lexemes.iter().collect::<Vec<_>>()));
        qb.push("::tsquery)) AS score FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.tsv @@ ");
        qb.push_bind(any(&rare)).push("::tsquery AND");
        push_scope(&mut qb, scope);
        qb.push(" ORDER BY score DESC, c.seq LIMIT ")
            .push_bind(limit as i64);
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
        batched(scope, limit, |s| async move {
            self.vectors_in(&s, query, limit).await
        })
        .await
    }
}
