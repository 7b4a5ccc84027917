//! Index generations (ragd): a `REINDEX` writes a building generation's chunks beside the
//! serving ones (their `asset_id` is the generation's index id), then swaps it in with one
//! transaction; a failed or cancelled one is discarded with its chunks.

use super::documents::insert_chunks;
use super::operations::{insert_operation, lease_held, read_operation};
use super::{Backend, SqlStore, rows};
use crate::db::{Columns, Sql, Tx, json, sql};
use async_trait::async_trait;
use ragd_core::Result;
use ragd_core::domain::*;
use ragd_core::ports::store::GenerationStore;
use ragd_core::time::Millis;
use uuid::Uuid;

/// The asset as stored, read in the transaction.
async fn asset_in(tx: &mut Tx, tenant: &TenantId, id: Uuid) -> Result<Option<Asset>> {
    sql("SELECT * FROM assets WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(rows::asset)
        .transpose()
}

/// Deletes every chunk of the index `index`.
pub(crate) async fn drop_index(tx: &mut Tx, tenant: &TenantId, index: Uuid) -> Result<()> {
    sql("DELETE FROM chunks WHERE tenant_id = $1 AND asset_id = $2")
        .bind(tenant)
        .bind(index)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[async_trait]
impl<B: Backend> GenerationStore for SqlStore<B> {
    async fn index_put(
        &self,
        lease: &Lease,
        index: Uuid,
        document_id: Uuid,
        chunks: &[Chunk],
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        sql("DELETE FROM chunks WHERE tenant_id = $1 AND asset_id = $2 AND document_id = $3")
            .bind(&lease.tenant)
            .bind(index)
            .bind(document_id)
            .execute(&mut tx)
            .await?;
        insert_chunks(&mut tx, &lease.tenant, index, document_id, chunks).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn generation_swap(
        &self,
        lease: &Lease,
        counts: &[(Uuid, i64, i64)],
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        let Some(asset) = asset_in(&mut tx, &lease.tenant, lease.asset_id).await? else {
            return Ok(false);
        };
        let Some(building) = asset.building else {
            return Ok(false);
        };
        let mut retired = asset.serving;
        retired.retired_at = Some(now);
        sql(
            "UPDATE assets SET serving = $3, serving_index = $4, building = NULL, previous = $5
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&lease.tenant)
        .bind(lease.asset_id)
        .bind(json(&building))
        .bind(building.index)
        .bind(json(&retired))
        .execute(&mut tx)
        .await?;
        for (id, chunks, tokens) in counts {
            sql("UPDATE documents SET chunk_count = $3, token_count = $4
                 WHERE asset_id = $1 AND id = $2")
            .bind(lease.asset_id)
            .bind(*id)
            .bind(*chunks)
            .bind(*tokens)
            .execute(&mut tx)
            .await?;
        }
        // One previous generation is kept: an older one goes now.
        let older = asset.previous.map(|p| p.index);
        if let Some(older) = older {
            drop_index(&mut tx, &lease.tenant, older).await?;
        }
        tx.commit().await?;
        if let Some(older) = older {
            self.backend.asset_deleted(older);
        }
        Ok(true)
    }

    async fn generation_rollback(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        refresh: &NewOperation,
        now: Millis,
    ) -> Result<Option<Operation>> {
        let mut tx = self.pool.begin().await?;
        let Some(asset) = asset_in(&mut tx, tenant, asset_id).await? else {
            return Ok(None);
        };
        let Some(mut back) = asset.previous else {
            return Ok(None);
        };
        back.retired_at = None;
        let mut retired = asset.serving;
        retired.retired_at = Some(now);
        let spec = &back.spec;
        sql(
            "UPDATE assets SET serving = $3, serving_index = $4, previous = $5,
                embedding_provider = $6, embedding_model = $7, chunk_size = $8, chunk_overlap = $9
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(asset_id)
        .bind(json(&back))
        .bind(back.index)
        .bind(json(&retired))
        .bind(&spec.provider)
        .bind(&spec.model)
        .bind(i64::from(spec.chunk_size))
        .bind(i64::from(spec.chunk_overlap))
        .execute(&mut tx)
        .await?;
        insert_operation(&mut tx, tenant, refresh).await?;
        let op = read_operation(&mut tx, tenant, asset_id, refresh.id).await?;
        tx.commit().await?;
        Ok(op)
    }

    async fn generations_retired(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<Vec<(TenantId, Uuid, Uuid)>> {
        let rows = sql(
            "SELECT * FROM assets WHERE previous IS NOT NULL AND deleted_at IS NULL
             ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let a = rows::asset(row)?;
            if let Some(p) = a
                .previous
                .filter(|p| p.retired_at.is_some_and(|t| t <= before))
            {
                out.push((a.tenant, a.id, p.index));
            }
        }
        Ok(out)
    }

    async fn generation_drop_previous(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        index: Uuid,
    ) -> Result<()> {
        let slot = |a: &Asset| a.previous.as_ref().map(|p| p.index);
        self.drop_generation(tenant, asset_id, index, slot, |a| {
            sql("UPDATE assets SET previous = NULL WHERE tenant_id = $1 AND id = $2")
                .bind(&a.tenant)
                .bind(a.id)
        })
        .await
    }

    async fn documents_without_text(&self, tenant: &TenantId, asset_id: Uuid) -> Result<i64> {
        sql("SELECT COUNT(*) AS n FROM documents d
             WHERE d.tenant_id = $1 AND d.asset_id = $2 AND d.status = 'INDEXED'
               AND NOT EXISTS (SELECT 1 FROM document_texts t WHERE t.document_id = d.id)")
        .bind(tenant)
        .bind(asset_id)
        .fetch_one(&self.pool)
        .await?
        .int("n")
    }

    async fn generation_discard(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        index: Uuid,
    ) -> Result<()> {
        let slot = |a: &Asset| a.building.as_ref().map(|b| b.index);
        self.drop_generation(tenant, asset_id, index, slot, |asset| {
            // The asset's settings are the serving generation's again.
            let spec = &asset.serving.spec;
            sql(
                "UPDATE assets SET building = NULL, embedding_provider = $3, embedding_model = $4,
                    chunk_size = $5, chunk_overlap = $6
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(&asset.tenant)
            .bind(asset.id)
            .bind(&spec.provider)
            .bind(&spec.model)
            .bind(i64::from(spec.chunk_size))
            .bind(i64::from(spec.chunk_overlap))
        })
        .await
    }
}

impl<B: Backend> SqlStore<B> {
    /// Drops generation `index` with its chunks if the asset's `slot` still names it, and runs
    /// `clear` (the statement that empties the slot) in the same transaction.
    async fn drop_generation(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        index: Uuid,
        slot: impl Fn(&Asset) -> Option<Uuid>,
        clear: impl FnOnce(&Asset) -> Sql,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let Some(asset) = asset_in(&mut tx, tenant, asset_id).await? else {
            return Ok(());
        };
        if slot(&asset) != Some(index) {
            return Ok(());
        }
        drop_index(&mut tx, tenant, index).await?;
        clear(&asset).execute(&mut tx).await?;
        tx.commit().await?;
        self.backend.asset_deleted(index);
        Ok(())
    }
}
