//! **(ragd)** A tenant's remote embedding endpoint and sealed key.

use super::*;

/// **(ragd)** A tenant's endpoint and key for a remote embedding provider: what an asset's
/// `embeddingLlmConfigId` names. The key is sealed under the config's id and never returned.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub id: Uuid,
    pub tenant: TenantId,
    pub display_name: String,
    /// A remote provider of the catalog (`openai`: any OpenAI-compatible `/v1/embeddings`).
    pub provider: String,
    /// The API's base URL (`None`: the provider's own, `https://api.openai.com/v1`).
    pub base_url: Option<String>,
    pub api_key_sealed: Option<Vec<u8>>,
    /// The key's limits at the provider, enforced per config in each process.
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub max_concurrency: Option<i64>,
    pub created_by: String,
    pub created_at: Millis,
    pub modified_at: Millis,
}
