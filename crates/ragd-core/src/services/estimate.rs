//! `:estimate` (ragd): what re-indexing an asset with another embedding model or chunking would
//! embed and cost, counted from its documents' stored texts as the `REINDEX` would embed them
//! (each text once, the embedding cache first), without calling the embedding provider. The same
//! count is the `REINDEX`'s own estimate as it starts, which its budget check uses.

use super::*;
use crate::embedding::EmbeddingRequest;
use crate::ports::embed::{Chunker, Embedder};
use std::collections::HashSet;
use uuid::Uuid;

/// Documents read per round: their texts and chunks are in memory at once.
const TEXTS_PER_ROUND: u32 = 64;

/// What a re-index with `embedding` would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The settings priced: the asset's, overlaid by the proposal.
    pub embedding: EmbeddingSpec,
    pub index: IndexEstimate,
    /// USD: `index.token_count` × the model's price per million tokens.
    pub cost: f64,
    pub price_per_million_tokens: f64,
}

/// Counts what indexing asset `asset_id`'s stored texts under `spec` would embed.
pub async fn estimate_index(
    store: &dyn Store,
    chunker: &dyn Chunker,
    embedder: &dyn Embedder,
    tenant: &TenantId,
    asset_id: Uuid,
    spec: &EmbeddingSpec,
) -> Result<IndexEstimate> {
    let key = format!("{}/{}", spec.provider, spec.model);
    let mut count = IndexEstimate::default();
    let (mut seen, mut after) = (HashSet::new(), None);
    loop {
        let round = store
            .document_texts(tenant, asset_id, after, TEXTS_PER_ROUND)
            .await?;
        let Some((last, _)) = round.last() else {
            return Ok(count);
        };
        after = Some(*last);
        count.documents += round.len() as i64;
        let texts = round.into_iter().map(|(_, t)| t).collect();
        let inputs = chunker
            .chunk_inputs(spec, texts)
            .await
            .map_err(Error::Unavailable)?;
        let fresh: Vec<(String, String)> = inputs
            .into_iter()
            .flatten()
            .inspect(|_| count.chunks += 1)
            .filter(|(hash, _)| seen.insert(hash.clone()))
            .collect();
        let hashes: Vec<String> = fresh.iter().map(|(h, _)| h.clone()).collect();
        let cached = store.embedding_cache_has(tenant, &key, &hashes).await?;
        for (hash, input) in fresh {
            if !cached.contains(&hash) {
                // The model's own counter: what it reports as the tokens it was sent.
                count.token_count += embedder.count_tokens(&input).await? as i64;
            }
        }
    }
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
        self.estimate_with(&asset, spec).await
    }

    async fn estimate_with(&self, asset: &Asset, spec: EmbeddingSpec) -> Result<Estimate> {
        let unavailable = || Error::Unavailable("no embedding model is available here".into());
        let (chunker, registry) = match (&self.chunker, &self.embedders) {
            (Some(c), Some(r)) => (c, r),
            _ => return Err(unavailable()),
        };
        let endpoint = asset_endpoint(self.store.as_ref(), &self.secrets, asset)
            .await
            .map_err(Error::Unavailable)?;
        let embedder = registry
            .embedder(&spec, endpoint.as_ref())
            .map_err(Error::Unavailable)?;
        let index = estimate_index(
            self.store.as_ref(),
            chunker.as_ref(),
            embedder.as_ref(),
            &asset.tenant,
            asset.id,
            &spec,
        )
        .await?;
        let price = self.models.price(&spec.provider, &spec.model);
        Ok(Estimate {
            embedding: spec,
            index,
            cost: index.token_count as f64 * price / 1e6,
            price_per_million_tokens: price,
        })
    }
}
