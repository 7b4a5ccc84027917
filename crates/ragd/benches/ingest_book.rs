//! End-to-end ingestion benchmark: the whole Rust Book from the toolchain's docs, crawled from a
//! local HTTP server exactly as the toolchain ships it (no sitemap; its own robots.txt) by a `WEB` asset and parsed, chunked, embedded with the
//! local model and written, all through the API. Prints pages/s, MB/s, tokens/s and the share of
//! wall time per stage; the peer is the embedding stage itself, so "overhead" is the time the
//! pipeline spends beyond embedding. Then a refresh with nothing changed.
//! Run: `cargo bench -p ragd --bench ingest_book` (needs the model: `./scripts/test` fetches it).

#[path = "common/app.rs"]
mod app;
#[path = "common/cpu.rs"]
mod cpu;
#[path = "../tests/api/site.rs"]
#[allow(dead_code)]
mod site;

use serde_json::{Value, json};
use std::collections::HashMap;

fn stage_micros(metrics: &str) -> HashMap<String, f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("ragd_ingest_stage_microseconds_total{"))
        .filter_map(|l| {
            let stage = l.split("stage=\"").nth(1)?.split('"').next()?.to_owned();
            Some((stage, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let web = tempfile::tempdir().unwrap();
        let site = site::Site::serve(web.path().to_owned()).await;
        let pages = site::rust_book_site(web.path(), &site.base);
        let api = app::Api::start(&app::config(dir.path())).await;
        let call = |path: String, body: Option<Value>| {
            let api = &api;
            async move { api.call(&path, body).await }
        };
        let metrics = || async { api.client.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap() };
        let wait = |asset: String, op: String| {
            let api = &api;
            async move { api.wait(&asset, &op).await }
        };

        let before = stage_micros(&metrics().await);
        let body = json!({"name": "The Rust Book", "config": {"sourceType": "WEB", "parameters": {
            "urls": [format!("{}/book/index.html", site.base)], "scope": "PREFIX", "maxPages": 1000}}});
        let r = call("assets".into(), Some(body)).await;
        let asset = r["asset"]["id"].as_str().unwrap().to_owned();
        let op = wait(asset.clone(), r["operation"]["id"].as_str().unwrap().to_owned()).await;
        assert_eq!(op["status"], "COMPLETED", "{op}");
        let after = stage_micros(&metrics().await);
        let wall = (op["completedAt"].as_f64().unwrap() - op["startedAt"].as_f64().unwrap()) / 1000.0;
        let docs = call(format!("assets/{asset}/documents?PageSize=1000"), None).await;
        let bytes: f64 = docs["items"].as_array().unwrap().iter().map(|d| d["fileSize"].as_f64().unwrap()).sum();
        let (n, tokens, chunks) =
            (op["itemsProcessed"].as_f64().unwrap(), op["tokenCount"].as_f64().unwrap(), op["chunkCount"].as_i64().unwrap());

        println!("\nIngesting the Rust Book ({} chapter pages) end to end, local model, 1 worker", pages.len());
        println!("CPU: {}\n", cpu::line());
        println!("| measurement | value |");
        println!("|---|---|");
        println!(
            "| pages indexed | {n} ({chunks} chunks, {:.1} MB of HTML; {} pages left out: noindex, redirects, duplicates) |",
            bytes / 1e6,
            op["itemsExcluded"]
        );
        println!("| wall time | {wall:.1} s |");
        println!("| pages/s | {:.2} |", n / wall);
        println!("| MB/s (HTML) | {:.3} |", bytes / 1e6 / wall);
        println!("| tokens/s (sent to the model) | {:.0} |", tokens / wall);
        println!("\n| stage | seconds (summed over tasks) | share of wall time |");
        println!("|---|---|---|");
        let mut embed = 0.0;
        for stage in ["fetch", "parse", "chunk", "embed", "write"] {
            let secs = (after.get(stage).copied().unwrap_or(0.0) - before.get(stage).copied().unwrap_or(0.0)) / 1e6;
            if stage == "embed" {
                embed = secs;
            }
            println!("| {stage} | {secs:.2} | {:.1} % |", secs / wall * 100.0);
        }
        println!(
            "\nPipeline overhead beyond embedding: {:.1} % of wall time (embedding alone: {:.0} tokens/s; end to end: {:.2}x of it)",
            (wall - embed) / wall * 100.0,
            tokens / embed,
            embed / wall
        );

        let r = call(format!("assets/{asset}:refresh"), Some(json!({}))).await;
        let op = wait(asset.clone(), r["operation"]["id"].as_str().unwrap().to_owned()).await;
        let refresh = (op["completedAt"].as_f64().unwrap() - op["startedAt"].as_f64().unwrap()) / 1000.0;
        println!(
            "Refresh with nothing changed: {refresh:.2} s ({:.1}x faster than the ingest), {} tokens, {} of {} pages skipped",
            wall / refresh,
            op["tokenCount"],
            op["itemsSkipped"],
            op["itemsTotal"]
        );
    });
}
