//! What the engine needs to know about embedding models: an embedder and a token sizer for an
//! asset's model. The binary wires the real ones (the local model, remote providers).

use ragd_core::domain::EmbeddingSpec;
use ragd_core::ports::embed::EmbedderRegistry;
use ragd_pipeline::Sizer;

pub trait ModelRegistry: EmbedderRegistry {
    /// The model's tokenizer, for chunking by its tokens.
    fn sizer(&self, spec: &EmbeddingSpec) -> Result<Sizer, String>;
    /// USD per million tokens, for cost budgets.
    fn price(&self, spec: &EmbeddingSpec) -> f64;
}
