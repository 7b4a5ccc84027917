//! A re-ranking provider's `POST {base}/rerank`, in the format Cohere (v2) and Jina document and
//! that TEI, Infinity and vLLM also serve: `{model, query, documents: [..], top_n}` →
//! `{results: [{index, relevance_score}]}` (TEI's bare `[{index, score}]` is read too).

use crate::remote::{Limiter, provider_reason, without_url};
use serde::Deserialize;
use std::sync::Arc;

/// One provider endpoint: where, with which key, through which client and limiter.
#[derive(Clone)]
pub struct RerankClient {
    pub base_url: String,
    pub api_key: Option<String>,
    pub http: reqwest::Client,
    pub limiter: Arc<Limiter>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Answer {
    Results { results: Vec<Scored> },
    Bare(Vec<Scored>),
}

#[derive(Deserialize)]
struct Scored {
    index: usize,
    #[serde(alias = "score")]
    relevance_score: f64,
}

impl RerankClient {
    /// The relevance of each document to `query`, in the documents' order; one request, no
    /// retries (a search waits on it, bounded by its caller's timeout).
    pub async fn rerank(
        &self,
        model: &str,
        query: &str,
        documents: &[String],
    ) -> Result<Vec<f64>, String> {
        let body = serde_json::json!({
            "model": model, "query": query, "documents": documents, "top_n": documents.len(),
        });
        let mut req = self
            .http
            .post(format!("{}/rerank", self.base_url.trim_end_matches('/')))
            .json(&body);
        if let Some(k) = &self.api_key {
            req = req.bearer_auth(k);
        }
        let res = {
            let _permit = self.limiter.acquire(0).await;
            req.send().await
        }
        .map_err(|e| format!("re-ranking provider unreachable: {}", without_url(e)))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| format!("reading the re-ranker's answer failed: {}", without_url(e)))?;
        if !status.is_success() {
            return Err(provider_reason(
                "re-ranking",
                status,
                &text,
                self.api_key.as_deref(),
            ));
        }
        let results = match serde_json::from_str::<Answer>(&text) {
            Ok(Answer::Results { results } | Answer::Bare(results)) => results,
            Err(e) => {
                return Err(format!(
                    "the re-ranker's answer is not a rerank response: {e}"
                ));
            }
        };
        let mut scores = vec![None; documents.len()];
        for r in results {
            match scores.get_mut(r.index) {
                Some(slot) if r.relevance_score.is_finite() => *slot = Some(r.relevance_score),
                _ => {
                    return Err(format!(
                        "the re-ranker answered for document {} of {}",
                        r.index,
                        documents.len()
                    ));
                }
            }
        }
        scores
            .into_iter()
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| "the re-ranker left documents unscored".to_owned())
    }
}
