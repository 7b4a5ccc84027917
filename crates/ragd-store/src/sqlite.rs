//! The SQLite backend: one WAL-mode database file, safe for many connections and processes.
//!
//! Write transactions start with `BEGIN IMMEDIATE` so that two writers queue on the database lock
//! instead of failing on a read-to-write upgrade; single-statement writes need no transaction.

use async_trait::async_trait;
use ragd_core::model::*;
use ragd_core::page::{Page, PageRequest, SortKey};
use ragd_core::store::{AssetQuery, Store};
use ragd_core::time::Millis;
use ragd_core::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Per-asset HNSW graphs beside the database file, synced from `chunk_log`.
    vectors: std::sync::Arc<crate::vectors::VectorIndexes>,
    /// The Tantivy full-text index beside it, synced from `chunk_log` (FTS5 serves filtered
    /// queries, and every query when another process holds the index).
    text: std::sync::Arc<crate::text::TextIndex>,
    /// Reads answered on the calling thread (polling an operation), see `inline.rs`.
    inline: std::sync::Arc<crate::inline::InlineReads>,
}

pub(crate) fn db(e: sqlx::Error) -> Error {
    Error::internal(e)
}

pub(crate) fn corrupt(what: &str) -> Error {
    Error::internal(format!("unreadable {what} in the database"))
}

crate::rows::row_decoders!(SqliteRow);

fn embedding_col(row: &SqliteRow) -> Result<Vec<f32>> {
    Ok(blob_vector(&row.try_get::<Vec<u8>, _>("embedding").map_err(db)?))
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values always serialise")
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

const ASSET_COLUMNS: &str = "a.id, a.tenant_id, a.display_name, a.source_type, a.parameters, a.auth_method, a.vectorized,
    a.integration_id, a.embedding_provider, a.embedding_model, a.chunk_size, a.chunk_overlap, a.budget, a.auto_update,
    a.embedding_llm_config_id, a.created_by, a.created_at, a.modified_at, a.last_polled_at, a.next_poll_at, a.auth_sealed, a.auth_error,
    (SELECT COUNT(*) FROM documents d WHERE d.asset_id = a.id) AS document_count,
    (SELECT COALESCE(SUM(d.chunk_count), 0) FROM documents d WHERE d.asset_id = a.id) AS doc_chunk_count,
    (SELECT o.status FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_status,
    (SELECT o.items_failed FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_failed,
    (SELECT COALESCE(SUM(u.tokens), 0) FROM asset_usage u WHERE u.asset_id = a.id) AS total_tokens,
    (SELECT COALESCE(SUM(u.tokens), 0) FROM asset_usage u WHERE u.asset_id = a.id AND u.day >= ?2) AS monthly_tokens,
    (SELECT COALESCE(SUM(u.tokens), 0) FROM asset_usage u WHERE u.asset_id = a.id AND u.day >= ?3) AS daily_tokens,
    a.operation_count";

pub(crate) const OPERATION_COLUMNS: &str = "o.id, o.tenant_id, o.asset_id, o.type, o.status, o.cancel_requested, o.created_by,
    o.created_at, o.started_at, o.completed_at, o.items_total, o.items_processed, o.items_failed, o.items_skipped,
    o.items_excluded, o.token_count, o.tokens_saved, o.chunk_count, o.error_message, o.document_ids, o.excluded, o.force, o.attempts,
    a.embedding_provider, a.embedding_model";

/// The fence of every write a worker makes: does its attempt still hold the operation? Checked
/// inside the writing transaction, which `BEGIN IMMEDIATE` has already made exclusive.
async fn lease_held(conn: &mut sqlx::SqliteConnection, lease: &Lease) -> Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM operations WHERE id = ?1 AND lease_token = ?2 AND status = 'RUNNING')")
        .bind(lease.operation_id.to_string())
        .bind(lease.token.to_string())
        .fetch_one(conn)
        .await
        .map_err(db)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives any process crash; only an OS crash can lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(db)?;
        let dir = path.parent().map_or_else(|| Path::new(".").to_owned(), Path::to_owned).join("indexes");
        let store = Self {
            pool,
            text: std::sync::Arc::new(crate::text::TextIndex::new(dir.join("text"))),
            vectors: std::sync::Arc::new(crate::vectors::VectorIndexes::new(dir)),
            inline: std::sync::Arc::new(crate::inline::InlineReads::new(path)),
        };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(Error::internal)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn active_operation_id(&self, asset_id: Uuid) -> Result<Uuid> {
        let row = sqlx::query("SELECT id FROM operations WHERE asset_id = ?1 AND status IN ('PENDING', 'RUNNING')")
            .bind(asset_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        uuid_col(&row, "id")
    }

    /// Inserts a `PENDING` operation and counts it on its asset. False when the asset is absent.
    async fn insert_operation(&self, conn: &mut sqlx::SqliteConnection, tenant: &TenantId, op: &NewOperation) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO operations (id, tenant_id, asset_id, type, status, created_by, created_at, document_ids, force)
             SELECT ?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?7, ?8
             WHERE EXISTS (SELECT 1 FROM assets WHERE id = ?3 AND tenant_id = ?2 AND deleted_at IS NULL)",
        )
        .bind(op.id.to_string())
        .bind(tenant.as_str())
        .bind(op.asset_id.to_string())
        .bind(op.op_type.as_str())
        .bind(&op.created_by)
        .bind(op.created_at)
        .bind(json(&op.document_ids))
        .bind(op.force)
        .execute(&mut *conn)
        .await;
        match done {
            Ok(r) if r.rows_affected() == 0 => Ok(false),
            Ok(_) => {
                sqlx::query("UPDATE assets SET operation_count = operation_count + 1 WHERE id = ?1")
                    .bind(op.asset_id.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
                Ok(true)
            }
            Err(e) if is_unique_violation(&e) => Err(Error::OperationActive {
                operation_id: self.active_operation_id(op.asset_id).await?,
                retry_after_seconds: ragd_core::service::RETRY_AFTER_SECONDS,
            }),
            Err(e) => Err(db(e)),
        }
    }

    async fn fetch_operation(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Operation>> {
        read_operation(&self.pool, tenant, asset_id, id).await
    }
}

/// Selects one operation by `?1` tenant, `?2` asset and `?3` id (for sqlx and the inline reads).
fn read_operation_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {OPERATION_COLUMNS} FROM operations o JOIN assets a ON a.id = o.asset_id
             WHERE o.tenant_id = ?1 AND o.asset_id = ?2 AND o.id = ?3 AND a.deleted_at IS NULL"
        )
    });
    &SQL
}

/// Reads one operation through any executor, so that writers can read what they just wrote
/// inside their own transaction (the answer then shows the operation as created).
async fn read_operation<'c, E>(exec: E, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Operation>>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(read_operation_sql()))
        .bind(tenant.as_str())
        .bind(asset_id.to_string())
        .bind(id.to_string())
        .fetch_optional(exec)
        .await
        .map_err(db)?;
    row.as_ref().map(operation_from_row).transpose()
}

/// A `LIKE … ESCAPE` pattern matching `needle` anywhere, with `%` and `_` taken literally.
/// (LIKE is case-insensitive for ASCII in SQLite.)
pub(crate) fn like_pattern(needle: &str) -> String {
    format!("%{}%", needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

pub(crate) fn keyset(after: Option<SortKey>) -> (i64, String) {
    // Without a cursor, start above every possible key.
    match after {
        Some(k) => (k.created_at, k.id.to_string()),
        None => (i64::MAX, "~".to_owned()),
    }
}

pub(crate) fn vector_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn blob_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// `… AND` the search scope, on `chunks c` joined to `documents d`: the tenant and its assets
/// always, then the optional narrowing.
pub(crate) fn push_scope<DB: sqlx::Database>(qb: &mut sqlx::QueryBuilder<DB>, scope: &SearchScope)
where
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    qb.push(" c.tenant_id = ").push_bind(scope.tenant.as_str().to_owned());
    let list = |qb: &mut sqlx::QueryBuilder<DB>, column: &str, values: Vec<String>| {
        qb.push(format!(" AND {column} IN ("));
        let mut sep = qb.separated(", ");
        for v in values {
            sep.push_bind(v);
        }
        qb.push(")");
    };
    list(qb, "c.asset_id", scope.asset_ids.iter().map(Uuid::to_string).collect());
    if !scope.document_ids.is_empty() {
        list(qb, "c.document_id", scope.document_ids.iter().map(Uuid::to_string).collect());
    }
    if !scope.content_types.is_empty() {
        list(qb, "d.content_type", scope.content_types.clone());
    }
    if let Some(prefix) = &scope.source_url_prefix {
        let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        qb.push(" AND d.source_url LIKE ").push_bind(format!("{escaped}%")).push(" ESCAPE '\\'");
    }
}

fn dot(a: &[f32], b: &[u8]) -> f32 {
    a.iter().zip(b.chunks_exact(4)).map(|(x, y)| x * f32::from_le_bytes([y[0], y[1], y[2], y[3]])).sum()
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(|e| {
            tracing::warn!(error = %e, "database ping failed");
            Error::Unavailable("the database is not reachable".into())
        })?;
        Ok(())
    }

    async fn asset_create(&self, asset: &Asset, first: &NewOperation) -> Result<Operation> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        sqlx::query(
            "INSERT INTO assets (id, tenant_id, display_name, source_type, parameters, auth_method, vectorized, integration_id,
                embedding_provider, embedding_model, chunk_size, chunk_overlap, budget, auto_update, embedding_llm_config_id,
                created_by, created_at, modified_at, last_polled_at, next_poll_at, auth_sealed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        )
        .bind(asset.id.to_string())
        .bind(asset.tenant.as_str())
        .bind(&asset.display_name)
        .bind(asset.source_type.as_str())
        .bind(json(&asset.parameters))
        .bind(asset.auth_method.map(AuthMethod::as_str))
        .bind(asset.vectorized)
        .bind(&asset.integration_id)
        .bind(&asset.embedding.provider)
        .bind(&asset.embedding.model)
        .bind(asset.embedding.chunk_size as i64)
        .bind(asset.embedding.chunk_overlap as i64)
        .bind(json(&asset.budget))
        .bind(asset.auto_update.as_ref().map(json))
        .bind(&asset.embedding_llm_config_id)
        .bind(&asset.created_by)
        .bind(asset.created_at)
        .bind(asset.modified_at)
        .bind(asset.last_polled_at)
        .bind(asset.next_poll_at)
        .bind(&asset.auth_sealed)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        self.insert_operation(&mut tx, &asset.tenant, first).await?;
        let op = read_operation(&mut *tx, &asset.tenant, asset.id, first.id).await?.ok_or_else(|| corrupt("new operation"))?;
        tx.commit().await.map_err(db)?;
        Ok(op)
    }

    async fn asset_get(&self, tenant: &TenantId, id: Uuid, w: UsageWindows) -> Result<Option<AssetView>> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = ?1 AND a.id = ?4 AND a.deleted_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(w.month_start)
            .bind(w.day_start)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(asset_view_from_row).transpose()
    }

    async fn asset_list(&self, tenant: &TenantId, q: &AssetQuery, w: UsageWindows) -> Result<Page<AssetView>> {
        let pattern = q.name_contains.as_deref().map(like_pattern);
        let filter = "a.tenant_id = ?1 AND a.deleted_at IS NULL AND (?4 IS NULL OR a.display_name LIKE ?4 ESCAPE '\\')";
        let (after_t, after_id) = keyset(q.page.after);
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets a WHERE {filter} AND (a.created_at, a.id) < (?5, ?6)
             ORDER BY a.created_at DESC, a.id DESC LIMIT ?7 OFFSET ?8"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(w.month_start)
            .bind(w.day_start)
            .bind(&pattern)
            .bind(after_t)
            .bind(after_id)
            .bind(q.page.size.get() as i64 + 1)
            .bind(q.page.skip as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe("SELECT COUNT(*) FROM assets a WHERE a.tenant_id = ?1 AND a.deleted_at IS NULL AND (?2 IS NULL OR a.display_name LIKE ?2 ESCAPE '\\')".to_string()))
        .bind(tenant.as_str())
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let views = rows.iter().map(asset_view_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(views, q.page.size, total, |v| SortKey { created_at: v.asset.created_at, id: v.asset.id }))
    }

    async fn asset_update(&self, asset: &Asset, op: Option<&NewOperation>, auth_changed: bool) -> Result<Option<Operation>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let updated = sqlx::query(
            "UPDATE assets SET display_name = ?3, parameters = ?4, embedding_provider = ?5, embedding_model = ?6,
                chunk_size = ?7, chunk_overlap = ?8, budget = ?9, auto_update = ?10, embedding_llm_config_id = ?11,
                modified_at = ?12, next_poll_at = ?13,
                auth_method = CASE WHEN ?14 THEN ?15 ELSE auth_method END,
                auth_sealed = CASE WHEN ?14 THEN ?16 ELSE auth_sealed END,
                auth_error = CASE WHEN ?14 THEN NULL ELSE auth_error END
             WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL",
        )
        .bind(asset.tenant.as_str())
        .bind(asset.id.to_string())
        .bind(&asset.display_name)
        .bind(json(&asset.parameters))
        .bind(&asset.embedding.provider)
        .bind(&asset.embedding.model)
        .bind(asset.embedding.chunk_size as i64)
        .bind(asset.embedding.chunk_overlap as i64)
        .bind(json(&asset.budget))
        .bind(asset.auto_update.as_ref().map(json))
        .bind(&asset.embedding_llm_config_id)
        .bind(asset.modified_at)
        .bind(asset.next_poll_at)
        .bind(auth_changed)
        .bind(asset.auth_method.map(AuthMethod::as_str))
        .bind(&asset.auth_sealed)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound("asset"));
        }
        let created = match op {
            Some(op) => {
                self.insert_operation(&mut tx, &asset.tenant, op).await?;
                read_operation(&mut *tx, &asset.tenant, asset.id, op.id).await?
            }
            None => None,
        };
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn asset_exists(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM assets WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(found.is_some())
    }

    async fn asset_delete(&self, tenant: &TenantId, id: Uuid, now: Millis) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let gone = sqlx::query(
            "UPDATE assets SET deleted_at = ?3, parameters = '{}', auth_sealed = NULL, next_poll_at = NULL,
                    webhook_backlog = NULL WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if gone.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE operations SET status = 'FAILED', error_message = 'asset deleted', completed_at = ?3,
                lease_token = NULL, lease_expires_at = NULL
             WHERE tenant_id = ?1 AND asset_id = ?2 AND status IN ('PENDING', 'RUNNING')",
        )
        .bind(tenant.as_str())
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM webhooks WHERE tenant_id = ?1 AND asset_id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM documents WHERE tenant_id = ?1 AND asset_id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.vectors.drop_asset(id);
        Ok(true)
    }

    async fn operation_create(&self, tenant: &TenantId, op: &NewOperation) -> Result<Operation> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        if !self.insert_operation(&mut tx, tenant, op).await? {
            return Err(Error::NotFound("asset"));
        }
        let created = read_operation(&mut *tx, tenant, op.asset_id, op.id).await?.ok_or(Error::NotFound("asset"))?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn operations_active(&self, tenant: &TenantId) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM operations WHERE tenant_id = ?1 AND status IN ('PENDING', 'RUNNING')")
            .bind(tenant.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn operation_get(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Operation>> {
        match self.inline.operation(read_operation_sql(), tenant, asset_id, id) {
            Some(read) => read,
            None => self.fetch_operation(tenant, asset_id, id).await,
        }
    }

    async fn operation_list(&self, tenant: &TenantId, asset_id: Uuid, page: &PageRequest) -> Result<Page<Operation>> {
        let (after_t, after_id) = keyset(page.after);
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations o JOIN assets a ON a.id = o.asset_id
             WHERE o.tenant_id = ?1 AND o.asset_id = ?2 AND (o.created_at, o.id) < (?3, ?4)
             ORDER BY o.created_at DESC, o.id DESC LIMIT ?5 OFFSET ?6"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .bind(after_t)
            .bind(after_id)
            .bind(page.size.get() as i64 + 1)
            .bind(page.skip as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let total: i64 = sqlx::query_scalar("SELECT operation_count FROM assets WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .unwrap_or(0);
        let ops = rows.iter().map(operation_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(ops, page.size, total, |o| SortKey { created_at: o.created_at, id: o.id }))
    }

    async fn operation_cancel(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid, now: Millis) -> Result<Option<Operation>> {
        // All SET expressions see the row as it was, so `stops` is evaluated once on the old state:
        // nobody is working on it (PENDING, or RUNNING with a dead worker's expired lease).
        sqlx::query(
            "UPDATE operations SET
                cancel_requested = 1,
                status = CASE WHEN status = 'PENDING' OR lease_expires_at < ?4 THEN 'CANCELLED' ELSE status END,
                completed_at = CASE WHEN status = 'PENDING' OR lease_expires_at < ?4 THEN ?4 ELSE completed_at END,
                lease_token = CASE WHEN status = 'PENDING' OR lease_expires_at < ?4 THEN NULL ELSE lease_token END
             WHERE tenant_id = ?1 AND asset_id = ?2 AND id = ?3 AND status IN ('PENDING', 'RUNNING')",
        )
        .bind(tenant.as_str())
        .bind(asset_id.to_string())
        .bind(id.to_string())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        self.fetch_operation(tenant, asset_id, id).await
    }

    async fn operation_claim(&self, now: Millis, lease_ms: i64) -> Result<Option<Claim>> {
        let token = Uuid::new_v4();
        let row = sqlx::query(
            "UPDATE operations SET status = 'RUNNING', lease_token = ?1, lease_expires_at = ?2 + ?3,
                attempts = attempts + 1, started_at = COALESCE(started_at, ?2),
                items_total = 0, items_processed = 0, items_failed = 0, items_skipped = 0, items_excluded = 0, excluded = '[]',
                token_count = 0, tokens_saved = 0, chunk_count = 0
             WHERE id = (SELECT o.id FROM operations o
                         WHERE o.status IN ('PENDING', 'RUNNING') AND (o.status = 'PENDING' OR o.lease_expires_at < ?2)
                         ORDER BY (SELECT count(*) FROM operations r WHERE r.tenant_id = o.tenant_id
                                   AND r.status = 'RUNNING' AND r.lease_expires_at >= ?2), o.created_at, o.id
                         LIMIT 1)
             RETURNING id, tenant_id, asset_id",
        )
        .bind(token.to_string())
        .bind(now)
        .bind(lease_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let tenant = tenant_col(&row)?;
        let (id, asset_id) = (uuid_col(&row, "id")?, uuid_col(&row, "asset_id")?);
        let operation = self.fetch_operation(&tenant, asset_id, id).await?.ok_or_else(|| corrupt("claimed operation"))?;
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = ?1 AND a.id = ?4");
        let asset_row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(0i64)
            .bind(0i64)
            .bind(asset_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        let asset = asset_from_row(&asset_row)?;
        Ok(Some(Claim { lease: Lease { tenant, operation_id: id, asset_id, token }, operation, asset }))
    }

    async fn operation_heartbeat(&self, lease: &Lease, c: &Counters, now: Millis, lease_ms: i64) -> Result<LeaseState> {
        let row = sqlx::query(
            "UPDATE operations SET lease_expires_at = ?3 + ?4, items_total = ?5, items_processed = ?6, items_failed = ?7,
                items_skipped = ?8, token_count = ?9, tokens_saved = ?10, chunk_count = ?11, items_excluded = ?12
             WHERE id = ?1 AND lease_token = ?2 AND status = 'RUNNING'
             RETURNING cancel_requested",
        )
        .bind(lease.operation_id.to_string())
        .bind(lease.token.to_string())
        .bind(now)
        .bind(lease_ms)
        .bind(c.items_total)
        .bind(c.items_processed)
        .bind(c.items_failed)
        .bind(c.items_skipped)
        .bind(c.token_count)
        .bind(c.tokens_saved)
        .bind(c.chunk_count)
        .bind(c.items_excluded)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(match row {
            Some(r) => LeaseState::Held { cancel_requested: r.try_get("cancel_requested").map_err(db)? },
            None => LeaseState::Lost,
        })
    }

    async fn operation_finish(&self, lease: &Lease, outcome: &Outcome, c: &Counters, now: Millis) -> Result<bool> {
        let (status, message) = match outcome {
            Outcome::Completed { error_message } => (OperationStatus::Completed, error_message.as_deref()),
            Outcome::Failed { error_message } => (OperationStatus::Failed, Some(error_message.as_str())),
            Outcome::Cancelled => (OperationStatus::Cancelled, None),
        };
        // The terminal state and the token usage it adds to the asset's budget land together.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE operations SET status = ?3, error_message = ?4, completed_at = ?5, lease_token = NULL,
                lease_expires_at = NULL, items_total = ?6, items_processed = ?7, items_failed = ?8, items_skipped = ?9,
                token_count = ?10, tokens_saved = ?11, chunk_count = ?12, items_excluded = ?13
             WHERE id = ?1 AND lease_token = ?2 AND status = 'RUNNING'",
        )
        .bind(lease.operation_id.to_string())
        .bind(lease.token.to_string())
        .bind(status.as_str())
        .bind(message)
        .bind(now)
        .bind(c.items_total)
        .bind(c.items_processed)
        .bind(c.items_failed)
        .bind(c.items_skipped)
        .bind(c.token_count)
        .bind(c.tokens_saved)
        .bind(c.chunk_count)
        .bind(c.items_excluded)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if c.token_count > 0 {
            sqlx::query(
                "INSERT INTO asset_usage (tenant_id, asset_id, day, tokens) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (asset_id, day) DO UPDATE SET tokens = tokens + excluded.tokens",
            )
            .bind(lease.tenant.as_str())
            .bind(lease.asset_id.to_string())
            .bind(ragd_core::time::day_and_month_start(now).0)
            .bind(c.token_count)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn operation_exclusions(&self, lease: &Lease, excluded: &[ragd_core::model::Excluded]) -> Result<bool> {
        let done = sqlx::query("UPDATE operations SET excluded = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'RUNNING'")
            .bind(lease.operation_id.to_string())
            .bind(lease.token.to_string())
            .bind(json(&&excluded[..excluded.len().min(ragd_core::model::MAX_EXCLUDED)]))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn operation_release(&self, lease: &Lease) -> Result<()> {
        sqlx::query("UPDATE operations SET lease_expires_at = 0 WHERE id = ?1 AND lease_token = ?2 AND status = 'RUNNING'")
            .bind(lease.operation_id.to_string())
            .bind(lease.token.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn document_list(&self, tenant: &TenantId, asset_id: Uuid) -> Result<Vec<Document>> {
        let rows = sqlx::query("SELECT * FROM documents WHERE tenant_id = ?1 AND asset_id = ?2 ORDER BY created_at, id")
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(document_from_row).collect()
    }

    async fn document_delete(&self, lease: &Lease, ids: &[Uuid]) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        for id in ids {
            sqlx::query("DELETE FROM documents WHERE tenant_id = ?1 AND asset_id = ?2 AND id = ?3")
                .bind(lease.tenant.as_str())
                .bind(lease.asset_id.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn document_replace(&self, lease: &Lease, d: &Document, chunks: &[Chunk]) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO documents (id, tenant_id, asset_id, source_key, file_name, content_type, source_url, file_size,
                content_hash, chunk_count, token_count, status, error_message, operation_id, created_at, modified_at, processed_at,
                source_meta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
             ON CONFLICT (id) DO UPDATE SET file_name = excluded.file_name, content_type = excluded.content_type,
                source_url = excluded.source_url, file_size = excluded.file_size, content_hash = excluded.content_hash,
                chunk_count = excluded.chunk_count, token_count = excluded.token_count, status = excluded.status,
                error_message = excluded.error_message, operation_id = excluded.operation_id,
                modified_at = excluded.modified_at, processed_at = excluded.processed_at, source_meta = excluded.source_meta",
        )
        .bind(d.id.to_string())
        .bind(lease.tenant.as_str())
        .bind(lease.asset_id.to_string())
        .bind(&d.source_key)
        .bind(&d.file_name)
        .bind(&d.content_type)
        .bind(&d.source_url)
        .bind(d.file_size)
        .bind(&d.content_hash)
        .bind(d.chunk_count)
        .bind(d.token_count)
        .bind(d.status.as_str())
        .bind(&d.error_message)
        .bind(lease.operation_id.to_string())
        .bind(d.created_at)
        .bind(d.modified_at)
        .bind(d.processed_at)
        .bind(json(&d.source_meta))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM chunks WHERE document_id = ?1").bind(d.id.to_string()).execute(&mut *tx).await.map_err(db)?;
        for c in chunks {
            sqlx::query(
                "INSERT INTO chunks (id, tenant_id, asset_id, document_id, chunk_index, content, context_text, heading_path,
                    page_number, start_char, end_char, start_line, end_line, token_count, text_hash, embedding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .bind(c.id.to_string())
            .bind(lease.tenant.as_str())
            .bind(lease.asset_id.to_string())
            .bind(d.id.to_string())
            .bind(c.chunk_index)
            .bind(&c.content)
            .bind(&c.context_text)
            .bind(&c.heading_path)
            .bind(&c.page_number)
            .bind(c.start_char)
            .bind(c.end_char)
            .bind(c.start_line)
            .bind(c.end_line)
            .bind(c.token_count)
            .bind(&c.text_hash)
            .bind(vector_blob(&c.embedding))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn chunk_list(&self, tenant: &TenantId, document_id: Uuid) -> Result<Vec<Chunk>> {
        let rows = sqlx::query("SELECT * FROM chunks WHERE tenant_id = ?1 AND document_id = ?2 ORDER BY chunk_index")
            .bind(tenant.as_str())
            .bind(document_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(chunk_from_row).collect()
    }

    async fn embedding_cache_get(
        &self,
        tenant: &TenantId,
        model: &str,
        hashes: &[String],
    ) -> Result<std::collections::HashMap<String, (Vec<f32>, i64)>> {
        let mut found = std::collections::HashMap::new();
        for h in hashes {
            let row = sqlx::query("SELECT tokens, embedding FROM embedding_cache WHERE tenant_id = ?1 AND model = ?2 AND text_hash = ?3")
                .bind(tenant.as_str())
                .bind(model)
                .bind(h)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
            if let Some(r) = row {
                let blob: Vec<u8> = r.try_get("embedding").map_err(db)?;
                found.insert(h.clone(), (blob_vector(&blob), r.try_get("tokens").map_err(db)?));
            }
        }
        Ok(found)
    }

    async fn embedding_cache_put(&self, tenant: &TenantId, model: &str, entries: &[(String, Vec<f32>, i64)]) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        for (hash, vector, tokens) in entries {
            sqlx::query(
                "INSERT OR IGNORE INTO embedding_cache (tenant_id, model, text_hash, tokens, embedding) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(tenant.as_str())
            .bind(model)
            .bind(hash)
            .bind(tokens)
            .bind(vector_blob(vector))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn chunk_page(&self, tenant: &TenantId, document_id: Uuid, after_index: Option<i64>, limit: u32) -> Result<(Vec<Chunk>, i64)> {
        let rows = sqlx::query(
            "SELECT * FROM chunks WHERE tenant_id = ?1 AND document_id = ?2 AND chunk_index > ?3 ORDER BY chunk_index LIMIT ?4",
        )
        .bind(tenant.as_str())
        .bind(document_id.to_string())
        .bind(after_index.unwrap_or(-1))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks WHERE tenant_id = ?1 AND document_id = ?2")
            .bind(tenant.as_str())
            .bind(document_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok((rows.iter().map(chunk_from_row).collect::<Result<_>>()?, total))
    }

    async fn asset_has_completed(&self, tenant: &TenantId, asset_id: Uuid) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM operations WHERE tenant_id = ?1 AND asset_id = ?2 AND status = 'COMPLETED')")
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn document_page(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        page: &PageRequest,
        name_contains: Option<&str>,
    ) -> Result<Page<Document>> {
        let pattern = name_contains.map(like_pattern);
        let (after_t, after_id) = keyset(page.after);
        let rows = sqlx::query(
            "SELECT * FROM documents WHERE tenant_id = ?1 AND asset_id = ?2 AND (?3 IS NULL OR file_name LIKE ?3 ESCAPE '\\')
               AND (created_at, id) < (?4, ?5) ORDER BY created_at DESC, id DESC LIMIT ?6 OFFSET ?7",
        )
        .bind(tenant.as_str())
        .bind(asset_id.to_string())
        .bind(&pattern)
        .bind(after_t)
        .bind(after_id)
        .bind(page.size.get() as i64 + 1)
        .bind(page.skip as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM documents WHERE tenant_id = ?1 AND asset_id = ?2 AND (?3 IS NULL OR file_name LIKE ?3 ESCAPE '\\')",
        )
        .bind(tenant.as_str())
        .bind(asset_id.to_string())
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let docs = rows.iter().map(document_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(docs, page.size, total, |d| SortKey { created_at: d.created_at, id: d.id }))
    }

    async fn document_get(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Document>> {
        let row = sqlx::query("SELECT * FROM documents WHERE tenant_id = ?1 AND asset_id = ?2 AND id = ?3")
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(document_from_row).transpose()
    }

    async fn document_remove(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<bool> {
        // Chunks go with the document (ON DELETE CASCADE), in the same statement's transaction.
        let done = sqlx::query("DELETE FROM documents WHERE tenant_id = ?1 AND asset_id = ?2 AND id = ?3")
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn assets(&self, tenant: &TenantId, ids: Option<&[Uuid]>) -> Result<Vec<Asset>> {
        let mut qb = sqlx::QueryBuilder::new("SELECT * FROM assets WHERE deleted_at IS NULL AND tenant_id = ");
        qb.push_bind(tenant.as_str().to_owned());
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            qb.push(" AND id IN (");
            let mut sep = qb.separated(", ");
            for id in ids {
                sep.push_bind(id.to_string());
            }
            qb.push(")");
        }
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(asset_from_row).collect()
    }

    async fn search_text(&self, scope: &SearchScope, terms: &[String], limit: u32) -> Result<Vec<(i64, f64)>> {
        if scope.asset_ids.is_empty() || terms.is_empty() {
            return Ok(Vec::new());
        }
        if !scope.is_filtered()
            && let Some(hits) = self.text.search(&self.pool, &scope.asset_ids, terms, limit as usize).await?
        {
            return Ok(hits);
        }
        // Terms are runs of alphanumerics (`search::query_terms`), so quoting them is enough.
        let fts_query = terms.iter().map(|t| format!("\"{}\"", t.replace('"', ""))).collect::<Vec<_>>().join(" OR ");
        let mut qb = sqlx::QueryBuilder::new(
            // CROSS JOIN keeps the full-text index as the outer loop: the match is evaluated once
            // and each hit joined by key (the planner otherwise re-ran MATCH per chunk row).
            "SELECT c.seq, -bm25(chunks_fts, 1.0, 0.5) AS score FROM chunks_fts CROSS JOIN chunks c ON c.seq = chunks_fts.rowid
             CROSS JOIN documents d ON d.id = c.document_id WHERE chunks_fts MATCH ",
        );
        qb.push_bind(fts_query).push(" AND");
        push_scope(&mut qb, scope);
        qb.push(" ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ").push_bind(limit);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?))).collect()
    }

    async fn search_vectors(&self, scope: &SearchScope, query: &[f32], limit: u32) -> Result<Vec<(i64, f64)>> {
        if scope.asset_ids.is_empty() {
            return Ok(Vec::new());
        }
        if !scope.is_filtered() {
            // The approximate index of each asset; the tenant is checked by the caller having
            // resolved the assets within it, and again when the hits are read.
            let mut out = Vec::new();
            for asset in &scope.asset_ids {
                out.extend(self.vectors.search(&self.pool, *asset, query, limit as usize).await?);
            }
            out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            out.truncate(limit as usize);
            return Ok(out);
        }
        // Exact search: every embedding in scope, scored as it streams in, the best `limit` kept.
        let mut qb = sqlx::QueryBuilder::new("SELECT c.seq, c.embedding FROM chunks c JOIN documents d ON d.id = c.document_id WHERE");
        push_scope(&mut qb, scope);
        qb.push(" AND length(c.embedding) = ").push_bind(query.len() as i64 * 4);
        let mut rows = qb.build().fetch(&self.pool);
        let mut best: std::collections::BinaryHeap<std::cmp::Reverse<(ordered::Score, i64)>> = Default::default();
        use futures::TryStreamExt;
        while let Some(row) = rows.try_next().await.map_err(db)? {
            let blob: &[u8] = row.try_get(1).map_err(db)?;
            let score = dot(query, blob);
            if best.len() < limit as usize {
                best.push(std::cmp::Reverse((ordered::Score(score), row.try_get(0).map_err(db)?)));
            } else if best.peek().is_some_and(|std::cmp::Reverse((s, _))| s.0 < score) {
                best.pop();
                best.push(std::cmp::Reverse((ordered::Score(score), row.try_get(0).map_err(db)?)));
            }
        }
        let mut out: Vec<(i64, f64)> = best.into_iter().map(|std::cmp::Reverse((s, k))| (k, s.0 as f64)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    async fn search_hits(&self, tenant: &TenantId, keys: &[i64]) -> Result<Vec<SearchHit>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // The chunks are looked up by key: `+` keeps the planner off the tenant index, which it
        // picked for lists of ~10 keys and then walked all of a big asset's chunks (11 ms at 100k).
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT c.seq, c.id, c.document_id, c.chunk_index, c.content, c.context_text, c.heading_path, c.page_number,
                c.start_char, c.end_char, c.start_line, c.end_line, c.token_count, c.text_hash, x'' AS embedding,
                c.asset_id, a.source_type, d.file_name, d.source_url
             FROM chunks c JOIN documents d ON d.id = c.document_id JOIN assets a ON a.id = c.asset_id
             WHERE +c.tenant_id = ",
        );
        qb.push_bind(tenant.as_str().to_owned()).push(" AND c.seq IN (");
        let mut sep = qb.separated(", ");
        for k in keys {
            sep.push_bind(*k);
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter()
            .map(|r| {
                let t: String = r.try_get("source_type").map_err(db)?;
                Ok(SearchHit {
                    key: r.try_get("seq").map_err(db)?,
                    chunk: chunk_from_row(r)?,
                    asset_id: uuid_col(r, "asset_id")?,
                    source_type: SourceType::parse(&t).ok_or_else(|| corrupt("source type"))?,
                    file_name: r.try_get("file_name").map_err(db)?,
                    source_url: r.try_get("source_url").map_err(db)?,
                })
            })
            .collect()
    }

    async fn asset_index_totals(&self, tenant: &TenantId, asset_id: Uuid) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(token_count), 0), COALESCE(SUM(chunk_count), 0) FROM documents WHERE tenant_id = ?1 AND asset_id = ?2",
        )
        .bind(tenant.as_str())
        .bind(asset_id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok((row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?))
    }

    async fn file_create(&self, f: &StoredFile) -> Result<()> {
        sqlx::query(
            "INSERT INTO files (id, tenant_id, file_name, content_type, size, sha256, temporary, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(f.id.to_string())
        .bind(f.tenant.as_str())
        .bind(&f.file_name)
        .bind(&f.content_type)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(f.temporary)
        .bind(f.created_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn file_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<StoredFile>> {
        let row = sqlx::query("SELECT * FROM files WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn file_retain(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let r = sqlx::query("UPDATE files SET temporary = 0 WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(r.rows_affected() > 0)
    }

    async fn file_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let r = sqlx::query("DELETE FROM files WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(r.rows_affected() > 0)
    }

    async fn files_expired(&self, before: Millis, limit: u32) -> Result<Vec<StoredFile>> {
        let rows = sqlx::query("SELECT * FROM files WHERE temporary = 1 AND created_at < ?1 ORDER BY created_at LIMIT ?2")
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(file_from_row).collect()
    }

    async fn webhook_set(&self, tenant: &TenantId, asset_id: Uuid, hook: Option<&Webhook>) -> Result<()> {
        self.do_webhook_set(tenant, asset_id, hook).await
    }

    async fn webhook_get(&self, id: Uuid) -> Result<Option<Webhook>> {
        self.do_webhook_get(id).await
    }

    async fn webhook_deliver(&self, tenant: &TenantId, op: &NewOperation) -> Result<Delivery> {
        self.do_webhook_deliver(tenant, op).await
    }

    async fn schedule_due(&self, now: Millis, limit: u32) -> Result<Vec<Due>> {
        self.do_schedule_due(now, limit).await
    }

    async fn poll_fire(
        &self,
        tenant: &TenantId,
        expected: Millis,
        next: Option<Millis>,
        now: Millis,
        op: &NewOperation,
    ) -> Result<Option<Operation>> {
        self.do_poll_fire(tenant, expected, next, now, op).await
    }

    async fn backlog_start(&self, tenant: &TenantId, op: &NewOperation) -> Result<Option<Operation>> {
        self.do_backlog_start(tenant, op).await
    }

    async fn grant_put(&self, grant: &Grant, now: Millis) -> Result<()> {
        self.do_grant_put(grant, now).await
    }

    async fn grant_take(&self, kind: GrantKind, id: &str) -> Result<Option<Grant>> {
        self.do_grant_take(kind, id).await
    }

    async fn asset_auth_set(&self, tenant: &TenantId, asset_id: Uuid, sealed: Option<&[u8]>, error: Option<&str>) -> Result<()> {
        self.do_asset_auth_set(tenant, asset_id, sealed, error).await
    }

    async fn llm_config_put(&self, config: &LlmConfig) -> Result<()> {
        self.do_llm_config_put(config).await
    }

    async fn llm_config_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<LlmConfig>> {
        self.do_llm_config_get(tenant, id).await
    }

    async fn llm_config_list(&self, tenant: &TenantId) -> Result<Vec<LlmConfig>> {
        self.do_llm_config_list(tenant).await
    }

    async fn llm_config_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        self.do_llm_config_delete(tenant, id).await
    }
}

mod ordered {
    /// An `f32` score with a total order, for the top-k heap.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Score(pub f32);

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
}

crate::connected::connected_methods!(SqliteStore, sqlx::SqliteConnection, begin = |pool| pool.begin_with("BEGIN IMMEDIATE"), lock = "");
