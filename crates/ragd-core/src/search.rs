//! Search's vocabulary and pure rules: the request, the full-text query's terms, the fusions
//! (reciprocal rank, relative score) and result shaping. The use case (`Services::search`) is
//! in `services/search.rs`.

use crate::domain::SearchHit;
use std::collections::HashMap;
use uuid::Uuid;

pub const MAX_TOP_K: i64 = 100;
/// Longest query accepted; the vector side sees what the model's window takes of it.
pub const MAX_QUERY_CHARS: usize = 100_000;
/// Most distinct terms a full-text query is made of.
const MAX_TERMS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    Vector,
    FullText,
    #[default]
    Hybrid,
}

/// How hybrid search fuses its two rankings (ragd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    /// Reciprocal rank fusion: `Σ weight / (rrfK + rank)`; only ranks count.
    Rrf,
    /// Each side's scores scaled to [0, 1] over its candidates (best 1, worst 0), then summed
    /// with the weights: a side sure of its best result outweighs one that barely prefers it.
    RelativeScore,
}

#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub top_k: Option<i64>,
    pub score_threshold: Option<f64>,
    pub mode: SearchMode,
    pub vector_weight: Option<f64>,
    pub fts_weight: Option<f64>,
    pub rrf_k: Option<f64>,
    /// `None`: `Rrf` when `rrf_k` is given, else `RelativeScore`.
    pub fusion: Option<Fusion>,
    pub document_ids: Vec<Uuid>,
    pub content_types: Vec<String>,
    pub source_url_prefix: Option<String>,
    /// Only documents whose metadata passes this (ragd).
    pub metadata: Option<crate::domain::MetadataFilter>,
    /// At most this many results of one document (ragd).
    pub max_chunks_per_document: Option<i64>,
    /// One result per chunk text, the others that hold it listed with it (ragd).
    pub merge_duplicates: bool,
    /// For a cross-asset search: these assets (all of the tenant's when empty).
    pub asset_ids: Vec<Uuid>,
    /// Re-score the best fused candidates with a cross-encoder (ragd).
    pub rerank: Option<Rerank>,
}

/// Most candidates one search sends to a re-ranker, and how many it sends by default.
pub const MAX_RERANK_TOP_N: i64 = 200;
pub const DEFAULT_RERANK_TOP_N: i64 = 50;

/// The re-ranking providers an LLM config may name, each with its API's own base URL; all speak
/// the Cohere/Jina `POST {base}/rerank` format.
pub const RERANK_PROVIDERS: &[(&str, &str)] = &[
    ("cohere", "https://api.cohere.com/v2"),
    ("jina", "https://api.jina.ai/v1"),
];

/// **(ragd)** A search's re-ranking: the first `top_n` fused candidates are re-scored by `model`
/// and the best `topK` of them returned.
#[derive(Debug, Clone, Default)]
pub struct Rerank {
    pub model: String,
    pub top_n: Option<i64>,
    /// A tenant's LLM config of a re-ranking provider; `None`: the server's re-ranker.
    pub llm_config_id: Option<Uuid>,
}

/// What became of a search's re-ranking: applied, or why the fused order stands.
#[derive(Debug, Clone)]
pub struct RerankReport {
    pub model: String,
    /// Candidates sent to the re-ranker.
    pub candidates: usize,
    /// `None`: the results are in the re-ranker's order, scored by it.
    pub fallback: Option<String>,
    pub took_ms: u64,
}

/// A search's answer.
#[derive(Debug, Clone, Default)]
pub struct Searched {
    pub results: Vec<Scored>,
    pub rerank: Option<RerankReport>,
}

/// A result: the chunk and its score in the request's mode (cosine, BM25, or fused RRF).
#[derive(Debug, Clone)]
pub struct Scored {
    pub hit: SearchHit,
    pub score: f64,
    /// With `mergeDuplicates`: lower-ranked chunks of the same text in other documents.
    pub duplicates: Vec<SearchHit>,
}

/// Shapes ranked results: with `merge`, one result per chunk text (the best-ranked; the others,
/// from other documents, listed in its `duplicates`); at most `per_document` results of one
/// document; then the first `top_k`.
pub fn shape(
    ranked: Vec<Scored>,
    top_k: usize,
    per_document: Option<usize>,
    merge: bool,
) -> Vec<Scored> {
    let mut out: Vec<Scored> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let mut per_doc: HashMap<uuid::Uuid, usize> = HashMap::new();
    for s in ranked {
        let text = s.hit.chunk.content.trim().to_owned();
        if merge && let Some(&i) = by_text.get(&text) {
            let kept = &mut out[i];
            if kept.hit.chunk.document_id != s.hit.chunk.document_id
                && !kept
                    .duplicates
                    .iter()
                    .any(|d| d.chunk.document_id == s.hit.chunk.document_id)
            {
                kept.duplicates.push(s.hit);
            }
            continue;
        }
        let n = per_doc.entry(s.hit.chunk.document_id).or_default();
        if per_document.is_some_and(|max| *n >= max) {
            continue;
        }
        if out.len() == top_k {
            // Later results only add duplicates to those kept.
            if merge {
                continue;
            }
            break;
        }
        *n += 1;
        if merge {
            by_text.insert(text, out.len());
        }
        out.push(s);
    }
    out
}

/// English words too common to rank by; BM25 gives them almost no weight anyway, but matching
/// them makes the engine score nearly every chunk.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "so", "that", "the",
    "their", "then", "there", "these", "this", "to", "was", "we", "what", "when", "where", "which",
    "who", "why", "will", "with", "you", "your",
];

/// The words a full-text search looks for: the query's distinct words, lowercased, but stopwords
/// (unless it has nothing else), at most `MAX_TERMS`; any of them may match.
pub fn query_terms(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| seen.insert(w.clone()))
        .collect();
    let content: Vec<&String> = words
        .iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect();
    let chosen = if content.is_empty() {
        words.iter().collect()
    } else {
        content
    };
    chosen.into_iter().take(MAX_TERMS).cloned().collect()
}

/// Reciprocal rank fusion of ranked lists of keys, with a weight per list.
pub fn rrf(lists: &[(&[(i64, f64)], f64)], k: f64) -> Vec<(i64, f64)> {
    let mut fused: HashMap<i64, f64> = HashMap::new();
    for (list, weight) in lists {
        for (rank, (key, _)) in list.iter().enumerate() {
            *fused.entry(*key).or_default() += weight / (k + rank as f64 + 1.0);
        }
    }
    sorted(fused)
}

/// Relative score fusion of ranked lists of scored keys, with a weight per list: each list's
/// scores min-max scaled to [0, 1] (all 1 when they are equal), then summed.
pub fn relative_score(lists: &[(&[(i64, f64)], f64)]) -> Vec<(i64, f64)> {
    let mut fused: HashMap<i64, f64> = HashMap::new();
    for (list, weight) in lists {
        let (lo, hi) = list
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, s)| {
                (lo.min(*s), hi.max(*s))
            });
        for (key, score) in list.iter() {
            let scaled = if hi > lo {
                (score - lo) / (hi - lo)
            } else {
                1.0
            };
            *fused.entry(*key).or_default() += weight * scaled;
        }
    }
    sorted(fused)
}

/// Best first; equal scores by key, so the order never depends on a hash map's.
fn sorted(fused: HashMap<i64, f64>) -> Vec<(i64, f64)> {
    let mut out: Vec<(i64, f64)> = fused.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ranked result: chunk `key` of document `doc`, with this text.
    fn result(key: i64, doc: u128, text: &str) -> Scored {
        let document_id = Uuid::from_u128(doc);
        Scored {
            hit: SearchHit {
                key,
                chunk: crate::domain::Chunk {
                    id: Uuid::from_u128(key as u128 + 1000),
                    document_id,
                    chunk_index: 0,
                    content: text.into(),
                    context_text: String::new(),
                    heading_path: String::new(),
                    page_number: None,
                    start_char: 0,
                    end_char: 0,
                    start_line: 0,
                    end_line: 0,
                    token_count: 0,
                    text_hash: String::new(),
                    embedding: Vec::new(),
                    ocr: false,
                },
                asset_id: Uuid::nil(),
                source_type: crate::domain::SourceType::Web,
                file_name: format!("doc {doc}"),
                source_url: None,
                metadata: Default::default(),
            },
            score: -(key as f64),
            duplicates: Vec::new(),
        }
    }

    #[test]
    fn results_are_shaped_per_document_and_by_text() {
        let ranked = || {
            vec![
                result(1, 1, "a"),
                result(2, 1, "b"),
                result(3, 2, " a "),
                result(4, 1, "c"),
                result(5, 3, "d"),
                result(6, 4, "a"),
            ]
        };
        let keys = |r: &[Scored]| r.iter().map(|s| s.hit.key).collect::<Vec<_>>();
        assert_eq!(keys(&shape(ranked(), 3, None, false)), [1, 2, 3]);
        assert_eq!(keys(&shape(ranked(), 10, Some(1), false)), [1, 3, 5, 6]);
        assert_eq!(keys(&shape(ranked(), 10, Some(2), false)), [1, 2, 3, 5, 6]);
        let merged = shape(ranked(), 3, None, true);
        assert_eq!(keys(&merged), [1, 2, 4]);
        // Duplicates found after the cut are still listed with the result they repeat.
        let dups: Vec<i64> = merged[0].duplicates.iter().map(|d| d.key).collect();
        assert_eq!(dups, [3, 6]);
        assert_eq!(keys(&shape(ranked(), 10, Some(1), true)), [1, 5]);
    }

    #[test]
    fn query_terms_are_distinct_content_words() {
        assert_eq!(
            query_terms("What is ownership? OWNERSHIP, borrow-checker"),
            ["ownership", "borrow", "checker"]
        );
        assert_eq!(query_terms("what is it"), ["what", "is", "it"]);
        assert_eq!(query_terms("\"; DROP TABLE x --"), ["drop", "table", "x"]);
        assert!(query_terms("  ?? ").is_empty());
        assert_eq!(query_terms(&"word ".repeat(5000)), ["word"]);
    }

    #[test]
    fn rrf_rewards_agreement_and_weights_shift_it() {
        let v = [(1, 0.9), (2, 0.8), (3, 0.7)];
        let t = [(3, 9.0), (4, 8.0)];
        let fused = rrf(&[(&v, 1.0), (&t, 1.0)], 60.0);
        assert_eq!(fused[0].0, 3, "in both lists: {fused:?}");
        let text_only = rrf(&[(&v, 0.0), (&t, 1.0)], 60.0);
        assert_eq!(
            text_only
                .iter()
                .filter(|(_, s)| *s > 0.0)
                .map(|(k, _)| *k)
                .collect::<Vec<_>>(),
            [3, 4]
        );
    }

    #[test]
    fn relative_score_weighs_how_sure_each_side_is() {
        // The vector side barely prefers 1 over 2; the text side is sure of 2.
        let v = [(1, 0.80), (2, 0.79), (3, 0.50)];
        let t = [(2, 12.0), (1, 3.0), (4, 2.0)];
        let fused = relative_score(&[(&v, 1.0), (&t, 1.0)]);
        assert_eq!(fused[0].0, 2, "{fused:?}");
        assert!((fused[0].1 - (0.29 / 0.30 + 1.0)).abs() < 1e-9);
        // Reciprocal rank fusion sees only ranks: 1 and 2 tie, and the key decides.
        assert_eq!(rrf(&[(&v, 1.0), (&t, 1.0)], 60.0)[0].0, 1);
        // One candidate, or all equal: each scores its weight.
        assert_eq!(relative_score(&[(&[(7, 0.3)], 0.5)]), [(7, 0.5)]);
        // A zero weight leaves the other side's order.
        let text_only: Vec<i64> = relative_score(&[(&v, 0.0), (&t, 1.0)])
            .into_iter()
            .filter(|(_, s)| *s > 0.0)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(text_only, [2, 1]);
    }
}
