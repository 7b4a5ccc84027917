//! Retrieval: the backend ranks chunk keys (full text, vectors); the hits are read here.

use super::{Backend, SqlStore, placeholders, rows};
use crate::db::{Columns, corrupt, sql};
use async_trait::async_trait;
use ragd_core::Result;
use ragd_core::domain::{SearchHit, SearchScope, SourceType, TenantId, overlay_metadata};
use ragd_core::ports::store::SearchStore;

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
        self.backend.search_text(scope, terms, limit).await
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
        self.backend.search_vectors(scope, query, limit).await
    }

    async fn search_hits(&self, tenant: &TenantId, keys: &[i64]) -> Result<Vec<SearchHit>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.pool.dialect();
        let q = sql(format!(
            "SELECT c.seq, c.id, c.document_id, c.chunk_index, c.content, c.context_text,
                c.heading_path, c.page_number, c.start_char, c.end_char, c.start_line, c.end_line,
                c.token_count, c.text_hash, {} AS embedding, c.asset_id, a.source_type, d.file_name,
                d.source_url, d.metadata, d.metadata_patch
             FROM chunks c JOIN documents d ON d.id = c.document_id JOIN assets a ON a.id = c.asset_id
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
