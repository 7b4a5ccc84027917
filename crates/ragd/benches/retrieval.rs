//! Retrieval benchmark on ≥ 100k chunks of real text with real embeddings (the toolchain's docs,
//! embedded once by `examples/build_corpus.rs` and cached on disk): index build time, restart
//! time, memory, recall@10 of the HNSW graphs against exact search, and p50/p99 latency per mode
//! (query embedding excluded: queries are held-out chunks, pre-embedded). Chroma runs on the same
//! vectors in the same run (`bench/chroma_peer.py`) as the peer.
//! Run: `bench/retrieval.sh` (builds the corpus on first use, installs chromadb in `.cache/`).

#[path = "common/corpus.rs"]
mod corpus;

use corpus::{DIMS, K, QUERIES, pct};
use ragd_core::ports::store::SearchStore;
use ragd_core::search::rrf;
use ragd_store::SqliteStore;
use std::time::{Duration, Instant};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn main() {
    let c = corpus::load();
    let n = c.n;
    let queries = &c.vectors[n..];

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ragd.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let (scope, write) = corpus::write(&store, &c).await;
        let (tenant, asset_id) = (scope.tenant.clone(), scope.asset_ids[0]);
        eprintln!("wrote {n} chunks in {:.1} s; building the index", write.as_secs_f64());
        let rss_before = rss_mib();
        let build = Instant::now();
        store.search_vectors(&scope, &queries[0], K as u32).await.unwrap();
        let build = build.elapsed();
        let index_mib = rss_mib() - rss_before;

        // Recall@10 against exact search over the same vectors.
        let mut hit = 0;
        let mut vector_lat = Vec::new();
        for q in queries {
            let start = Instant::now();
            let approx = store.search_vectors(&scope, q, K as u32).await.unwrap();
            vector_lat.push(start.elapsed());
            hit += corpus::true_neighbours(&store, &scope, &c, q, &approx).await;
        }
        let recall = hit as f64 / (QUERIES * K) as f64;
        eprintln!("recall measured; timing modes");

        // Full text: the first query builds the Tantivy index from the chunks table.
        let query_words = corpus::query_words(&c);
        let rss_before = rss_mib();
        let text_build = Instant::now();
        store.search_text(&scope, &query_words[0], K as u32).await.unwrap();
        let text_build = text_build.elapsed();
        let text_mib = rss_mib() - rss_before;
        eprintln!("full-text index built in {:.1} s", text_build.as_secs_f64());

        let mut text_lat = Vec::new();
        let mut hybrid_lat = Vec::new();
        let mut text_top: Vec<Vec<i64>> = Vec::new();
        let mut parts = [Duration::ZERO; 3];
        for (q, fts) in queries.iter().zip(&query_words) {
            let start = Instant::now();
            let top = store.search_text(&scope, fts, K as u32).await.unwrap();
            text_lat.push(start.elapsed());
            text_top.push(top.iter().map(|(k, _)| *k).collect());
            let start = Instant::now();
            let v = store.search_vectors(&scope, q, 50).await.unwrap();
            let t0 = Instant::now();
            let t = store.search_text(&scope, fts, 50).await.unwrap();
            let t1 = Instant::now();
            let fused = rrf(&[(&v, 1.0), (&t, 1.0)], 60.0);
            let keys: Vec<i64> = fused.iter().take(K).map(|(k, _)| *k).collect();
            store.search_hits(&tenant, &keys).await.unwrap();
            hybrid_lat.push(start.elapsed());
            parts[0] += t0 - start;
            parts[1] += t1 - t0;
            parts[2] += t1.elapsed();
        }
        // The peer for full text: SQLite FTS5 on the same chunks (what ragd used before, and still
        // uses for filtered queries), 100 of the queries, with the overlap of the two top 10s.
        let mut fts5_lat = Vec::new();
        let mut overlap = 0;
        for (fts, tantivy_top) in query_words.iter().zip(&text_top).take(100) {
            let q = fts.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" OR ");
            let start = Instant::now();
            let rows: Vec<(i64,)> =
                sqlx::query_as("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ?2")
                    .bind(q)
                    .bind(K as i64)
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            fts5_lat.push(start.elapsed());
            overlap += rows.iter().filter(|(k,)| tantivy_top.contains(k)).count();
        }
        let overlap = overlap as f64 / (100 * K) as f64;
        for l in [&mut vector_lat, &mut text_lat, &mut hybrid_lat, &mut fts5_lat] {
            l.sort();
        }
        let qps = QUERIES as f64 / vector_lat.iter().sum::<Duration>().as_secs_f64();

        // A restart: the graph is saved in the background after the build; reopen and time the
        // first query (load + log replay, not a rebuild).
        let saved = tmp.path().join("indexes").join(format!("{}.usearch", asset_id));
        for _ in 0..600 {
            if saved.exists() && tmp.path().join("indexes").join(format!("{}.position", asset_id)).exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("restarting");
        drop(store);
        let store = SqliteStore::open(&path).await.unwrap();
        let restart = Instant::now();
        store.search_vectors(&scope, &queries[0], K as u32).await.unwrap();
        let restart = restart.elapsed();
        let text_restart = Instant::now();
        store.search_text(&scope, &query_words[1], K as u32).await.unwrap();
        let text_restart = text_restart.elapsed();

        println!("\nragd retrieval, {n} chunks × {DIMS} (toolchain docs, all-MiniLM-L6-v2), {QUERIES} held-out chunk queries, k={K}\n");
        println!("| measurement | ragd |");
        println!("|---|---|");
        println!("| write {n} chunks (SQLite, FTS5, log) | {:.1} s |", write.as_secs_f64());
        println!("| HNSW build (first query) | {:.1} s |", build.as_secs_f64());
        println!("| restart: first query (load + replay) | {:.2} s |", restart.as_secs_f64());
        println!("| HNSW memory (RSS growth) | {index_mib:.0} MiB |");
        println!("| full-text index build (first query) | {:.1} s |", text_build.as_secs_f64());
        println!("| full-text restart: first query | {:.3} s |", text_restart.as_secs_f64());
        println!("| full-text index memory (RSS growth) | {text_mib:.0} MiB |");
        println!("| recall@10 vs exact | {recall:.3} |");
        println!("| VECTOR p50 / p99 | {:.2} / {:.2} ms ({qps:.0} QPS, one client) |", pct(&vector_lat, 0.5), pct(&vector_lat, 0.99));
        println!("| FULL_TEXT p50 / p99 | {:.2} / {:.2} ms |", pct(&text_lat, 0.5), pct(&text_lat, 0.99));
        println!("| HYBRID p50 / p99 | {:.2} / {:.2} ms |", pct(&hybrid_lat, 0.5), pct(&hybrid_lat, 0.99));
        let [v, t, h] = parts.map(|d| d.as_secs_f64() * 1000.0 / QUERIES as f64);
        println!("| HYBRID mean parts: vector 50 / text 50 / fuse + read 10 | {v:.2} / {t:.2} / {h:.2} ms |");
        let (fts5_p50, fts5_p99) = (pct(&fts5_lat, 0.5), pct(&fts5_lat, 0.99));
        println!("| peer: SQLite FTS5 p50 / p99 (100 queries) | {fts5_p50:.2} / {fts5_p99:.2} ms |");
        println!(
            "| FULL_TEXT / FTS5 | p50 {:.3}x, p99 {:.3}x; top-10 overlap {overlap:.2} |",
            pct(&text_lat, 0.5) / fts5_p50,
            pct(&text_lat, 0.99) / fts5_p99
        );
        println!("RAGD_VECTOR {:.4} {:.4} {qps:.1} {recall:.4} {:.2}", pct(&vector_lat, 0.5), pct(&vector_lat, 0.99), build.as_secs_f64());
    });
}
