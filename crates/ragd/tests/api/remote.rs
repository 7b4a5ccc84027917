//! Assets embedded by an OpenAI-compatible provider (a stand-in server following OpenAI's
//! documented wire format): the provider's vectors are stored and searched, tokens are counted
//! with the model's tokenizer and priced, and a rejected key fails the operation with the
//! provider's reason but never the key.

use crate::helpers::*;
use crate::openai::FakeOpenAi;
use ragd_embed::remote::TokenCounter;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

const KEY: &str = "sk-test-remote-0123456789";

fn remote_asset() -> Value {
    let documents = [
        (
            "leases.md",
            "# Leases\n\nEvery running operation holds a lease that its worker renews. When a worker dies its lease expires and another worker takes the operation over.",
        ),
        ("search.md", "# Search\n\nHybrid search fuses the vector ranking and the full-text ranking with reciprocal rank fusion."),
    ];
    let documents: Vec<Value> = documents.iter().map(|(n, t)| json!({"name": n, "text": t, "contentType": "text/markdown"})).collect();
    json!({"name": "Remote", "embedding": {"provider": "openai", "model": "text-embedding-3-small"},
           "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}})
}

/// An app whose OpenAI endpoint is the stand-in (expecting `KEY`), configured with `key`, after
/// ingesting `remote_asset()`: (app, stand-in, asset id, finished operation).
async fn ingest_remote(key: &str) -> (TestApp, std::sync::Arc<FakeOpenAi>, String, Value) {
    let (base, fake) = FakeOpenAi::start(KEY, Duration::ZERO).await;
    let app = TestApp::spawn_with(
        |c| {
            c.openai_base_url = Some(base.clone());
            c.openai_api_key = Some(key.into());
        },
        None,
    )
    .await;
    let r = app.post("/v1/tenants/acme/assets", &app.token("acme"), remote_asset()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let done = app.wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap()).await;
    (app, fake, a, done)
}

#[tokio::test]
async fn an_asset_on_an_openai_compatible_provider_is_embedded_there_counted_priced_and_searched() {
    let (app, fake, a, done) = ingest_remote(KEY).await;
    let t = app.token("acme");
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // What the operation counted is exactly what the provider received, by cl100k, and priced
    // at text-embedding-3-small's $0.02 per million tokens.
    let sent = fake.tokens.load(Ordering::SeqCst) as i64;
    assert!(sent > 20);
    assert_eq!(done["tokenCount"].as_i64(), Some(sent), "{done}");
    let texts = fake.texts.lock().unwrap().clone();
    assert_eq!(texts.iter().map(|t| TokenCounter::Cl100k.count(t) as i64).sum::<i64>(), sent);
    let asset = app.get(&format!("/v1/tenants/acme/assets/{a}"), &t).await.body;
    assert_eq!(asset["embedding"]["provider"], "openai", "{asset}");
    let cost = done["cost"].as_f64().unwrap();
    assert!((cost - sent as f64 * 0.02 / 1e6).abs() < 1e-12, "{cost}");

    // The stored vectors are the provider's (1,536 numbers): searching with exactly the text a
    // chunk was embedded as finds that chunk with cosine 1.
    let r =
        app.post(&format!("/v1/tenants/acme/assets/{a}:search"), &t, json!({"query": texts[0], "searchMode": "VECTOR", "topK": 2})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let top = &r.body["results"][0];
    assert!((top["score"].as_f64().unwrap() - 1.0).abs() < 1e-3, "{}", r.body);
    assert!(texts[0].contains(top["content"].as_str().unwrap()), "{top}");
    assert_eq!(fake.texts.lock().unwrap().len(), texts.len() + 1, "the query was embedded by the provider too");
}

#[tokio::test]
async fn a_rejected_key_fails_the_operation_with_the_providers_reason_and_never_the_key() {
    let wrong = "sk-wrong-key-9876543210";
    let (_app, _fake, _, done) = ingest_remote(wrong).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(message.contains("401") && message.contains("Incorrect API key"), "{message}");
    assert!(!message.contains(wrong), "{message}");
}

#[tokio::test]
async fn an_unconfigured_provider_fails_the_operation_saying_what_to_configure() {
    // As with a missing local model: the asset is kept and its operation says what is missing,
    // so a refresh after configuring the server succeeds without re-creating anything.
    let app = TestApp::spawn().await;
    let r = app.post("/v1/tenants/acme/assets", &app.token("acme"), remote_asset()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let done = app.wait_done("acme", r.body["asset"]["id"].as_str().unwrap(), r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert!(done["errorMessage"].as_str().unwrap().contains("RAGD_OPENAI_API_KEY"), "{done}");
}
