//! Documents and their chunks (written by workers under their lease, a document and all its
//! chunks in one transaction), and the embedding cache the chunks are embedded through.

use super::operations::lease_held;
use super::{Backend, SqlStore, keyset, like_pattern, placeholders, rows};
use crate::db::{Columns, Tx, blob_vector, json, sql, vector_blob};
use async_trait::async_trait;
use ragd_core::Result;
use ragd_core::domain::*;
use ragd_core::page::{Page, PageRequest, SortKey};
use ragd_core::ports::store::DocumentStore;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Chunks of document `$2` in its asset's serving generation only (a building one is not shown).
const SERVING: &str = "asset_id = (SELECT COALESCE(a.serving_index, a.id) FROM documents dd
    JOIN assets a ON a.id = dd.asset_id WHERE dd.id = $2)";

/// Hashes looked up per statement in the embedding cache (well below both engines' limits on
/// bound parameters).
const CACHE_LOOKUP_BATCH: usize = 500;

/// Inserts a document's chunks into the index `index` (`chunks.asset_id`), in the caller's
/// transaction.
pub(crate) async fn insert_chunks(
    tx: &mut Tx,
    tenant: &TenantId,
    index: Uuid,
    document_id: Uuid,
    chunks: &[Chunk],
) -> Result<()> {
    for c in chunks {
        sql(
                "INSERT INTO chunks (id, tenant_id, asset_id, document_id, chunk_index, content,
                    context_text, heading_path, page_number, start_char, end_char, start_line,
                    end_line, token_count, text_hash, embedding, ocr)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(c.id)
            .bind(tenant)
            .bind(index)
            .bind(document_id)
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
            .bind(crate::db::Arg::Vector(c.embedding.clone()))
            .bind(c.ocr)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Stores a document's parsed text beside it (none: removes it), in the caller's transaction.
async fn put_text(tx: &mut Tx, lease: &Lease, id: Uuid, text: Option<&DocumentText>) -> Result<()> {
    let q = match text {
        Some(t) => sql(
            "INSERT INTO document_texts (document_id, tenant_id, asset_id, parsed)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (document_id) DO UPDATE SET parsed = excluded.parsed",
        )
        .bind(id)
        .bind(&lease.tenant)
        .bind(lease.asset_id)
        .bind(json(t)),
        None => sql("DELETE FROM document_texts WHERE document_id = $1").bind(id),
    };
    q.execute(tx).await?;
    Ok(())
}

#[async_trait]
impl<B: Backend> DocumentStore for SqlStore<B> {
    async fn document_list(&self, tenant: &TenantId, asset_id: Uuid) -> Result<Vec<Document>> {
        sql("SELECT * FROM documents WHERE tenant_id = $1 AND asset_id = $2 ORDER BY created_at, id")
            .bind(tenant)
            .bind(asset_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::document)
            .collect()
    }

    async fn document_delete(&self, lease: &Lease, ids: &[Uuid]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        for id in ids {
            sql("DELETE FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
                .bind(&lease.tenant)
                .bind(lease.asset_id)
                .bind(*id)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn document_replace(
        &self,
        lease: &Lease,
        d: &Document,
        chunks: &[Chunk],
        text: Option<&DocumentText>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !lease_held(&mut tx, lease).await? {
            return Ok(false);
        }
        sql("INSERT INTO documents (id, tenant_id, asset_id, source_key, file_name, content_type,
                source_url, file_size, content_hash, chunk_count, token_count, status, error_message,
                operation_id, created_at, modified_at, processed_at, source_meta, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                $19)
             ON CONFLICT (id) DO UPDATE SET file_name = excluded.file_name,
                content_type = excluded.content_type, source_url = excluded.source_url,
                file_size = excluded.file_size, content_hash = excluded.content_hash,
                chunk_count = excluded.chunk_count, token_count = excluded.token_count,
                status = excluded.status, error_message = excluded.error_message,
                operation_id = excluded.operation_id, modified_at = excluded.modified_at,
                processed_at = excluded.processed_at, source_meta = excluded.source_meta,
                metadata = excluded.metadata")
        .bind(d.id)
        .bind(&lease.tenant)
        .bind(lease.asset_id)
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
        .bind(lease.operation_id)
        .bind(d.created_at)
        .bind(d.modified_at)
        .bind(d.processed_at)
        .bind(json(&d.source_meta))
        .bind(json(&d.metadata))
        .execute(&mut tx)
        .await?;
        sql("DELETE FROM chunks WHERE document_id = $1")
            .bind(d.id)
            .execute(&mut tx)
            .await?;
        // Into the generation that serves (the asset's own id until a re-index swapped one in).
        let index = sql("SELECT serving_index FROM assets WHERE id = $1")
            .bind(lease.asset_id)
            .fetch_one(&mut tx)
            .await?
            .opt_text("serving_index")?
            .map_or(Ok(lease.asset_id), |s| {
                s.parse().map_err(|_| crate::db::corrupt("serving_index"))
            })?;
        insert_chunks(&mut tx, &lease.tenant, index, d.id, chunks).await?;
        put_text(&mut tx, lease, d.id, text).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn document_texts(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, DocumentText)>> {
        sql("SELECT document_id, parsed FROM document_texts
             WHERE tenant_id = $1 AND asset_id = $2 AND document_id > $3
             ORDER BY document_id LIMIT $4")
        .bind(tenant)
        .bind(asset_id)
        .bind(after.map_or_else(String::new, |id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let id = r.text("document_id")?;
            let parsed = r.text("parsed")?;
            Ok((
                id.parse().map_err(|_| crate::db::corrupt("document_id"))?,
                serde_json::from_str(&parsed).map_err(|_| crate::db::corrupt("parsed"))?,
            ))
        })
        .collect()
    }

    async fn chunk_list(&self, tenant: &TenantId, document_id: Uuid) -> Result<Vec<Chunk>> {
        sql(format!(
            "SELECT * FROM chunks WHERE tenant_id = $1 AND document_id = $2 AND {SERVING}
             ORDER BY chunk_index"
        ))
        .bind(tenant)
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::chunk)
        .collect()
    }

    async fn chunk_page(
        &self,
        tenant: &TenantId,
        document_id: Uuid,
        after_index: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<Chunk>, i64)> {
        let rows = sql(format!(
            "SELECT * FROM chunks WHERE tenant_id = $1 AND document_id = $2 AND {SERVING}
                AND chunk_index > $3 ORDER BY chunk_index LIMIT $4",
        ))
        .bind(tenant)
        .bind(document_id)
        .bind(after_index.unwrap_or(-1))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let total =
            sql(format!("SELECT COUNT(*) AS n FROM chunks WHERE tenant_id = $1 AND document_id = $2 AND {SERVING}"))
                .bind(tenant)
                .bind(document_id)
                .fetch_one(&self.pool)
                .await?;
        Ok((
            rows.iter().map(rows::chunk).collect::<Result<_>>()?,
            total.int("n")?,
        ))
    }

    async fn document_page(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        page: &PageRequest,
        name_contains: Option<&str>,
    ) -> Result<Page<Document>> {
        let pattern = name_contains.map(like_pattern);
        let like = self.pool.dialect().ilike;
        let filter = format!(
            "tenant_id = $1 AND asset_id = $2
             AND (CAST($3 AS TEXT) IS NULL OR file_name {like} $3 ESCAPE '\\')"
        );
        let (after_t, after_id) = keyset(page.after);
        let rows = sql(format!(
            "SELECT * FROM documents WHERE {filter} AND (created_at, id) < ($4, $5)
             ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
        ))
        .bind(tenant)
        .bind(asset_id)
        .bind(pattern.clone())
        .bind(after_t)
        .bind(after_id)
        .bind(page.size.get() as i64 + 1)
        .bind(page.skip as i64)
        .fetch_all(&self.pool)
        .await?;
        let total = sql(format!(
            "SELECT COUNT(*) AS n FROM documents WHERE {filter}"
        ))
        .bind(tenant)
        .bind(asset_id)
        .bind(pattern)
        .fetch_one(&self.pool)
        .await?;
        let docs = rows
            .iter()
            .map(rows::document)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(docs, page.size, total.int("n")?, |d| {
            SortKey {
                created_at: d.created_at,
                id: d.id,
            }
        }))
    }

    async fn document_get(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Document>> {
        let row = sql("SELECT * FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
            .bind(tenant)
            .bind(asset_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::document).transpose()
    }

    async fn document_patch_metadata(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
        patch: &Metadata,
    ) -> Result<Option<Document>> {
        let mut tx = self.pool.begin().await?;
        let lock = self.pool.dialect().lock;
        let row = sql(format!(
            "SELECT metadata_patch FROM documents
             WHERE tenant_id = $1 AND asset_id = $2 AND id = $3{lock}"
        ))
        .bind(tenant)
        .bind(asset_id)
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut merged: Metadata = rows::json_col(&row, "metadata_patch")?;
        merged.extend(patch.iter().map(|(k, v)| (k.clone(), v.clone())));
        sql("UPDATE documents SET metadata_patch = $4
             WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
        .bind(tenant)
        .bind(asset_id)
        .bind(id)
        .bind(json(&merged))
        .execute(&mut tx)
        .await?;
        let row = sql("SELECT * FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
            .bind(tenant)
            .bind(asset_id)
            .bind(id)
            .fetch_one(&mut tx)
            .await?;
        let doc = rows::document(&row)?;
        tx.commit().await?;
        Ok(Some(doc))
    }

    async fn document_remove(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<bool> {
        // Chunks go with the document (ON DELETE CASCADE), in the same statement's transaction.
        let done = sql("DELETE FROM documents WHERE tenant_id = $1 AND asset_id = $2 AND id = $3")
            .bind(tenant)
            .bind(asset_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done == 1)
    }

    async fn embedding_cache_get(
        &self,
        tenant: &TenantId,
        model: &str,
        hashes: &[String],
    ) -> Result<HashMap<String, (Vec<f32>, i64)>> {
        let mut found = HashMap::new();
        // One round trip per batch of hashes.
        for batch in hashes.chunks(CACHE_LOOKUP_BATCH) {
            let q = sql(format!(
                "SELECT text_hash, tokens, embedding FROM embedding_cache
                 WHERE tenant_id = $1 AND model = $2 AND text_hash IN ({})",
                placeholders(3, batch.len())
            ));
            let q = batch
                .iter()
                .fold(q.bind(tenant).bind(model), |q, h| q.bind(h));
            for r in q.fetch_all(&self.pool).await? {
                found.insert(
                    r.text("text_hash")?,
                    (blob_vector(&r.bytes("embedding")?), r.int("tokens")?),
                );
            }
        }
        Ok(found)
    }

    async fn embedding_cache_has(
        &self,
        tenant: &TenantId,
        model: &str,
        hashes: &[String],
    ) -> Result<HashSet<String>> {
        let mut found = HashSet::new();
        for batch in hashes.chunks(CACHE_LOOKUP_BATCH) {
            let q = sql(format!(
                "SELECT text_hash FROM embedding_cache
                 WHERE tenant_id = $1 AND model = $2 AND text_hash IN ({})",
                placeholders(3, batch.len())
            ));
            let q = batch
                .iter()
                .fold(q.bind(tenant).bind(model), |q, h| q.bind(h));
            for r in q.fetch_all(&self.pool).await? {
                found.insert(r.text("text_hash")?);
            }
        }
        Ok(found)
    }

    async fn embedding_cache_put(
        &self,
        tenant: &TenantId,
        model: &str,
        entries: &[(String, Vec<f32>, i64)],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (hash, vector, tokens) in entries {
            sql(
                "INSERT INTO embedding_cache (tenant_id, model, text_hash, tokens, embedding)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(tenant)
            .bind(model)
            .bind(hash)
            .bind(*tokens)
            .bind(vector_blob(vector))
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await
    }
}
