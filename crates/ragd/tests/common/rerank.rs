//! A stand-in for a re-ranking provider's `POST /v2/rerank` (Cohere's v2 API, which Jina's
//! `/v1/rerank` shares; neither can be reached from here), following its documented format:
//! `{model, query, documents: [string], top_n}` → `{id, results: [{index, relevance_score}],
//! meta}` sorted by relevance, 401 `{"message"}` for a wrong key. Its judgement is a rule a test
//! can predict: it prefers the documents it is sent last (relevance `(i + 1) / n`), so a
//! re-ranked search returns the fused candidates reversed. `delay` holds every answer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct FakeReranker {
    pub key: String,
    pub delay: Duration,
    /// Each request's query and documents, in order.
    pub requests: Mutex<Vec<(String, Vec<String>)>>,
}

impl FakeReranker {
    /// Starts the server; returns its base URL (up to `/v2`).
    pub async fn start(key: &str, delay: Duration) -> (String, Arc<FakeReranker>) {
        let server = Arc::new(FakeReranker {
            key: key.to_owned(),
            delay,
            requests: Default::default(),
        });
        let app = axum::Router::new()
            .route("/v2/rerank", axum::routing::post(rerank))
            .with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v2", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, server)
    }
}

async fn rerank(
    State(s): State<Arc<FakeReranker>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    tokio::time::sleep(s.delay).await;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {}", s.key) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"id": "e1", "message": "invalid api token"})),
        )
            .into_response();
    }
    let (Some(query), Some(documents)) = (body["query"].as_str(), body["documents"].as_array())
    else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "query and documents are required"})),
        )
            .into_response();
    };
    let documents: Vec<String> = documents
        .iter()
        .map(|d| d.as_str().unwrap_or_default().to_owned())
        .collect();
    let n = documents.len();
    let top_n = body["top_n"].as_u64().map_or(n, |t| t as usize).min(n);
    let results: Vec<Value> = (0..n)
        .rev()
        .take(top_n)
        .map(|i| json!({"index": i, "relevance_score": (i + 1) as f64 / n as f64}))
        .collect();
    s.requests
        .lock()
        .unwrap()
        .push((query.to_owned(), documents));
    axum::Json(
        json!({"id": "r1", "results": results, "meta": {"billed_units": {"search_units": 1}}}),
    )
    .into_response()
}
