//! `GITHUB` assets against a stand-in for GitHub's REST API (api.github.com cannot be reached
//! from here). It answers the three endpoints the source uses in the shapes GitHub documents
//! (`GET /repos/{owner}/{repo}`, `GET …/git/trees/{branch}?recursive=1`, `GET …/git/blobs/{sha}`
//! with `Accept: application/vnd.github.raw+json`), checks the headers GitHub requires, answers
//! 401 `{"message": "Bad credentials"}` to a wrong token and 403 with `x-ratelimit-remaining: 0`
//! when the rate limit is spent. Blob SHAs here are SHA-256 prefixes rather than git's SHA-1:
//! the source only compares them.

use crate::github_standin::{FakeGitHub, TOKEN};
use crate::helpers::*;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

fn github_asset(api: &str, token: &str, repo: &str) -> Value {
    json!({"name": "Handbook", "config": {"sourceType": "GITHUB", "parameters": {"repository": repo, "apiUrl": api}},
           "auth": {"method": "API_KEY", "parameters": {"apiKey": token}}})
}

#[tokio::test]
async fn github_repositories_are_read_through_the_rest_api_by_blob_sha() {
    let (api, github) = FakeGitHub::start(std::time::Duration::ZERO).await;
    github.set(
        "docs/guide.md",
        b"# Guide\n\nThe lighthouse keeper logs every passing ship.\n",
    );
    github.set("docs/faq.txt", b"Ferries leave at dawn.\n");
    github.set("logo.png", b"\x89PNG binary");
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");

    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            github_asset(&api, TOKEN, "acme/handbook"),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["asset"]["assetLink"],
        format!("{api}/repos/acme/handbook")
    );
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!(
        (first["status"].as_str(), first["itemsTotal"].as_i64()),
        (Some("COMPLETED"), Some(2)),
        "{first}"
    );
    assert_eq!(github.blob_downloads.load(Ordering::SeqCst), 2);
    let hits = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "lighthouse keeper", "topK": 1}),
        )
        .await;
    assert_eq!(
        hits.body["results"][0]["sourceUrl"],
        "https://github.com/acme/handbook/blob/main/docs/guide.md",
        "{}",
        hits.body
    );

    // One file changes: only its blob is downloaded again.
    github.set("docs/faq.txt", b"Ferries leave at dawn and at dusk.\n");
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let second = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            second["itemsSkipped"].as_i64(),
            second["itemsProcessed"].as_i64()
        ),
        (Some(1), Some(2)),
        "{second}"
    );
    assert_eq!(github.blob_downloads.load(Ordering::SeqCst), 3);

    // A wrong token, an unknown repository and a spent rate limit fail with GitHub's reason.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            github_asset(&api, "gho_wrong", "acme/handbook"),
        )
        .await;
    let failed = app
        .wait_done(
            "acme",
            r.body["asset"]["id"].as_str().unwrap(),
            r.body["operation"]["id"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        failed["errorMessage"],
        "reading acme/handbook: GitHub answered 401 Unauthorized: Bad credentials"
    );
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            github_asset(&api, TOKEN, "acme/missing"),
        )
        .await;
    let failed = app
        .wait_done(
            "acme",
            r.body["asset"]["id"].as_str().unwrap(),
            r.body["operation"]["id"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        failed["errorMessage"],
        "reading acme/missing: GitHub answered 404 Not Found: Not Found"
    );
    github.rate_limited.store(true, Ordering::SeqCst);
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let limited = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(limited["status"], "FAILED");
    assert!(
        limited["errorMessage"]
            .as_str()
            .unwrap()
            .contains("rate limit is spent"),
        "{limited}"
    );
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/assets/{a}/documents"), &t)
            .await
            .body["totalCount"],
        2,
        "what was indexed stays"
    );

    for (params, field) in [
        (
            json!({"repository": "no-slash"}),
            "config.parameters.repository",
        ),
        (
            json!({"repository": "a/b", "apiUrl": "not a url"}),
            "config.parameters.apiUrl",
        ),
    ] {
        let r = app
            .post(
                "/v1/tenants/acme/assets",
                &t,
                json!({"config": {"sourceType": "GITHUB", "parameters": params}}),
            )
            .await;
        let p = r.problem(400, "/problems/validation");
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {p}"
        );
    }
}

#[tokio::test]
async fn files_are_fetched_ahead_within_the_configured_window() {
    let (api, github) = FakeGitHub::start(std::time::Duration::from_millis(40)).await;
    for i in 0..12 {
        github.set(
            &format!("docs/{i:02}.md"),
            format!("# Part {i}\n\nTide table number {i}.\n").as_bytes(),
        );
    }
    let app = TestApp::spawn_with(
        |c| {
            c.web_allow_hosts = "127.0.0.1".into();
            c.ingest_fetch_ahead = 2;
        },
        None,
    )
    .await;
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &app.token("acme"),
            github_asset(&api, TOKEN, "acme/handbook"),
        )
        .await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(
        (done["status"].as_str(), done["itemsProcessed"].as_i64()),
        (Some("COMPLETED"), Some(12)),
        "{done}"
    );
    // Downloads overlap (each is held 40 ms), but never more than the window: the two fetched
    // ahead and the one being indexed.
    let most = github.most_in_flight.load(Ordering::SeqCst);
    assert!((2..=3).contains(&most), "{most} downloads at once");
    assert_eq!(github.blob_downloads.load(Ordering::SeqCst), 12);
    let docs = app
        .get(
            &format!("/v1/tenants/acme/assets/{a}/documents?PageSize=20"),
            &app.token("acme"),
        )
        .await
        .body;
    assert_eq!(docs["totalCount"], 12, "{docs}");
}
