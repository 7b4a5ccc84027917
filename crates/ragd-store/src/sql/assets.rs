//! Assets: their rows, with the aggregates an asset shows (documents, chunks, its latest
//! operation, token usage), created and updated together with the operation they start.

use super::operations::{insert_operation, read_operation};
use super::{Backend, SqlStore, keyset, like_pattern, rows};
use crate::db::{Columns, corrupt, json, sql};
use async_trait::async_trait;
use ragd_core::domain::*;
use ragd_core::page::{Page, SortKey};
use ragd_core::ports::store::{AssetQuery, AssetStore};
use ragd_core::time::Millis;
use ragd_core::{Error, Result};
use uuid::Uuid;

/// The asset and its aggregates, on `assets a`; `$2` and `$3` are the month's and the day's start.
pub(crate) const COLUMNS: &str = "a.id, a.tenant_id, a.display_name, a.source_type, a.parameters,
    a.auth_method, a.vectorized, a.integration_id, a.embedding_provider, a.embedding_model,
    a.chunk_size, a.chunk_overlap, a.budget, a.auto_update, a.embedding_llm_config_id, a.created_by,
    a.created_at, a.modified_at, a.last_polled_at, a.next_poll_at, a.auth_sealed, a.auth_error, a.ocr,
    a.serving, a.building, a.previous,
    (SELECT COUNT(*) FROM documents d WHERE d.asset_id = a.id) AS document_count,
    (SELECT CAST(COALESCE(SUM(d.chunk_count), 0) AS BIGINT) FROM documents d
        WHERE d.asset_id = a.id) AS doc_chunk_count,
    (SELECT o.status FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id
        ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_status,
    (SELECT o.items_failed FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id
        ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_failed,
    (SELECT o.items_processed FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id
        ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_processed,
    (SELECT o.items_total FROM operations o WHERE o.tenant_id = a.tenant_id AND o.asset_id = a.id
        ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS latest_total,
    (SELECT CAST(COALESCE(SUM(u.tokens), 0) AS BIGINT) FROM asset_usage u
        WHERE u.asset_id = a.id) AS total_tokens,
    (SELECT CAST(COALESCE(SUM(u.tokens), 0) AS BIGINT) FROM asset_usage u
        WHERE u.asset_id = a.id AND u.day >= $2) AS monthly_tokens,
    (SELECT CAST(COALESCE(SUM(u.tokens), 0) AS BIGINT) FROM asset_usage u
        WHERE u.asset_id = a.id AND u.day >= $3) AS daily_tokens,
    a.operation_count";

/// The asset `$4` of tenant `$1` with its aggregates (deleted ones too: a claim reads those).
pub(crate) fn select_asset() -> String {
    format!("SELECT {COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.id = $4")
}

#[async_trait]
impl<B: Backend> AssetStore for SqlStore<B> {
    async fn asset_create(&self, asset: &Asset, first: &NewOperation) -> Result<Operation> {
        let mut tx = self.pool.begin().await?;
        sql("INSERT INTO assets (id, tenant_id, display_name, source_type, parameters, auth_method,
                vectorized, integration_id, embedding_provider, embedding_model, chunk_size,
                chunk_overlap, budget, auto_update, embedding_llm_config_id, created_by, created_at,
                modified_at, last_polled_at, next_poll_at, auth_sealed, ocr)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                $19, $20, $21, $22)")
        .bind(asset.id)
        .bind(&asset.tenant)
        .bind(&asset.display_name)
        .bind(asset.source_type.as_str())
        .bind(json(&asset.parameters))
        .bind(asset.auth_method.map(AuthMethod::as_str))
        .bind(asset.vectorized)
        .bind(&asset.integration_id)
        .bind(&asset.embedding.provider)
        .bind(&asset.embedding.model)
        .bind(i64::from(asset.embedding.chunk_size))
        .bind(i64::from(asset.embedding.chunk_overlap))
        .bind(json(&asset.budget))
        .bind(asset.auto_update.as_ref().map(json))
        .bind(&asset.embedding_llm_config_id)
        .bind(&asset.created_by)
        .bind(asset.created_at)
        .bind(asset.modified_at)
        .bind(asset.last_polled_at)
        .bind(asset.next_poll_at)
        .bind(&asset.auth_sealed)
        .bind(asset.ocr)
        .execute(&mut tx)
        .await?;
        insert_operation(&mut tx, &asset.tenant, first).await?;
        let op = read_operation(&mut tx, &asset.tenant, asset.id, first.id).await?;
        tx.commit().await?;
        op.ok_or_else(|| corrupt("new operation"))
    }

    async fn asset_get(
        &self,
        tenant: &TenantId,
        id: Uuid,
        w: UsageWindows,
    ) -> Result<Option<AssetView>> {
        let row = sql(format!("{} AND a.deleted_at IS NULL", select_asset()))
            .bind(tenant)
            .bind(w.month_start)
            .bind(w.day_start)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::asset_view).transpose()
    }

    async fn asset_list(
        &self,
        tenant: &TenantId,
        q: &AssetQuery,
        w: UsageWindows,
    ) -> Result<Page<AssetView>> {
        let pattern = q.name_contains.as_deref().map(like_pattern);
        let filter = |n: u8| {
            let like = self.pool.dialect().ilike;
            format!(
                "a.tenant_id = $1 AND a.deleted_at IS NULL
                 AND (CAST(${n} AS TEXT) IS NULL OR a.display_name {like} ${n} ESCAPE '\\')"
            )
        };
        let (after_t, after_id) = keyset(q.page.after);
        let rows = sql(format!(
            "SELECT {COLUMNS} FROM assets a WHERE {} AND (a.created_at, a.id) < ($5, $6)
             ORDER BY a.created_at DESC, a.id DESC LIMIT $7 OFFSET $8",
            filter(4)
        ))
        .bind(tenant)
        .bind(w.month_start)
        .bind(w.day_start)
        .bind(pattern.clone())
        .bind(after_t)
        .bind(after_id)
        .bind(q.page.size.get() as i64 + 1)
        .bind(q.page.skip as i64)
        .fetch_all(&self.pool)
        .await?;
        let total = sql(format!(
            "SELECT COUNT(*) AS n FROM assets a WHERE {}",
            filter(2)
        ))
        .bind(tenant)
        .bind(pattern)
        .fetch_one(&self.pool)
        .await?;
        let views = rows
            .iter()
            .map(rows::asset_view)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(
            views,
            q.page.size,
            crate::db::Columns::int(&total, "n")?,
            |v| SortKey {
                created_at: v.asset.created_at,
                id: v.asset.id,
            },
        ))
    }

    async fn asset_update(
        &self,
        asset: &Asset,
        op: Option<&NewOperation>,
        auth_changed: bool,
    ) -> Result<Option<Operation>> {
        let mut tx = self.pool.begin().await?;
        // A building generation left by a REINDEX that ended without its worker (given up after
        // its attempts) is dropped when a new operation replaces it.
        let stale = match op {
            Some(_) => sql("SELECT building FROM assets WHERE tenant_id = $1 AND id = $2")
                .bind(&asset.tenant)
                .bind(asset.id)
                .fetch_optional(&mut tx)
                .await?
                .and_then(|r| r.opt_text("building").ok().flatten())
                .and_then(|b| serde_json::from_str::<Generation>(&b).ok())
                .map(|b| b.index)
                .filter(|i| asset.building.as_ref().map(|b| b.index) != Some(*i)),
            None => None,
        };
        let updated = sql("UPDATE assets SET display_name = $3, parameters = $4,
                budget = $9, auto_update = $10, embedding_llm_config_id = $11, modified_at = $12,
                next_poll_at = $13,
                auth_method = CASE WHEN $14 THEN $15 ELSE auth_method END,
                auth_sealed = CASE WHEN $14 THEN $16 ELSE auth_sealed END,
                auth_error = CASE WHEN $14 THEN NULL ELSE auth_error END, ocr = $17,
                embedding_provider = CASE WHEN $18 THEN $5 ELSE embedding_provider END,
                embedding_model = CASE WHEN $18 THEN $6 ELSE embedding_model END,
                chunk_size = CASE WHEN $18 THEN $7 ELSE chunk_size END,
                chunk_overlap = CASE WHEN $18 THEN $8 ELSE chunk_overlap END,
                serving = CASE WHEN $18 THEN $19 ELSE serving END,
                serving_index = CASE WHEN $18 THEN $20 ELSE serving_index END,
                building = CASE WHEN $18 THEN $21 ELSE building END
             WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(&asset.tenant)
        .bind(asset.id)
        .bind(&asset.display_name)
        .bind(json(&asset.parameters))
        .bind(&asset.embedding.provider)
        .bind(&asset.embedding.model)
        .bind(i64::from(asset.embedding.chunk_size))
        .bind(i64::from(asset.embedding.chunk_overlap))
        .bind(json(&asset.budget))
        .bind(asset.auto_update.as_ref().map(json))
        .bind(&asset.embedding_llm_config_id)
        .bind(asset.modified_at)
        .bind(asset.next_poll_at)
        .bind(auth_changed)
        .bind(asset.auth_method.map(AuthMethod::as_str))
        .bind(&asset.auth_sealed)
        .bind(asset.ocr)
        // The embedding settings and generations change only with the operation they start,
        // which the database refuses while another is active: never under a running one.
        .bind(op.is_some())
        .bind(json(&asset.serving))
        .bind(asset.serving.index)
        .bind(asset.building.as_ref().map(json))
        .execute(&mut tx)
        .await?;
        if updated == 0 {
            return Err(Error::NotFound("asset"));
        }
        let created = match op {
            Some(op) => {
                insert_operation(&mut tx, &asset.tenant, op).await?;
                read_operation(&mut tx, &asset.tenant, asset.id, op.id).await?
            }
            None => None,
        };
        if let Some(stale) = stale {
            super::generations::drop_index(&mut tx, &asset.tenant, stale).await?;
        }
        tx.commit().await?;
        if let Some(stale) = stale {
            self.backend.asset_deleted(stale);
        }
        Ok(created)
    }

    async fn assets(&self, tenant: &TenantId, ids: Option<&[Uuid]>) -> Result<Vec<Asset>> {
        let mut text =
            "SELECT * FROM assets WHERE deleted_at IS NULL AND tenant_id = $1".to_owned();
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            text += &format!(" AND id IN ({})", super::placeholders(2, ids.len()));
        }
        let mut q = sql(text).bind(tenant);
        for id in ids.unwrap_or_default() {
            q = q.bind(*id);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::asset)
            .collect()
    }

    async fn asset_exists(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let found =
            sql("SELECT id FROM assets WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn asset_delete(&self, tenant: &TenantId, id: Uuid, now: Millis) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let gone = sql(
            "UPDATE assets SET deleted_at = $3, parameters = '{}', auth_sealed = NULL,
                next_poll_at = NULL, webhook_backlog = NULL
             WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        if gone == 0 {
            return Ok(false);
        }
        sql(
            "UPDATE operations SET status = 'FAILED', error_message = 'asset deleted',
                completed_at = $3, lease_token = NULL, lease_expires_at = NULL
             WHERE tenant_id = $1 AND asset_id = $2 AND status IN ('PENDING', 'RUNNING')",
        )
        .bind(tenant)
        .bind(id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        for table in ["webhooks", "documents"] {
            sql(format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND asset_id = $2"
            ))
            .bind(tenant)
            .bind(id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        self.backend.asset_deleted(id);
        Ok(true)
    }

    async fn asset_has_completed(&self, tenant: &TenantId, asset_id: Uuid) -> Result<bool> {
        let found = sql("SELECT id FROM operations
             WHERE tenant_id = $1 AND asset_id = $2 AND status = 'COMPLETED' LIMIT 1")
        .bind(tenant)
        .bind(asset_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn asset_index_totals(&self, tenant: &TenantId, asset_id: Uuid) -> Result<(i64, i64)> {
        use crate::db::Columns;
        let row = sql(
            "SELECT CAST(COALESCE(SUM(token_count), 0) AS BIGINT) AS tokens,
                CAST(COALESCE(SUM(chunk_count), 0) AS BIGINT) AS chunks
             FROM documents WHERE tenant_id = $1 AND asset_id = $2",
        )
        .bind(tenant)
        .bind(asset_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.int("tokens")?, row.int("chunks")?))
    }

    async fn asset_auth_set(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        sealed: Option<&[u8]>,
        error: Option<&str>,
    ) -> Result<()> {
        sql(
            "UPDATE assets SET auth_sealed = COALESCE($3, auth_sealed), auth_error = $4
             WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(tenant)
        .bind(asset_id)
        .bind(sealed)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
