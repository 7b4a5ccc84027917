//! Re-ranking (ragd) against a stand-in provider that speaks Cohere's `/rerank`: the fused
//! candidates come back in the order the provider gives, scored by it; a provider that is too
//! slow or refuses leaves the fused order with the reason in `rerank.fallback`; a tenant's LLM
//! config of a re-ranking provider serves its searches; bad requests are 400s naming the field.

use crate::helpers::*;
use crate::rerank_standin::FakeReranker;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const KEY: &str = "co-test-rerank-0123456789";

/// An asset of eight short notes about the same subject, so that every one is a candidate.
async fn notes(app: &TestApp) -> String {
    let documents: Vec<Value> = (0..8)
        .map(|i| {
            json!({"name": format!("note-{i}.md"), "text": format!(
                "# Note {i}\n\nA worker renews the lease of its operation every few seconds; note {i} says why lease number {i} matters."
            )})
        })
        .collect();
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &app.token("acme"),
            json!({"name": "Notes", "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}}),
        )
        .await;
    app.ingested("acme", &r).await
}

async fn search(app: &TestApp, asset: &str, body: Value) -> Value {
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &app.token("acme"),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn chunk_ids(response: &Value) -> Vec<String> {
    response["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["chunkId"].as_str().unwrap().to_owned())
        .collect()
}

const QUERY: &str = "why does a worker renew its lease";

#[tokio::test]
async fn a_reranked_search_returns_the_candidates_in_the_providers_order() {
    let (base, provider) = FakeReranker::start(KEY, Duration::ZERO).await;
    let app = TestApp::spawn_with(
        |c| {
            c.rerank_base_url = Some(base.clone());
            c.rerank_api_key = Some(KEY.into());
        },
        None,
    )
    .await;
    let asset = notes(&app).await;
    let fused = search(&app, &asset, json!({"query": QUERY, "topK": 6})).await;
    assert!(fused.get("rerank").is_none(), "{fused}");
    let fused = chunk_ids(&fused);
    assert_eq!(fused.len(), 6);

    let r = search(
        &app,
        &asset,
        json!({"query": QUERY, "topK": 3, "rerank": {"model": "rerank-v3.5", "topN": 6}}),
    )
    .await;
    // The stand-in prefers what it is sent last: the six fused candidates, reversed, cut to 3.
    let reversed: Vec<String> = fused.iter().rev().take(3).cloned().collect();
    assert_eq!(chunk_ids(&r), reversed, "{r}");
    let scores: Vec<f64> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["score"].as_f64().unwrap())
        .collect();
    assert_eq!(
        scores,
        [1.0, 5.0 / 6.0, 4.0 / 6.0],
        "the provider's relevance"
    );
    assert_eq!(r["rerank"]["applied"], true, "{r}");
    assert_eq!(r["rerank"]["model"], "rerank-v3.5");
    assert_eq!(r["rerank"]["candidates"], 6);
    assert!(r["rerank"]["fallback"].is_null());

    // It read each candidate's text with its context (the note's title), and the query.
    let requests = provider.requests.lock().unwrap().clone();
    let (query, documents) = requests.last().unwrap();
    assert_eq!(query, QUERY);
    assert_eq!(documents.len(), 6);
    assert!(
        documents
            .iter()
            .all(|d| d.contains("Note") && d.contains("renews the lease")),
        "{documents:?}"
    );

    // Cross-asset search re-ranks too; topN defaults to at least topK.
    let r = app
        .post(
            "/v1/tenants/acme/search",
            &app.token("acme"),
            json!({"query": QUERY, "topK": 8, "rerank": {"model": "rerank-v3.5"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["rerank"]["applied"], true, "{}", r.body);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 8);
    assert_eq!(r.body["results"][0]["score"], 1.0);
}

#[tokio::test]
async fn a_slow_or_failing_reranker_leaves_the_fused_order_and_says_why() {
    let (slow, _) = FakeReranker::start(KEY, Duration::from_secs(3)).await;
    let app = TestApp::spawn_with(
        |c| {
            c.rerank_base_url = Some(slow.clone());
            c.rerank_api_key = Some(KEY.into());
            c.rerank_timeout_ms = 300;
        },
        None,
    )
    .await;
    let asset = notes(&app).await;
    let fused = search(&app, &asset, json!({"query": QUERY, "topK": 4})).await;
    let r = search(
        &app,
        &asset,
        json!({"query": QUERY, "topK": 4, "rerank": {"model": "rerank-v3.5"}}),
    )
    .await;
    assert_eq!(chunk_ids(&r), chunk_ids(&fused), "the fused order: {r}");
    assert_eq!(r["results"][0]["score"], fused["results"][0]["score"]);
    assert_eq!(r["rerank"]["applied"], false, "{r}");
    assert!(
        r["rerank"]["fallback"]
            .as_str()
            .unwrap()
            .contains("did not answer within 300 ms"),
        "{r}"
    );

    // A server without a re-ranker says so, and still answers.
    let bare = TestApp::spawn().await;
    let asset = notes(&bare).await;
    let r = search(
        &bare,
        &asset,
        json!({"query": QUERY, "rerank": {"model": "rerank-v3.5"}}),
    )
    .await;
    assert_eq!(r["results"].as_array().unwrap().len(), 8);
    assert!(
        r["rerank"]["fallback"]
            .as_str()
            .unwrap()
            .contains("no re-ranker is configured"),
        "{r}"
    );
}

#[tokio::test]
async fn a_tenants_llm_config_reranks_its_searches_with_its_own_key() {
    let (base, _) = FakeReranker::start(KEY, Duration::ZERO).await;
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");
    let config = |key: &str| json!({"displayName": "Team Cohere", "provider": "cohere", "baseUrl": base, "apiKey": key});
    let r = app
        .post("/v1/tenants/acme/llmConfigs", &t, config(KEY))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let good = r.body["id"].as_str().unwrap().to_owned();
    let wrong = "co-wrong-key-9876543210";
    let r = app
        .post("/v1/tenants/acme/llmConfigs", &t, config(wrong))
        .await;
    let bad = r.body["id"].as_str().unwrap().to_owned();
    let asset = notes(&app).await;

    let r = search(
        &app,
        &asset,
        json!({"query": QUERY, "topK": 2, "rerank": {"model": "rerank-v3.5", "topN": 4, "llmConfigId": good}}),
    )
    .await;
    assert_eq!(r["rerank"]["applied"], true, "{r}");
    assert_eq!(r["results"][0]["score"], 1.0);

    // The provider's refusal is the fallback's reason; the key is never shown.
    let r = search(
        &app,
        &asset,
        json!({"query": QUERY, "topK": 2, "rerank": {"model": "rerank-v3.5", "llmConfigId": bad}}),
    )
    .await;
    let reason = r["rerank"]["fallback"].as_str().unwrap();
    assert!(
        reason.contains("401") && reason.contains("invalid api token"),
        "{r}"
    );
    assert!(!r.to_string().contains(wrong));

    // An embedding provider's config, another tenant's config, a blank model, topN out of range.
    let r = app
        .post(
            "/v1/tenants/acme/llmConfigs",
            &t,
            json!({"provider": "openai", "apiKey": "sk-x"}),
        )
        .await;
    let openai = r.body["id"].as_str().unwrap().to_owned();
    let other = app
        .post(
            "/v1/tenants/globex/llmConfigs",
            &app.token("globex"),
            config(KEY),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (rerank, field, says) in [
        (
            json!({"model": "m", "llmConfigId": openai}),
            "rerank.llmConfigId",
            "re-ranking needs one for cohere or jina",
        ),
        (
            json!({"model": "m", "llmConfigId": other}),
            "rerank.llmConfigId",
            "no such LLM config",
        ),
        (json!({"model": " "}), "rerank.model", "is required"),
        (
            json!({"model": "m", "topN": 0}),
            "rerank.topN",
            "between 1 and 200",
        ),
        (
            json!({"model": "m", "topN": 201}),
            "rerank.topN",
            "between 1 and 200",
        ),
    ] {
        let r = app
            .post(
                &format!("/v1/tenants/acme/assets/{asset}:search"),
                &t,
                json!({"query": QUERY, "rerank": rerank}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rerank}: {}", r.body);
        let errors = r.body["errors"].to_string();
        assert!(
            errors.contains(field) && errors.contains(says),
            "{rerank}: {}",
            r.body
        );
    }
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &t,
            json!({"query": QUERY, "rerank": {"model": "m", "top_n": 3}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {}",
        r.body
    );
}
