//! The embedding seam: what the domain needs from an embedding model, local or remote.

use crate::error::Result;

/// Vectors in input order, and the tokens each input cost (by the model's own tokenizer).
#[derive(Debug, Clone, Default)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub token_counts: Vec<usize>,
}

impl Embeddings {
    pub fn total_tokens(&self) -> usize {
        self.token_counts.iter().sum()
    }
}

#[async_trait::async_trait]
pub trait Embedder: Send + Sync + 'static {
    fn model_name(&self) -> &str;
    fn dimensions(&self) -> usize;
    /// Longest input in tokens; longer inputs are truncated by the model.
    fn max_input_tokens(&self) -> usize;
    async fn embed(&self, texts: Vec<String>) -> Result<Embeddings>;
    async fn count_tokens(&self, text: &str) -> Result<usize>;
}

/// A tenant's own endpoint for a remote provider: an LLM config with its key opened
/// (`llm::asset_endpoint`). `Debug` never shows the key.
#[derive(Clone)]
pub struct ProviderEndpoint {
    pub config_id: uuid::Uuid,
    /// The config's `modified_at`: a changed config gets a new client.
    pub version: crate::time::Millis,
    /// `None`: the provider's own API.
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub max_concurrency: Option<usize>,
}

impl std::fmt::Debug for ProviderEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderEndpoint")
            .field("config_id", &self.config_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The embedders of the models this process can use, by an asset's embedding settings.
pub trait EmbedderRegistry: Send + Sync + 'static {
    /// The embedder of a model — through the tenant's own endpoint when one is given, else the
    /// server's — or why it cannot be used (shown to the client or the operation).
    fn embedder(
        &self,
        spec: &crate::domain::EmbeddingSpec,
        endpoint: Option<&ProviderEndpoint>,
    ) -> std::result::Result<std::sync::Arc<dyn Embedder>, String>;
}

/// Chunks stored document texts as ingestion chunks them (`:estimate`, ragd), off the async
/// runtime.
#[async_trait::async_trait]
pub trait Chunker: Send + Sync + 'static {
    /// What the model reads for each chunk of each text under `spec` (its chunking and
    /// tokenizer), with the hash that keys the embedding cache; or why it cannot be chunked.
    async fn chunk_inputs(
        &self,
        spec: &crate::domain::EmbeddingSpec,
        texts: Vec<crate::domain::DocumentText>,
    ) -> std::result::Result<Vec<Vec<(String, String)>>, String>;
}
