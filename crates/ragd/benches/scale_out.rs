//! Scale-out benchmark: ingestion throughput with 1, 2 and 3 worker processes (`ragd serve
//! --role worker --workers 1`, the release binary) and one API process on one PostgreSQL
//! database, embedding through a deliberately slow OpenAI-compatible provider (every request held
//! `RAGD_BENCH_DELAY_MS`, default 200 ms) so that the queue and the processes are measured, not
//! this 2-core machine's CPU. Same 30 assets × 4 documents of real text in every run; each run on
//! a fresh database.
//! Run: `cargo bench -p ragd --bench scale_out` (PostgreSQL: `RAGD_TEST_DATABASE_URL` or the
//! throwaway server `scripts/pg/start.sh` installs).

#[path = "../tests/common/cluster.rs"]
mod cluster;
#[path = "../tests/common/openai.rs"]
mod openai;

use cluster::{Api, Proc};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

const ASSETS: usize = 30;
const DOCS: usize = 4;
const KEY: &str = "sk-bench-0123456789";

struct Run {
    workers: usize,
    wall: f64,
    docs: i64,
    chunks: i64,
    tokens: i64,
    requests: usize,
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let delay = Duration::from_millis(std::env::var("RAGD_BENCH_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(200));
        let (base, fake) = openai::FakeOpenAi::start(KEY, delay).await;
        let env = [("RAGD_OPENAI_BASE_URL", base.as_str()), ("RAGD_OPENAI_API_KEY", KEY)];
        let corpus = cluster::corpus(ASSETS, DOCS);
        let mut runs = Vec::new();
        for workers in 1..=3 {
            let dir = tempfile::tempdir().unwrap();
            let url = ragd_store::postgres::throwaway_database().await.expect("a PostgreSQL database");
            let api_proc = Proc::start(&url, "api", dir.path(), "api", &env);
            let api = Api::new(api_proc.address().await);
            let procs: Vec<Proc> = (0..workers).map(|i| Proc::start(&url, "worker", dir.path(), &format!("worker{i}"), &env)).collect();
            for p in &procs {
                p.address().await;
            }
            let requests_before = fake.requests.load(Ordering::SeqCst);
            let mut ops = Vec::new();
            for (i, docs) in corpus.iter().enumerate() {
                let embedding = json!({"provider": "openai", "model": "text-embedding-3-small"});
                ops.push(api.create(&format!("asset-{i:02}"), docs, embedding).await);
            }
            let (mut first, mut last, mut docs, mut chunks, mut tokens) = (i64::MAX, 0, 0, 0, 0);
            for (a, op) in &ops {
                let done = api.wait_done(a, op).await;
                assert_eq!(done["status"], "COMPLETED", "{done}");
                first = first.min(done["createdAt"].as_i64().unwrap());
                last = last.max(done["completedAt"].as_i64().unwrap());
                docs += done["itemsProcessed"].as_i64().unwrap();
                chunks += done["chunkCount"].as_i64().unwrap();
                tokens += done["tokenCount"].as_i64().unwrap();
            }
            let requests = fake.requests.load(Ordering::SeqCst) - requests_before;
            let wall = (last - first) as f64 / 1000.0;
            eprintln!("{workers} worker process(es): {wall:.1} s");
            runs.push(Run { workers, wall, docs, chunks, tokens, requests });
        }

        println!(
            "\nIngestion throughput, one PostgreSQL, {ASSETS} TEXT assets × {DOCS} documents of real text, provider holding every request {} ms\n",
            delay.as_millis()
        );
        println!("| worker processes | wall s | documents/s | chunks/s | tokens/s | provider requests | speed-up vs 1 | per-process efficiency |");
        println!("|---|---|---|---|---|---|---|---|");
        let one = runs[0].wall;
        for r in &runs {
            println!(
                "| {} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {:.2}x | {:.0} % |",
                r.workers,
                r.wall,
                r.docs as f64 / r.wall,
                r.chunks as f64 / r.wall,
                r.tokens as f64 / r.wall,
                r.requests,
                one / r.wall,
                one / r.wall / r.workers as f64 * 100.0
            );
        }
        let floor = runs[0].requests as f64 * delay.as_secs_f64();
        println!("\nOne process spends {:.1} s of its {:.1} s waiting on the provider ({:.0} %).", floor, one, floor / one * 100.0);
    });
}
