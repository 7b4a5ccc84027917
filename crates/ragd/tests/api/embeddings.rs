//! `POST /v1/embeddings`: the local model in the OpenAI wire format.

use crate::helpers::*;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn dot(a: &serde_json::Value, b: &serde_json::Value) -> f64 {
    a.as_array()
        .unwrap()
        .iter()
        .zip(b.as_array().unwrap())
        .map(|(x, y)| x.as_f64().unwrap() * y.as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn embeds_in_the_openai_format_with_real_vectors_and_token_usage() {
    let app = TestApp::spawn().await;
    let t = token_for("acme", "assets:read");
    let texts = [
        "How do I cancel an operation?",
        "Send a POST to the operation's :cancel method.",
        "Cats sleep sixteen hours a day.",
    ];
    let r = app
        .post(
            "/v1/embeddings",
            &t,
            json!({"input": texts, "model": "all-MiniLM-L6-v2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["object"].as_str(), r.body["model"].as_str()),
        (Some("list"), Some("all-MiniLM-L6-v2"))
    );
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(
            (d["object"].as_str(), d["index"].as_u64()),
            (Some("embedding"), Some(i as u64))
        );
        assert_eq!(d["embedding"].as_array().unwrap().len(), 384);
        assert!(
            (dot(&d["embedding"], &d["embedding"]) - 1.0).abs() < 1e-4,
            "unit vectors"
        );
    }
    // The answer is closer to its question than an unrelated sentence is.
    assert!(
        dot(&data[0]["embedding"], &data[1]["embedding"])
            > dot(&data[0]["embedding"], &data[2]["embedding"]) + 0.1
    );
    // Usage counts the model's own tokens: [CLS] how do i cancel an operation ? [SEP] is 9.
    let one = app
        .post(
            "/v1/embeddings",
            &t,
            json!({"input": texts[0], "model": "sentence-transformers/all-MiniLM-L6-v2"}),
        )
        .await;
    assert_eq!(
        one.body["usage"],
        json!({"prompt_tokens": 9, "total_tokens": 9})
    );
    assert!(r.body["usage"]["prompt_tokens"].as_u64().unwrap() > 20);

    let b64 = app
        .post("/v1/embeddings", &t, json!({"input": [texts[0]], "model": "local", "encoding_format": "base64", "dimensions": 384}))
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.body["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let plain: Vec<f32> = one.body["data"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(floats.len(), 384);
    assert!(floats.iter().zip(&plain).all(|(a, b)| (a - b).abs() < 1e-6));
}

#[tokio::test]
async fn embedding_requests_are_validated_and_authenticated() {
    let app = TestApp::spawn().await;
    let t = token_for("acme", "assets:read");
    for (body, field) in [
        (
            json!({"input": "x", "model": "text-embedding-3-small"}),
            "model",
        ),
        (
            json!({"input": "x", "model": "local", "dimensions": 512}),
            "dimensions",
        ),
        (
            json!({"input": "x", "model": "local", "encoding_format": "hex"}),
            "encoding_format",
        ),
        (json!({"input": [], "model": "local"}), "input"),
        (json!({"input": ["ok", ""], "model": "local"}), "input[1]"),
        (
            json!({"input": "x", "model": "local", "temperature": 1}),
            "temperature",
        ),
        (json!({"model": "local"}), "body"),
    ] {
        let r = app.post("/v1/embeddings", &t, body.clone()).await;
        assert_eq!(
            r.problem(400, "/problems/validation")["errors"][0]["field"],
            field,
            "{body}"
        );
    }
    app.request(
        Method::POST,
        "/v1/embeddings",
        None,
        Some(json!({"input": "x", "model": "local"})),
    )
    .await
    .problem(401, "/problems/unauthenticated");
    app.post(
        "/v1/embeddings",
        &token_for("acme", "assets:write"),
        json!({"input": "x", "model": "local"}),
    )
    .await
    .problem(403, "/problems/forbidden");
}

#[tokio::test]
async fn without_the_model_embedding_says_what_is_missing_and_the_rest_works() {
    let app = TestApp::spawn_with(|c| c.model_dir = Some("/nonexistent/model".into()), None).await;
    let t = token_for("acme", "assets:read assets:write");
    let r = app
        .post(
            "/v1/embeddings",
            &t,
            json!({"input": "x", "model": "local"}),
        )
        .await;
    let detail = r.problem(503, "/problems/unavailable")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("model.onnx") && detail.contains("ragd model fetch"),
        "{detail}"
    );
    assert_eq!(
        app.post("/v1/tenants/acme/assets", &t, text_asset(&[("a", "b")]))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_openai_compatible_client_works_end_to_end_against_ragd_itself() {
    use ragd_core::ports::embed::Embedder;
    use ragd_embed::remote::{Limiter, RemoteConfig, RemoteEmbedder};
    let app = TestApp::spawn().await;
    let token = token_for("acme", "assets:read");
    let mut config = RemoteConfig::openai(
        &format!("{}/v1", app.base),
        Some(token.clone()),
        "all-MiniLM-L6-v2",
        384,
    );
    config.max_input_tokens = 10_000;
    config.max_inputs_per_request = 3;
    let limiter = std::sync::Arc::new(Limiter::new(2, None, None));
    let remote = RemoteEmbedder::new(config, limiter);
    let texts: Vec<String> = (0..7)
        .map(|i| format!("sentence number {i} about leases and workers"))
        .collect();
    let via_client = remote.embed(texts.clone()).await.unwrap();
    assert_eq!(via_client.vectors.len(), 7);
    // The same vectors as asking the endpoint directly in one request: batching changed nothing.
    let direct = app
        .post(
            "/v1/embeddings",
            &token,
            json!({"input": texts, "model": "local"}),
        )
        .await;
    for (i, d) in direct.body["data"].as_array().unwrap().iter().enumerate() {
        let v: Vec<f32> = d["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let cos: f32 = v
            .iter()
            .zip(&via_client.vectors[i])
            .map(|(a, b)| a * b)
            .sum();
        assert!(cos > 0.99999, "vector {i}: {cos}");
    }
    // A bad key is a hopeless 4xx: the client fails at once with ragd's reason.
    let bad = RemoteEmbedder::new(
        RemoteConfig::openai(
            &format!("{}/v1", app.base),
            Some("not-a-jwt".into()),
            "all-MiniLM-L6-v2",
            384,
        ),
        std::sync::Arc::new(Limiter::new(1, None, None)),
    );
    let err = bad.embed(vec!["x".into()]).await.unwrap_err().to_string();
    assert!(err.contains("401"), "{err}");
}
