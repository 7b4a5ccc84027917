//! The OpenAI-compatible client against a fault-injecting test server that follows the
//! embeddings API's documented behaviour: limits per request, 429 with Retry-After, 5xx,
//! timeouts, a 30 % error rate, and a hopeless 400.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ragd_core::ports::embed::Embedder;
use ragd_embed::remote::{Limiter, RemoteConfig, RemoteEmbedder, TokenCounter};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
enum Behaviour {
    Ok,
    Status(u16, Option<&'static str>, &'static str),
    Sleep(Duration),
}

#[derive(Default)]
struct Server {
    /// Behaviours for the next requests, in order; then `fallback`.
    script: Mutex<VecDeque<Behaviour>>,
    /// Every n-th request (by a fixed pseudo-random pattern) fails with 503, in percent.
    error_rate: Option<usize>,
    always: Option<Behaviour>,
    requests: Mutex<Vec<(usize, usize)>>,
    seen: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

const DIMS: usize = 8;

fn fake_vector(text: &str) -> Vec<f32> {
    let h = text
        .bytes()
        .fold(17u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    (0..DIMS)
        .map(|k| ((h >> k) & 0xff) as f32 / 255.0)
        .collect()
}

async fn embeddings(State(s): State<Arc<Server>>, body: axum::Json<Value>) -> Response {
    let n = s.seen.fetch_add(1, Ordering::SeqCst);
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let behaviour = s
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or(s.always.clone())
        .unwrap_or(Behaviour::Ok);
    let behaviour = match s.error_rate {
        Some(rate) if (n * 37 + 11) % 100 < rate => {
            Behaviour::Status(503, None, r#"{"error":{"message":"overloaded"}}"#)
        }
        _ => behaviour,
    };
    let res = match behaviour {
        Behaviour::Status(code, retry_after, body) => {
            let mut r = (StatusCode::from_u16(code).unwrap(), body).into_response();
            if let Some(ra) = retry_after {
                r.headers_mut().insert("retry-after", ra.parse().unwrap());
            }
            r
        }
        Behaviour::Sleep(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Behaviour::Ok => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let inputs: Vec<String> = body["input"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            let tokens: usize = inputs.iter().map(|t| TokenCounter::Cl100k.count(t)).sum();
            s.requests.lock().unwrap().push((inputs.len(), tokens));
            let data: Vec<Value> =
                inputs.iter().enumerate().map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_vector(t)})).collect();
            axum::Json(
                json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
            )
            .into_response()
        }
    };
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    res
}

async fn serve(server: Server) -> (String, Arc<Server>) {
    let server = Arc::new(server);
    let app = axum::Router::new()
        .route("/v1/embeddings", axum::routing::post(embeddings))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, server)
}

fn client(base: &str, adjust: impl FnOnce(&mut RemoteConfig)) -> RemoteEmbedder {
    let mut c = RemoteConfig::openai(
        base,
        Some("sk-test-secret".into()),
        "text-embedding-3-small",
        DIMS,
    );
    c.initial_backoff = Duration::from_millis(10);
    c.timeout = Duration::from_millis(1000);
    adjust(&mut c);
    let limiter = Arc::new(Limiter::new(c.concurrency, None, None));
    RemoteEmbedder::new(c, limiter)
}

fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("chunk {i}: {}", "lorem ipsum dolor ".repeat(i % 7 + 1)))
        .collect()
}

#[tokio::test]
async fn batches_stay_within_limits_and_results_keep_input_order() {
    let (base, server) = serve(Server::default()).await;
    let c = client(&base, |c| {
        c.max_inputs_per_request = 5;
        c.max_tokens_per_request = 60;
    });
    let input = texts(23);
    let out = c.embed(input.clone()).await.unwrap();
    let requests = server.requests.lock().unwrap().clone();
    assert!(requests.len() >= 5, "{requests:?}");
    assert!(
        requests.iter().all(|&(n, t)| n <= 5 && t <= 60),
        "{requests:?}"
    );
    assert_eq!(requests.iter().map(|r| r.0).sum::<usize>(), 23);
    for (i, t) in input.iter().enumerate() {
        assert_eq!(out.vectors[i], fake_vector(t), "vector {i} in input order");
        assert_eq!(
            out.token_counts[i],
            TokenCounter::Cl100k.count(t),
            "token counts are the model tokenizer's"
        );
    }
    assert_eq!(
        out.total_tokens(),
        requests.iter().map(|r| r.1).sum::<usize>(),
        "tokens counted = tokens sent"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = Server::default();
    server.script.lock().unwrap().push_back(Behaviour::Status(
        429,
        Some("1"),
        r#"{"error":{"message":"rate limited"}}"#,
    ));
    let (base, server) = serve(server).await;
    let start = Instant::now();
    let out = client(&base, |_| {}).embed(texts(3)).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(out.vectors.len(), 3);
    assert_eq!(server.seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried() {
    let server = Server::default();
    server.script.lock().unwrap().extend([
        Behaviour::Status(500, None, "boom"),
        Behaviour::Sleep(Duration::from_secs(3)),
    ]);
    let (base, server) = serve(server).await;
    let out = client(&base, |c| c.timeout = Duration::from_millis(300))
        .embed(texts(2))
        .await
        .unwrap();
    assert_eq!(out.vectors.len(), 2);
    assert_eq!(server.seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_thirty_percent_error_rate_still_embeds_everything_within_the_concurrency_limit() {
    let (base, server) = serve(Server {
        error_rate: Some(30),
        ..Default::default()
    })
    .await;
    let c = client(&base, |c| {
        c.max_inputs_per_request = 2;
        c.concurrency = 3;
        c.max_retries = 10;
    });
    let input = texts(40);
    let out = c.embed(input.clone()).await.unwrap();
    for (i, t) in input.iter().enumerate() {
        assert_eq!(out.vectors[i], fake_vector(t));
    }
    assert!(
        server.seen.load(Ordering::SeqCst) > 20,
        "some requests failed and were retried"
    );
    assert!(
        server.max_in_flight.load(Ordering::SeqCst) <= 3,
        "concurrency limit held"
    );
}

#[tokio::test]
async fn a_hopeless_4xx_fails_at_once_with_the_providers_reason_and_never_the_key() {
    let server = Server::default();
    server.script.lock().unwrap().push_back(Behaviour::Status(
        401,
        None,
        r#"{"error":{"message":"Incorrect API key provided: sk-test-secret"}}"#,
    ));
    let (base, server) = serve(server).await;
    let err = client(&base, |_| {}).embed(texts(2)).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ragd_core::Error::Upstream(_)), "{err:?}");
    assert!(
        msg.contains("Incorrect API key") && msg.contains("401"),
        "{msg}"
    );
    assert!(
        !msg.contains("sk-test-secret"),
        "the key never appears: {msg}"
    );
    assert_eq!(server.seen.load(Ordering::SeqCst), 1, "no retry");
}

#[tokio::test]
async fn exhausted_retries_end_with_a_clear_error() {
    let (base, server) = serve(Server {
        always: Some(Behaviour::Status(
            503,
            None,
            r#"{"error":{"message":"overloaded"}}"#,
        )),
        ..Default::default()
    })
    .await;
    let err = client(&base, |c| c.max_retries = 2)
        .embed(texts(1))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("overloaded") && err.contains("gave up after 2 retries"),
        "{err}"
    );
    assert_eq!(server.seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn inputs_over_the_model_window_are_refused_before_sending() {
    let (base, server) = serve(Server::default()).await;
    let err = client(&base, |c| c.max_input_tokens = 5)
        .embed(vec!["one two three four five six seven".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("tokens"), "{err}");
    assert_eq!(server.seen.load(Ordering::SeqCst), 0);
}
