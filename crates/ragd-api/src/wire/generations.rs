//! Re-indexing on the wire (ragd): the generations of an asset's index, and `:estimate`.

use super::*;

/// **(ragd)** One generation of an asset's index.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexGeneration {
    pub number: i64,
    pub embedding: Embedding,
    /// When it stopped serving (the previous generation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// 0–1: documents of the building generation done (its `REINDEX`'s items); the building
    /// generation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
}

impl IndexGeneration {
    /// The building generation, with its `REINDEX`'s progress (`(processed, total)` items).
    pub fn building(g: &ragd_core::domain::Generation, (done, total): (i64, i64)) -> Self {
        let share = if total > 0 {
            (done as f64 / total as f64).min(1.0)
        } else {
            0.0
        };
        IndexGeneration {
            progress: Some(share),
            ..Self::from(g)
        }
    }
}

impl From<&ragd_core::domain::Generation> for IndexGeneration {
    fn from(g: &ragd_core::domain::Generation) -> Self {
        IndexGeneration {
            number: g.number,
            embedding: Embedding::from(&g.spec),
            retired_at: g.retired_at,
            progress: None,
        }
    }
}

/// (ragd) `POST /assets/{asset}:estimate`: the embedding settings a `PATCH` would set.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EstimateRequest {
    /// Any subset; what is left out stays as the asset has it.
    #[serde(default)]
    pub embedding: EmbeddingInput,
}

/// (ragd) What a re-index with `embedding` would do, counted from the documents' stored texts
/// as the `REINDEX` would embed them (each text once, the embedding cache first), without
/// calling the embedding provider. Equal to the `REINDEX`'s `tokenCount` and `cost` when nothing
/// changes in between.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetEstimate {
    /// The settings priced: the asset's, overlaid by the request.
    pub embedding: Embedding,
    /// Documents indexed now (each with its stored text).
    pub documents: i64,
    /// Chunks the new settings cut them into.
    pub chunks: i64,
    /// Tokens the model would be sent.
    pub token_count: i64,
    /// USD: tokenCount × pricePerMillionTokens / 1e6.
    pub cost: f64,
    pub price_per_million_tokens: f64,
}

impl From<ragd_core::services::Estimate> for AssetEstimate {
    fn from(e: ragd_core::services::Estimate) -> Self {
        AssetEstimate {
            embedding: Embedding::from(&e.embedding),
            documents: e.index.documents,
            chunks: e.index.chunks,
            token_count: e.index.token_count,
            cost: e.cost,
            price_per_million_tokens: e.price_per_million_tokens,
        }
    }
}
