//! Index generations (ragd): a change of model or chunking builds a new generation of the index
//! beside the serving one. Until it is complete every search reads the serving one only, with
//! its scores; then the new one only. Cancelled, the old one keeps serving and the new one leaves
//! no chunk behind. The replaced generation is kept for a rollback, then swept with its chunks.

use crate::helpers::*;
use crate::openai::FakeOpenAi;
use serde_json::{Value, json};
use std::time::Duration;

/// Real prose: Debian's license texts.
fn licenses() -> Vec<(String, String)> {
    ["Apache-2.0", "GFDL-1.3", "Artistic"]
        .iter()
        .map(|name| {
            let path = format!("/usr/share/common-licenses/{name}");
            (
                format!("{name}.txt"),
                std::fs::read_to_string(path).unwrap(),
            )
        })
        .collect()
}

/// Lets the operation's checkpoints pass one by one until it is done.
async fn pass_until_done(app: &TestApp, gate: &Gate, asset: &str, op: &str) -> Value {
    let done = app.wait_done("acme", asset, op);
    tokio::pin!(done);
    loop {
        tokio::select! {
            op = &mut done => return op,
            _ = gate.reached() => gate.release(1),
        }
    }
}

/// The asset, after asserting that generation `number` serves and none builds.
async fn served_generation(app: &TestApp, path: &str, number: i64) -> Value {
    let asset = app.get(path, &app.token("acme")).await.body;
    assert_eq!(
        (
            asset["servingGeneration"]["number"].as_i64(),
            asset["buildingGeneration"].is_null()
        ),
        (Some(number), true),
        "{asset}"
    );
    asset
}

/// How many chunks the tenant has, in every generation.
async fn stored_chunks(app: &TestApp) -> i64 {
    let n = app
        .db_column(
            "SELECT CAST(COUNT(*) AS TEXT) FROM chunks WHERE tenant_id = $1",
            "acme",
        )
        .await;
    n[0].as_deref().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_reindex_builds_beside_the_serving_index_and_swaps_at_once() {
    let gate = Gate::new();
    let (base, _fake) = FakeOpenAi::start("sk-test", Duration::ZERO).await;
    let app = TestApp::spawn_with(
        |c| {
            c.openai_base_url = Some(base.clone());
            c.openai_api_key = Some("sk-test".into());
        },
        Some(gate.hook()),
    )
    .await;
    let t = app.token("acme");
    let docs = licenses();
    let r = app
        .post("/v1/tenants/acme/assets", &t, text_asset(&as_refs(&docs)))
        .await;
    let a = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let first = pass_until_done(&app, &gate, &a, r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!(first["status"], "COMPLETED", "{first}");
    let path = format!("/v1/tenants/acme/assets/{a}");
    // Vector search: its scores are the serving model's alone (full-text scores also move with
    // the corpus statistics, which every generation's chunks share).
    let search = |query: &'static str| vector_search(&app, &a, query);
    let queries = [
        "patent license granted by contributors",
        "copies of the document",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(search(q).await);
    }
    let served = stored_chunks(&app).await;

    // Another model, of another dimension: the REINDEX builds generation 2 beside generation 1.
    let r = app
        .patch(
            &path,
            &t,
            json!({"embedding": {"provider": "openai", "model": "text-embedding-3-small"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reindex = r.body["operation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["asset"]["servingGeneration"]["number"], 1,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["asset"]["buildingGeneration"]["number"], 2,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["asset"]["servingGeneration"]["embedding"]["provider"], "local",
        "{}",
        r.body
    );
    // Held at its checkpoints as it builds: half-built, every search reads generation 1 only.
    let mut progress = Vec::new();
    for _ in 0..3 {
        gate.reached().await;
        let building = app.get(&path, &t).await.body["buildingGeneration"].clone();
        progress.push(building["progress"].as_f64().expect("the build's progress"));
        for (q, was) in queries.iter().zip(&before) {
            assert_eq!(
                &search(q).await,
                was,
                "while building, only the serving generation"
            );
        }
        gate.release(1);
    }
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1])
            && progress.iter().all(|p| (0.0..1.0).contains(p)),
        "the building generation's progress: {progress:?}"
    );
    assert!(
        stored_chunks(&app).await > served,
        "the new generation is written beside the old"
    );
    let done = pass_until_done(&app, &gate, &a, &reindex).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let asset = served_generation(&app, &path, 2).await;
    assert_eq!(
        asset["servingGeneration"]["embedding"]["provider"],
        "openai"
    );
    // Swapped at once: every result now comes from generation 2 (its own chunks, its own
    // model's scores).
    for (q, was) in queries.iter().zip(&before) {
        let now = search(q).await;
        let ids = |v: &Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["chunkId"].clone())
                .collect()
        };
        assert!(ids(&now).iter().all(|id| !ids(was).contains(id)), "{now}");
        assert!(!now.as_array().unwrap().is_empty());
    }
    let generation_2 = stored_chunks(&app).await - served;

    // A change cancelled while it builds: generation 2 keeps serving, unchanged, and what was
    // built of generation 3 is gone.
    let mut serving = Vec::new();
    for q in queries {
        serving.push(search(q).await);
    }
    let r = app
        .patch(
            &path,
            &t,
            json!({"embedding": {"chunkSize": 96, "chunkOverlap": 8}}),
        )
        .await;
    let cancelled = r.body["operation"]["id"].as_str().unwrap().to_owned();
    gate.reached().await;
    gate.release(1);
    gate.reached().await;
    let r = app
        .post(
            &format!("{path}/operations/{cancelled}:cancel"),
            &t,
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    gate.release(1);
    let done = pass_until_done(&app, &gate, &a, &cancelled).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    let asset = served_generation(&app, &path, 2).await;
    assert_eq!(
        asset["embedding"], asset["servingGeneration"]["embedding"],
        "settings as served"
    );
    for (q, was) in queries.iter().zip(&serving) {
        assert_eq!(&search(q).await, was);
    }
    assert_eq!(
        stored_chunks(&app).await,
        served + generation_2,
        "generation 1 (kept for a rollback) and 2; nothing of 3"
    );
}

/// Vector search results of `query` on the asset.
async fn vector_search(app: &TestApp, asset: &str, query: &str) -> Value {
    let body = json!({"query": query, "topK": 5, "searchMode": "VECTOR"});
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &app.token("acme"),
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["results"].clone()
}

#[tokio::test]
async fn a_rollback_serves_the_replaced_generation_again_until_the_sweep_drops_it() {
    let app = TestApp::spawn_with(|c| c.generation_retention_secs = 3600, None).await;
    let t = app.token("acme");
    let docs = licenses();
    let (a, op) = app.create_text_asset("acme", &as_refs(&docs)).await;
    app.wait_done("acme", &a, &op).await;
    let path = format!("/v1/tenants/acme/assets/{a}");
    let query = "patent license granted by contributors";
    let before = vector_search(&app, &a, query).await;
    let generation_1 = stored_chunks(&app).await;
    let r = app
        .patch(
            &path,
            &t,
            json!({"embedding": {"chunkSize": 64, "chunkOverlap": 0}}),
        )
        .await;
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let asset = app.get(&path, &t).await.body;
    assert_eq!(asset["previousGeneration"]["number"], 1, "{asset}");
    assert!(asset["previousGeneration"]["retiredAt"].is_i64(), "{asset}");
    assert_ne!(vector_search(&app, &a, query).await, before);

    // Back to generation 1, brought up to date by a forced refresh: the same results as before.
    let r = app.post(&format!("{path}:rollback"), &t, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["operation"]["type"], "REFRESH", "{}", r.body);
    assert_eq!(
        r.body["asset"]["servingGeneration"]["number"], 1,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["asset"]["previousGeneration"]["number"], 2,
        "{}",
        r.body
    );
    assert_eq!(r.body["asset"]["embedding"]["chunkSize"], 200, "{}", r.body);
    let refreshed = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(refreshed["status"], "COMPLETED", "{refreshed}");
    assert_eq!(vector_search(&app, &a, query).await, before);
    assert_eq!(app.get(&path, &t).await.body["chunkCount"], generation_1);

    // The sweep drops a kept generation once its retention has passed (here: at once), with
    // its chunks; then there is nothing to roll back to.
    let app = TestApp::spawn_with(|c| c.generation_retention_secs = 0, None).await;
    let (a, op) = app.create_text_asset("acme", &as_refs(&docs)).await;
    app.wait_done("acme", &a, &op).await;
    let path = format!("/v1/tenants/acme/assets/{a}");
    let r = app
        .patch(
            &path,
            &t,
            json!({"embedding": {"chunkSize": 64, "chunkOverlap": 0}}),
        )
        .await;
    app.wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    // The scheduler ticks every second; its sweep is awaited as a client would, by reading.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !app.get(&path, &t).await.body["previousGeneration"].is_null() {
        assert!(std::time::Instant::now() < deadline, "the sweep ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let serving = app.get(&path, &t).await.body["chunkCount"]
        .as_i64()
        .unwrap();
    assert_eq!(
        stored_chunks(&app).await,
        serving,
        "no chunk of generation 1 is left"
    );
    let r = app.post(&format!("{path}:rollback"), &t, json!({})).await;
    r.problem(400, "/problems/validation");
}
