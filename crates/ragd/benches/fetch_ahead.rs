//! Fetching ahead: a `GITHUB` repository of small files of real text (the system's license files
//! cut into ~120-word pieces) ingested end to end through the API with `ingest_fetch_ahead` 0 (one
//! file at a time: the peer) and 4 (the default), each on a fresh data directory, in one run.
//! GitHub is the suite's stand-in (`tests/common/github.rs`, its documented REST shapes), every
//! blob download held `RAGD_BENCH_DELAY_MS` (default 30 ms) as a round trip to api.github.com
//! would be; the rest (parse, chunk, embed with the local model, write) is real. The model is
//! loaded before the clock starts. Run: `cargo bench -p ragd --bench fetch_ahead` (needs the
//! model: `./scripts/test` fetches it).

#[path = "common/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../tests/common/github.rs"]
mod github;

use ragd::Application;
use serde_json::{Value, json};
use std::time::Duration;

const FILES: usize = 300;
const WORDS: usize = 120;

async fn ingest(api: &str, fetch_ahead: usize) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let config = ragd::config::Config {
        ingest_fetch_ahead: fetch_ahead,
        ..app::config(dir.path())
    };
    let app = Application::build(&config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let token = ragd::token::mint(
        app::SECRET.as_bytes(),
        "bench",
        "assets:read assets:write",
        Duration::from_secs(3600),
        "b",
    )
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let warm = post(
        "/v1/embeddings",
        json!({"model": "all-MiniLM-L6-v2", "input": ["warm up"]}),
    )
    .await
    .unwrap();
    assert!(warm.status().is_success(), "{}", warm.text().await.unwrap());

    let body = json!({"name": "Handbook", "config": {"sourceType": "GITHUB", "parameters": {"repository": "acme/handbook", "apiUrl": api}},
                      "auth": {"method": "API_KEY", "parameters": {"apiKey": github::TOKEN}}});
    let r: Value = post("/v1/tenants/bench/assets", body)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (asset, op) = (
        r["asset"]["id"].as_str().unwrap(),
        r["operation"]["id"].as_str().unwrap(),
    );
    let done = loop {
        let url = format!("{base}/v1/tenants/bench/assets/{asset}/operations/{op}:wait?timeout=60");
        let o: Value = client
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if o["done"] == json!(true) {
            break o;
        }
    };
    assert_eq!(
        (done["status"].as_str(), done["itemsProcessed"].as_u64()),
        (Some("COMPLETED"), Some(FILES as u64)),
        "{done}"
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    done
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let delay = Duration::from_millis(std::env::var("RAGD_BENCH_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(30));
        let (api, repo) = github::FakeGitHub::start(delay).await;
        let mut names: Vec<_> = std::fs::read_dir("/usr/share/common-licenses").unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        let text: String = names.iter().filter(|p| !p.is_symlink()).map(|p| std::fs::read_to_string(p).unwrap()).collect();
        let words: Vec<&str> = text.split_whitespace().collect();
        for i in 0..FILES {
            let start = i * WORDS % (words.len() - WORDS);
            repo.set(&format!("docs/{i:04}.md"), words[start..start + WORDS].join(" ").as_bytes());
        }

        let runs = [(0, ingest(&api, 0).await), (4, ingest(&api, 4).await)];
        let seconds = |o: &Value| (o["completedAt"].as_f64().unwrap() - o["startedAt"].as_f64().unwrap()) / 1000.0;
        let peer = seconds(&runs[0].1);
        println!(
            "\nGITHUB ingestion, {FILES} files of ~{WORDS} words, each download held {} ms, local model, 1 worker\n",
            delay.as_millis()
        );
        println!("| ingest_fetch_ahead | wall s | files/s | tokens | vs one at a time |");
        println!("|---|---|---|---|---|");
        for (ahead, o) in &runs {
            let s = seconds(o);
            println!("| {ahead} | {s:.2} | {:.0} | {} | {:.2}x |", FILES as f64 / s, o["tokenCount"], peer / s);
        }
    });
}
