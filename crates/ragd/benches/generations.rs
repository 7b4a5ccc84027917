//! Search while the index is rebuilt (issue 21): p50/p99 of hybrid searches through the API on an
//! asset of ≥ 100k chunks of real text (the toolchain's docs, with their real all-MiniLM-L6-v2
//! vectors), first with nothing else running, then while a `REINDEX` builds the asset's next
//! generation with another chunking (every chunk embedded again by the same in-process model, on
//! the same cores). The build never touches the serving generation, so what moves the figures is
//! CPU and the model shared with the build.
//! Run: `bench/generations.sh` (builds the corpus on first use).

#[path = "common/app.rs"]
mod app;
#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/cpu.rs"]
mod cpu;

use std::time::{Duration, Instant};

/// Searches timed with nothing else running.
const BASELINE: usize = 200;

fn main() {
    let c = corpus::load();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let config = app::config(tmp.path());
        let api = app::Api::start(&config).await;
        let store = ragd::app::open_store(&config).await.unwrap();
        let (scope, write) = corpus::write(store.as_ref(), &c).await;
        let asset = scope.asset_ids[0].to_string();
        eprintln!("wrote {} chunks in {:.0} s", c.n, write.as_secs_f64());
        let queries: Vec<String> = c.texts[c.n..]
            .iter()
            .map(|t| t.split_whitespace().take(12).collect::<Vec<_>>().join(" "))
            .collect();
        let search = |i: usize| {
            let (api, asset, q) = (&api, &asset, queries[i % queries.len()].clone());
            async move {
                let started = Instant::now();
                let body = serde_json::json!({"query": q, "topK": 10});
                let r = api
                    .call(&format!("assets/{asset}:search"), Some(body))
                    .await;
                assert!(r["results"].is_array(), "{r}");
                started.elapsed()
            }
        };
        // Warm: the graph is built and the model loaded before anything is timed.
        for i in 0..20 {
            search(i).await;
        }
        let mut idle = Vec::new();
        for i in 0..BASELINE {
            idle.push(search(i).await);
        }

        let change = serde_json::json!({"embedding": {"chunkSize": 96, "chunkOverlap": 16}});
        let patched = api.patch(&format!("assets/{asset}"), change).await;
        let op = patched["operation"]["id"]
            .as_str()
            .expect("a REINDEX")
            .to_owned();
        let started = Instant::now();
        let mut building = Vec::new();
        let mut i = 0;
        let done = loop {
            let now = api
                .call(&format!("assets/{asset}/operations/{op}"), None)
                .await;
            if now["done"] == true {
                break now;
            }
            building.push(search(i).await);
            i += 1;
        };
        let took = started.elapsed();
        assert_eq!(done["status"], "COMPLETED", "{done}");

        let row = |name: &str, v: &mut Vec<Duration>| {
            v.sort();
            let (p50, p99) = (corpus::pct(v, 0.50), corpus::pct(v, 0.99));
            println!("| {name} | {} | {p50:.1} | {p99:.1} |", v.len());
            p99
        };
        println!("\nSearch while a generation is built ({})", cpu::line());
        println!(
            "{} chunks; REINDEX to chunkSize 96: {} chunks embedded again in {:.0} s",
            c.n,
            done["chunkCount"],
            took.as_secs_f64()
        );
        println!("| hybrid search, topK 10, through the API | searches | p50 ms | p99 ms |");
        println!("|---|---|---|---|");
        let p99_idle = row("nothing else running", &mut idle);
        let p99_building = row("while the REINDEX builds", &mut building);
        println!("| building / idle | | | {:.2}x |", p99_building / p99_idle);
    });
}
