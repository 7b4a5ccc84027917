//! The store, written once for both backends: [`SqlStore`] runs the statements of `sql/<resource>.rs`
//! (each implementing its role trait of `ragd_core::ports::store`) on either pool, and asks its
//! [`Backend`] for what the engines really do differently: full-text and vector search, the
//! embedded backend's inline reads and its per-asset vector graphs.

pub(crate) mod assets;
pub(crate) mod connected;
pub(crate) mod documents;
pub(crate) mod files;
pub(crate) mod generations;
pub(crate) mod llm_configs;
pub(crate) mod operations;
pub(crate) mod rows;
pub(crate) mod search;

use crate::db::{Pool, sql};
use async_trait::async_trait;
use ragd_core::domain::{Operation, SearchScope, TenantId};
use ragd_core::page::SortKey;
use ragd_core::ports::store::Store;
use ragd_core::{Error, Result};
use uuid::Uuid;

/// What a backend does itself, beside the shared statements.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Chunks matching any of `terms` within the scope, best first: `(key, score)`.
    async fn search_text(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>>;
    /// Chunks nearest to `query` (cosine) within the scope: `(key, score)`.
    async fn search_vectors(
        &self,
        scope: &SearchScope,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>>;
    /// One operation read without the pool (`sql` selects it by `$1` tenant, `$2` asset, `$3`
    /// id), or `None` to read it the usual way.
    fn operation_inline(
        &self,
        _sql: &str,
        _tenant: &TenantId,
        _asset: Uuid,
        _id: Uuid,
    ) -> Option<Result<Option<Operation>>> {
        None
    }
    /// The asset's rows are gone: drop what the backend keeps of it outside the database.
    fn asset_deleted(&self, _asset: Uuid) {}
    /// Where the backend keeps assets' document metadata between filtered searches, if it
    /// counts their changes (`assets.metadata_version`).
    fn metadata_cache(&self) -> Option<&search::MetadataCache> {
        None
    }
}

/// The store on one database: the shared statements on `pool`, the rest on `backend`.
#[derive(Clone)]
pub struct SqlStore<B> {
    pub(crate) pool: Pool,
    pub(crate) backend: B,
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn ping(&self) -> Result<()> {
        sql("SELECT 1").execute(&self.pool).await.map_err(|e| {
            tracing::warn!(error = %e, "database ping failed");
            Error::Unavailable("the database is not reachable".into())
        })?;
        Ok(())
    }
}

/// A case-insensitive `LIKE … ESCAPE '\'` pattern matching `needle` anywhere, with `%` and `_`
/// taken literally.
pub(crate) fn like_pattern(needle: &str) -> String {
    format!("%{}%", escape_like(needle))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The keyset bound `(created_at, id) < (…)` of a page; without a cursor, above every key.
pub(crate) fn keyset(after: Option<SortKey>) -> (i64, String) {
    match after {
        Some(k) => (k.created_at, k.id.to_string()),
        None => (i64::MAX, "~".to_owned()),
    }
}

/// `… AND` the search scope, on `chunks c` joined to `documents d`: the tenant and its assets
/// always, then the optional narrowing. For the backends' own search statements.
pub(crate) fn push_scope<DB: sqlx::Database>(qb: &mut sqlx::QueryBuilder<DB>, scope: &SearchScope)
where
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    qb.push(" c.tenant_id = ")
        .push_bind(scope.tenant.as_str().to_owned());
    let list = |qb: &mut sqlx::QueryBuilder<DB>, column: &str, values: Vec<String>| {
        qb.push(format!(" AND {column} IN ("));
        let mut sep = qb.separated(", ");
        for v in values {
            sep.push_bind(v);
        }
        qb.push(")");
    };
    list(
        qb,
        "c.asset_id",
        scope.asset_ids.iter().map(Uuid::to_string).collect(),
    );
    if !scope.document_ids.is_empty() {
        list(
            qb,
            "c.document_id",
            scope.document_ids.iter().map(Uuid::to_string).collect(),
        );
    }
    if !scope.content_types.is_empty() {
        list(qb, "d.content_type", scope.content_types.clone());
    }
    if let Some(prefix) = &scope.source_url_prefix {
        qb.push(" AND d.source_url LIKE ")
            .push_bind(format!("{}%", escape_like(prefix)))
            .push(" ESCAPE '\\'");
    }
}

/// `$from, $from+1, …` for `n` values bound after `from - 1` others: an `IN (…)` list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
