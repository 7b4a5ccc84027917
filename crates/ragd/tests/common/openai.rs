//! A stand-in for OpenAI's `/v1/embeddings` (which cannot be reached from here), following its
//! documented wire format: `{model, input: [..]}` → `{object: "list", data: [{object, index,
//! embedding}], model, usage: {prompt_tokens, total_tokens}}`, 401 with `{"error": {"message"}}`
//! for a wrong key. Vectors are deterministic per text and of the model's dimension; `delay` holds
//! every request, so that benchmarks measure a slow remote provider rather than the CPU.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ragd_embed::remote::TokenCounter;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct FakeOpenAi {
    pub key: String,
    pub delay: Duration,
    /// Inputs and cl100k tokens received in successful requests.
    pub inputs: AtomicUsize,
    pub tokens: AtomicUsize,
    pub requests: AtomicUsize,
    /// Every input text received, in order.
    pub texts: std::sync::Mutex<Vec<String>>,
}

impl FakeOpenAi {
    /// Starts the server; returns its base URL (up to `/v1`).
    pub async fn start(key: &str, delay: Duration) -> (String, Arc<FakeOpenAi>) {
        let server = Arc::new(FakeOpenAi {
            key: key.to_owned(),
            delay,
            inputs: AtomicUsize::new(0),
            tokens: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            texts: Default::default(),
        });
        let app = axum::Router::new()
            .route("/v1/embeddings", axum::routing::post(embeddings))
            .with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, server)
    }
}

/// A unit vector of `dims` numbers that depends only on the text.
pub fn fake_vector(text: &str, dims: usize) -> Vec<f32> {
    let mut h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let v: Vec<f32> = (0..dims)
        .map(|_| {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            (h % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

async fn embeddings(
    State(s): State<Arc<FakeOpenAi>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    tokio::time::sleep(s.delay).await;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {}", s.key) {
        let shown: String = auth.trim_start_matches("Bearer ").chars().take(5).collect();
        let message = format!(
            "Incorrect API key provided: {shown}***. You can find your API key at https://platform.openai.com/account/api-keys."
        );
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}})),
        )
            .into_response();
    }
    let dims = match body["model"].as_str() {
        Some("text-embedding-3-large") => 3072,
        _ => 1536,
    };
    let inputs: Vec<String> = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let tokens: usize = inputs.iter().map(|t| TokenCounter::Cl100k.count(t)).sum();
    s.requests.fetch_add(1, Ordering::SeqCst);
    s.inputs.fetch_add(inputs.len(), Ordering::SeqCst);
    s.tokens.fetch_add(tokens, Ordering::SeqCst);
    s.texts.lock().unwrap().extend(inputs.iter().cloned());
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_vector(t, dims)}))
        .collect();
    axum::Json(json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}))
        .into_response()
}
