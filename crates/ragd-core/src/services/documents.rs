//! An asset's documents and a document's chunks, visible once the asset has been ingested.

use super::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use uuid::Uuid;

impl Services {
    /// Documents of an asset; 404 until the asset has completed one ingestion.
    pub async fn document_list(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        page: PageRequest,
        search: Option<String>,
    ) -> Result<Page<Document>> {
        self.documents_visible(caller, asset_id).await?;
        let search = search
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        self.store
            .document_page(&caller.tenant, asset_id, &page, search.as_deref())
            .await
    }

    async fn documents_visible(&self, caller: &Caller, asset_id: Uuid) -> Result<()> {
        self.asset_found(&caller.tenant, asset_id).await?;
        if !self
            .store
            .asset_has_completed(&caller.tenant, asset_id)
            .await?
        {
            return Err(Error::NotFound(
                "documents (the asset has not completed an ingestion yet)",
            ));
        }
        Ok(())
    }

    pub async fn document_get(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Document> {
        self.asset_found(&caller.tenant, asset_id).await?;
        self.store
            .document_get(&caller.tenant, asset_id, id)
            .await?
            .ok_or(Error::NotFound("document"))
    }

    /// Changes a document's metadata (a `null` removes a key), without re-embedding anything:
    /// metadata is not part of the embedded text. Kept by later refreshes.
    pub async fn document_patch(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
        metadata: Metadata,
    ) -> Result<Document> {
        let mut v = crate::error::Violations::default();
        check_metadata(&metadata, "metadata", true, &mut v);
        v.into_result()?;
        let doc = self.document_get(caller, asset_id, id).await?;
        let mut after = doc.clone();
        after.metadata_patch.extend(metadata.clone());
        if after.effective_metadata().len() > MAX_METADATA_KEYS {
            return Err(Error::invalid(
                "metadata",
                format!("the document would have more than {MAX_METADATA_KEYS} metadata keys"),
            ));
        }
        self.store
            .document_patch_metadata(&caller.tenant, asset_id, id, &metadata)
            .await?
            .ok_or(Error::NotFound("document"))
    }

    /// Removes a document and its chunks from the index at once; a full refresh brings it back.
    pub async fn document_delete(&self, caller: &Caller, asset_id: Uuid, id: Uuid) -> Result<()> {
        self.asset_found(&caller.tenant, asset_id).await?;
        self.store
            .document_remove(&caller.tenant, asset_id, id)
            .await?
            .then_some(())
            .ok_or(Error::NotFound("document"))
    }

    /// A page of a document's chunks in `chunkIndex` order, after `after_index`.
    pub async fn chunk_page(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
        after_index: Option<i64>,
        size: u32,
    ) -> Result<(Vec<Chunk>, i64)> {
        self.document_get(caller, asset_id, id).await?;
        self.store
            .chunk_page(&caller.tenant, id, after_index, size)
            .await
    }
}
