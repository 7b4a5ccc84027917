//! `:estimate` (ragd): a change of chunking or model is priced before it runs, from the stored
//! texts and without calling the embedding provider, and the `REINDEX` it prices shows the same
//! figures as it starts and ends with them, and ends at once, naming the budget, when they
//! would cross one.

use crate::helpers::*;
use crate::openai::FakeOpenAi;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Debian's license texts: real prose of a few thousand words each.
fn licenses() -> Vec<(String, String)> {
    ["Apache-2.0", "GFDL-1.3", "Artistic", "CC0-1.0"]
        .iter()
        .map(|name| {
            let path = format!("/usr/share/common-licenses/{name}");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            (format!("{name}.txt"), text)
        })
        .collect()
}

#[tokio::test]
async fn an_estimate_equals_the_reindex_it_prices() {
    let (base, fake) = FakeOpenAi::start("sk-test", Duration::ZERO).await;
    let app = TestApp::spawn_with(
        |c| {
            c.openai_base_url = Some(base.clone());
            c.openai_api_key = Some("sk-test".into());
        },
        None,
    )
    .await;
    let t = app.token("acme");
    let docs = licenses();
    let (a, op) = app.create_text_asset("acme", &as_refs(&docs)).await;
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!(first["status"], "COMPLETED", "{first}");
    let path = format!("/v1/tenants/acme/assets/{a}");
    let estimate = |change: Value| {
        let (app, t, path) = (&app, &t, &path);
        async move {
            let r = app.post(&format!("{path}:estimate"), t, change).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }
    };

    // The settings the asset has cost nothing again: every text is in the embedding cache.
    let same = estimate(json!({})).await;
    assert_eq!(
        (
            same["documents"].as_i64(),
            same["chunks"].as_i64(),
            same["tokenCount"].as_i64()
        ),
        (Some(4), first["chunkCount"].as_i64(), Some(0)),
        "{same}"
    );

    // Another chunking, then another model: each REINDEX ends as its estimate said.
    for change in [
        json!({"embedding": {"chunkSize": 96, "chunkOverlap": 16}}),
        json!({"embedding": {"provider": "openai", "model": "text-embedding-3-small"}}),
    ] {
        let sent = fake.requests.load(Ordering::SeqCst);
        let priced = estimate(change.clone()).await;
        assert_eq!(
            fake.requests.load(Ordering::SeqCst),
            sent,
            "an estimate calls no provider"
        );
        assert!(priced["tokenCount"].as_i64().unwrap() > 1000, "{priced}");
        let r = app.patch(&path, &t, change).await;
        assert_eq!(r.body["operation"]["type"], "REINDEX", "{}", r.body);
        let done = app
            .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
            .await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let figures = |v: &Value, keys: [&str; 4]| keys.map(|k| v[k].clone());
        assert_eq!(
            figures(
                &done,
                ["itemsProcessed", "chunkCount", "tokenCount", "cost"]
            ),
            figures(&priced, ["documents", "chunks", "tokenCount", "cost"]),
            "estimate {priced}\noperation {done}"
        );
        assert_eq!(priced["embedding"], r.body["asset"]["embedding"]);
        assert_eq!(
            figures(
                &done["estimate"],
                ["documents", "chunks", "tokenCount", "cost"]
            ),
            figures(&priced, ["documents", "chunks", "tokenCount", "cost"]),
            "the REINDEX's own estimate: {done}"
        );
    }

    // With a budget that leaves less than a re-index would embed, the REINDEX ends at once,
    // naming the budget, and the index is as it was.
    let used = app.get(&path, &t).await.body["budget"]["totalTokenCount"]
        .as_i64()
        .unwrap();
    let r = app
        .patch(&path, &t, json!({"budget": {"tokenBudget": used + 10}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let change = json!({"embedding": {"chunkSize": 64, "chunkOverlap": 0}});
    let needed = estimate(change.clone()).await["tokenCount"]
        .as_i64()
        .unwrap();
    let before = app.get(&path, &t).await.body;
    let r = app.patch(&path, &t, change).await;
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["tokenCount"].as_i64(),
            done["estimate"]["tokenCount"].as_i64()
        ),
        (Some("FAILED"), Some(0), Some(needed)),
        "{done}"
    );
    let message = done["errorMessage"].as_str().unwrap();
    assert!(
        message.contains(&format!("would embed {needed} tokens"))
            && message.contains("tokenBudget"),
        "{message}"
    );
    let after = app.get(&path, &t).await.body;
    assert_eq!(
        (&after["chunkCount"], &after["documentCount"]),
        (&before["chunkCount"], &before["documentCount"])
    );

    // Another tenant's asset is not found; settings the asset could not take are a 400.
    let r = app
        .post(
            &format!("/v1/tenants/other/assets/{a}:estimate"),
            &app.token("other"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = app
        .post(
            &format!("{path}:estimate"),
            &t,
            json!({"embedding": {"chunkSize": 0}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}
