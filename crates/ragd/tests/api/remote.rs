//! Assets embedded by an OpenAI-compatible provider (a stand-in server following OpenAI's
//! documented wire format): the provider's vectors are stored and searched, tokens are counted
//! with the model's tokenizer and priced, and a rejected key fails the operation with the
//! provider's reason but never the key. A tenant's own endpoint and key (an LLM config named by
//! `embeddingLlmConfigId`) serve its assets without any server-wide provider.

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
        (
            "search.md",
            "# Search\n\nHybrid search fuses the vector ranking and the full-text ranking with reciprocal rank fusion.",
        ),
    ];
    let documents: Vec<Value> = documents
        .iter()
        .map(|(n, t)| json!({"name": n, "text": t, "contentType": "text/markdown"}))
        .collect();
    json!({"name": "Remote", "embedding": {"provider": "openai", "model": "text-embedding-3-small"},
           "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}})
}

/// An app whose OpenAI endpoint is the stand-in (expecting `KEY`), configured with `key`, after
/// ingesting `asset` (`remote_asset()` unless given): (app, stand-in, asset id, finished operation).
async fn ingest_remote(
    key: &str,
    asset: Option<Value>,
) -> (TestApp, std::sync::Arc<FakeOpenAi>, String, Value) {
    let (base, fake) = FakeOpenAi::start(KEY, Duration::ZERO).await;
    let app = TestApp::spawn_with(
        |c| {
            c.openai_base_url = Some(base.clone());
            c.openai_api_key = Some(key.into());
        },
        None,
    )
    .await;
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &app.token("acme"),
            asset.unwrap_or_else(remote_asset),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    (app, fake, a, done)
}

#[tokio::test]
async fn an_asset_on_an_openai_compatible_provider_is_embedded_there_counted_priced_and_searched() {
    let (app, fake, a, done) = ingest_remote(KEY, None).await;
    let t = app.token("acme");
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // What the operation counted is exactly what the provider received, by cl100k, and priced
    // at text-embedding-3-small's $0.02 per million tokens.
    let sent = fake.tokens.load(Ordering::SeqCst) as i64;
    assert!(sent > 20);
    assert_eq!(done["tokenCount"].as_i64(), Some(sent), "{done}");
    let texts = fake.texts.lock().unwrap().clone();
    assert_eq!(
        texts
            .iter()
            .map(|t| TokenCounter::Cl100k.count(t) as i64)
            .sum::<i64>(),
        sent
    );
    let asset = app
        .get(&format!("/v1/tenants/acme/assets/{a}"), &t)
        .await
        .body;
    assert_eq!(asset["embedding"]["provider"], "openai", "{asset}");
    let cost = done["cost"].as_f64().unwrap();
    assert!((cost - sent as f64 * 0.02 / 1e6).abs() < 1e-12, "{cost}");

    // The stored vectors are the provider's (1,536 numbers): searching with exactly the text a
    // chunk was embedded as finds that chunk with cosine 1.
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": texts[0], "searchMode": "VECTOR", "topK": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let top = &r.body["results"][0];
    assert!(
        (top["score"].as_f64().unwrap() - 1.0).abs() < 1e-3,
        "{}",
        r.body
    );
    assert!(texts[0].contains(top["content"].as_str().unwrap()), "{top}");
    assert_eq!(
        fake.texts.lock().unwrap().len(),
        texts.len() + 1,
        "the query was embedded by the provider too"
    );
}

#[tokio::test]
async fn a_rejected_key_fails_the_operation_with_the_providers_reason_and_never_the_key() {
    let wrong = "sk-wrong-key-9876543210";
    let (_app, _fake, _, done) = ingest_remote(wrong, None).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("401") && message.contains("Incorrect API key"),
        "{message}"
    );
    assert!(!message.contains(wrong), "{message}");
}

#[tokio::test]
async fn an_unconfigured_provider_fails_the_operation_saying_what_to_configure() {
    // As with a missing local model: the asset is kept and its operation says what is missing,
    // so a refresh after configuring the server succeeds without re-creating anything.
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &app.token("acme"),
            remote_asset(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let done = app
        .wait_done(
            "acme",
            r.body["asset"]["id"].as_str().unwrap(),
            r.body["operation"]["id"].as_str().unwrap(),
        )
        .await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("RAGD_OPENAI_API_KEY"),
        "{done}"
    );
}

/// An app with no server-wide provider whose crawler guard lets tenants' endpoints reach the
/// loopback stand-in.
async fn app_allowing_loopback() -> TestApp {
    TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await
}

#[tokio::test]
async fn a_tenants_llm_config_embeds_its_assets_with_its_own_key() {
    let (base, fake) = FakeOpenAi::start(KEY, Duration::ZERO).await;
    let app = app_allowing_loopback().await;
    let t = app.token("acme");
    let r = app
        .post(
            "/v1/tenants/acme/llmConfigs",
            &t,
            json!({"displayName": "Team OpenAI", "provider": "openai", "baseUrl": format!("{base}/"), "apiKey": KEY, "requestsPerMinute": 600}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let config = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["baseUrl"],
        base.as_str(),
        "stored without the trailing slash"
    );
    assert_eq!(
        (
            r.body["hasApiKey"].as_bool(),
            r.body["requestsPerMinute"].as_i64()
        ),
        (Some(true), Some(600))
    );
    assert!(
        !r.body.to_string().contains(KEY),
        "the key is write-only: {}",
        r.body
    );

    // The contract's spelling `embeddingLLMConfigId` is accepted too.
    let mut body = remote_asset();
    body["embeddingLLMConfigId"] = json!(config);
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = r.body["asset"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["asset"]["embeddingLlmConfigId"], config.as_str());
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        done["tokenCount"].as_i64(),
        Some(fake.tokens.load(Ordering::SeqCst) as i64),
        "{done}"
    );
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "leases", "searchMode": "VECTOR"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        !r.body["results"].as_array().unwrap().is_empty(),
        "the query was embedded through the config: {}",
        r.body
    );

    // Listed, read, and invisible to another tenant, which cannot name it either.
    let list = app.get("/v1/tenants/acme/llmConfigs", &t).await.body;
    assert_eq!(
        (list["totalCount"].as_i64(), list["items"][0]["id"].as_str()),
        (Some(1), Some(config.as_str())),
        "{list}"
    );
    let other = app.token("globex");
    assert_eq!(
        app.get(&format!("/v1/tenants/globex/llmConfigs/{config}"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mut foreign = remote_asset();
    foreign["embeddingLlmConfigId"] = json!(config);
    let r = app.post("/v1/tenants/globex/assets", &other, foreign).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["field"], "embeddingLlmConfigId",
        "{}",
        r.body
    );

    // A config in use cannot be deleted.
    let r = app
        .delete(&format!("/v1/tenants/acme/llmConfigs/{config}"), &t)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Rotating to a key the provider refuses takes effect at once: the provider's reason, never the key.
    let wrong = "sk-rotated-wrong-5555";
    let r = app
        .patch(
            &format!("/v1/tenants/acme/llmConfigs/{config}"),
            &t,
            json!({"apiKey": wrong}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let changed = json!({"sourceType": "TEXT", "parameters": {"documents": [{"name": "new.md", "text": "Text the provider has not seen."}]}});
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{a}"),
            &t,
            json!({"sourceConfig": changed}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("Incorrect API key") && !message.contains(wrong),
        "{message}"
    );
    // Nothing written before is lost: the indexed documents stay, and searchable.
    let docs = app
        .get(&format!("/v1/tenants/acme/assets/{a}/documents"), &t)
        .await
        .body;
    let mut names: Vec<&str> = docs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["fileName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["leases.md", "search.md"], "{docs}");
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "reciprocal rank fusion", "searchMode": "FULL_TEXT"}),
        )
        .await;
    assert_eq!(r.body["results"][0]["source"], "search.md", "{}", r.body);

    // Clearing the asset's config frees the config, which can then be deleted.
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{a}"),
            &t,
            json!({"embeddingLlmConfigId": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["asset"]["embeddingLlmConfigId"], Value::Null);
    assert_eq!(
        app.delete(&format!("/v1/tenants/acme/llmConfigs/{config}"), &t)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/llmConfigs/{config}"), &t)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The keys were sealed at rest (the embedded backend's files hold neither).
    if app.config.database_url.is_none() {
        for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ragd.db")
            {
                let bytes = std::fs::read(&path).unwrap();
                for key in [KEY, wrong] {
                    assert!(
                        !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                        "{key} in {}",
                        path.display()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn llm_configs_are_validated() {
    let app = app_allowing_loopback().await;
    let t = app.token("acme");
    let configs = "/v1/tenants/acme/llmConfigs";
    for (body, field) in [
        (json!({"provider": "local", "apiKey": "k"}), "provider"),
        (json!({"apiKey": "k"}), "provider"),
        (
            json!({"provider": "openai", "baseUrl": "ftp://example.com/v1"}),
            "baseUrl",
        ),
        (
            json!({"provider": "openai", "baseUrl": "https://user:pw@example.com/v1"}),
            "baseUrl",
        ),
        (json!({"provider": "openai", "apiKey": " "}), "apiKey"),
        (
            json!({"provider": "openai", "maxConcurrency": 0}),
            "maxConcurrency",
        ),
        (
            json!({"provider": "openai", "tokensPerMinute": -5}),
            "tokensPerMinute",
        ),
    ] {
        let r = app.post(configs, &t, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.body);
    }
    let r = app
        .post(
            configs,
            &t,
            json!({"provider": "openai", "organization": "x"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {}",
        r.body
    );
    assert_eq!(
        app.get(&format!("{configs}/not-a-uuid"), &t).await.status,
        StatusCode::BAD_REQUEST
    );

    let r = app
        .post(configs, &t, json!({"provider": "openai", "apiKey": KEY}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let config = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (r.body["displayName"].as_str(), r.body["baseUrl"].as_null()),
        (Some("openai"), Some(()))
    );
    let r = app
        .patch(
            &format!("{configs}/{config}"),
            &t,
            json!({"provider": "other"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // A local-model asset cannot name a config of a remote provider, nor an asset a config that does not exist.
    let text = json!({"sourceType": "TEXT", "parameters": {"documents": [{"name": "a.txt", "text": "hi"}]}});
    for id in [
        config.as_str(),
        "0190a0b0-0000-7000-8000-000000000000",
        "cfg-1",
    ] {
        let r = app
            .post(
                "/v1/tenants/acme/assets",
                &t,
                json!({"config": text, "embeddingLlmConfigId": id}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id}: {}", r.body);
        assert_eq!(
            r.body["errors"][0]["field"], "embeddingLlmConfigId",
            "{}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_private_endpoint_is_refused_unless_allowed() {
    let (base, _fake) = FakeOpenAi::start(KEY, Duration::ZERO).await;
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let r = app
        .post(
            "/v1/tenants/acme/llmConfigs",
            &t,
            json!({"provider": "openai", "baseUrl": base, "apiKey": KEY}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut body = remote_asset();
    body["embeddingLlmConfigId"] = r.body["id"].clone();
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let done = app
        .wait_done(
            "acme",
            r.body["asset"]["id"].as_str().unwrap(),
            r.body["operation"]["id"].as_str().unwrap(),
        )
        .await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("private") && message.contains("RAGD_WEB_ALLOW_HOSTS"),
        "{message}"
    );
}

#[tokio::test]
async fn small_documents_share_the_models_batches_and_every_token_is_counted_once() {
    // 70 one-chunk documents: embedded per document they would take 70 requests; batched across
    // documents they take three (32 + 32 + 6), and the operation still counts exactly what the
    // provider received and writes every document with its vector.
    let documents: Vec<Value> = (0..70)
        .map(|i| json!({"name": format!("note-{i:02}.md"), "text": format!("Note {i}: the lease of worker {i} expired."), "contentType": "text/markdown"}))
        .collect();
    let body = json!({"name": "Notes", "embedding": {"provider": "openai", "model": "text-embedding-3-small"},
                      "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}});
    let (app, fake, a, done) = ingest_remote(KEY, Some(body)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (done["itemsProcessed"].as_i64(), done["chunkCount"].as_i64()),
        (Some(70), Some(70)),
        "{done}"
    );
    assert_eq!(fake.inputs.load(Ordering::SeqCst), 70);
    assert_eq!(
        fake.requests.load(Ordering::SeqCst),
        3,
        "batches of 32 across documents"
    );
    assert_eq!(
        done["tokenCount"].as_i64(),
        Some(fake.tokens.load(Ordering::SeqCst) as i64),
        "{done}"
    );
    let docs = app
        .get(
            &format!("/v1/tenants/acme/assets/{a}/documents?PageSize=100"),
            &app.token("acme"),
        )
        .await
        .body;
    let items = docs["items"].as_array().unwrap();
    assert_eq!(items.len(), 70);
    assert!(
        items
            .iter()
            .all(|d| d["status"] == "INDEXED" && d["tokenCount"].as_i64() > Some(0)),
        "{docs}"
    );
    let per_document: i64 = items
        .iter()
        .map(|d| d["tokenCount"].as_i64().unwrap())
        .sum();
    assert_eq!(
        Some(per_document),
        done["tokenCount"].as_i64(),
        "each document's tokens are its own"
    );
}
