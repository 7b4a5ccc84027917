//! What the engine needs to know about embedding models: an embedder and a token sizer for an
//! asset's model. The binary wires the real ones (the local model, remote providers).

use ragd_core::embed::Embedder;
use ragd_core::model::EmbeddingSpec;
use ragd_pipeline::Sizer;
use std::sync::Arc;

pub trait ModelRegistry: Send + Sync + 'static {
    /// The embedder of a model, or why it cannot be used (shown as the operation's error).
    fn embedder(&self, spec: &EmbeddingSpec) -> Result<Arc<dyn Embedder>, String>;
    /// The model's tokenizer, for chunking by its tokens.
    fn sizer(&self, spec: &EmbeddingSpec) -> Result<Sizer, String>;
    /// USD per million tokens, for cost budgets.
    fn price(&self, spec: &EmbeddingSpec) -> f64;
}
