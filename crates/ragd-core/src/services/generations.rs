//! Index generations (ragd): a `PATCH` that changes an asset's embedding model or chunking
//! makes a building generation, which the `REINDEX` fills beside the serving one from the stored
//! texts and swaps in at once; searches read the serving one until then.

use super::*;

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
