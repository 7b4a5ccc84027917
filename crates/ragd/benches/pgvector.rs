//! Search on PostgreSQL at ≥ 100k chunks: the same corpus, held-out queries and k as
//! `bench/retrieval.sh` (real all-MiniLM-L6-v2 vectors of the toolchain's docs), written through
//! the store like ingestion writes, then VECTOR (pgvector HNSW), FULL_TEXT (tsvector +
//! ts_rank_cd) and HYBRID latency and recall@10 against exact search. The peer in the same run is
//! the embedded default (SQLite + USearch + Tantivy) on the same chunks and queries.
//! Run: `bench/pgvector.sh` (needs the cached corpus that `bench/retrieval.sh` builds).

#[path = "common/corpus.rs"]
mod corpus;

use corpus::{Corpus, K, QUERIES, pct};
use ragd_core::domain::SearchScope;
use ragd_core::ports::store::Store;
use ragd_core::search::rrf;
use std::time::{Duration, Instant};

struct Stats {
    write: Duration,
    first: Duration,
    vector: Vec<Duration>,
    recall: f64,
    text: Vec<Duration>,
    hybrid: Vec<Duration>,
    /// Each query's full-text top 10, by corpus index.
    text_top: Vec<Vec<String>>,
}

/// Times the searches on a store holding the corpus (`scope`, written in `write`).
async fn measure(store: &dyn Store, scope: SearchScope, write: Duration, c: &Corpus) -> Stats {
    let queries = &c.vectors[c.n..];
    let words = corpus::query_words(c);
    eprintln!("wrote {} chunks in {:.1} s", c.n, write.as_secs_f64());
    // The first query pays for whatever index is built lazily (none on PostgreSQL).
    let first = Instant::now();
    store
        .search_vectors(&scope, &queries[0], K as u32)
        .await
        .unwrap();
    store
        .search_text(&scope, &words[0], K as u32)
        .await
        .unwrap();
    let first = first.elapsed();
    let (mut vector, mut text, mut hybrid, mut hit, mut text_top) =
        (Vec::new(), Vec::new(), Vec::new(), 0, Vec::new());
    for (q, w) in queries.iter().zip(&words) {
        let start = Instant::now();
        let approx = store.search_vectors(&scope, q, K as u32).await.unwrap();
        vector.push(start.elapsed());
        hit += corpus::true_neighbours(store, &scope, c, q, &approx).await;

        let start = Instant::now();
        let top = store.search_text(&scope, w, K as u32).await.unwrap();
        text.push(start.elapsed());
        let keys: Vec<i64> = top.iter().map(|(k, _)| *k).collect();
        text_top.push(
            store
                .search_hits(&scope.tenant, &keys)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.chunk.text_hash)
                .collect(),
        );

        let start = Instant::now();
        let (v, t) = futures::future::join(
            store.search_vectors(&scope, q, 50),
            store.search_text(&scope, w, 50),
        )
        .await;
        let fused = rrf(&[(&v.unwrap(), 1.0), (&t.unwrap(), 1.0)], 60.0);
        let keys: Vec<i64> = fused.iter().take(K).map(|(k, _)| *k).collect();
        store.search_hits(&scope.tenant, &keys).await.unwrap();
        hybrid.push(start.elapsed());
    }
    for l in [&mut vector, &mut text, &mut hybrid] {
        l.sort();
    }
    Stats {
        write,
        first,
        vector,
        recall: hit as f64 / (QUERIES * K) as f64,
        text,
        hybrid,
        text_top,
    }
}

fn main() {
    let c = corpus::load();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = ragd_store::postgres::throwaway_database().await.expect("a PostgreSQL database");
        let pg = ragd_store::PgStore::open(&url, 8).await.unwrap();
        eprintln!("PostgreSQL");
        let (scope, write) = corpus::write(&pg, &c).await;
        // What autovacuum does after a bulk load: statistics for the planner and for full text.
        sqlx::query("ANALYZE chunks").execute(pg.pool()).await.unwrap();
        let p = measure(&pg, scope, write, &c).await;
        drop(pg);
        let tmp = tempfile::tempdir().unwrap();
        let sqlite = ragd_store::SqliteStore::open(&tmp.path().join("ragd.db")).await.unwrap();
        eprintln!("embedded");
        let (scope, write) = corpus::write(&sqlite, &c).await;
        let e = measure(&sqlite, scope, write, &c).await;

        println!(
            "\nSearch at {} chunks × 384 (toolchain docs, all-MiniLM-L6-v2), {QUERIES} held-out chunk queries, k={K}, one client\n",
            c.n
        );
        println!("| | PostgreSQL 18 + pgvector 0.8 | embedded (peer, same run) | PostgreSQL / embedded |");
        println!("|---|---|---|---|");
        let row = |name: &str, a: f64, b: f64, unit: &str| println!("| {name} | {a:.2} {unit} | {b:.2} {unit} | {:.2}x |", a / b);
        row("write chunks", p.write.as_secs_f64(), e.write.as_secs_f64(), "s");
        row("first query (lazy index build)", p.first.as_secs_f64(), e.first.as_secs_f64(), "s");
        for (name, a, b) in
            [("VECTOR", &p.vector, &e.vector), ("FULL_TEXT", &p.text, &e.text), ("HYBRID (sides concurrent)", &p.hybrid, &e.hybrid)]
        {
            row(&format!("{name} p50"), pct(a, 0.5), pct(b, 0.5), "ms");
            row(&format!("{name} p99"), pct(a, 0.99), pct(b, 0.99), "ms");
        }
        let qps = |l: &[Duration]| l.len() as f64 / l.iter().sum::<Duration>().as_secs_f64();
        row("VECTOR QPS", qps(&p.vector), qps(&e.vector), "");
        println!("| recall@10 vs exact | {:.3} | {:.3} | |", p.recall, e.recall);
        let shared: usize = p.text_top.iter().zip(&e.text_top).map(|(a, b)| a.iter().filter(|k| b.contains(k)).count()).sum();
        println!("| FULL_TEXT top-10 overlap with the embedded BM25 (Tantivy) | {:.2} | 1 | |", shared as f64 / (QUERIES * K) as f64);
    });
}
