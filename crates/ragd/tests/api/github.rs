//! `GITHUB` assets against a stand-in for GitHub's REST API (api.github.com cannot be reached
//! from here). It answers the three endpoints the source uses in the shapes GitHub documents
//! (`GET /repos/{owner}/{repo}`, `GET …/git/trees/{branch}?recursive=1`, `GET …/git/blobs/{sha}`
//! with `Accept: application/vnd.github.raw+json`), checks the headers GitHub requires, answers
//! 401 `{"message": "Bad credentials"}` to a wrong token and 403 with `x-ratelimit-remaining: 0`
//! when the rate limit is spent. Blob SHAs here are SHA-256 prefixes rather than git's SHA-1:
//! the source only compares them.

use crate::helpers::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "gho_stand-in-token";

#[derive(Default)]
struct FakeGitHub {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    blob_downloads: AtomicUsize,
    rate_limited: std::sync::atomic::AtomicBool,
}

fn sha(content: &[u8]) -> String {
    ragd_core::model::content_hash(content)[..40].to_owned()
}

impl FakeGitHub {
    async fn start() -> (String, Arc<FakeGitHub>) {
        let state = Arc::new(FakeGitHub::default());
        let app = axum::Router::new()
            .route("/repos/{owner}/{repo}", axum::routing::get(repository))
            .route("/repos/{owner}/{repo}/git/trees/{branch}", axum::routing::get(tree))
            .route("/repos/{owner}/{repo}/git/blobs/{sha}", axum::routing::get(blob))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, state)
    }

    fn set(&self, path: &str, content: &[u8]) {
        self.files.lock().unwrap().insert(path.to_owned(), content.to_vec());
    }
}

/// GitHub's checks, in its order: credentials, then the rate limit, then the required headers.
fn refuse(s: &FakeGitHub, h: &HeaderMap, accept: &str) -> Option<Response> {
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if header("authorization") != format!("Bearer {TOKEN}") {
        let body = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"});
        return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
    }
    if s.rate_limited.load(Ordering::SeqCst) {
        let body = json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"});
        return Some(
            (StatusCode::FORBIDDEN, [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1800000000")], axum::Json(body))
                .into_response(),
        );
    }
    assert_eq!(header("x-github-api-version"), "2022-11-28");
    assert_eq!(header("accept"), accept);
    assert!(header("user-agent").starts_with("ragd/"), "GitHub rejects requests without a User-Agent");
    None
}

async fn repository(State(s): State<Arc<FakeGitHub>>, Path((owner, repo)): Path<(String, String)>, h: HeaderMap) -> Response {
    if let Some(r) = refuse(&s, &h, "application/vnd.github+json") {
        return r;
    }
    if (owner.as_str(), repo.as_str()) != ("acme", "handbook") {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Not Found", "status": "404"}))).into_response();
    }
    axum::Json(json!({"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "handbook", "full_name": "acme/handbook",
        "private": true, "html_url": "https://github.com/acme/handbook", "default_branch": "main", "visibility": "private"}))
    .into_response()
}

async fn tree(State(s): State<Arc<FakeGitHub>>, Path((_, _, branch)): Path<(String, String, String)>, h: HeaderMap) -> Response {
    if let Some(r) = refuse(&s, &h, "application/vnd.github+json") {
        return r;
    }
    assert_eq!(branch, "main");
    let files = s.files.lock().unwrap();
    let mut entries = vec![json!({"path": "docs", "mode": "040000", "type": "tree", "sha": "9fb037999f264ba9a7fc6274d15fa3ae2ab98312"})];
    for (path, content) in files.iter() {
        entries.push(json!({"path": path, "mode": "100644", "type": "blob", "sha": sha(content), "size": content.len(),
            "url": format!("https://api.github.com/repos/acme/handbook/git/blobs/{}", sha(content))}));
    }
    entries.push(json!({"path": "vendor/lib", "mode": "160000", "type": "commit", "sha": "7638417db6d59f3c431d3e1f261cc637155684cd"}));
    axum::Json(
        json!({"sha": "cd8274d15fa3ae2ab983129fb037999f264ba9a7", "url": "https://api.github.com/…", "tree": entries, "truncated": false}),
    )
    .into_response()
}

async fn blob(State(s): State<Arc<FakeGitHub>>, Path((_, _, wanted)): Path<(String, String, String)>, h: HeaderMap) -> Response {
    if let Some(r) = refuse(&s, &h, "application/vnd.github.raw+json") {
        return r;
    }
    let files = s.files.lock().unwrap();
    match files.values().find(|c| sha(c) == wanted) {
        Some(c) => {
            s.blob_downloads.fetch_add(1, Ordering::SeqCst);
            c.clone().into_response()
        }
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Not Found"}))).into_response(),
    }
}

fn github_asset(api: &str, token: &str, repo: &str) -> Value {
    json!({"name": "Handbook", "config": {"sourceType": "GITHUB", "parameters": {"repository": repo, "apiUrl": api}},
           "auth": {"method": "API_KEY", "parameters": {"apiKey": token}}})
}

#[tokio::test]
async fn github_repositories_are_read_through_the_rest_api_by_blob_sha() {
    let (api, github) = FakeGitHub::start().await;
    github.set("docs/guide.md", b"# Guide\n\nThe lighthouse keeper logs every passing ship.\n");
    github.set("docs/faq.txt", b"Ferries leave at dawn.\n");
    github.set("logo.png", b"\x89PNG binary");
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");

    let r = app.post("/v1/tenants/acme/assets", &t, github_asset(&api, TOKEN, "acme/handbook")).await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["asset"]["assetLink"], format!("{api}/repos/acme/handbook"));
    let (a, op) = (r.body["asset"]["id"].as_str().unwrap().to_owned(), r.body["operation"]["id"].as_str().unwrap().to_owned());
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!((first["status"].as_str(), first["itemsTotal"].as_i64()), (Some("COMPLETED"), Some(2)), "{first}");
    assert_eq!(github.blob_downloads.load(Ordering::SeqCst), 2);
    let hits = app.post(&format!("/v1/tenants/acme/assets/{a}:search"), &t, json!({"query": "lighthouse keeper", "topK": 1})).await;
    assert_eq!(hits.body["results"][0]["sourceUrl"], "https://github.com/acme/handbook/blob/main/docs/guide.md", "{}", hits.body);

    // One file changes: only its blob is downloaded again.
    github.set("docs/faq.txt", b"Ferries leave at dawn and at dusk.\n");
    let r = app.post(&format!("/v1/tenants/acme/assets/{a}:refresh"), &t, json!({})).await;
    let second = app.wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!((second["itemsSkipped"].as_i64(), second["itemsProcessed"].as_i64()), (Some(1), Some(2)), "{second}");
    assert_eq!(github.blob_downloads.load(Ordering::SeqCst), 3);

    // A wrong token, an unknown repository and a spent rate limit fail with GitHub's reason.
    let r = app.post("/v1/tenants/acme/assets", &t, github_asset(&api, "gho_wrong", "acme/handbook")).await;
    let failed = app.wait_done("acme", r.body["asset"]["id"].as_str().unwrap(), r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!(failed["errorMessage"], "reading acme/handbook: GitHub answered 401 Unauthorized: Bad credentials");
    let r = app.post("/v1/tenants/acme/assets", &t, github_asset(&api, TOKEN, "acme/missing")).await;
    let failed = app.wait_done("acme", r.body["asset"]["id"].as_str().unwrap(), r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!(failed["errorMessage"], "reading acme/missing: GitHub answered 404 Not Found: Not Found");
    github.rate_limited.store(true, Ordering::SeqCst);
    let r = app.post(&format!("/v1/tenants/acme/assets/{a}:refresh"), &t, json!({})).await;
    let limited = app.wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!(limited["status"], "FAILED");
    assert!(limited["errorMessage"].as_str().unwrap().contains("rate limit is spent"), "{limited}");
    assert_eq!(app.get(&format!("/v1/tenants/acme/assets/{a}/documents"), &t).await.body["totalCount"], 2, "what was indexed stays");

    for (params, field) in [
        (json!({"repository": "no-slash"}), "config.parameters.repository"),
        (json!({"repository": "a/b", "apiUrl": "not a url"}), "config.parameters.apiUrl"),
    ] {
        let r = app.post("/v1/tenants/acme/assets", &t, json!({"config": {"sourceType": "GITHUB", "parameters": params}})).await;
        let p = r.problem(400, "/problems/validation");
        assert!(p["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{field}: {p}");
    }
}
