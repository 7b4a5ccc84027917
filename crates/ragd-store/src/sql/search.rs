//! Retrieval: the backend ranks chunk keys (full text, vectors); the hits are read here.

use super::{Backend, SqlStore, placeholders, rows};
use crate::db::{Columns, corrupt, sql};
use async_trait::async_trait;
use ragd_core::Result;
use ragd_core::domain::{
    Metadata, MetadataFilter, SearchHit, SearchScope, SourceType, TenantId, overlay_metadata,
};
use ragd_core::ports::store::SearchStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Most document ids bound in one search statement (well below both engines' limits on bound
/// parameters); a scope of more documents is searched in batches whose results are merged.
const DOCUMENT_BATCH: usize = 5_000;

/// Runs `search` on the scope, or on batches of its documents when it names more than
/// [`DOCUMENT_BATCH`], keeping the best `limit` of all (scores of one query compare across
/// batches: each is the same ranking over a part of the scope). For the statements that bind the
/// scope's document ids.
pub(crate) async fn batched<F, Fut>(
    scope: &SearchScope,
    limit: u32,
    search: F,
) -> Result<Vec<(i64, f64)>>
where
    F: Fn(SearchScope) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(i64, f64)>>>,
{
    if scope.document_ids.len() <= DOCUMENT_BATCH {
        return search(scope.clone()).await;
    }
    let mut all = Vec::new();
    for ids in scope.document_ids.chunks(DOCUMENT_BATCH) {
        let part = SearchScope {
            document_ids: ids.to_vec(),
            ..scope.clone()
        };
        all.extend(search(part).await?);
    }
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(limit as usize);
    Ok(all)
}

/// An asset's documents with their visible metadata.
type DocumentMetadata = Arc<Vec<(Uuid, Metadata)>>;

/// Each asset's [`DocumentMetadata`] as of its `metadata_version`, for a backend that counts
/// metadata changes (the embedded one): a filtered search then reads one number instead of every
/// document's metadata.
#[derive(Default)]
pub struct MetadataCache {
    assets: Mutex<HashMap<Uuid, (i64, DocumentMetadata)>>,
}

/// Most documents the cache holds; past it, it starts again empty.
const CACHED_DOCUMENTS: usize = 1_000_000;

impl MetadataCache {
    fn get(&self, asset: Uuid, version: i64) -> Option<DocumentMetadata> {
        let assets = self.assets.lock().expect("metadata cache lock");
        assets
            .get(&asset)
            .filter(|(v, _)| *v == version)
            .map(|(_, d)| d.clone())
    }

    fn put(&self, asset: Uuid, version: i64, documents: DocumentMetadata) {
        let mut assets = self.assets.lock().expect("metadata cache lock");
        let held: usize = assets.values().map(|(_, d)| d.len()).sum();
        if held + documents.len() > CACHED_DOCUMENTS {
            assets.clear();
        }
        assets.insert(asset, (version, documents));
    }
}

impl<B: Backend> SqlStore<B> {
    /// The assets' documents with their visible metadata: on a backend with a cache, each
    /// asset's from it while the asset's `metadata_version` has not moved (read first, so a
    /// change committed meanwhile only makes the next search read again); else all in one read.
    async fn document_metadata(
        &self,
        tenant: &TenantId,
        assets: &[Uuid],
    ) -> Result<Vec<DocumentMetadata>> {
        if assets.is_empty() {
            return Ok(Vec::new());
        }
        let Some(cache) = self.backend.metadata_cache() else {
            return Ok(vec![Arc::new(
                self.read_document_metadata(tenant, assets).await?,
            )]);
        };
        let q = sql(format!(
            "SELECT id, metadata_version FROM assets WHERE tenant_id = $1 AND id IN ({})",
            placeholders(2, assets.len())
        ));
        let versions = assets.iter().fold(q.bind(tenant), |q, a| q.bind(*a));
        let mut out = Vec::new();
        for r in versions.fetch_all(&self.pool).await? {
            let (asset, version) = (rows::uuid_col(&r, "id")?, r.int("metadata_version")?);
            let documents = match cache.get(asset, version) {
                Some(documents) => documents,
                None => {
                    let read = Arc::new(self.read_document_metadata(tenant, &[asset]).await?);
                    cache.put(asset, version, read.clone());
                    read
                }
            };
            out.push(documents);
        }
        Ok(out)
    }

    async fn read_document_metadata(
        &self,
        tenant: &TenantId,
        assets: &[Uuid],
    ) -> Result<Vec<(Uuid, Metadata)>> {
        let q = sql(format!(
            "SELECT id, metadata, metadata_patch FROM documents
             WHERE tenant_id = $1 AND asset_id IN ({})",
            placeholders(2, assets.len())
        ));
        let q = assets.iter().fold(q.bind(tenant), |q, a| q.bind(*a));
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let metadata = overlay_metadata(
                    rows::json_col(r, "metadata")?,
                    &rows::json_col(r, "metadata_patch")?,
                );
                Ok((rows::uuid_col(r, "id")?, metadata))
            })
            .collect()
    }
}

#[async_trait]
impl<B: Backend> SearchStore for SqlStore<B> {
    async fn search_text(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        if scope.asset_ids.is_empty() || terms.is_empty() {
            return Ok(Vec::new());
        }
        batched(scope, limit, |s| async move {
            self.backend.search_text(&s, terms, limit).await
        })
        .await
    }

    async fn search_vectors(
        &self,
        scope: &SearchScope,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>> {
        if scope.asset_ids.is_empty() || query.is_empty() {
            return Ok(Vec::new());
        }
        // Not batched here: the embedded backend's graphs take any number of documents.
        self.backend.search_vectors(scope, query, limit).await
    }

    async fn documents_matching(
        &self,
        tenant: &TenantId,
        asset_ids: &[Uuid],
        filter: &MetadataFilter,
    ) -> Result<Vec<Uuid>> {
        let mut kept = Vec::new();
        for documents in self.document_metadata(tenant, asset_ids).await? {
            kept.extend(
                documents
                    .iter()
                    .filter(|(_, m)| filter.matches(m))
                    .map(|(id, _)| *id),
            );
        }
        Ok(kept)
    }

    async fn search_hits(&self, tenant: &TenantId, keys: &[i64]) -> Result<Vec<SearchHit>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.pool.dialect();
        let q = sql(format!(
            "SELECT c.seq, c.id, c.document_id, c.chunk_index, c.content, c.context_text,
                c.heading_path, c.page_number, c.start_char, c.end_char, c.start_line, c.end_line,
                c.token_count, c.text_hash, {} AS embedding, c.ocr, d.asset_id, a.source_type, d.file_name,
                d.source_url, d.metadata, d.metadata_patch
             FROM chunks c JOIN documents d ON d.id = c.document_id JOIN assets a ON a.id = d.asset_id
             WHERE {}c.tenant_id = $1 AND c.seq IN ({})",
            d.no_embedding,
            d.by_key,
            placeholders(2, keys.len())
        ));
        let q = keys.iter().fold(q.bind(tenant), |q, k| q.bind(*k));
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let t = r.text("source_type")?;
                Ok(SearchHit {
                    key: r.int("seq")?,
                    chunk: rows::chunk(r)?,
                    asset_id: rows::uuid_col(r, "asset_id")?,
                    source_type: SourceType::parse(&t).ok_or_else(|| corrupt("source type"))?,
                    file_name: r.text("file_name")?,
                    source_url: r.opt_text("source_url")?,
                    metadata: overlay_metadata(
                        rows::json_col(r, "metadata")?,
                        &rows::json_col(r, "metadata_patch")?,
                    ),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_of_many_documents_is_searched_in_batches_and_merged() {
        let ids: Vec<Uuid> = (0..DOCUMENT_BATCH * 2 + 7)
            .map(|_| Uuid::now_v7())
            .collect();
        let scope = SearchScope {
            tenant: TenantId::parse("t").unwrap(),
            asset_ids: vec![Uuid::now_v7()],
            document_ids: ids.clone(),
            content_types: Vec::new(),
            source_url_prefix: None,
        };
        let calls = std::sync::Mutex::new(Vec::new());
        let best = batched(&scope, 3, |s| {
            calls.lock().unwrap().push(s.document_ids.len());
            // Each batch's best: the position of its first document, scored by it.
            let first = ids.iter().position(|d| *d == s.document_ids[0]).unwrap() as i64;
            async move { Ok(vec![(first, first as f64), (first + 1, 0.5)]) }
        })
        .await
        .unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            [DOCUMENT_BATCH, DOCUMENT_BATCH, 7],
            "no statement binds more than a batch"
        );
        let top = (2 * DOCUMENT_BATCH) as i64;
        assert_eq!(
            best,
            [
                (top, top as f64),
                (DOCUMENT_BATCH as i64, DOCUMENT_BATCH as f64),
                (1, 0.5)
            ]
        );
    }
}
