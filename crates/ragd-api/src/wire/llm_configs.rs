//! **(ragd)** LLM configs on the wire.

use super::*;

/// **(ragd)** An LLM config: a tenant's endpoint and key for a remote embedding provider, which
/// assets name by `embeddingLlmConfigId`, or for a re-ranking provider (`cohere`, `jina`), which
/// searches name by `rerank.llmConfigId`. The key is write-only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmConfig {
    pub id: Uuid,
    pub display_name: String,
    /// A remote provider of `assets:embeddingModels` (`openai`: any OpenAI-compatible API), or a
    /// re-ranking provider (`cohere`, `jina`: any API speaking their `POST /rerank`).
    pub provider: String,
    /// The API's base URL up to `/v1` (`/v2` for Cohere); null: the provider's own.
    pub base_url: Option<String>,
    /// Whether a key is stored (it is never returned).
    pub has_api_key: bool,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub max_concurrency: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub modified_at: i64,
}

impl LlmConfig {
    pub fn from_domain(c: &ragd_core::domain::LlmConfig) -> Self {
        LlmConfig {
            id: c.id,
            display_name: c.display_name.clone(),
            provider: c.provider.clone(),
            base_url: c.base_url.clone(),
            has_api_key: c.api_key_sealed.is_some(),
            requests_per_minute: c.requests_per_minute,
            tokens_per_minute: c.tokens_per_minute,
            max_concurrency: c.max_concurrency,
            created_by: c.created_by.clone(),
            created_at: c.created_at,
            modified_at: c.modified_at,
        }
    }
}

/// The remote embedding and re-ranking providers an LLM config can name.
fn remote_provider_schema() -> ObjectBuilder {
    nullable_enum(embedding::config_providers())
}

/// **(ragd)** Creates an LLM config (`provider` required), or changes one (every field optional;
/// `null` clears `baseUrl` and the limits; `provider` cannot change).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LlmConfigRequest {
    /// 1-200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub display_name: Option<String>,
    #[schema(schema_with = remote_provider_schema)]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub base_url: Option<Option<String>>,
    /// Write-only; at most 4,096 bytes.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S", write_only)]
    pub api_key: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub requests_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub tokens_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 64)]
    pub max_concurrency: Option<Option<i64>>,
}

impl LlmConfigRequest {
    pub fn into_domain(self) -> ragd_core::services::LlmConfigRequest {
        ragd_core::services::LlmConfigRequest {
            display_name: self.display_name,
            provider: self.provider,
            base_url: self.base_url,
            api_key: self.api_key,
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            max_concurrency: self.max_concurrency,
        }
    }
}
