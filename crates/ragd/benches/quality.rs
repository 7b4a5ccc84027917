//! Retrieval quality: the Cargo book as the toolchain publishes it (mdBook output, crawled from a
//! local HTTP server by a `WEB` asset, its `print.html` left out by `excludePatterns` as an
//! mdBook user would), and the questions of `bench/quality/cargo.tsv` (a third phrased in the
//! answering page's words, a third away from them, a third about a detail mid-page). For each
//! mode it prints hit@1, hit@5 and MRR@10 by page: a result is a hit when its page is one that
//! answers the question. `RAGD_QUALITY_GRID=1` adds hybrid's figures over a grid of fusion
//! settings. Run: `bash bench/quality.sh`.

#[path = "common/app.rs"]
mod app;
#[path = "common/cpu.rs"]
mod cpu;
#[path = "../tests/api/site.rs"]
#[allow(dead_code)]
mod site;

use serde_json::{Value, json};

struct Question {
    kind: String,
    text: String,
    pages: Vec<String>,
}

fn questions() -> Vec<Question> {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/quality/cargo.tsv");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Question {
                kind: f[0].into(),
                text: f[1].into(),
                pages: f[2].split(',').map(|p| format!("/cargo/{p}")).collect(),
            }
        })
        .collect()
}

/// hit@1, hit@5 and MRR@10 of the ranks found (`None`: not in the first 10).
fn figures(ranks: &[Option<usize>]) -> (f64, f64, f64) {
    let n = ranks.len() as f64;
    let hit = |k: usize| ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n;
    let mrr = ranks
        .iter()
        .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
        .sum::<f64>()
        / n;
    (hit(1), hit(5), mrr)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = std::process::Command::new("rustc").args(["--print", "sysroot"]).output().unwrap();
        let html = std::path::PathBuf::from(String::from_utf8(sysroot.stdout).unwrap().trim()).join("share/doc/rust/html");
        assert!(html.join("cargo/index.html").exists(), "the toolchain's docs are missing: rustup component add rust-docs");
        let site = site::Site::serve(html).await;
        let mut config = app::config(dir.path());
        config.rerank_base_url = std::env::var("RAGD_RERANK_BASE_URL").ok();
        config.rerank_api_key = std::env::var("RAGD_RERANK_API_KEY").ok();
        config.rerank_timeout_ms = 60_000;
        config.rate_limit_per_second = 0;
        let rerank_model = std::env::var("RAGD_BENCH_RERANK_MODEL").ok();
        let api = app::Api::start(&config).await;
        let call = |path: String, body: Option<Value>| {
            let api = &api;
            async move { api.call(&path, body).await }
        };

        let body = json!({"name": "The Cargo Book", "config": {"sourceType": "WEB", "parameters": {
            "urls": [format!("{}/cargo/index.html", site.base)], "scope": "PREFIX", "maxPages": 1000,
            "excludePatterns": ["/cargo/print.html"]}}});
        let r = call("assets".into(), Some(body)).await;
        let asset = r["asset"]["id"].as_str().unwrap().to_owned();
        let op = api.wait(&asset, r["operation"]["id"].as_str().unwrap()).await;
        assert_eq!(op["status"], "COMPLETED", "{op}");
        let questions = questions();

        // The rank of the first result from a page that answers, for each question.
        let ranks = |extra: Value| {
            let questions = &questions;
            let call = &call;
            let asset = asset.clone();
            async move {
                let mut ranks = Vec::new();
                let mut took = 0u64;
                for q in questions {
                    let mut body = json!({"query": q.text, "topK": 10});
                    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
                    let r = call(format!("assets/{asset}:search"), Some(body)).await;
                    assert!(r["results"].is_array(), "{r}");
                    if let Some(reason) = r["rerank"]["fallback"].as_str() {
                        panic!("the re-ranker failed: {reason}");
                    }
                    took += r["tookMs"].as_u64().unwrap();
                    let rank = r["results"].as_array().unwrap().iter().position(|x| {
                        let url = x["sourceUrl"].as_str().unwrap_or_default();
                        let path = url.split_once("://").map_or(url, |(_, rest)| &rest[rest.find('/').unwrap_or(rest.len())..]);
                        q.pages.iter().any(|p| p == path)
                    });
                    ranks.push(rank.map(|r| r + 1));
                }
                (ranks, took as f64 / questions.len() as f64)
            }
        };

        let mut modes = vec![
            ("vector", json!({"searchMode": "VECTOR"})),
            ("full text", json!({"searchMode": "FULL_TEXT"})),
            ("hybrid, RRF (rrfK 60, the default before)", json!({"searchMode": "HYBRID", "fusion": "RRF"})),
            ("hybrid (defaults: relative score fusion)", json!({"searchMode": "HYBRID"})),
        ];
        if let Some(model) = &rerank_model {
            modes.push(("hybrid + rerank", json!({"searchMode": "HYBRID", "rerank": {"model": model}})));
        }
        println!(
            "\nRetrieval quality: the Cargo book ({} pages, {} chunks), {} questions, by page",
            op["itemsProcessed"],
            op["chunkCount"],
            questions.len()
        );
        println!("CPU: {}", cpu::line());
        if let Some(model) = &rerank_model {
            println!("Re-ranker: {model}");
        }
        println!("\n| mode | hit@1 | hit@5 | MRR@10 | MRR@10 direct | MRR@10 paraphrase | MRR@10 buried | mean ms |");
        println!("|---|---|---|---|---|---|---|---|");
        for (name, extra) in modes {
            let (ranks, ms) = ranks(extra).await;
            let (h1, h5, mrr) = figures(&ranks);
            let by_kind = |kind: &str| {
                let r: Vec<Option<usize>> = questions.iter().zip(&ranks).filter(|(q, _)| q.kind == kind).map(|(_, r)| *r).collect();
                figures(&r).2
            };
            println!(
                "| {name} | {h1:.3} | {h5:.3} | {mrr:.3} | {:.3} | {:.3} | {:.3} | {ms:.1} |",
                by_kind("direct"),
                by_kind("paraphrase"),
                by_kind("buried")
            );
        }
        if let Ok(path) = std::env::var("RAGD_QUALITY_DUMP") {
            let mut dump = Vec::new();
            for q in &questions {
                let mut lists = json!({"question": q.text, "kind": q.kind, "pages": q.pages});
                for mode in ["VECTOR", "FULL_TEXT", "HYBRID"] {
                    let r = call(format!("assets/{asset}:search"), Some(json!({"query": q.text, "topK": 100, "searchMode": mode}))).await;
                    lists[mode] = r["results"].clone();
                }
                dump.push(lists);
            }
            std::fs::write(path, serde_json::to_string(&dump).unwrap()).unwrap();
        }
        if std::env::var("RAGD_QUALITY_GRID").is_ok() {
            println!("\n| hybrid: fusion, vectorWeight, ftsWeight | hit@1 | hit@5 | MRR@10 |");
            println!("|---|---|---|---|");
            for (vw, fw) in [(1.0, 1.0), (1.0, 0.5), (0.5, 1.0), (1.0, 0.7), (0.7, 1.0)] {
                for fusion in [json!({"rrfK": 2}), json!({"rrfK": 10}), json!({"rrfK": 60}), json!({"fusion": "RELATIVE_SCORE"})] {
                    let mut body = json!({"searchMode": "HYBRID", "vectorWeight": vw, "ftsWeight": fw});
                    body.as_object_mut().unwrap().extend(fusion.as_object().unwrap().clone());
                    let (ranks, _) = ranks(body).await;
                    let (h1, h5, mrr) = figures(&ranks);
                    println!("| {fusion}, {vw}, {fw} | {h1:.3} | {h5:.3} | {mrr:.3} |");
                }
            }
        }
    });
}
