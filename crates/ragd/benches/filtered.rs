//! Filtered search at ≥ 100k chunks with real embeddings (the corpus of `bench/retrieval.sh`: the
//! toolchain's docs, all-MiniLM-L6-v2), embedded and PostgreSQL side by side in one run.
//!
//! The chunks are written as documents of [`PER_DOCUMENT`] chunks, each with a numeric metadata
//! key `share` spread evenly over [0, 1) in a shuffled order, so the filter
//! `{"type": "lt", "key": "share", "value": s}` keeps the share `s` of the chunks. For each filter
//! (none, 50 %, 5 %, 0.5 %, 0.05 %) and held-out query, the timed call is what a search pays in
//! the store: the documents the filter keeps (`documents_matching`), then the nearest neighbours
//! among them (`search_vectors`, k = 10). Recall@10 is against exact search over the matching
//! chunks (computed here from the corpus vectors); "full" counts the queries that got
//! min(10, matching) results.
//! Run: `bench/filtered.sh` (builds the corpus on first use, starts PostgreSQL).

#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/cpu.rs"]
mod cpu;

use corpus::{Corpus, K, pct};
use ragd_core::domain::{Metadata, MetadataFilter, SearchScope};
use ragd_core::ports::store::{SearchStore, Store};
use std::time::{Duration, Instant};

/// Chunks per document.
const PER_DOCUMENT: usize = 10;
/// Queries per filter and backend (the first of the held-out chunks).
const QUERIES: usize = 200;
/// The shares of the chunks the filters keep (`None`: no filter).
const SHARES: [Option<f64>; 5] = [None, Some(0.5), Some(0.05), Some(0.005), Some(0.0005)];

/// Document `d`'s `share` among `docs`: a permutation of 0, 1/docs, 2/docs, … (a stride
/// coprime with `docs`), so that the kept documents are spread over the corpus.
fn share(d: usize, docs: usize) -> f64 {
    let stride = (7919..).find(|s| gcd(*s, docs) == 1).unwrap();
    ((d * stride) % docs) as f64 / docs as f64
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

struct Row {
    latency: Vec<Duration>,
    recall: f64,
    full: usize,
    matching: usize,
}

/// Runs every filter's queries on a store holding the corpus.
async fn measure(store: &dyn Store, scope: &SearchScope, c: &Corpus) -> Vec<Row> {
    let docs = c.n.div_ceil(PER_DOCUMENT);
    let mut rows = Vec::new();
    for s in SHARES {
        let filter = s.map(|s| {
            MetadataFilter::parse(
                &serde_json::json!({"type": "lt", "key": "share", "value": s}),
                "filter",
            )
            .unwrap()
        });
        let kept = |i: usize| s.is_none_or(|s| share(i / PER_DOCUMENT, docs) < s);
        let matching: Vec<usize> = (0..c.n).filter(|i| kept(*i)).collect();
        let (mut latency, mut hit, mut want, mut full) = (Vec::new(), 0, 0, 0);
        for q in &c.vectors[c.n..c.n + QUERIES] {
            let start = Instant::now();
            let mut narrowed = scope.clone();
            if let Some(f) = &filter {
                narrowed.document_ids = store
                    .documents_matching(&scope.tenant, &scope.asset_ids, f)
                    .await
                    .unwrap();
            }
            let found = store.search_vectors(&narrowed, q, K as u32).await.unwrap();
            latency.push(start.elapsed());

            let (hits, wanted) =
                corpus::true_neighbours_among(store, scope, c, matching.iter().copied(), q, &found)
                    .await;
            hit += hits;
            want += wanted;
            full += usize::from(found.len() == wanted);
        }
        latency.sort();
        rows.push(Row {
            latency,
            recall: hit as f64 / want.max(1) as f64,
            full,
            matching: matching.len(),
        });
    }
    rows
}

fn metadata(d: usize, docs: usize) -> Metadata {
    let mut m = Metadata::new();
    m.insert("share".into(), share(d, docs).into());
    m
}

fn main() {
    let c = corpus::load();
    let docs = c.n.div_ceil(PER_DOCUMENT);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let sqlite = ragd_store::SqliteStore::open(&tmp.path().join("ragd.db"))
            .await
            .unwrap();
        let (scope, write) =
            corpus::write_documents(&sqlite, &c, PER_DOCUMENT, |d| metadata(d, docs)).await;
        eprintln!("embedded: wrote {} chunks in {:.1} s", c.n, write.as_secs_f64());
        // The first query builds the graph, as the first search after a start does.
        sqlite
            .search_vectors(&scope, &c.vectors[c.n], K as u32)
            .await
            .unwrap();
        let e = measure(&sqlite, &scope, &c).await;
        drop(sqlite);

        let url = ragd_store::postgres::throwaway_database()
            .await
            .expect("a PostgreSQL database");
        let pg = ragd_store::PgStore::open(&url, 8).await.unwrap();
        let (scope, write) =
            corpus::write_documents(&pg, &c, PER_DOCUMENT, |d| metadata(d, docs)).await;
        eprintln!("PostgreSQL: wrote {} chunks in {:.1} s", c.n, write.as_secs_f64());
        sqlx::query("ANALYZE").execute(pg.pool()).await.unwrap();
        let p = measure(&pg, &scope, &c).await;

        println!("\nFiltered VECTOR search at {} chunks × 384 in {docs} documents (toolchain docs, all-MiniLM-L6-v2), {QUERIES} held-out chunk queries per filter, k={K}, one client", c.n);
        println!("CPU: {}\n", cpu::line());
        println!("| filter keeps | chunks | embedded p50 ms | p99 ms | recall@10 | full | PostgreSQL p50 ms | p99 ms | recall@10 | full |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for ((s, e), p) in SHARES.iter().zip(&e).zip(&p) {
            let name = s.map_or("no filter".to_owned(), |s| format!("{} %", s * 100.0));
            println!(
                "| {name} | {} | {:.2} | {:.2} | {:.3} | {}/{QUERIES} | {:.2} | {:.2} | {:.3} | {}/{QUERIES} |",
                e.matching,
                pct(&e.latency, 0.5),
                pct(&e.latency, 0.99),
                e.recall,
                e.full,
                pct(&p.latency, 0.5),
                pct(&p.latency, 0.99),
                p.recall,
                p.full,
            );
        }
    });
}
