//! Operations: listing, progress while running, :wait, :watch, cancel in every state, and 429.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn ops(a: &str) -> String {
    format!("/v1/tenants/acme/assets/{a}/operations")
}

#[tokio::test]
async fn operations_are_listed_newest_first() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let (a, first) = app.create_text_asset("acme", &[("one", "1")]).await;
    app.wait_done("acme", &a, &first).await;
    let mut expected = vec![first];
    for _ in 0..2 {
        let r = app
            .post(
                &format!("/v1/tenants/acme/assets/{a}:refresh"),
                &t,
                json!({}),
            )
            .await;
        let id = r.body["operation"]["id"].as_str().unwrap().to_owned();
        app.wait_done("acme", &a, &id).await;
        expected.push(id);
    }
    expected.reverse();
    let r = app.get(&ops(&a), &t).await;
    assert_eq!(r.body["totalCount"], 3);
    let got: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, expected);
    let types: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["REFRESH", "REFRESH", "INGEST"]);
    app.get(&format!("{}/not-a-uuid", ops(&a)), &t)
        .await
        .problem(400, "/problems/validation");
    app.get(
        &format!("{}/0190c6c1-7d2b-7000-8000-000000000000", ops(&a)),
        &t,
    )
    .await
    .problem(404, "/problems/not-found");
}

#[tokio::test]
async fn counters_move_while_running_and_wait_returns_at_its_timeout() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let d = docs(5);
    let (a, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    assert_eq!(gate.reached().await.index, 0, "after discovery");
    let now = app.operation("acme", &a, &op).await;
    assert_eq!(
        (
            now["status"].as_str(),
            now["itemsTotal"].as_i64(),
            now["itemsProcessed"].as_i64()
        ),
        (Some("RUNNING"), Some(5), Some(0))
    );
    assert!(now["startedAt"].as_i64().is_some());
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/assets/{a}"), &t)
            .await
            .body["status"],
        "PROCESSING"
    );

    app.run_until_processed(&gate, &a, &op, 2).await;
    let now = app.operation("acme", &a, &op).await;
    assert_eq!(
        (now["itemsProcessed"].as_i64(), now["progress"].as_f64()),
        (Some(2), Some(0.4))
    );
    assert!(
        now["tokenCount"].as_i64().unwrap() > 0,
        "tokens are counted while running: {now}"
    );

    let r = app
        .get(&format!("{}/{op}:wait?timeout=0.2", ops(&a)), &t)
        .await;
    assert_eq!(
        (
            r.status,
            r.body["done"].as_bool(),
            r.body["status"].as_str()
        ),
        (StatusCode::OK, Some(false), Some("RUNNING"))
    );
    app.get(&format!("{}/{op}:wait?timeout=61", ops(&a)), &t)
        .await
        .problem(400, "/problems/validation");
    app.get(&format!("{}/{op}:wait?timeout=soon", ops(&a)), &t)
        .await
        .problem(400, "/problems/validation");

    gate.open();
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(
        (done["status"].as_str(), done["itemsProcessed"].as_i64()),
        (Some("COMPLETED"), Some(5))
    );
}

#[tokio::test]
async fn cancel_running_stops_at_the_next_checkpoint_and_keeps_what_was_written() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let d = docs(6);
    let (a, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;
    app.run_until_processed(&gate, &a, &op, 2).await;
    let r = app
        .post(&format!("{}/{op}:cancel", ops(&a)), &t, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["status"].as_str(), r.body["done"].as_bool()),
        (Some("RUNNING"), Some(false)),
        "running stays running until its checkpoint"
    );
    gate.open();
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    assert_eq!(done["itemsProcessed"], 2);
    assert!(done["completedAt"].as_i64().is_some());
    let asset = app
        .get(&format!("/v1/tenants/acme/assets/{a}"), &t)
        .await
        .body;
    assert_eq!(
        (asset["documentCount"].as_i64(), asset["status"].as_str()),
        (Some(2), Some("PARTIAL")),
        "written documents stay"
    );
}

#[tokio::test]
async fn cancel_pending_is_immediate_and_terminal_cancels_are_idempotent() {
    let gate = Gate::new();
    let app = TestApp::spawn_with(|c| c.workers = 1, Some(gate.hook())).await;
    let t = app.token("acme");
    let (busy, busy_op) = app.create_text_asset("acme", &[("one", "1")]).await;
    gate.reached().await; // the only worker is held by `busy`
    let (a, op) = app.create_text_asset("acme", &[("two", "2")]).await;
    assert_eq!(app.operation("acme", &a, &op).await["status"], "PENDING");
    let r = app
        .post(&format!("{}/{op}:cancel", ops(&a)), &t, json!({}))
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["done"].as_bool()),
        (Some("CANCELLED"), Some(true))
    );
    assert!(r.body["completedAt"].as_i64().is_some());
    assert!(r.body["startedAt"].is_null(), "it never started");
    gate.open();
    let done = app.wait_done("acme", &busy, &busy_op).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(
        app.operation("acme", &a, &op).await["status"],
        "CANCELLED",
        "a cancelled operation is never run"
    );

    // Terminal operations come back unchanged, however often.
    for _ in 0..2 {
        let again = app
            .post(&format!("{}/{busy_op}:cancel", ops(&busy)), &t, json!({}))
            .await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body, done);
    }
    // An operation under another asset of the same tenant is not found there.
    app.post(&format!("{}/{op}:cancel", ops(&busy)), &t, json!({}))
        .await
        .problem(404, "/problems/not-found");
    app.post(&format!("{}/{op}:frobnicate", ops(&a)), &t, json!({}))
        .await
        .problem(404, "/problems/not-found");
    app.request(Method::POST, &format!("{}/{op}", ops(&a)), Some(&t), None)
        .await
        .problem(405, "/problems/method-not-allowed");
    app.post(
        &format!("{}/{op}:cancel", ops(&a)),
        &token_for("acme", "assets:read"),
        json!({}),
    )
    .await
    .problem(403, "/problems/forbidden");
}

#[tokio::test]
async fn a_second_refresh_while_one_is_active_is_429_with_retry_after() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let (a, op) = app.create_text_asset("acme", &[("one", "1")]).await;
    gate.reached().await;
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let p = r.problem(429, "/problems/operation-active").clone();
    assert_eq!(p["operationId"], op.as_str());
    assert_eq!(p["retryAfterSeconds"], 5);
    assert_eq!(r.headers["retry-after"], "5");
    gate.open();
    app.wait_done("acme", &a, &op).await;
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "accepted once the first is done"
    );
}

#[tokio::test]
async fn watch_streams_snapshots_until_the_terminal_one() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let d = docs(3);
    let (a, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;
    let res = app
        .client
        .get(format!("{}{}/{op}:watch", app.base, ops(&a)))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    gate.open();
    // The stream ends by itself after the terminal snapshot.
    let text = tokio::time::timeout(std::time::Duration::from_secs(30), res.text())
        .await
        .expect("stream ended")
        .unwrap();
    let snapshots: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect();
    assert!(snapshots.len() >= 2, "{text}");
    assert_eq!(snapshots[0]["status"], "RUNNING");
    let last = snapshots.last().unwrap();
    assert_eq!(
        (last["status"].as_str(), last["itemsProcessed"].as_i64()),
        (Some("COMPLETED"), Some(3))
    );
    assert!(
        snapshots.iter().filter(|s| s["done"] == true).count() == 1,
        "exactly one terminal snapshot"
    );
    let processed: Vec<i64> = snapshots
        .iter()
        .map(|s| s["itemsProcessed"].as_i64().unwrap())
        .collect();
    assert!(
        processed.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {processed:?}"
    );
    app.get(
        &format!("{}/0190c6c1-7d2b-7000-8000-000000000000:watch", ops(&a)),
        &t,
    )
    .await
    .problem(404, "/problems/not-found");
}
