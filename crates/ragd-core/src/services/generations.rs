//! Index generations (ragd): a `PATCH` that changes an asset's embedding model or chunking
//! makes a building generation, which the `REINDEX` fills beside the serving one from the stored
//! texts and swaps in at once; searches read the serving one until then.

use super::*;
use crate::time::Millis;

impl Services {
    /// Points `asset` at `spec`: a new building generation when every indexed document has its
    /// text stored (the `REINDEX` builds from those), else the serving generation itself is
    /// re-indexed in place (documents indexed before texts were stored are read from the source
    /// again).
    pub(super) async fn reindex_into(&self, asset: &mut Asset, spec: EmbeddingSpec) -> Result<()> {
        let missing = self
            .store
            .documents_without_text(&asset.tenant, asset.id)
            .await?;
        if missing == 0 {
            let previous = asset.previous.as_ref().map_or(0, |p| p.number);
            asset.building = Some(Generation {
                index: uuid::Uuid::now_v7(),
                number: asset.serving.number.max(previous) + 1,
                spec: spec.clone(),
                retired_at: None,
            });
        } else {
            asset.serving.spec = spec.clone();
        }
        asset.embedding = spec;
        Ok(())
    }

    /// Makes the generation that served before the last re-index serve again (ragd's
    /// `:rollback`), with a forced `REFRESH` that brings it up to date with the source (what
    /// changed since the swap reached only the generation now put aside). 400 when none is kept.
    pub async fn asset_rollback(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<(AssetView, Operation)> {
        let asset = self.asset_get(caller, id).await?.asset;
        if asset.previous.is_none() {
            return Err(Error::invalid(
                "asset",
                "no earlier generation is kept to roll back to (none was replaced, or it was \
                 dropped after its retention)",
            ));
        }
        self.check_operation_cap(&caller.tenant).await?;
        let now = now_ms();
        let mut refresh = NewOperation::new(id, OperationType::Refresh, &caller.subject, now);
        refresh.force = true;
        let op = self
            .store
            .generation_rollback(&caller.tenant, id, &refresh, now)
            .await?
            .ok_or(Error::NotFound("asset"))?;
        self.events.work_added();
        Ok((self.asset_get(caller, id).await?, op))
    }

    /// Drops the generations kept for a rollback whose retention has passed.
    pub(super) async fn generation_sweep(&self, now: Millis) -> Result<()> {
        let before = now - self.generation_retention.as_millis() as i64;
        for (tenant, asset, index) in self.store.generations_retired(before, 100).await? {
            self.store
                .generation_drop_previous(&tenant, asset, index)
                .await?;
        }
        Ok(())
    }

    /// Drops the asset's building generation, if it has one.
    pub(super) async fn discard_building(
        &self,
        tenant: &TenantId,
        asset_id: uuid::Uuid,
    ) -> Result<()> {
        let asset = self.store.assets(tenant, Some(&[asset_id])).await?.pop();
        if let Some(building) = asset.and_then(|a| a.building) {
            self.store
                .generation_discard(tenant, asset_id, building.index)
                .await?;
        }
        Ok(())
    }
}
