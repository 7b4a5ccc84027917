//! Operations: the queue (one active operation per asset, enforced by a unique index), claims
//! under a lease, and the fence on every write a worker makes.

use super::{Backend, SqlStore, keyset, rows};
use crate::db::{Columns, Exec, Tx, corrupt, json, sql};
use async_trait::async_trait;
use ragd_core::domain::*;
use ragd_core::page::{Page, PageRequest, SortKey};
use ragd_core::ports::store::OperationStore;
use ragd_core::time::Millis;
use ragd_core::{Error, Result};
use uuid::Uuid;

/// An operation with its asset's model, on `operations o` joined to `assets a`.
const COLUMNS: &str = "o.id, o.tenant_id, o.asset_id, o.type, o.status, o.cancel_requested,
    o.created_by, o.created_at, o.started_at, o.completed_at, o.items_total, o.items_processed,
    o.items_failed, o.items_skipped, o.items_excluded, o.token_count, o.tokens_saved, o.chunk_count,
    o.ocr_pages, o.ocr_pages_total, o.partial_ppm, o.estimate_documents, o.estimate_chunks,
    o.estimate_tokens,
    o.error_message, o.document_ids, o.excluded, o.force, o.attempts, a.embedding_provider,
    a.embedding_model";

/// Selects one operation by `$1` tenant, `$2` asset and `$3` id (for the pool and inline reads).
pub(crate) fn read_operation_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {COLUMNS} FROM operations o JOIN assets a ON a.id = o.asset_id
             WHERE o.tenant_id = $1 AND o.asset_id = $2 AND o.id = $3 AND a.deleted_at IS NULL"
        )
    });
    &SQL
}

/// Reads one operation on the pool or inside a transaction (a writer then sees what it wrote).
pub(crate) async fn read_operation(
    on: impl Exec,
    tenant: &TenantId,
    asset_id: Uuid,
    id: Uuid,
) -> Result<Option<Operation>> {
    let row = sql(read_operation_sql())
        .bind(tenant)
        .bind(asset_id)
        .bind(id)
        .fetch_optional(on)
        .await?;
    row.as_ref().map(rows::operation).transpose()
}

/// Inserts a `PENDING` operation and counts it on its asset. False when the asset is absent;
/// `OperationActive` while another operation of the asset is. The insert does not abort the
/// transaction on that conflict (`ON CONFLICT DO NOTHING`), so an active operation that ends
/// between the insert and the look-up for its id is simply retried past (found by schemathesis
/// on PostgreSQL: that look-up found nothing and the refresh was a 500).
pub(crate) async fn insert_operation(
    tx: &mut Tx,
    tenant: &TenantId,
    op: &NewOperation,
) -> Result<bool> {
    for _ in 0..3 {
        let inserted = sql("INSERT INTO operations (id, tenant_id, asset_id, type, status, created_by,
                created_at, document_ids, force)
             SELECT $1, $2, $3, $4, 'PENDING', $5, $6, $7, $8
             WHERE EXISTS (SELECT 1 FROM assets WHERE id = $3 AND tenant_id = $2 AND deleted_at IS NULL)
             ON CONFLICT (asset_id) WHERE status IN ('PENDING', 'RUNNING') DO NOTHING")
        .bind(op.id)
        .bind(tenant)
        .bind(op.asset_id)
        .bind(op.op_type.as_str())
        .bind(&op.created_by)
        .bind(op.created_at)
        .bind(json(&op.document_ids))
        .bind(op.force)
        .execute(&mut *tx)
        .await?;
        if inserted == 1 {
            sql("UPDATE assets SET operation_count = operation_count + 1 WHERE id = $1")
                .bind(op.asset_id)
                .execute(&mut *tx)
                .await?;
            return Ok(true);
        }
        let exists =
            sql("SELECT id FROM assets WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL")
                .bind(op.asset_id)
                .bind(tenant)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(false);
        }
        if let Some(id) = active_operation(tx, op.asset_id).await? {
            return Err(Error::OperationActive { operation_id: id });
        }
    }
    Err(Error::internal(
        "an operation of the asset kept starting and ending while another was queued",
    ))
}

/// The asset's operation `PENDING` or `RUNNING`, if any.
pub(crate) async fn active_operation(tx: &mut Tx, asset_id: Uuid) -> Result<Option<Uuid>> {
    let row =
        sql("SELECT id FROM operations WHERE asset_id = $1 AND status IN ('PENDING', 'RUNNING')")
            .bind(asset_id)
            .fetch_optional(tx)
            .await?;
    row.map(|r| rows::uuid_col(&r, "id")).transpose()
}

/// The fence of every write a worker makes: does its attempt still hold the operation? Checked
/// inside the writing transaction, which holds the operation row (PostgreSQL's `FOR UPDATE`; on
/// SQLite, `BEGIN IMMEDIATE` holds the database) until it ends, so no claim or finish can slip in.
pub(crate) async fn lease_held(tx: &mut Tx, lease: &Lease) -> Result<bool> {
    let lock = tx.dialect().lock;
    let held = sql(format!(
        "SELECT id FROM operations WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'{lock}"
    ))
    .bind(lease.operation_id)
    .bind(lease.token)
    .fetch_optional(tx)
    .await?;
    Ok(held.is_some())
}

/// Binds the counters in the order `COUNTED` names them.
fn bind_counters(q: crate::db::Sql, c: &Counters) -> crate::db::Sql {
    [
        c.items_total,
        c.items_processed,
        c.items_failed,
        c.items_skipped,
        c.token_count,
    ]
    .into_iter()
    .chain([c.tokens_saved, c.chunk_count, c.items_excluded])
    .chain([c.ocr_pages, c.ocr_pages_total, c.partial_ppm])
    .fold(q, |q, v| q.bind(v))
    .bind(c.estimate.map(|e| e.documents))
    .bind(c.estimate.map(|e| e.chunks))
    .bind(c.estimate.map(|e| e.token_count))
}

/// The counters' columns set from `$N` placeholders starting at `first`.
fn counted(first: usize) -> String {
    [
        "items_total",
        "items_processed",
        "items_failed",
        "items_skipped",
        "token_count",
    ]
    .into_iter()
    .chain(["tokens_saved", "chunk_count", "items_excluded"])
    .chain(["ocr_pages", "ocr_pages_total", "partial_ppm"])
    .chain(["estimate_documents", "estimate_chunks", "estimate_tokens"])
    .enumerate()
    .map(|(i, col)| format!("{col} = ${}", first + i))
    .collect::<Vec<_>>()
    .join(", ")
}

impl<B: Backend> SqlStore<B> {
    async fn fetch_operation(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Operation>> {
        read_operation(&self.pool, tenant, asset_id, id).await
    }
}

#[async_trait]
impl<B: Backend> OperationStore for SqlStore<B> {
    async fn operation_create(&self, tenant: &TenantId, op: &NewOperation) -> Result<Operation> {
        let mut tx = self.pool.begin().await?;
        if !insert_operation(&mut tx, tenant, op).await? {
            return Err(Error::NotFound("asset"));
        }
        let created = read_operation(&mut tx, tenant, op.asset_id, op.id)
            .await?
            .ok_or(Error::NotFound("asset"))?;
        tx.commit().await?;
        Ok(created)
    }

    async fn operations_active(&self, tenant: &TenantId) -> Result<i64> {
        sql("SELECT COUNT(*) AS n FROM operations WHERE tenant_id = $1 AND status IN ('PENDING', 'RUNNING')")
            .bind(tenant)
            .fetch_one(&self.pool)
            .await?
            .int("n")
    }

    async fn operation_get(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Operation>> {
        match self
            .backend
            .operation_inline(read_operation_sql(), tenant, asset_id, id)
        {
            Some(read) => read,
            None => self.fetch_operation(tenant, asset_id, id).await,
        }
    }

    async fn operation_list(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        page: &PageRequest,
    ) -> Result<Page<Operation>> {
        let (after_t, after_id) = keyset(page.after);
        let rows = sql(format!(
            "SELECT {COLUMNS} FROM operations o JOIN assets a ON a.id = o.asset_id
             WHERE o.tenant_id = $1 AND o.asset_id = $2 AND (o.created_at, o.id) < ($3, $4)
             ORDER BY o.created_at DESC, o.id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(tenant)
        .bind(asset_id)
        .bind(after_t)
        .bind(after_id)
        .bind(page.size.get() as i64 + 1)
        .bind(page.skip as i64)
        .fetch_all(&self.pool)
        .await?;
        let total = sql("SELECT operation_count FROM assets WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(asset_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.int("operation_count"))
            .transpose()?
            .unwrap_or(0);
        let ops = rows
            .iter()
            .map(rows::operation)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(ops, page.size, total, |o| SortKey {
            created_at: o.created_at,
            id: o.id,
        }))
    }

    async fn operation_cancel(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
        now: Millis,
    ) -> Result<Option<Operation>> {
        // All SET expressions see the row as it was, so the condition is evaluated once on the
        // old state: nobody is working on it (PENDING, or RUNNING with a dead worker's expired lease).
        sql("UPDATE operations SET
                cancel_requested = TRUE,
                status = CASE WHEN status = 'PENDING' OR lease_expires_at < $4
                    THEN 'CANCELLED' ELSE status END,
                completed_at = CASE WHEN status = 'PENDING' OR lease_expires_at < $4
                    THEN $4 ELSE completed_at END,
                lease_token = CASE WHEN status = 'PENDING' OR lease_expires_at < $4
                    THEN NULL ELSE lease_token END
             WHERE tenant_id = $1 AND asset_id = $2 AND id = $3 AND status IN ('PENDING', 'RUNNING')")
        .bind(tenant)
        .bind(asset_id)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.fetch_operation(tenant, asset_id, id).await
    }

    async fn operation_claim(&self, now: Millis, lease_ms: i64) -> Result<Option<Claim>> {
        let token = Uuid::new_v4();
        let skip_locked = self.pool.dialect().skip_locked;
        let row = sql(format!(
            "UPDATE operations SET status = 'RUNNING', lease_token = $1, lease_expires_at = $2 + $3,
                attempts = attempts + 1, started_at = COALESCE(started_at, $2), items_total = 0,
                items_processed = 0, items_failed = 0, items_skipped = 0, items_excluded = 0,
                excluded = '[]', token_count = 0, tokens_saved = 0, chunk_count = 0, ocr_pages = 0,
                ocr_pages_total = 0, partial_ppm = 0, estimate_documents = NULL,
                estimate_chunks = NULL, estimate_tokens = NULL
             WHERE id = (SELECT o.id FROM operations o
                         WHERE o.status IN ('PENDING', 'RUNNING')
                           AND (o.status = 'PENDING' OR o.lease_expires_at < $2)
                         ORDER BY (SELECT COUNT(*) FROM operations r WHERE r.tenant_id = o.tenant_id
                                   AND r.status = 'RUNNING' AND r.lease_expires_at >= $2),
                                  o.created_at, o.id
                         LIMIT 1{skip_locked})
             RETURNING id, tenant_id, asset_id"
        ))
        .bind(token)
        .bind(now)
        .bind(lease_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tenant = rows::tenant_col(&row)?;
        let (id, asset_id) = (
            rows::uuid_col(&row, "id")?,
            rows::uuid_col(&row, "asset_id")?,
        );
        let operation = self
            .fetch_operation(&tenant, asset_id, id)
            .await?
            .ok_or_else(|| corrupt("claimed operation"))?;
        let asset_row = sql(super::assets::select_asset())
            .bind(&tenant)
            .bind(0i64)
            .bind(0i64)
            .bind(asset_id)
            .fetch_one(&self.pool)
            .await?;
        let asset = rows::asset(&asset_row)?;
        Ok(Some(Claim {
            lease: Lease {
                tenant,
                operation_id: id,
                asset_id,
                token,
            },
            operation,
            asset,
        }))
    }

    async fn operation_heartbeat(
        &self,
        lease: &Lease,
        c: &Counters,
        now: Millis,
        lease_ms: i64,
    ) -> Result<LeaseState> {
        let q = sql(format!(
            "UPDATE operations SET lease_expires_at = $3 + $4, {}
             WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'
             RETURNING cancel_requested",
            counted(5)
        ));
        let q = q
            .bind(lease.operation_id)
            .bind(lease.token)
            .bind(now)
            .bind(lease_ms);
        Ok(
            match bind_counters(q, c).fetch_optional(&self.pool).await? {
                Some(r) => LeaseState::Held {
                    cancel_requested: r.flag("cancel_requested")?,
                },
                None => LeaseState::Lost,
            },
        )
    }

    async fn operation_finish(
        &self,
        lease: &Lease,
        outcome: &Outcome,
        c: &Counters,
        now: Millis,
    ) -> Result<bool> {
        let (status, message) = match outcome {
            Outcome::Completed { error_message } => {
                (OperationStatus::Completed, error_message.as_deref())
            }
            Outcome::Failed { error_message } => {
                (OperationStatus::Failed, Some(error_message.as_str()))
            }
            Outcome::Cancelled => (OperationStatus::Cancelled, None),
        };
        // The terminal state and the token usage it adds to the asset's budget land together.
        let mut tx = self.pool.begin().await?;
        let q = sql(format!(
            "UPDATE operations SET status = $3, error_message = $4, completed_at = $5,
                lease_token = NULL, lease_expires_at = NULL, {}
             WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'",
            counted(6)
        ));
        let q = q
            .bind(lease.operation_id)
            .bind(lease.token)
            .bind(status.as_str())
            .bind(message)
            .bind(now);
        if bind_counters(q, c).execute(&mut tx).await? == 0 {
            return Ok(false);
        }
        if c.token_count > 0 {
            sql("INSERT INTO asset_usage (tenant_id, asset_id, day, tokens) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (asset_id, day) DO UPDATE SET tokens = asset_usage.tokens + excluded.tokens")
            .bind(&lease.tenant)
            .bind(lease.asset_id)
            .bind(ragd_core::time::day_and_month_start(now).0)
            .bind(c.token_count)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn operation_exclusions(&self, lease: &Lease, excluded: &[Excluded]) -> Result<bool> {
        let done = sql("UPDATE operations SET excluded = $3
             WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'")
        .bind(lease.operation_id)
        .bind(lease.token)
        .bind(json(&&excluded[..excluded.len().min(MAX_EXCLUDED)]))
        .execute(&self.pool)
        .await?;
        Ok(done == 1)
    }

    async fn operation_release(&self, lease: &Lease) -> Result<()> {
        sql("UPDATE operations SET lease_expires_at = 0
             WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING'")
        .bind(lease.operation_id)
        .bind(lease.token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
