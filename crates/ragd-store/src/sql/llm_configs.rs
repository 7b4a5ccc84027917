//! LLM configs: a tenant's endpoints and sealed keys for remote embedding providers.

use super::{Backend, SqlStore, rows};
use crate::db::sql;
use async_trait::async_trait;
use ragd_core::Result;
use ragd_core::domain::{LlmConfig, TenantId};
use ragd_core::ports::store::LlmConfigStore;
use uuid::Uuid;

#[async_trait]
impl<B: Backend> LlmConfigStore for SqlStore<B> {
    async fn llm_config_put(&self, c: &LlmConfig) -> Result<()> {
        sql(
            "INSERT INTO llm_configs (id, tenant_id, display_name, provider, base_url,
                api_key_sealed, requests_per_minute, tokens_per_minute, max_concurrency, created_by,
                created_at, modified_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET display_name = $3, base_url = $5, api_key_sealed = $6,
                requests_per_minute = $7, tokens_per_minute = $8, max_concurrency = $9,
                modified_at = $12",
        )
        .bind(c.id)
        .bind(&c.tenant)
        .bind(&c.display_name)
        .bind(&c.provider)
        .bind(&c.base_url)
        .bind(&c.api_key_sealed)
        .bind(c.requests_per_minute)
        .bind(c.tokens_per_minute)
        .bind(c.max_concurrency)
        .bind(&c.created_by)
        .bind(c.created_at)
        .bind(c.modified_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn llm_config_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<LlmConfig>> {
        let row = sql("SELECT * FROM llm_configs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::llm_config).transpose()
    }

    async fn llm_config_list(&self, tenant: &TenantId) -> Result<Vec<LlmConfig>> {
        sql("SELECT * FROM llm_configs WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC")
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::llm_config)
            .collect()
    }

    async fn llm_config_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
        let gone = sql(
            "DELETE FROM llm_configs WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS
                (SELECT 1 FROM assets WHERE tenant_id = $1 AND embedding_llm_config_id = $2
                    AND deleted_at IS NULL)",
        )
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(gone > 0)
    }
}
