//! Uploaded files' records: temporary until an asset imports them, swept after a day.

use super::{Backend, SqlStore, rows};
use crate::db::{json, sql};
use async_trait::async_trait;
use ragd_core::Result;
use ragd_core::domain::{Metadata, StoredFile, TenantId};
use ragd_core::ports::store::FileStore;
use ragd_core::time::Millis;
use uuid::Uuid;

#[async_trait]
impl<B: Backend> FileStore for SqlStore<B> {
    async fn file_create(&self, f: &StoredFile) -> Result<()> {
        sql(
            "INSERT INTO files (id, tenant_id, file_name, content_type, size, sha256, temporary,
                created_at, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(f.id)
        .bind(&f.tenant)
        .bind(&f.file_name)
        .bind(&f.content_type)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(f.temporary)
        .bind(f.created_at)
        .bind(json(&f.metadata))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn file_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<StoredFile>> {
        let row = sql("SELECT * FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::file).transpose()
    }

    async fn file_retain(
        &self,
        tenant: &TenantId,
        id: Uuid,
        metadata: Option<&Metadata>,
    ) -> Result<bool> {
        let changed = sql(
            "UPDATE files SET temporary = FALSE, metadata = COALESCE($3, metadata)
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(metadata.map(json))
        .execute(&self.pool)
        .await?;
        Ok(changed > 0)
    }

    async fn file_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let gone = sql("DELETE FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(gone > 0)
    }

    async fn files_expired(&self, before: Millis, limit: u32) -> Result<Vec<StoredFile>> {
        // `temporary` spelled as the partial index `files_temporary` has it, so that it is used.
        let yes = self.pool.dialect().yes;
        sql(format!(
            "SELECT * FROM files WHERE temporary = {yes} AND created_at < $1
             ORDER BY created_at LIMIT $2"
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::file)
        .collect()
    }
}
