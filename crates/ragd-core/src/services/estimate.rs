//! `:estimate` (ragd): what re-indexing an asset with another embedding model or chunking would
//! embed and cost, counted from its documents' stored texts as the `REINDEX` would embed them
//! (each text once, the embedding cache first), without calling the embedding provider.

use super::*;
use crate::embedding::EmbeddingRequest;
use std::collections::HashSet;
use uuid::Uuid;

/// Documents read per round: their texts and chunks are in memory at once.
const TEXTS_PER_ROUND: u32 = 64;

/// What a re-index with `embedding` would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The settings priced: the asset's, overlaid by the proposal.
    pub embedding: EmbeddingSpec,
    /// Documents with a stored text (the indexed ones).
    pub documents: i64,
    pub chunks: i64,
    /// Tokens the model would be sent: texts not in the embedding cache, each once.
    pub token_count: i64,
    /// USD: `token_count` × the model's price per million tokens.
    pub cost: f64,
    pub price_per_million_tokens: f64,
}

impl Services {
    /// Prices re-indexing asset `id` with `proposal` overlaid on its embedding settings.
    pub async fn asset_estimate(
        &self,
        caller: &Caller,
        id: Uuid,
        proposal: &EmbeddingRequest,
    ) -> Result<Estimate> {
        let asset = self.asset_get(caller, id).await?.asset;
        if !asset.vectorized {
            return Err(Error::invalid("embedding", "the asset is not vectorized"));
        }
        let spec = self.models.resolve(Some(&asset.embedding), proposal)?;
        let unavailable = || Error::Unavailable("no embedding model is available here".into());
        let (chunker, registry) = match (&self.chunker, &self.embedders) {
            (Some(c), Some(r)) => (c, r),
            _ => return Err(unavailable()),
        };
        let endpoint = asset_endpoint(self.store.as_ref(), &self.secrets, &asset)
            .await
            .map_err(Error::Unavailable)?;
        // Counts with the model's own counter: what it would report as the tokens it was sent.
        let embedder = registry
            .embedder(&spec, endpoint.as_ref())
            .map_err(Error::Unavailable)?;
        let key = format!("{}/{}", spec.provider, spec.model);
        let (mut documents, mut chunks, mut tokens) = (0, 0, 0);
        let (mut seen, mut after) = (HashSet::new(), None);
        loop {
            let round = self
                .store
                .document_texts(&caller.tenant, id, after, TEXTS_PER_ROUND)
                .await?;
            let Some((last, _)) = round.last() else { break };
            after = Some(*last);
            documents += round.len() as i64;
            let texts = round.into_iter().map(|(_, t)| t).collect();
            let inputs = chunker
                .chunk_inputs(&spec, texts)
                .await
                .map_err(Error::Unavailable)?;
            let fresh: Vec<(String, String)> = inputs
                .into_iter()
                .flatten()
                .inspect(|_| chunks += 1)
                .filter(|(hash, _)| seen.insert(hash.clone()))
                .collect();
            let hashes: Vec<String> = fresh.iter().map(|(h, _)| h.clone()).collect();
            let cached = self
                .store
                .embedding_cache_has(&caller.tenant, &key, &hashes)
                .await?;
            for (hash, input) in fresh {
                if !cached.contains(&hash) {
                    tokens += embedder.count_tokens(&input).await? as i64;
                }
            }
        }
        let price = self.models.price(&spec.provider, &spec.model);
        Ok(Estimate {
            embedding: spec,
            documents,
            chunks,
            token_count: tokens,
            cost: tokens as f64 * price / 1e6,
            price_per_million_tokens: price,
        })
    }
}
