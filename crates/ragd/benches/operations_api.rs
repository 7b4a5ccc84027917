//! Benchmark of the operations API over 100k operations: GET-operation throughput and
//! list-page latency, against `/healthz` measured in the same run as the peer (the cost of
//! HTTP itself on this machine). Run: `cargo bench -p ragd --bench operations_api`.

use ragd::Application;
use ragd::config::{Config, Role};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const OPERATIONS: usize = 100_000;
const CONCURRENCY: usize = 16;
const RUN_FOR: Duration = Duration::from_secs(5);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Requests per second of `url` with `CONCURRENCY` clients for `RUN_FOR`.
async fn throughput(client: &reqwest::Client, url: &str, token: &str) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + RUN_FOR;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, url, token, done) = (client.clone(), url.to_owned(), token.to_owned(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    assert!(r.status().is_success(), "{}", r.status());
                    r.bytes().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Latencies of walking `pages` pages of `size` from the start of the list, one client.
async fn page_walk(client: &reqwest::Client, base: &str, token: &str, size: usize, pages: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(pages);
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let url = match &cursor {
            Some(c) => format!("{base}?PageSize={size}&PageToken.Cursor={c}"),
            None => format!("{base}?PageSize={size}"),
        };
        let start = Instant::now();
        let body: serde_json::Value = client.get(&url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        latencies.push(start.elapsed());
        assert_eq!(body["items"].as_array().unwrap().len(), size);
        cursor = body["nextPageToken"].as_str().map(str::to_owned);
    }
    latencies.sort();
    latencies
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: tmp.path().to_owned(),
            role: Role::Api,
            jwt_secret: Some("bench-secret-0123456789".into()),
            ..Config::default()
        };
        // Seeded straight into the SQLite file (the bench measures the embedded default).
        let store = ragd_store::SqliteStore::open(&tmp.path().join("ragd.db")).await.unwrap();
        let (asset, op) = seed(&store).await;
        drop(store);

        let app = Application::build(&config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until(std::future::pending()));
        let token = ragd::token::mint(b"bench-secret-0123456789", "bench", "assets:read", Duration::from_secs(3600), "b").unwrap();
        let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
        let ops = format!("{base}/v1/tenants/bench/assets/{asset}/operations");

        let health = throughput(&client, &format!("{base}/healthz"), &token).await;
        let get = throughput(&client, &format!("{ops}/{op}"), &token).await;
        let small = page_walk(&client, &ops, &token, 50, 1000).await;
        let large = page_walk(&client, &ops, &token, 1000, 100).await;

        println!(
            "\nOperations API over {OPERATIONS} operations of one asset (SQLite, {CONCURRENCY} concurrent clients, {}s each)",
            RUN_FOR.as_secs()
        );
        println!("| measurement | value | vs /healthz (same run) |");
        println!("|---|---|---|");
        println!("| GET /healthz (peer: HTTP alone) | {health:.0} req/s | 1.00x |");
        println!("| GET operation (JWT + SQLite read) | {get:.0} req/s | {:.2}x |", get / health);
        for (name, l) in [("list page, PageSize=50 (1,000 pages walked)", &small), ("list page, PageSize=1000 (100 pages walked)", &large)]
        {
            println!(
                "| {name} | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms | |",
                percentile(l, 0.5).as_secs_f64() * 1e3,
                percentile(l, 0.99).as_secs_f64() * 1e3,
                l.last().unwrap().as_secs_f64() * 1e3
            );
        }
    });
}

/// One asset with `OPERATIONS` finished operations, written straight into the database.
async fn seed(store: &ragd_store::SqliteStore) -> (String, String) {
    let asset = uuid::Uuid::now_v7().to_string();
    let pool = store.pool();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO assets (id, tenant_id, display_name, source_type, parameters, vectorized, embedding_provider, embedding_model,
            chunk_size, chunk_overlap, budget, created_by, created_at, modified_at)
         VALUES (?1, 'bench', 'bench', 'TEXT', '{}', 1, 'local', 'all-MiniLM-L6-v2', 200, 40, '{\"tokens\":{},\"costs\":{}}', 'b', 0, 0)",
    )
    .bind(&asset)
    .execute(&mut *tx)
    .await
    .unwrap();
    let mut last = String::new();
    let start = 1_700_000_000_000i64;
    for i in 0..OPERATIONS {
        last = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO operations (id, tenant_id, asset_id, type, status, created_by, created_at, started_at, completed_at,
                items_total, items_processed, token_count, chunk_count)
             VALUES (?1, 'bench', ?2, 'REFRESH', 'COMPLETED', 'b', ?3, ?3, ?3 + 1000, 10, 10, 2000, 40)",
        )
        .bind(&last)
        .bind(&asset)
        .bind(start + i as i64 * 10)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    (asset, last)
}
