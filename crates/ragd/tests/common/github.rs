//! A stand-in for GitHub's REST API (api.github.com cannot be reached from here), for the
//! `GITHUB` tests and the fetch-ahead benchmark. It answers the three endpoints the source uses in
//! the shapes GitHub documents (`GET /repos/{owner}/{repo}`, `GET …/git/trees/{branch}?recursive=1`,
//! `GET …/git/blobs/{sha}` with `Accept: application/vnd.github.raw+json`), checks the headers
//! GitHub requires, answers 401 `{"message": "Bad credentials"}` to a wrong token and 403 with
//! `x-ratelimit-remaining: 0` when the rate limit is spent. Blob SHAs here are SHA-256 prefixes
//! rather than git's SHA-1: the source only compares them. `delay` holds every blob download, as a
//! round trip to the real API would.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TOKEN: &str = "gho_stand-in-token";

#[derive(Default)]
pub struct FakeGitHub {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    pub blob_downloads: AtomicUsize,
    pub rate_limited: std::sync::atomic::AtomicBool,
    delay: Duration,
    /// Blob downloads being served now, and the most there ever were at once.
    in_flight: AtomicUsize,
    pub most_in_flight: AtomicUsize,
}

fn sha(content: &[u8]) -> String {
    ragd_core::domain::content_hash(content)[..40].to_owned()
}

impl FakeGitHub {
    pub async fn start(delay: Duration) -> (String, Arc<FakeGitHub>) {
        let state = Arc::new(FakeGitHub {
            delay,
            ..Default::default()
        });
        let app = axum::Router::new()
            .route("/repos/{owner}/{repo}", axum::routing::get(repository))
            .route(
                "/repos/{owner}/{repo}/git/trees/{branch}",
                axum::routing::get(tree),
            )
            .route(
                "/repos/{owner}/{repo}/git/blobs/{sha}",
                axum::routing::get(blob),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, state)
    }

    pub fn set(&self, path: &str, content: &[u8]) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), content.to_vec());
    }
}

/// GitHub's checks, in its order: credentials, then the rate limit, then the required headers.
fn refuse(s: &FakeGitHub, h: &HeaderMap, accept: &str) -> Option<Response> {
    let header = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    if header("authorization") != format!("Bearer {TOKEN}") {
        let body = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"});
        return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
    }
    if s.rate_limited.load(Ordering::SeqCst) {
        let body = json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"});
        return Some(
            (
                StatusCode::FORBIDDEN,
                [
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1800000000"),
                ],
                axum::Json(body),
            )
                .into_response(),
        );
    }
    assert_eq!(header("x-github-api-version"), "2022-11-28");
    assert_eq!(header("accept"), accept);
    assert!(
        header("user-agent").starts_with("ragd/"),
        "GitHub rejects requests without a User-Agent"
    );
    None
}

async fn repository(
    State(s): State<Arc<FakeGitHub>>,
    Path((owner, repo)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = refuse(&s, &h, "application/vnd.github+json") {
        return r;
    }
    if (owner.as_str(), repo.as_str()) != ("acme", "handbook") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found", "status": "404"})),
        )
            .into_response();
    }
    axum::Json(json!({"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "handbook", "full_name": "acme/handbook",
        "private": true, "html_url": "https://github.com/acme/handbook", "default_branch": "main", "visibility": "private"}))
    .into_response()
}

async fn tree(
    State(s): State<Arc<FakeGitHub>>,
    Path((_, _, branch)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = refuse(&s, &h, "application/vnd.github+json") {
        return r;
    }
    assert_eq!(branch, "main");
    let files = s.files.lock().unwrap();
    let mut entries = vec![
        json!({"path": "docs", "mode": "040000", "type": "tree", "sha": "9fb037999f264ba9a7fc6274d15fa3ae2ab98312"}),
    ];
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

async fn blob(
    State(s): State<Arc<FakeGitHub>>,
    Path((_, _, wanted)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = refuse(&s, &h, "application/vnd.github.raw+json") {
        return r;
    }
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.most_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(s.delay).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let files = s.files.lock().unwrap();
    match files.values().find(|c| sha(c) == wanted) {
        Some(c) => {
            s.blob_downloads.fetch_add(1, Ordering::SeqCst);
            c.clone().into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response(),
    }
}
