//! Durability: an operation whose process dies mid-way is finished by the next process on the
//! same database with exact counters and no duplicates; one whose workers keep dying gives up.

use crate::helpers::*;

#[tokio::test]
async fn a_killed_worker_is_replaced_and_the_operation_finishes_exactly() {
    let gate = Gate::new();
    let first = TestApp::spawn_with_gate(&gate).await;
    let d = docs(6);
    let (a, op) = first.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;
    first.run_until_processed(&gate, &a, &op, 3).await;
    let before = first.operation("acme", &a, &op).await;
    assert_eq!(
        (before["status"].as_str(), before["itemsProcessed"].as_i64()),
        (Some("RUNNING"), Some(3))
    );
    let config = first.config.clone();
    let tmp = first.kill(); // no graceful shutdown: the lease is still held and must expire

    let second = TestApp::spawn_on(config, None).await;
    let done = second.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (
            done["itemsTotal"].as_i64(),
            done["itemsProcessed"].as_i64(),
            done["itemsSkipped"].as_i64(),
            done["itemsFailed"].as_i64()
        ),
        (Some(6), Some(6), Some(0), Some(0)),
        "the documents the dead attempt wrote count as this operation's work, not as skipped: {done}"
    );
    assert_eq!(
        done["startedAt"], before["startedAt"],
        "startedAt is set on the first claim only"
    );

    let attempts = second
        .db_column(
            "SELECT CAST(attempts AS TEXT) FROM operations WHERE id = $1",
            &op,
        )
        .await;
    assert_eq!(attempts, [Some("2".to_owned())]);
    let keys = second
        .db_column(
            "SELECT source_key FROM documents WHERE asset_id = $1 ORDER BY source_key",
            &a,
        )
        .await;
    let mut expected: Vec<Option<String>> = d.iter().map(|(n, _)| Some(n.clone())).collect();
    expected.sort();
    assert_eq!(keys, expected, "every document once, none duplicated");
    let asset = second
        .get(
            &format!("/v1/tenants/acme/assets/{a}"),
            &second.token("acme"),
        )
        .await
        .body;
    assert_eq!(
        (asset["status"].as_str(), asset["documentCount"].as_i64()),
        (Some("READY"), Some(6))
    );
    drop(second);
    drop(tmp);
}

#[tokio::test]
async fn an_operation_whose_workers_keep_dying_fails_after_max_attempts() {
    let gate = Gate::new();
    let first = TestApp::spawn_with(|c| c.max_attempts = 1, Some(gate.hook())).await;
    let (a, op) = first.create_text_asset("acme", &[("one", "1")]).await;
    gate.reached().await;
    let config = first.config.clone();
    let tmp = first.kill();

    let second = TestApp::spawn_on(config, None).await;
    let done = second.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "FAILED");
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("gave up after 1 attempts"),
        "{done}"
    );
    drop(second);
    drop(tmp);
}

#[tokio::test]
async fn cancelling_an_operation_whose_worker_died_ends_it_cancelled() {
    let gate = Gate::new();
    let first = TestApp::spawn_with(|c| c.lease_seconds = 3.0, Some(gate.hook())).await;
    let (a, op) = first
        .create_text_asset("acme", &[("one", "1"), ("two", "2")])
        .await;
    gate.reached().await;
    let config = first.config.clone();
    let tmp = first.kill();

    // The dead worker's lease is still running: the cancel is recorded, and whoever claims the
    // operation once the lease expires ends it CANCELLED instead of running it again.
    let second = TestApp::spawn_on(config, None).await;
    let t = second.token("acme");
    let r = second
        .post(
            &format!("/v1/tenants/acme/assets/{a}/operations/{op}:cancel"),
            &t,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK);
    let done = second.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    drop(second);
    drop(tmp);
}
