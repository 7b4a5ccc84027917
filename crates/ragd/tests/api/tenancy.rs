//! Tenant isolation on every endpoint: another tenant's token, or another tenant's resource ids
//! under one's own tenant, always get 404 and change nothing.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn foreign_tenants_get_404_on_every_endpoint() {
    let app = TestApp::spawn().await;
    let (a, op) = app.create_text_asset("acme", &[("one", "1")]).await;
    app.wait_done("acme", &a, &op).await;
    let outsider = token_for("mallory", "assets:read assets:write");
    let doc = ragd_core::domain::Document::id_for(a.parse().unwrap(), "one");
    let r = app
        .post(
            "/v1/tenants/acme/llmConfigs",
            &app.token("acme"),
            json!({"provider": "openai", "apiKey": "sk-acme"}),
        )
        .await;
    let cfg = r.body["id"].as_str().expect("a config").to_owned();

    let endpoints = |tenant: &str| -> Vec<(Method, String, Option<serde_json::Value>)> {
        let base = format!("/v1/tenants/{tenant}");
        vec![
            (Method::GET, format!("{base}/assets"), None),
            (
                Method::POST,
                format!("{base}/assets"),
                Some(text_asset(&[("x", "y")])),
            ),
            (Method::GET, format!("{base}/assets:sourceTypes"), None),
            (Method::GET, format!("{base}/assets:supportedTypes"), None),
            (Method::GET, format!("{base}/assets:embeddingModels"), None),
            (Method::GET, format!("{base}/assets/{a}"), None),
            (
                Method::PATCH,
                format!("{base}/assets/{a}"),
                Some(json!({"displayName": "pwned"})),
            ),
            (
                Method::POST,
                format!("{base}/assets/{a}:refresh"),
                Some(json!({})),
            ),
            (Method::GET, format!("{base}/assets/{a}/operations"), None),
            (
                Method::GET,
                format!("{base}/assets/{a}/operations/{op}"),
                None,
            ),
            (
                Method::GET,
                format!("{base}/assets/{a}/operations/{op}:wait?timeout=0"),
                None,
            ),
            (
                Method::GET,
                format!("{base}/assets/{a}/operations/{op}:watch"),
                None,
            ),
            (
                Method::POST,
                format!("{base}/assets/{a}/operations/{op}:cancel"),
                Some(json!({})),
            ),
            (Method::GET, format!("{base}/llmConfigs"), None),
            (Method::GET, format!("{base}/llmConfigs/{cfg}"), None),
            (
                Method::PATCH,
                format!("{base}/llmConfigs/{cfg}"),
                Some(json!({"apiKey": "sk-mallory"})),
            ),
            (Method::DELETE, format!("{base}/llmConfigs/{cfg}"), None),
            (Method::GET, format!("{base}/assets/{a}/documents"), None),
            (
                Method::GET,
                format!("{base}/assets/{a}/documents/{doc}"),
                None,
            ),
            (
                Method::GET,
                format!("{base}/assets/{a}/documents/{doc}/chunks"),
                None,
            ),
            (
                Method::DELETE,
                format!("{base}/assets/{a}/documents/{doc}"),
                None,
            ),
            (Method::DELETE, format!("{base}/assets/{a}"), None),
        ]
    };
    // Acme's paths with mallory's token: the tenant itself is not found.
    for (method, path, body) in endpoints("acme") {
        let r = app
            .request(method.clone(), &path, Some(&outsider), body)
            .await;
        r.problem(404, "/problems/not-found");
    }
    // Mallory's own tenant, acme's ids: those resources are not found there either.
    for (method, path, body) in endpoints("mallory") {
        let r = app
            .request(method.clone(), &path, Some(&outsider), body)
            .await;
        if path.contains(&a) || path.contains(&cfg) {
            r.problem(404, "/problems/not-found");
        } else {
            assert!(r.status.is_success(), "{method} {path}: {}", r.body);
        }
    }
    // Acme's asset is untouched.
    let t = app.token("acme");
    let asset = app.get(&format!("/v1/tenants/acme/assets/{a}"), &t).await;
    assert_eq!(
        (asset.status, asset.body["displayName"].as_str()),
        (StatusCode::OK, Some("Test asset"))
    );
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/assets/{a}/operations"), &t)
            .await
            .body["totalCount"],
        1
    );
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/assets/{a}/documents/{doc}"), &t)
            .await
            .status,
        StatusCode::OK,
        "the document survived"
    );
    assert_eq!(
        app.get("/v1/tenants/mallory/assets", &outsider).await.body["totalCount"],
        1,
        "only mallory's own asset"
    );
    let config = app
        .get(&format!("/v1/tenants/acme/llmConfigs/{cfg}"), &t)
        .await;
    assert_eq!(
        (config.status, config.body["modifiedAt"].clone()),
        (StatusCode::OK, r.body["modifiedAt"].clone()),
        "the config is untouched"
    );
}
