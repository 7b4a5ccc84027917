//! Benchmark of the operations API over 100k operations, on both backends: GET-operation
//! throughput under wrk (its own process, on the same machine, as the measurement) and
//! list-page latency, against `/healthz` measured in the same run as the peer (the cost of HTTP
//! itself on this machine), with the server's CPU time per request. PostgreSQL is the throwaway
//! server of the tests (on the same cores: its backends compete with ragd and wrk).
//! Run: `cargo bench -p ragd --bench operations_api` (installs Debian's `wrk` if missing).

#[path = "common/cpu.rs"]
mod cpu;

use ragd::Application;
use ragd::config::{Config, Role};
use std::time::{Duration, Instant};

const OPERATIONS: usize = 100_000;
const CONNECTIONS: usize = 32;
const RUN_FOR: Duration = Duration::from_secs(10);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// `wrk` against `url` (2 threads, `CONNECTIONS` connections, `RUN_FOR`): requests per second
/// and the p99 latency in milliseconds. wrk runs as its own process, as a user's load would.
fn wrk(url: &str, token: &str) -> (f64, f64, f64) {
    let cpu = cpu_seconds();
    let out = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{}s", RUN_FOR.as_secs()),
            "--latency",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}"), url])
        .output()
        .expect("wrk is needed: apt-get install wrk");
    let cpu = cpu_seconds() - cpu;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("Non-2xx"),
        "wrk failed: {text}"
    );
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .expect("wrk's Requests/sec")
        .trim()
        .parse()
        .unwrap();
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .expect("wrk's 99% latency")
        .trim();
    let ms = if let Some(us) = p99.strip_suffix("us") {
        us.parse::<f64>().unwrap() / 1e3
    } else if let Some(ms) = p99.strip_suffix("ms") {
        ms.parse().unwrap()
    } else {
        p99.trim_end_matches('s').parse::<f64>().unwrap() * 1e3
    };
    (rps, ms, cpu / (rps * RUN_FOR.as_secs_f64()) * 1e6)
}

/// CPU seconds (user + system) this process (the server) has used.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
}

/// Latencies of walking `pages` pages of `size` from the start of the list, one client.
async fn page_walk(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    size: usize,
    pages: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(pages);
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let url = match &cursor {
            Some(c) => format!("{base}?PageSize={size}&PageToken.Cursor={c}"),
            None => format!("{base}?PageSize={size}"),
        };
        let start = Instant::now();
        let body: serde_json::Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        latencies.push(start.elapsed());
        assert_eq!(body["items"].as_array().unwrap().len(), size);
        cursor = body["nextPageToken"].as_str().map(str::to_owned);
    }
    latencies.sort();
    latencies
}

/// Installs wrk from Debian if it is missing.
fn ensure_wrk() {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
    {
        return;
    }
    eprintln!("installing wrk (Debian) for the benchmark");
    let ok = std::process::Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "wrk is needed: apt-get install wrk"
    );
}

fn main() {
    ensure_wrk();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("\nOperations API over {OPERATIONS} operations of one asset (wrk: 2 threads, {CONNECTIONS} connections, {}s per row, on the same machine)", RUN_FOR.as_secs());
        println!("CPU: {}; load average before: {}", cpu::line(), std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
        println!("| backend | measurement | value | server CPU per request | vs /healthz (same run) |");
        println!("|---|---|---|---|---|");
        for backend in ["SQLite", "PostgreSQL"] {
            run(backend).await;
        }
    });
}

async fn run(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: tmp.path().to_owned(),
        role: Role::Api,
        jwt_secret: Some("bench-secret-0123456789".into()),
        ..Config::default()
    };
    // Seeded straight into the database.
    let (asset, op) = if backend == "SQLite" {
        let store = ragd_store::SqliteStore::open(&tmp.path().join("ragd.db"))
            .await
            .unwrap();
        seed_sqlite(&store).await
    } else {
        let url = ragd_store::postgres::throwaway_database()
            .await
            .expect("PostgreSQL for the benchmark");
        let store = ragd_store::PgStore::open(&url, 2).await.unwrap();
        config.database_url = Some(url);
        seed_postgres(&store).await
    };

    let app = Application::build(&config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let token = ragd::token::mint(
        b"bench-secret-0123456789",
        "bench",
        "assets:read",
        Duration::from_secs(3600),
        "b",
    )
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let ops = format!("{base}/v1/tenants/bench/assets/{asset}/operations");

    let (health, health_p99, health_cpu) = wrk(&format!("{base}/healthz"), &token);
    let (get, get_p99, get_cpu) = wrk(&format!("{ops}/{op}"), &token);
    let small = page_walk(&client, &ops, &token, 50, 1000).await;
    let large = page_walk(&client, &ops, &token, 1000, 100).await;

    println!(
        "| {backend} | GET /healthz (peer: HTTP alone) | {health:.0} req/s, p99 {health_p99:.2} ms | {health_cpu:.1} µs | 1.00x |"
    );
    println!(
        "| {backend} | GET operation (JWT + read) | {get:.0} req/s, p99 {get_p99:.2} ms | {get_cpu:.1} µs | {:.2}x |",
        get / health
    );
    for (name, l) in [
        ("list page, PageSize=50 (1,000 pages walked)", &small),
        ("list page, PageSize=1000 (100 pages walked)", &large),
    ] {
        println!(
            "| {backend} | {name} | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms | | |",
            percentile(l, 0.5).as_secs_f64() * 1e3,
            percentile(l, 0.99).as_secs_f64() * 1e3,
            l.last().unwrap().as_secs_f64() * 1e3
        );
    }
}

/// One PostgreSQL asset with `OPERATIONS` finished operations, in one statement.
async fn seed_postgres(store: &ragd_store::PgStore) -> (String, String) {
    let asset = uuid::Uuid::now_v7().to_string();
    let pool = store.pool();
    sqlx::query(
        "INSERT INTO assets (id, tenant_id, display_name, source_type, parameters, vectorized, embedding_provider, embedding_model,
            chunk_size, chunk_overlap, budget, created_by, created_at, modified_at)
         VALUES ($1, 'bench', 'bench', 'TEXT', '{}', TRUE, 'local', 'all-MiniLM-L6-v2', 200, 40, '{\"tokens\":{},\"costs\":{}}', 'b', 0, 0)",
    )
    .bind(&asset)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO operations (id, tenant_id, asset_id, type, status, created_by, created_at, started_at, completed_at,
            items_total, items_processed, token_count, chunk_count)
         SELECT gen_random_uuid()::text, 'bench', $1, 'REFRESH', 'COMPLETED', 'b', t, t, t + 1000, 10, 10, 2000, 40
         FROM generate_series(0, $2 - 1) AS i, LATERAL (SELECT 1700000000000 + i * 10 AS t) AS at",
    )
    .bind(&asset)
    .bind(OPERATIONS as i64)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    let last: String =
        sqlx::query_scalar("SELECT id FROM operations ORDER BY created_at DESC LIMIT 1")
            .fetch_one(pool)
            .await
            .unwrap();
    (asset, last)
}

/// One SQLite asset with `OPERATIONS` finished operations.
async fn seed_sqlite(store: &ragd_store::SqliteStore) -> (String, String) {
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
