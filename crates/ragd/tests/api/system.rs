//! Anonymous endpoints, routing fallbacks, request ids, and the committed OpenAPI document.

use crate::helpers::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn health_ready_and_metrics_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let r = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    let r = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.body.as_str().unwrap();
    assert!(text.contains("ragd_http_requests_total"), "{text}");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    app.get("/nope", &t)
        .await
        .problem(404, "/problems/not-found");
    app.request(Method::PUT, "/v1/tenants/acme/assets", Some(&t), None)
        .await
        .problem(405, "/problems/method-not-allowed");
    let r = app
        .get(
            "/v1/tenants/acme/assets/0190c6c1-7d2b-7000-8000-000000000000:bogus",
            &t,
        )
        .await;
    r.problem(404, "/problems/not-found");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app
        .client
        .get(format!("{}/v1/tenants/acme/assets", app.base))
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID is generated");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["requestId"],
        id.as_str(),
        "problems carry the request id"
    );
}

#[tokio::test]
async fn openapi_is_served_and_the_committed_copy_matches_the_code() {
    let generated = ragd_api::openapi::document();
    let committed_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json");
    if std::env::var_os("RAGD_UPDATE_OPENAPI").is_some() {
        std::fs::write(&committed_path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date with the code; regenerate it with RAGD_UPDATE_OPENAPI=1 cargo test openapi"
    );
    let app = TestApp::spawn().await;
    let r = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        serde_json::from_str::<serde_json::Value>(&generated).unwrap()
    );
    for path in [
        "/v1/tenants/{tenant}/assets",
        "/v1/tenants/{tenant}/assets/{asset}/operations/{operation}:cancel",
    ] {
        assert!(r.body["paths"][path].is_object(), "{path} is documented");
    }
    assert!(r.body["x-problem-types"]["/problems/validation"].is_string());
}

#[tokio::test]
async fn roles_split_the_api_from_the_workers() {
    let worker = TestApp::spawn_with(|c| c.role = ragd::config::Role::Worker, None).await;
    let t = worker.token("acme");
    assert_eq!(
        worker
            .request(Method::GET, "/healthz", None, None)
            .await
            .status,
        StatusCode::OK
    );
    worker
        .get("/v1/tenants/acme/assets", &t)
        .await
        .problem(404, "/problems/not-found");

    // An API-only process on the same database accepts work that only the worker process runs.
    let mut config = worker.config.clone();
    config.role = ragd::config::Role::Api;
    let api = TestApp::spawn_on(config, None).await;
    let (a, op) = api.create_text_asset("acme", &[("one", "1")]).await;
    let done = api.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "COMPLETED");
}

/// A tenant over its request rate gets 429s with `Retry-After` that name the limit, while another
/// tenant is served; an anonymous caller cannot spend a tenant's rate.
#[tokio::test]
async fn limits_a_tenants_request_rate_with_429_and_retry_after() {
    let app = TestApp::spawn_with(
        |c| {
            c.rate_limit_per_second = 1;
            c.rate_limit_burst = 5;
        },
        None,
    )
    .await;
    for _ in 0..20 {
        app.request(Method::GET, "/v1/tenants/acme/assets", None, None)
            .await;
    }
    let (t, other) = (app.token("acme"), app.token("other"));
    let statuses: Vec<u16> =
        futures::future::join_all((0..8).map(|_| app.get("/v1/tenants/acme/assets", &t)))
            .await
            .iter()
            .map(|r| r.status.as_u16())
            .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    let r = app.get("/v1/tenants/acme/assets", &t).await;
    let p = r.problem(429, "/problems/rate-limited");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("1 requests per second"),
        "{p}"
    );
    assert!(
        r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let r = app.get("/v1/tenants/other/assets", &other).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A tenant with its most operations pending or running cannot queue another (429, nothing
/// stored); others can.
#[tokio::test]
async fn limits_a_tenants_active_operations() {
    let gate = Gate::new();
    let app = TestApp::spawn_with(|c| c.max_active_operations = 1, Some(gate.hook())).await;
    let (asset, op) = app
        .create_text_asset("acme", &[("a.md", "# A\n\nText.")])
        .await;
    gate.reached().await;
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &app.token("acme"),
            text_asset(&[("b.md", "B")]),
        )
        .await;
    let p = r.problem(429, "/problems/rate-limited");
    assert!(p["detail"].as_str().unwrap().contains("at once (1)"), "{p}");
    assert_eq!(
        app.get("/v1/tenants/acme/assets", &app.token("acme"))
            .await
            .body["totalCount"],
        1
    );
    app.create_text_asset("other", &[("c.md", "C")]).await;
    gate.open();
    app.wait_done("acme", &asset, &op).await;
    app.create_text_asset("acme", &[("b.md", "B")]).await;
}
