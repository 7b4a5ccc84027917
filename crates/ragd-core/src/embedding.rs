//! Embedding models ragd knows: providers, dimensions, token limits and prices, and how an
//! asset's requested model and chunking resolve against them.

use crate::domain::EmbeddingSpec;
use crate::error::{Result, Violations};

/// An embedding model ragd can price and (once its provider lands) call.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingModel {
    pub provider: &'static str,
    pub model: &'static str,
    pub dimensions: u32,
    pub max_input_tokens: u32,
    pub price_per_million_tokens: f64,
    pub local: bool,
    pub default_chunk_size: u32,
    pub default_chunk_overlap: u32,
}

/// The local model, the default for assets created without `embedding`.
pub const LOCAL_PROVIDER: &str = "local";
pub const LOCAL_MODEL: &str = "all-MiniLM-L6-v2";

/// Published list prices (USD per million input tokens) as of 2026; overridable in configuration.
const MODELS: &[EmbeddingModel] = &[
    EmbeddingModel {
        provider: LOCAL_PROVIDER,
        model: LOCAL_MODEL,
        dimensions: 384,
        max_input_tokens: 256,
        price_per_million_tokens: 0.0,
        local: true,
        default_chunk_size: 200,
        default_chunk_overlap: 40,
    },
    EmbeddingModel {
        provider: "openai",
        model: "text-embedding-3-small",
        dimensions: 1536,
        max_input_tokens: 8191,
        price_per_million_tokens: 0.02,
        local: false,
        default_chunk_size: 512,
        default_chunk_overlap: 64,
    },
    EmbeddingModel {
        provider: "openai",
        model: "text-embedding-3-large",
        dimensions: 3072,
        max_input_tokens: 8191,
        price_per_million_tokens: 0.13,
        local: false,
        default_chunk_size: 512,
        default_chunk_overlap: 64,
    },
    EmbeddingModel {
        provider: "openai",
        model: "text-embedding-ada-002",
        dimensions: 1536,
        max_input_tokens: 8191,
        price_per_million_tokens: 0.10,
        local: false,
        default_chunk_size: 512,
        default_chunk_overlap: 64,
    },
];

/// Tokens a chunk of the local model leaves for `contextText` (title and heading path) within
/// its 256-token window.
const CONTEXT_RESERVE_TOKENS: u32 = 32;

/// The embedding models with prices in force (list prices unless configuration overrides them).
#[derive(Debug, Clone)]
pub struct ModelCatalog {
    models: Vec<EmbeddingModel>,
}

/// The remote embedding providers of the catalog, each once (what an LLM config may name).
pub fn remote_providers() -> Vec<&'static str> {
    let mut remote: Vec<&str> = MODELS
        .iter()
        .filter(|m| !m.local)
        .map(|m| m.provider)
        .collect();
    remote.sort_unstable();
    remote.dedup();
    remote
}

/// What an LLM config may name: the remote embedding providers, then the re-ranking ones.
pub fn config_providers() -> Vec<&'static str> {
    let mut all = remote_providers();
    all.extend(crate::search::RERANK_PROVIDERS.iter().map(|(p, _)| *p));
    all
}

impl Default for ModelCatalog {
    fn default() -> Self {
        Self {
            models: MODELS.to_vec(),
        }
    }
}

/// What a request may say about embedding; missing parts take the model's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbeddingRequest {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub chunk_size: Option<i64>,
    pub chunk_overlap: Option<i64>,
}

impl ModelCatalog {
    /// Overrides prices by `provider/model` key.
    pub fn with_prices(mut self, prices: &std::collections::HashMap<String, f64>) -> Self {
        for m in &mut self.models {
            if let Some(p) = prices.get(&format!("{}/{}", m.provider, m.model)) {
                m.price_per_million_tokens = *p;
            }
        }
        self
    }

    pub fn models(&self) -> &[EmbeddingModel] {
        &self.models
    }

    pub fn find(&self, provider: &str, model: &str) -> Option<&EmbeddingModel> {
        self.models
            .iter()
            .find(|m| m.provider == provider && m.model == model)
    }

    /// USD per million tokens of a model; 0 for a model no longer in the catalog.
    pub fn price(&self, provider: &str, model: &str) -> f64 {
        self.find(provider, model)
            .map_or(0.0, |m| m.price_per_million_tokens)
    }

    /// Resolves a request to a complete spec, starting from `base` (the asset's current spec on
    /// PATCH, the local default on create). Changing the model resets chunking to its defaults
    /// unless the request sets them too.
    pub fn resolve(
        &self,
        base: Option<&EmbeddingSpec>,
        req: &EmbeddingRequest,
    ) -> Result<EmbeddingSpec> {
        let mut v = Violations::default();
        // A request naming only a model or only a provider completes it from the catalog;
        // naming neither keeps the current model (or takes the local default).
        let (provider, model_name) = match (req.provider.clone(), req.model.clone()) {
            (Some(p), Some(m)) => (p, m),
            (None, Some(m)) => match self.models.iter().find(|x| x.model == m) {
                Some(x) => (x.provider.to_owned(), m),
                None => (String::new(), m),
            },
            (Some(p), None) => match base.filter(|b| b.provider == p) {
                Some(b) => (p, b.model.clone()),
                None => {
                    let first = self
                        .models
                        .iter()
                        .find(|m| m.provider == p)
                        .map(|m| m.model.to_owned())
                        .unwrap_or_default();
                    (p, first)
                }
            },
            (None, None) => match base {
                Some(b) => (b.provider.clone(), b.model.clone()),
                None => (LOCAL_PROVIDER.to_owned(), LOCAL_MODEL.to_owned()),
            },
        };
        let Some(model) = self.find(&provider, &model_name) else {
            v.add(
                "embedding.model",
                format!(
                    "unknown embedding model {provider}/{model_name}; see assets:embeddingModels"
                ),
            );
            v.into_result()?;
            unreachable!("a violation was added");
        };
        let same_model = base.is_some_and(|b| b.provider == provider && b.model == model_name);
        let size = req.chunk_size.unwrap_or(match base {
            Some(b) if same_model => b.chunk_size as i64,
            _ => model.default_chunk_size as i64,
        });
        let overlap = req.chunk_overlap.unwrap_or(match base {
            Some(b) if same_model => b.chunk_overlap as i64,
            _ => model.default_chunk_overlap as i64,
        });
        let max = if model.local {
            model.max_input_tokens - CONTEXT_RESERVE_TOKENS
        } else {
            model.max_input_tokens
        };
        if !(16..=max as i64).contains(&size) {
            v.add(
                "embedding.chunkSize",
                format!("must be between 16 and {max} tokens for {provider}/{model_name}"),
            );
        }
        if overlap < 0 || overlap >= size {
            v.add(
                "embedding.chunkOverlap",
                "must be at least 0 and less than chunkSize",
            );
        }
        v.into_result()?;
        Ok(EmbeddingSpec {
            provider,
            model: model_name,
            chunk_size: size as u32,
            chunk_overlap: overlap as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_defaults_and_limits() {
        let c = ModelCatalog::default();
        let local = c.resolve(None, &EmbeddingRequest::default()).unwrap();
        assert_eq!(
            (local.model.as_str(), local.chunk_size, local.chunk_overlap),
            (LOCAL_MODEL, 200, 40)
        );
        let openai = c
            .resolve(
                Some(&local),
                &EmbeddingRequest {
                    model: Some("text-embedding-3-small".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            (
                openai.provider.as_str(),
                openai.chunk_size,
                openai.chunk_overlap
            ),
            ("openai", 512, 64)
        );
        assert!(
            c.resolve(
                None,
                &EmbeddingRequest {
                    chunk_size: Some(300),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            c.resolve(
                None,
                &EmbeddingRequest {
                    chunk_size: Some(100),
                    chunk_overlap: Some(100),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            c.resolve(
                None,
                &EmbeddingRequest {
                    model: Some("nope".into()),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
