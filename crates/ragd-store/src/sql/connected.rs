//! Connected sources: an asset's webhook and the backlog of deliveries that arrived while another
//! operation ran, poll schedules (fired once across processes), and OAuth grants.

use super::operations::{insert_operation, read_operation};
use super::{Backend, SqlStore, rows};
use crate::db::{Columns, Tx, corrupt, json, sql};
use async_trait::async_trait;
use ragd_core::domain::*;
use ragd_core::ports::store::ConnectedStore;
use ragd_core::time::Millis;
use ragd_core::{Error, Result};
use uuid::Uuid;

/// Locks the asset row for this transaction and reads its webhook backlog: `None` when the asset
/// does not exist, `Some(None)` when nothing waits.
async fn lock_backlog(
    tx: &mut Tx,
    tenant: &TenantId,
    asset_id: Uuid,
) -> Result<Option<Option<Vec<Uuid>>>> {
    let lock = tx.dialect().lock;
    let row = sql(format!(
        "SELECT webhook_backlog FROM assets WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
    ))
    .bind(tenant)
    .bind(asset_id)
    .fetch_optional(tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let backlog = row.opt_text("webhook_backlog")?;
    Ok(Some(
        backlog
            .map(|w| serde_json::from_str(&w).map_err(|_| corrupt("webhook_backlog")))
            .transpose()?,
    ))
}

/// Whether the asset has an operation `PENDING` or `RUNNING`.
async fn busy(tx: &mut Tx, asset_id: Uuid) -> Result<bool> {
    Ok(super::operations::active_operation(tx, asset_id)
        .await?
        .is_some())
}

#[async_trait]
impl<B: Backend> ConnectedStore for SqlStore<B> {
    async fn webhook_set(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        hook: Option<&Webhook>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sql("DELETE FROM webhooks WHERE tenant_id = $1 AND asset_id = $2")
            .bind(tenant)
            .bind(asset_id)
            .execute(&mut tx)
            .await?;
        if let Some(h) = hook {
            let done = sql(
                "INSERT INTO webhooks (id, tenant_id, asset_id, secret_sealed, created_at,
                    modified_at)
                 SELECT $1, $2, $3, $4, $5, $6
                 WHERE EXISTS (SELECT 1 FROM assets WHERE id = $3 AND tenant_id = $2
                    AND deleted_at IS NULL)",
            )
            .bind(h.id)
            .bind(tenant)
            .bind(asset_id)
            .bind(&h.secret_sealed)
            .bind(h.created_at)
            .bind(h.modified_at)
            .execute(&mut tx)
            .await?;
            if done == 0 {
                return Err(Error::NotFound("asset"));
            }
        }
        tx.commit().await
    }

    async fn webhook_get(&self, id: Uuid) -> Result<Option<Webhook>> {
        let row = sql("SELECT w.* FROM webhooks w
             JOIN assets a ON a.id = w.asset_id AND a.deleted_at IS NULL WHERE w.id = $1")
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::webhook).transpose()
    }

    async fn webhook_deliver(&self, tenant: &TenantId, op: &NewOperation) -> Result<Delivery> {
        let mut tx = self.pool.begin().await?;
        let waiting = lock_backlog(&mut tx, tenant, op.asset_id)
            .await?
            .ok_or(Error::NotFound("asset"))?;
        let active = sql("SELECT id, type, status, document_ids FROM operations
             WHERE tenant_id = $1 AND asset_id = $2 AND status IN ('PENDING', 'RUNNING')")
        .bind(tenant)
        .bind(op.asset_id)
        .fetch_optional(&mut tx)
        .await?;
        let delivery = match active {
            Some(row)
                if row.text("type")? == OperationType::WebhookUpdate.as_str()
                    && row.text("status")? == OperationStatus::Pending.as_str() =>
            {
                let id = rows::uuid_col(&row, "id")?;
                let ids = merge_targets(
                    &rows::json_col::<Vec<Uuid>>(&row, "document_ids")?,
                    &op.document_ids,
                );
                sql("UPDATE operations SET document_ids = $2 WHERE id = $1")
                    .bind(id)
                    .bind(json(&ids))
                    .execute(&mut tx)
                    .await?;
                Delivery::Joined(id)
            }
            Some(_) => {
                let ids = match waiting {
                    Some(w) => merge_targets(&w, &op.document_ids),
                    None => op.document_ids.clone(),
                };
                sql("UPDATE assets SET webhook_backlog = $2 WHERE id = $1")
                    .bind(op.asset_id)
                    .bind(json(&ids))
                    .execute(&mut tx)
                    .await?;
                Delivery::Deferred
            }
            None => {
                if !insert_operation(&mut tx, tenant, op).await? {
                    return Err(Error::NotFound("asset"));
                }
                Delivery::Started(op.id)
            }
        };
        tx.commit().await?;
        Ok(delivery)
    }

    async fn schedule_due(&self, now: Millis, limit: u32) -> Result<Vec<Due>> {
        // Two arms, each on its partial index (`assets_poll_due`, `assets_backlog`), so that a
        // tick reads only due assets however many there are.
        let rows = sql("SELECT * FROM (
                SELECT a.*, (a.webhook_backlog IS NOT NULL AND NOT EXISTS (SELECT 1 FROM operations o
                    WHERE o.asset_id = a.id AND o.status IN ('PENDING', 'RUNNING'))) AS backlog_ready
                FROM assets a
                WHERE a.next_poll_at IS NOT NULL AND a.deleted_at IS NULL AND a.next_poll_at <= $1
                UNION ALL
                SELECT a.*, TRUE AS backlog_ready
                FROM assets a WHERE a.webhook_backlog IS NOT NULL AND a.deleted_at IS NULL
                    AND (a.next_poll_at IS NULL OR a.next_poll_at > $1)
                    AND NOT EXISTS (SELECT 1 FROM operations o
                        WHERE o.asset_id = a.id AND o.status IN ('PENDING', 'RUNNING'))
             ) due ORDER BY next_poll_at LIMIT $2")
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    asset: rows::asset(r)?,
                    backlog: r.flag("backlog_ready")?,
                })
            })
            .collect()
    }

    async fn poll_fire(
        &self,
        tenant: &TenantId,
        expected: Millis,
        next: Option<Millis>,
        now: Millis,
        op: &NewOperation,
    ) -> Result<Option<Operation>> {
        let mut tx = self.pool.begin().await?;
        let moved = sql("UPDATE assets SET next_poll_at = $4, last_polled_at = $5
             WHERE tenant_id = $1 AND id = $2 AND next_poll_at = $3 AND deleted_at IS NULL")
        .bind(tenant)
        .bind(op.asset_id)
        .bind(expected)
        .bind(next)
        .bind(now)
        .execute(&mut tx)
        .await?;
        if moved == 0 {
            return Ok(None);
        }
        let created = if busy(&mut tx, op.asset_id).await? {
            None
        } else {
            insert_operation(&mut tx, tenant, op).await?;
            read_operation(&mut tx, tenant, op.asset_id, op.id).await?
        };
        tx.commit().await?;
        Ok(created)
    }

    async fn backlog_start(
        &self,
        tenant: &TenantId,
        op: &NewOperation,
    ) -> Result<Option<Operation>> {
        let mut tx = self.pool.begin().await?;
        let Some(Some(waiting)) = lock_backlog(&mut tx, tenant, op.asset_id).await? else {
            return Ok(None);
        };
        if busy(&mut tx, op.asset_id).await? {
            return Ok(None);
        }
        let op = NewOperation {
            document_ids: waiting,
            ..op.clone()
        };
        sql("UPDATE assets SET webhook_backlog = NULL WHERE id = $1")
            .bind(op.asset_id)
            .execute(&mut tx)
            .await?;
        insert_operation(&mut tx, tenant, &op).await?;
        let created = read_operation(&mut tx, tenant, op.asset_id, op.id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn grant_put(&self, g: &Grant, now: Millis) -> Result<()> {
        sql("DELETE FROM oauth_grants WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sql(
            "INSERT INTO oauth_grants (id, tenant_id, kind, sealed, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&g.id)
        .bind(&g.tenant)
        .bind(g.kind.as_str())
        .bind(&g.sealed)
        .bind(g.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn grant_take(&self, kind: GrantKind, id: &str) -> Result<Option<Grant>> {
        let row = sql("DELETE FROM oauth_grants WHERE id = $1 AND kind = $2
             RETURNING tenant_id, sealed, expires_at")
        .bind(id)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Grant {
            id: id.to_owned(),
            tenant: rows::tenant_col(&row)?,
            kind,
            sealed: row.bytes("sealed")?,
            expires_at: row.int("expires_at")?,
        }))
    }
}
