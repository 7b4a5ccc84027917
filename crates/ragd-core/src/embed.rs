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

/// The embedders of the models this process can use, by an asset's embedding settings.
pub trait EmbedderRegistry: Send + Sync + 'static {
    /// The embedder of a model, or why it cannot be used (shown to the client or the operation).
    fn embedder(&self, spec: &crate::model::EmbeddingSpec) -> std::result::Result<std::sync::Arc<dyn Embedder>, String>;
}
