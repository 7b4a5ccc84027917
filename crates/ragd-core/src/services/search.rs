//! Search over assets' chunks: full text (BM25), vector (cosine) and hybrid (relative score or
//! reciprocal rank fusion). The store answers each list within the tenant's scope; this
//! validates the request, embeds the query with each asset's model, fuses, re-ranks when asked
//! (ragd), applies the threshold and `topK`.

use super::Services;
use crate::domain::{Asset, Caller, SearchHit, SearchScope};
use crate::error::{Error, Result, Violations};
use crate::ports::embed::ProviderEndpoint;
use crate::search::*;
use std::collections::HashMap;
use uuid::Uuid;

fn validate(req: &SearchRequest) -> Result<()> {
    let mut v = Violations::default();
    if req.query.trim().is_empty() {
        v.add("query", "is required and must not be blank");
    } else if req.query.chars().count() > MAX_QUERY_CHARS {
        v.add(
            "query",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        );
    }
    if req.top_k.is_some_and(|k| !(1..=MAX_TOP_K).contains(&k)) {
        v.add("topK", format!("must be between 1 and {MAX_TOP_K}"));
    }
    for (field, w) in [
        ("vectorWeight", req.vector_weight),
        ("ftsWeight", req.fts_weight),
    ] {
        if w.is_some_and(|w| !(w >= 0.0 && w.is_finite())) {
            v.add(field, "must be a non-negative number");
        }
    }
    if req
        .max_chunks_per_document
        .is_some_and(|n| !(1..=MAX_TOP_K).contains(&n))
    {
        v.add(
            "maxChunksPerDocument",
            format!("must be between 1 and {MAX_TOP_K}"),
        );
    }
    if req.rrf_k.is_some_and(|k| !(k > 0.0 && k.is_finite())) {
        v.add("rrfK", "must be a positive number");
    } else if req.rrf_k.is_some() && req.fusion == Some(Fusion::RelativeScore) {
        v.add("rrfK", "is for fusion RRF; RELATIVE_SCORE has no constant");
    }
    if req.score_threshold.is_some_and(|t| !t.is_finite()) {
        v.add("scoreThreshold", "must be a number");
    }
    if let Some(r) = &req.rerank {
        if r.model.trim().is_empty() || r.model.chars().count() > 200 {
            v.add(
                "rerank.model",
                "is required: a re-ranking model's name of at most 200 characters",
            );
        }
        if r.top_n
            .is_some_and(|n| !(1..=MAX_RERANK_TOP_N).contains(&n))
        {
            v.add(
                "rerank.topN",
                format!("must be between 1 and {MAX_RERANK_TOP_N}"),
            );
        }
    }
    v.into_result()
}

impl Services {
    /// Searches one asset (`asset`) or several of the tenant's (`req.asset_ids`, all when empty).
    pub async fn search(
        &self,
        caller: &Caller,
        asset: Option<Uuid>,
        req: SearchRequest,
    ) -> Result<Searched> {
        validate(&req)?;
        let assets = self.search_assets(caller, asset, &req.asset_ids).await?;
        // The re-ranker's endpoint is checked before anything is searched.
        let reranker = match &req.rerank {
            Some(r) => Some(self.rerank_endpoint(caller, r).await?),
            None => None,
        };
        let Some(scope) = self.search_scope(caller, &assets, &req).await? else {
            return Ok(Searched::default());
        };
        let top_k = req.top_k.unwrap_or(10) as usize;
        let top_n = req
            .rerank
            .as_ref()
            .map(|r| r.top_n.unwrap_or(DEFAULT_RERANK_TOP_N.max(top_k as i64)) as usize);
        let depth = (top_k * 5).max(50).max(top_n.unwrap_or(0)) as u32;
        let ranked = self.fused(&assets, &scope, &req, depth).await?;
        let ranked = ranked
            .into_iter()
            .filter(|(_, s)| req.score_threshold.is_none_or(|t| *s >= t));
        let shaped = req.max_chunks_per_document.is_some() || req.merge_duplicates;
        // Shaping reads every candidate (the results it drops make room for later ones), a
        // re-ranking the first `topN`; otherwise only the first `topK` are read.
        let read = match (top_n, shaped) {
            (Some(n), _) => n,
            (None, true) => usize::MAX,
            (None, false) => top_k,
        };
        let mut candidates = self.scored(caller, ranked.take(read).collect()).await?;
        let rerank = match (&req.rerank, reranker) {
            (Some(r), Some((endpoint, provider))) => Some(
                self.rerank(
                    &req.query,
                    r,
                    endpoint.as_ref(),
                    provider.as_deref(),
                    &mut candidates,
                )
                .await,
            ),
            _ => None,
        };
        let per_document = req.max_chunks_per_document.map(|n| n as usize);
        Ok(Searched {
            results: shape(candidates, top_k, per_document, req.merge_duplicates),
            rerank,
        })
    }

    /// Where a search looks: the assets, narrowed by the filter. A metadata filter becomes the
    /// documents it keeps (within `documentIds`, if given) before either side searches, so the
    /// nearest neighbours are found among them; `None` when it keeps none.
    async fn search_scope(
        &self,
        caller: &Caller,
        assets: &[Asset],
        req: &SearchRequest,
    ) -> Result<Option<SearchScope>> {
        // Chunks are searched in each asset's serving generation; documents by the asset.
        let mut scope = SearchScope {
            tenant: caller.tenant.clone(),
            asset_ids: assets.iter().map(|a| a.serving.index).collect(),
            document_ids: req.document_ids.clone(),
            content_types: req.content_types.clone(),
            source_url_prefix: req.source_url_prefix.clone().filter(|p| !p.is_empty()),
        };
        if let Some(filter) = &req.metadata {
            let mut kept = self
                .store
                .documents_matching(
                    &scope.tenant,
                    &assets.iter().map(|a| a.id).collect::<Vec<_>>(),
                    filter,
                )
                .await?;
            if !scope.document_ids.is_empty() {
                let given: std::collections::HashSet<&Uuid> = scope.document_ids.iter().collect();
                kept.retain(|d| given.contains(d));
            }
            if kept.is_empty() {
                return Ok(None);
            }
            scope.document_ids = kept;
        }
        Ok(Some(scope))
    }

    /// The request's mode's ranking, `depth` deep on each side: vector, full text, or both fused.
    async fn fused(
        &self,
        assets: &[Asset],
        scope: &SearchScope,
        req: &SearchRequest,
        depth: u32,
    ) -> Result<Vec<(i64, f64)>> {
        // The two sides run at once: the text search hides behind the query embedding.
        let terms = query_terms(&req.query);
        let text = async {
            if req.mode == SearchMode::Vector {
                Ok(Vec::new())
            } else {
                self.store.search_text(scope, &terms, depth).await
            }
        };
        let vector = async {
            if req.mode == SearchMode::FullText {
                return Ok(Vec::new());
            }
            self.search_vectors(assets, scope, &req.query, depth).await
        };
        let (text, vector) = futures::future::try_join(text, vector).await?;
        let lists = [
            (vector.as_slice(), req.vector_weight.unwrap_or(1.0)),
            (text.as_slice(), req.fts_weight.unwrap_or(1.0)),
        ];
        let fusion = req.fusion.unwrap_or(match req.rrf_k {
            Some(_) => Fusion::Rrf,
            None => Fusion::RelativeScore,
        });
        Ok(match (req.mode, fusion) {
            (SearchMode::Vector, _) => vector,
            (SearchMode::FullText, _) => text,
            (SearchMode::Hybrid, Fusion::Rrf) => rrf(&lists, req.rrf_k.unwrap_or(60.0)),
            (SearchMode::Hybrid, Fusion::RelativeScore) => relative_score(&lists),
        })
    }

    /// The endpoint a re-ranking goes through, and its provider: the tenant's LLM config when the
    /// request names one (it must be of a re-ranking provider), else the server's (`None`).
    async fn rerank_endpoint(
        &self,
        caller: &Caller,
        r: &Rerank,
    ) -> Result<(Option<ProviderEndpoint>, Option<String>)> {
        let Some(id) = r.llm_config_id else {
            return Ok((None, None));
        };
        let field = "rerank.llmConfigId";
        let config = self
            .store
            .llm_config_get(&caller.tenant, id)
            .await?
            .ok_or_else(|| Error::invalid(field, "no such LLM config"))?;
        if !RERANK_PROVIDERS.iter().any(|(p, _)| *p == config.provider) {
            let providers: Vec<&str> = RERANK_PROVIDERS.iter().map(|(p, _)| *p).collect();
            return Err(Error::invalid(
                field,
                format!(
                    "the LLM config is for {}; re-ranking needs one for {}",
                    config.provider,
                    providers.join(" or ")
                ),
            ));
        }
        let provider = config.provider.clone();
        let endpoint = super::config_endpoint(&self.secrets, config).map_err(Error::Unavailable)?;
        Ok((Some(endpoint), Some(provider)))
    }

    /// Re-scores the candidates by the re-ranker and orders them by its scores; when it fails or
    /// outlasts `rerank_timeout`, the fused order stands and the report says why.
    async fn rerank(
        &self,
        query: &str,
        r: &Rerank,
        endpoint: Option<&ProviderEndpoint>,
        provider: Option<&str>,
        candidates: &mut [Scored],
    ) -> RerankReport {
        let start = std::time::Instant::now();
        // What the re-ranker reads of a chunk is what was embedded of it: its context, then it.
        let documents: Vec<String> = candidates
            .iter()
            .map(|c| match c.hit.chunk.context_text.trim() {
                "" => c.hit.chunk.content.clone(),
                context => format!("{context}\n{}", c.hit.chunk.content),
            })
            .collect();
        let scores = match (&self.rerankers, documents.is_empty()) {
            (_, true) => Ok(Vec::new()),
            (None, false) => Err("no re-ranker is available on this server".to_owned()),
            (Some(rerankers), false) => {
                let call = rerankers.rerank(endpoint, provider, &r.model, query, &documents);
                match tokio::time::timeout(self.rerank_timeout, call).await {
                    Ok(scores) => scores,
                    Err(_) => Err(format!(
                        "the re-ranker did not answer within {} ms",
                        self.rerank_timeout.as_millis()
                    )),
                }
            }
        };
        let fallback = match scores {
            Ok(scores) if scores.len() == candidates.len() => {
                for (c, s) in candidates.iter_mut().zip(scores) {
                    c.score = s;
                }
                // Stable: equal scores keep their fused order.
                candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
                None
            }
            Ok(scores) => Some(format!(
                "the re-ranker scored {} of {} candidates",
                scores.len(),
                candidates.len()
            )),
            Err(reason) => Some(reason),
        };
        if let Some(reason) = &fallback {
            tracing::warn!(model = %r.model, %reason, "re-ranking fell back to the fused order");
        }
        RerankReport {
            model: r.model.clone(),
            candidates: candidates.len(),
            fallback,
            took_ms: start.elapsed().as_millis() as u64,
        }
    }

    /// The assets a search reads: the one named in the path, the `assetIds` named (each must be
    /// the tenant's), or all the tenant's.
    async fn search_assets(
        &self,
        caller: &Caller,
        asset: Option<Uuid>,
        asset_ids: &[Uuid],
    ) -> Result<Vec<Asset>> {
        let wanted: Option<Vec<Uuid>> = match asset {
            Some(id) => Some(vec![id]),
            None if asset_ids.is_empty() => None,
            None => Some(asset_ids.to_vec()),
        };
        let assets = self.store.assets(&caller.tenant, wanted.as_deref()).await?;
        let unknown: Vec<String> = wanted
            .iter()
            .flatten()
            .filter(|id| !assets.iter().any(|a| a.id == **id))
            .map(Uuid::to_string)
            .collect();
        match (asset, unknown.is_empty()) {
            (_, true) => {}
            (Some(_), false) => return Err(Error::NotFound("asset")),
            (None, false) => {
                return Err(Error::invalid(
                    "assetIds",
                    format!("unknown assets of this tenant: {}", unknown.join(", ")),
                ));
            }
        }
        Ok(assets)
    }

    /// The vector side: one query embedding per model (and LLM config), each searched over its
    /// assets, merged by score.
    async fn search_vectors(
        &self,
        assets: &[Asset],
        scope: &SearchScope,
        query: &str,
        depth: u32,
    ) -> Result<Vec<(i64, f64)>> {
        let mut vector: Vec<(i64, f64)> = Vec::new();
        // One query embedding per model (and LLM config); assets that are not vectorized take
        // no part.
        let mut by_model: HashMap<(String, String, Option<String>), Vec<Uuid>> = HashMap::new();
        for a in assets.iter().filter(|a| a.vectorized) {
            let key = (
                a.serving.spec.provider.clone(),
                a.serving.spec.model.clone(),
                a.embedding_llm_config_id.clone(),
            );
            by_model.entry(key).or_default().push(a.id);
        }
        for ids in by_model.values() {
            let asset = assets
                .iter()
                .find(|a| a.id == ids[0])
                .expect("grouped from assets");
            let registry = self
                .embedders
                .as_ref()
                .ok_or_else(|| Error::Unavailable("no embedding model is available here".into()))?;
            let endpoint = super::asset_endpoint(self.store.as_ref(), &self.secrets, asset)
                .await
                .map_err(Error::Unavailable)?;
            let embedder = registry
                .embedder(&asset.serving.spec, endpoint.as_ref())
                .map_err(Error::Unavailable)?;
            let q = embedder.embed(vec![query.to_owned()]).await?;
            let group = SearchScope {
                asset_ids: assets
                    .iter()
                    .filter(|a| ids.contains(&a.id))
                    .map(|a| a.serving.index)
                    .collect(),
                ..scope.clone()
            };
            vector.extend(
                self.store
                    .search_vectors(&group, &q.vectors[0], depth)
                    .await?,
            );
        }
        vector.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(vector)
    }

    /// The ranked keys' chunks, with what the results show of their documents and assets.
    async fn scored(&self, caller: &Caller, ranked: Vec<(i64, f64)>) -> Result<Vec<Scored>> {
        let mut hits: HashMap<i64, SearchHit> = self
            .store
            .search_hits(
                &caller.tenant,
                &ranked.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .await?
            .into_iter()
            .map(|h| (h.key, h))
            .collect();
        Ok(ranked
            .into_iter()
            .filter_map(|(k, score)| {
                Some(Scored {
                    hit: hits.remove(&k)?,
                    score,
                    duplicates: Vec::new(),
                })
            })
            .collect())
    }

    /// `GET /assets/{a}/usage`: the current index's tokens and chunks, and the operations run.
    pub async fn asset_usage(&self, caller: &Caller, id: Uuid) -> Result<(i64, i64, i64)> {
        let view = self.asset_get(caller, id).await?;
        let (tokens, chunks) = self.store.asset_index_totals(&caller.tenant, id).await?;
        Ok((tokens, chunks, view.stats.operation_count))
    }
}
