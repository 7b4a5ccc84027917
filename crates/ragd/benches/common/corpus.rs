//! The retrieval benchmarks' corpus: ≥ 100k chunks of the toolchain's docs with their real
//! all-MiniLM-L6-v2 vectors (built once by `examples/build_corpus.rs`, cached in
//! `.cache/bench/corpus`), the last `QUERIES` held out as queries; and how to write it into any
//! store the way ingestion does (one asset, documents of 1,000 chunks).

#![allow(dead_code)] // each benchmark uses part of it

use ragd_core::domain::*;
use ragd_core::ports::store::Store;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const QUERIES: usize = 500;
pub const K: usize = 10;
pub const DIMS: usize = 384;

pub struct Corpus {
    pub texts: Vec<String>,
    pub vectors: Vec<Vec<f32>>,
    /// Chunks written; `texts[n..]` and `vectors[n..]` are the queries.
    pub n: usize,
}

pub fn load() -> Corpus {
    let dir = PathBuf::from(
        std::env::var("RAGD_CORPUS").unwrap_or_else(|_| ".cache/bench/corpus".into()),
    );
    let texts: Vec<String> = std::io::BufReader::new(
        std::fs::File::open(dir.join("texts.jsonl")).expect("corpus: run bench/retrieval.sh"),
    )
    .lines()
    .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
    .collect();
    let raw = std::fs::read(dir.join("vectors.f32")).unwrap();
    let vectors: Vec<Vec<f32>> = raw
        .chunks_exact(DIMS * 4)
        .map(|v| {
            v.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect();
    assert_eq!(texts.len(), vectors.len());
    let n = texts.len() - QUERIES;
    eprintln!("{} chunks loaded", texts.len());
    Corpus { texts, vectors, n }
}

pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1].as_secs_f64()
        * 1000.0
}

/// Writes the corpus's first `n` chunks into `store` as one asset; returns its search scope and
/// the time the writes took. A chunk's `text_hash` is its corpus index.
pub async fn write(store: &dyn Store, c: &Corpus) -> (SearchScope, Duration) {
    write_documents(store, c, 1000, |_| Metadata::new()).await
}

/// Like [`write`], in documents of `per_document` chunks, document `d` with `metadata(d)`.
pub async fn write_documents(
    store: &dyn Store,
    c: &Corpus,
    per_document: usize,
    metadata: impl Fn(usize) -> Metadata,
) -> (SearchScope, Duration) {
    let (texts, corpus, n) = (&c.texts, &c.vectors[..c.n], c.n);
    let tenant = TenantId::parse("bench").unwrap();
    let now = ragd_core::time::now_ms();
    let id = Uuid::now_v7();
    let spec = EmbeddingSpec {
        provider: "local".into(),
        model: "all-MiniLM-L6-v2".into(),
        chunk_size: 128,
        chunk_overlap: 0,
    };
    let asset = Asset {
        id,
        tenant: tenant.clone(),
        display_name: "docs".into(),
        source_type: SourceType::Text,
        parameters: Default::default(),
        auth_method: None,
        vectorized: true,
        ocr: true,
        integration_id: None,
        serving: Generation::first(id, spec.clone()),
        building: None,
        previous: None,
        embedding: spec,
        budget: BudgetLimits::default(),
        auto_update: None,
        embedding_llm_config_id: None,
        created_by: "bench".into(),
        created_at: now,
        modified_at: now,
        last_polled_at: None,
        next_poll_at: None,
        auth_sealed: None,
        auth_error: None,
    };
    store
        .asset_create(
            &asset,
            &NewOperation::new(asset.id, OperationType::Ingest, "bench", now),
        )
        .await
        .unwrap();
    let claim = store
        .operation_claim(now, 3_600_000)
        .await
        .unwrap()
        .unwrap();
    let write = Instant::now();
    for (d, range) in (0..n).collect::<Vec<_>>().chunks(per_document).enumerate() {
        let key = format!("doc-{d}");
        let doc = Document {
            id: Document::id_for(asset.id, &key),
            asset_id: asset.id,
            source_key: key.clone(),
            file_name: key,
            content_type: "text/html".into(),
            source_url: None,
            file_size: 0,
            content_hash: String::new(),
            chunk_count: range.len() as i64,
            token_count: 0,
            status: DocumentStatus::Indexed,
            error_message: None,
            operation_id: claim.operation.id,
            created_at: now,
            modified_at: now,
            processed_at: None,
            source_meta: serde_json::json!({}),
            metadata: metadata(d),
            metadata_patch: Default::default(),
        };
        let chunks: Vec<Chunk> = range
            .iter()
            .enumerate()
            .map(|(j, &i)| Chunk {
                ocr: false,
                id: Chunk::id_for(doc.id, &i.to_string(), j as i64),
                document_id: doc.id,
                chunk_index: j as i64,
                content: texts[i].clone(),
                context_text: String::new(),
                heading_path: String::new(),
                page_number: None,
                start_char: 0,
                end_char: 0,
                start_line: 1,
                end_line: 1,
                token_count: 0,
                text_hash: i.to_string(),
                embedding: corpus[i].clone(),
            })
            .collect();
        // The document's text as ingestion stores it: what a re-index builds from.
        let text = DocumentText {
            text: range
                .iter()
                .map(|&i| texts[i].as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
            title: Some(doc.file_name.clone()),
            ..Default::default()
        };
        assert!(
            store
                .document_replace(&claim.lease, &doc, &chunks, Some(&text))
                .await
                .unwrap()
        );
    }
    let counters = Counters {
        items_total: n.div_ceil(per_document) as i64,
        items_processed: n.div_ceil(per_document) as i64,
        chunk_count: n as i64,
        ..Default::default()
    };
    let done = Outcome::Completed {
        error_message: None,
    };
    store
        .operation_finish(&claim.lease, &done, &counters, now)
        .await
        .unwrap();
    let scope = SearchScope {
        tenant,
        asset_ids: vec![asset.id],
        document_ids: vec![],
        content_types: vec![],
        source_url_prefix: None,
    };
    (scope, write.elapsed())
}

/// The full-text query of each held-out chunk: its first 12 words.
pub fn query_words(c: &Corpus) -> Vec<Vec<String>> {
    c.texts[c.n..]
        .iter()
        .map(|t| {
            ragd_core::search::query_terms(
                &t.split_whitespace().take(12).collect::<Vec<_>>().join(" "),
            )
        })
        .collect()
}

/// How many of the chunks `found` for query vector `q` are among its true `K` nearest neighbours
/// (exact search over the written chunks; a chunk's `text_hash` is its corpus index).
pub async fn true_neighbours(
    store: &dyn Store,
    scope: &SearchScope,
    c: &Corpus,
    q: &[f32],
    found: &[(i64, f64)],
) -> usize {
    true_neighbours_among(store, scope, c, 0..c.n, q, found)
        .await
        .0
}

/// How many of the chunks `found` for `q` are among its true `K` nearest neighbours within the
/// corpus chunks `among`, and how many those are (`K`, or fewer when `among` holds fewer).
pub async fn true_neighbours_among(
    store: &dyn Store,
    scope: &SearchScope,
    c: &Corpus,
    among: impl Iterator<Item = usize>,
    q: &[f32],
    found: &[(i64, f64)],
) -> (usize, usize) {
    let mut exact: Vec<(usize, f32)> = among
        .map(|i| (i, c.vectors[i].iter().zip(q).map(|(a, b)| a * b).sum()))
        .collect();
    if exact.len() > K {
        exact.select_nth_unstable_by(K, |a, b| b.1.total_cmp(&a.1));
        exact.truncate(K);
    }
    let exact: std::collections::HashSet<String> =
        exact.iter().map(|(i, _)| i.to_string()).collect();
    let keys: Vec<i64> = found.iter().map(|(k, _)| *k).collect();
    let hits = store
        .search_hits(&scope.tenant, &keys)
        .await
        .unwrap()
        .iter()
        .filter(|h| exact.contains(&h.chunk.text_hash))
        .count();
    (hits, exact.len())
}
