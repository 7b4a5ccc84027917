//! What the engine needs to know about embedding models: an embedder and a token sizer for an
//! asset's model. The binary wires the real ones (the local model, remote providers). And the
//! chunker of stored texts that `:estimate` counts with, which chunks as ingestion does.

use ragd_core::domain::{DocumentText, EmbeddingSpec};
use ragd_core::ports::embed::{Chunker, EmbedderRegistry};
use ragd_pipeline::Sizer;
use std::sync::Arc;

pub trait ModelRegistry: EmbedderRegistry {
    /// The model's tokenizer, for chunking by its tokens.
    fn sizer(&self, spec: &EmbeddingSpec) -> Result<Sizer, String>;
    /// USD per million tokens, for cost budgets.
    fn price(&self, spec: &EmbeddingSpec) -> f64;
}

/// Chunks stored texts as ingestion does, with the model's tokenizer (`:estimate`).
pub struct TextChunker(pub Arc<dyn ModelRegistry>);

#[async_trait::async_trait]
impl Chunker for TextChunker {
    async fn chunk_inputs(
        &self,
        spec: &EmbeddingSpec,
        texts: Vec<DocumentText>,
    ) -> Result<Vec<Vec<(String, String)>>, String> {
        let sizer = self.0.sizer(spec)?;
        let chunking = (spec.chunk_size as usize, spec.chunk_overlap as usize);
        let chunk = move || -> Result<Vec<Vec<(String, String)>>, String> {
            texts
                .iter()
                .map(|t| {
                    let (chunks, inputs) =
                        crate::ingest::chunk_text(t, uuid::Uuid::nil(), &sizer, chunking)?;
                    let hashes = chunks.into_iter().map(|c| c.text_hash);
                    Ok(hashes
                        .zip(inputs.into_iter().map(|(input, _)| input))
                        .collect())
                })
                .collect()
        };
        tokio::task::spawn_blocking(chunk)
            .await
            .map_err(|_| "the texts could not be chunked".to_owned())?
    }
}
