//! Assets: create (with every validation), read, list search, patch, delete, refresh, catalogs.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ASSETS: &str = "/v1/tenants/acme/assets";

#[tokio::test]
async fn create_ingests_and_reports_the_asset_and_its_operation() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let body = json!({"name": "Handbook", "config": {"sourceType": "TEXT", "parameters": {"documents": [
        {"name": "intro.md", "text": "# Intro\nHello", "contentType": "text/markdown"},
        {"name": "page.html", "text": "<h1>Hi</h1>", "contentType": "text/html"},
        {"name": "notes.txt", "text": "plain"}]}}});
    let r = app.post(ASSETS, &t, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (asset, op) = (&r.body["asset"], &r.body["operation"]);
    assert_eq!(asset["displayName"], "Handbook");
    assert_eq!(asset["type"], "TEXT");
    assert_eq!(asset["config"]["sourceType"], "TEXT");
    assert_eq!(asset["embeddingLlmConfigId"], Value::Null);
    assert_eq!(
        asset["embedding"],
        json!({"provider": "local", "model": "all-MiniLM-L6-v2", "chunkSize": 200, "chunkOverlap": 40})
    );
    assert_eq!(asset["budget"]["pricePerMillionTokens"], 0.0);
    assert!(
        asset["createdAt"].as_i64().unwrap() > 1_700_000_000_000,
        "milliseconds since the epoch"
    );
    assert_eq!(
        (
            op["type"].as_str(),
            op["status"].as_str(),
            op["done"].as_bool()
        ),
        (Some("INGEST"), Some("PENDING"), Some(false))
    );
    assert_eq!(op["createdBy"], "tester");
    assert_eq!(op["tenantId"], "acme");

    let (a, o) = (asset["id"].as_str().unwrap(), op["id"].as_str().unwrap());
    let done = app.wait_done("acme", a, o).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (
            done["itemsTotal"].as_i64(),
            done["itemsProcessed"].as_i64(),
            done["itemsFailed"].as_i64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(done["progress"], 1.0);
    assert!(done["startedAt"].as_i64().unwrap() <= done["completedAt"].as_i64().unwrap());
    assert!(done["tokenCount"].as_i64().unwrap() > 0, "{done}");
    assert!(done["chunkCount"].as_i64().unwrap() >= 3, "{done}");
    assert_eq!(done["cost"], 0.0, "the local model is free");

    let got = app.get(&format!("{ASSETS}/{a}"), &t).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        (
            got.body["status"].as_str(),
            got.body["documentCount"].as_i64()
        ),
        (Some("READY"), Some(3))
    );
}

#[tokio::test]
async fn create_validates_and_names_the_field() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}, "colour": "red"}),
            "colour",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {}, "extra": 1}}),
            "config.extra",
        ),
        (json!({"name": "x"}), "body"),
        (
            json!({"config": {"sourceType": "CONFLUENCE", "parameters": {}}}),
            "config.sourceType",
        ),
        (
            json!({"config": {"sourceType": "WEB", "parameters": {"urls": ["ftp://x"], "maxPages": 0}}}),
            "config.parameters.urls[0]",
        ),
        (
            json!({"config": {"sourceType": "NOPE", "parameters": {}}}),
            "config.sourceType",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}], "x": 1}}}),
            "config.parameters.x",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {}}}),
            "config.parameters.documents",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": "abc"}}}),
            "config.parameters.documents",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": []}}}),
            "config.parameters.documents",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a"}]}}}),
            "config.parameters.documents[0].text",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b", "contentType": "image/png"}]}}}),
            "config.parameters.documents[0].contentType",
        ),
        (
            json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}, {"name": "a", "text": "c"}]}}}),
            "config.parameters.documents[1].name",
        ),
        (
            json!({"name": "  ", "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "name",
        ),
        (
            json!({"embedding": {"chunkSize": 1000}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "embedding.chunkSize",
        ),
        (
            json!({"embedding": {"chunkSize": 100, "chunkOverlap": 100}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "embedding.chunkOverlap",
        ),
        (
            json!({"embedding": {"model": "gpt-9"}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "embedding.model",
        ),
        (
            json!({"embedding": {"dims": 3}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "embedding.dims",
        ),
        (
            json!({"budget": {"tokenBudget": -1}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "budget.tokenBudget",
        ),
        (
            json!({"currencyBudget": {"costBudget": -0.5}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "currencyBudget.costBudget",
        ),
        (
            json!({"auth": {"method": "API_KEY", "parameters": {"key": "k"}}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "auth.method",
        ),
        (
            json!({"autoUpdate": {"strategy": "POLL", "pollFrequency": "DAILY"}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "autoUpdate",
        ),
        (
            json!({"autoUpdate": {"strategy": "SOMETIMES"}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "autoUpdate.strategy",
        ),
        (
            json!({"autoUpdate": {"strategy": "POLL", "pollFrequency": "DAILY", "pollHour": "24"}, "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}),
            "autoUpdate.pollHour",
        ),
        (
            json!({"config": {"sourceType": 5, "parameters": {}}}),
            "config.sourceType",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(ASSETS, &t, body.clone()).await;
        let p = r.problem(400, "/problems/validation");
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "expected {field} in {fields:?} for {body}: {p}"
        );
    }
    // Nothing was created by any of them.
    assert_eq!(app.get(ASSETS, &t).await.body["totalCount"], 0);

    let r = app
        .client
        .post(format!("{}{ASSETS}", app.base))
        .bearer_auth(&t)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .client
        .post(format!("{}{ASSETS}", app.base))
        .bearer_auth(&t)
        .body("name=x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn search_filters_names_case_insensitively_and_literally() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    for name in [
        "Rust Book",
        "rust reference",
        "Python docs",
        "100% coverage",
    ] {
        let mut body = text_asset(&[("a", "b")]);
        body["name"] = json!(name);
        assert_eq!(app.post(ASSETS, &t, body).await.status, StatusCode::CREATED);
    }
    let names = |r: Resp| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["displayName"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(app.get(&format!("{ASSETS}?search=RUST"), &t).await),
        ["rust reference", "Rust Book"]
    );
    let r = app.get(&format!("{ASSETS}?search=%25"), &t).await;
    assert_eq!(r.body["totalCount"], 1);
    assert_eq!(names(r), ["100% coverage"]);
    assert_eq!(
        app.get(&format!("{ASSETS}?search=zzz"), &t).await.body["totalCount"],
        0
    );
}

#[tokio::test]
async fn patch_starts_the_right_operation_or_none() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let (a, op) = app
        .create_text_asset("acme", &[("one", "first"), ("two", "second")])
        .await;
    app.wait_done("acme", &a, &op).await;
    let path = format!("{ASSETS}/{a}");

    let r = app
        .patch(&path, &t, json!({"displayName": "Renamed", "budget": {"tokenBudget": 1000}, "currencyBudget": {"dailyCostBudget": 2.5}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["asset"]["displayName"], "Renamed");
    assert_eq!(r.body["asset"]["budget"]["tokenBudget"], 1000);
    assert_eq!(r.body["asset"]["budget"]["dailyCostBudget"], 2.5);
    assert!(
        r.body.get("operation").is_none(),
        "names and budgets start nothing: {}",
        r.body
    );

    let r = app
        .patch(
            &path,
            &t,
            json!({"embedding": {"chunkSize": 120, "chunkOverlap": 20}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["operation"]["type"], "REINDEX");
    assert_eq!(r.body["asset"]["embedding"]["chunkSize"], 120);
    let reindex = r.body["operation"]["id"].as_str().unwrap().to_owned();
    let done = app.wait_done("acme", &a, &reindex).await;
    assert_eq!(
        (
            done["itemsProcessed"].as_i64(),
            done["itemsSkipped"].as_i64()
        ),
        (Some(2), Some(0)),
        "reindex re-processes everything"
    );

    let r = app
        .patch(
            &path,
            &t,
            json!({"embedding": {"chunkSize": 120, "chunkOverlap": 20}}),
        )
        .await;
    assert!(
        r.body.get("operation").is_none(),
        "an unchanged embedding starts nothing"
    );

    let r = app.patch(&path, &t, json!({"sourceConfig": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "one", "text": "first"}, {"name": "three", "text": "third"}]}}})).await;
    assert_eq!(r.body["operation"]["type"], "REFRESH", "{}", r.body);
    let refresh = r.body["operation"]["id"].as_str().unwrap().to_owned();
    let done = app.wait_done("acme", &a, &refresh).await;
    assert_eq!(
        (done["itemsTotal"].as_i64(), done["itemsSkipped"].as_i64()),
        (Some(2), Some(1)),
        "{done}"
    );
    assert_eq!(
        app.get(&path, &t).await.body["documentCount"],
        2,
        "'two' vanished from the source and was removed"
    );

    app.patch(
        &path,
        &t,
        json!({"sourceConfig": {"sourceType": "WEB", "parameters": {}}}),
    )
    .await
    .problem(400, "/problems/validation");
    let p = app.patch(&path, &t, json!({"sourceConfig": {"sourceType": "TEXT", "parameters": {"documents": [], "x": 1}}})).await;
    let fields: Vec<String> = p.problem(400, "/problems/validation")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["sourceConfig.parameters.x"],
        "PATCH names its own fields"
    );
    app.patch(&path, &t, json!({"nickname": "x"}))
        .await
        .problem(400, "/problems/validation");
    app.patch(&path, &t, json!({"displayName": ""}))
        .await
        .problem(400, "/problems/validation");
    app.patch(&path, &t, json!({"autoUpdate": {"strategy": "WEBHOOK"}}))
        .await
        .problem(400, "/problems/validation");
    let r = app
        .patch(&path, &t, json!({"disableAutoUpdate": true}))
        .await;
    assert_eq!(
        (r.status, r.body["asset"]["autoUpdate"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    app.patch(
        &format!("{ASSETS}/0190c6c1-7d2b-7000-8000-000000000000"),
        &t,
        json!({"displayName": "x"}),
    )
    .await
    .problem(404, "/problems/not-found");
}

#[tokio::test]
async fn patch_while_an_operation_is_active_is_429_and_changes_nothing() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let (a, op) = app.create_text_asset("acme", &[("one", "first")]).await;
    gate.reached().await;
    let r = app
        .patch(
            &format!("{ASSETS}/{a}"),
            &t,
            json!({"displayName": "New", "embedding": {"chunkSize": 64}}),
        )
        .await;
    let p = r.problem(429, "/problems/operation-active");
    assert_eq!(p["operationId"], op.as_str());
    assert_eq!(
        app.get(&format!("{ASSETS}/{a}"), &t).await.body["displayName"],
        "Test asset",
        "nothing was written"
    );
    gate.open();
    app.wait_done("acme", &a, &op).await;
}

#[tokio::test]
async fn delete_removes_the_asset_and_a_second_delete_is_404() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let (a, op) = app.create_text_asset("acme", &[("one", "first")]).await;
    app.wait_done("acme", &a, &op).await;
    let r = app.delete(&format!("{ASSETS}/{a}"), &t).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.delete(&format!("{ASSETS}/{a}"), &t)
        .await
        .problem(404, "/problems/not-found");
    app.get(&format!("{ASSETS}/{a}"), &t)
        .await
        .problem(404, "/problems/not-found");
    app.get(&format!("{ASSETS}/{a}/operations"), &t)
        .await
        .problem(404, "/problems/not-found");
    app.get(&format!("{ASSETS}/{a}/operations/{op}"), &t)
        .await
        .problem(404, "/problems/not-found");
    assert_eq!(app.get(ASSETS, &t).await.body["totalCount"], 0);
    app.delete(&format!("{ASSETS}/not-a-uuid"), &t)
        .await
        .problem(400, "/problems/validation");
}

#[tokio::test]
async fn deleting_an_asset_fails_its_running_operation_and_stops_the_worker() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let d = docs(5);
    let (a, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;
    app.run_until_processed(&gate, &a, &op, 2).await;
    assert_eq!(
        app.delete(&format!("{ASSETS}/{a}"), &t).await.status,
        StatusCode::NO_CONTENT
    );
    gate.open();

    // The operation is no longer reachable through the API; read the database to see how it ended.
    // Worker writes are fenced by the lease, which the delete ended, so nothing can follow.
    let ended = app
        .db_column(
            "SELECT status || ': ' || error_message FROM operations WHERE id = $1",
            &op,
        )
        .await;
    assert_eq!(ended, [Some("FAILED: asset deleted".to_owned())]);
    let documents = app
        .db_column(
            "SELECT CAST(COUNT(*) AS TEXT) FROM documents WHERE asset_id = $1",
            &a,
        )
        .await;
    assert_eq!(documents, [Some("0".to_owned())]);
}

#[tokio::test]
async fn refresh_skips_unchanged_documents_and_can_target_or_force() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let (a, op) = app
        .create_text_asset(
            "acme",
            &[("one", "first"), ("two", "second"), ("three", "third")],
        )
        .await;
    app.wait_done("acme", &a, &op).await;
    let refresh = |body: Value| {
        let (app, t, a) = (&app, &t, &a);
        async move { app.post(&format!("{ASSETS}/{a}:refresh"), t, body).await }
    };

    let r = refresh(json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["operation"]["type"], "REFRESH");
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            done["itemsTotal"].as_i64(),
            done["itemsSkipped"].as_i64(),
            done["tokenCount"].as_i64()
        ),
        (Some(3), Some(3), Some(0))
    );

    let r = refresh(json!({"force": true})).await;
    let done = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            done["itemsProcessed"].as_i64(),
            done["itemsSkipped"].as_i64()
        ),
        (Some(3), Some(0))
    );

    // Document ids are stable: derive one by listing through a targeted refresh of a known id.
    let unknown = "0190c6c1-7d2b-7000-8000-000000000000";
    let p = refresh(json!({"documentIds": [unknown]})).await;
    assert!(
        p.problem(400, "/problems/validation")["detail"]
            .as_str()
            .unwrap()
            .contains(unknown)
    );
    refresh(json!({"documentIds": ["nope"]}))
        .await
        .problem(400, "/problems/validation");
    refresh(json!({"everything": true}))
        .await
        .problem(400, "/problems/validation");

    let r = app
        .client
        .post(format!("{}{ASSETS}/{a}:refresh", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "an empty body is an empty request"
    );
    let body: Value = r.json().await.unwrap();
    app.wait_done("acme", &a, body["operation"]["id"].as_str().unwrap())
        .await;
    app.post(
        &format!("{ASSETS}/0190c6c1-7d2b-7000-8000-000000000000:refresh"),
        &t,
        json!({}),
    )
    .await
    .problem(404, "/problems/not-found");
    app.post(&format!("{ASSETS}/{a}"), &t, json!({}))
        .await
        .problem(405, "/problems/method-not-allowed");
}

#[tokio::test]
async fn a_document_that_fails_fails_alone_and_all_failing_fails_the_operation() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let (a, op) = app
        .create_text_asset("acme", &[("good", "text"), ("empty", "   ")])
        .await;
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(
        (
            done["itemsFailed"].as_i64(),
            done["itemsProcessed"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("empty: the document has no text"),
        "{done}"
    );
    assert_eq!(
        app.get(&format!("{ASSETS}/{a}"), &t).await.body["status"],
        "PARTIAL"
    );

    let (a, op) = app
        .create_text_asset("acme", &[("e1", ""), ("e2", "\n")])
        .await;
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("2 of 2 documents failed")
    );
    assert_eq!(
        app.get(&format!("{ASSETS}/{a}"), &t).await.body["status"],
        "FAILED"
    );
}

#[tokio::test]
async fn catalog_endpoints_describe_what_this_build_does() {
    let app = TestApp::spawn().await;
    let t = token_for("acme", "assets:read");
    let r = app.get("/v1/tenants/acme/assets:sourceTypes", &t).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["sourceType"] == "TEXT")
        .expect("TEXT is listed");
    assert_eq!(text["properties"][0]["name"], "documents");
    assert_eq!(text["properties"][0]["required"], true);
    assert_eq!(text["supportsOAuth"], false);

    let r = app.get("/v1/tenants/acme/assets:embeddingModels", &t).await;
    let local = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["provider"] == "local")
        .unwrap()
        .clone();
    assert_eq!(
        local,
        json!({"provider": "local", "model": "all-MiniLM-L6-v2", "dimensions": 384, "maxInputTokens": 256,
        "pricePerMillionTokens": 0.0, "local": true, "defaultChunkSize": 200, "defaultChunkOverlap": 40})
    );

    let r = app.get("/v1/tenants/acme/assets:supportedTypes", &t).await;
    let types: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contentType"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"text/markdown"));
    app.request(
        Method::POST,
        "/v1/tenants/acme/assets:sourceTypes",
        Some(&t),
        None,
    )
    .await
    .problem(405, "/problems/method-not-allowed");
}

#[tokio::test]
async fn prices_come_from_configuration_and_cost_follows_them() {
    let app = TestApp::spawn_with(
        |c| {
            c.prices.insert("openai/text-embedding-3-small".into(), 0.5);
        },
        None,
    )
    .await;
    let t = app.token("acme");
    let r = app.get("/v1/tenants/acme/assets:embeddingModels", &t).await;
    let small = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "text-embedding-3-small")
        .unwrap()
        .clone();
    assert_eq!(small["pricePerMillionTokens"], 0.5);
    let mut body = text_asset(&[("a", "b")]);
    body["embedding"] = json!({"model": "text-embedding-3-small"});
    let r = app.post(ASSETS, &t, body).await;
    assert_eq!(
        r.body["asset"]["embedding"],
        json!({"provider": "openai", "model": "text-embedding-3-small", "chunkSize": 512, "chunkOverlap": 64})
    );
    assert_eq!(r.body["asset"]["budget"]["pricePerMillionTokens"], 0.5);
}

#[tokio::test]
async fn credentials_in_a_url_are_refused_and_never_stored() {
    // Any URL-valued parameter of any source type: a password there would be stored and shown in
    // clear with the asset (`config.parameters`, `assetLink`); the 400 says where it belongs.
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let secret = "S3CR3T-in-the-url";
    let cases = [
        (
            json!({"sourceType": "GIT", "parameters": {"url": format!("https://user:{secret}@git.example.com/repo.git")}}),
            "config.parameters.url",
        ),
        (
            json!({"sourceType": "WEB", "parameters": {"urls": ["https://docs.example.com/", format!("http://user:{secret}@docs.example.com/")]}}),
            "config.parameters.urls[1]",
        ),
        (
            json!({"sourceType": "WEB", "parameters": {"urls": [format!("https://{secret}@docs.example.com/")]}}),
            "config.parameters.urls[0]",
        ),
        (
            json!({"sourceType": "S3", "parameters": {"bucket": "docs", "endpointUrl": format!("http://key:{secret}@s3.example.com")}}),
            "config.parameters.endpointUrl",
        ),
        (
            json!({"sourceType": "GITHUB", "parameters": {"repository": "o/r", "apiUrl": format!("https://x:{secret}@api.github.com")}}),
            "config.parameters.apiUrl",
        ),
        (
            json!({"sourceType": "GOOGLE_DRIVE", "parameters": {"apiUrl": format!("https://x:{secret}@www.googleapis.com")}}),
            "config.parameters.apiUrl",
        ),
        (
            json!({"sourceType": "NOTION", "parameters": {"pageIds": ["0123456789abcdef0123456789abcdef"], "apiUrl": format!("https://x:{secret}@api.notion.com")}}),
            "config.parameters.apiUrl",
        ),
    ];
    for (config, field) in cases {
        let r = app
            .post(ASSETS, &t, json!({"name": "leaky", "config": config}))
            .await;
        let p = r.problem(400, "/problems/validation");
        let error = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {p}"));
        assert!(
            error["message"].as_str().unwrap().contains("`auth`"),
            "{error}"
        );
        assert!(
            !p.to_string().contains(secret),
            "the refusal does not echo the secret: {p}"
        );
    }
    assert_eq!(
        app.get(ASSETS, &t).await.body["totalCount"],
        0,
        "nothing was stored"
    );

    // Nor can a PATCH put one in.
    let r = app
        .post(ASSETS, &t, json!({"name": "site", "config": {"sourceType": "WEB", "parameters": {"urls": ["https://docs.example.com/"]}}}))
        .await;
    let path = format!("{ASSETS}/{}", r.body["asset"]["id"].as_str().unwrap());
    let leak = json!({"sourceConfig": {"sourceType": "WEB", "parameters": {"urls": [format!("https://u:{secret}@docs.example.com/")]}}});
    app.patch(&path, &t, leak)
        .await
        .problem(400, "/problems/validation");
    assert!(!app.get(&path, &t).await.body.to_string().contains(secret));
}

#[tokio::test]
async fn every_refusal_is_a_problem_in_plain_words() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let raw = |path: &str, content_type: &str, body: Vec<u8>| {
        app.client
            .post(format!("{}/v1/tenants/acme{path}", app.base))
            .bearer_auth(&t)
            .header("content-type", content_type)
            .body(body)
    };
    // A multipart body without a boundary, and JSON where a multipart upload belongs: the
    // framework's own rejections come back as problem+json too.
    for (path, content_type, body) in [
        ("/assets:file", "multipart/form-data", b"--x\r\n".to_vec()),
        ("/storage", "multipart/form-data", b"no parts".to_vec()),
        (
            "/storage",
            "application/json",
            b"{\"file\": \"x\"}".to_vec(),
        ),
    ] {
        let r = raw(path, content_type, body).send().await.unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], status, "{p}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
    }

    // A JSON body over the limit (8 MiB) is a clear 413.
    // (On a connection of its own: the server answers before it has read the body, and closes it.)
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(9 * 1024 * 1024));
    let own = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = own
        .post(format!("{}{ASSETS}", app.base))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // serde's Rust type names never reach a client.
    let r = app
        .post(ASSETS, &t, json!({"name": "n", "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a", "text": "b"}]}}}))
        .await;
    let path = format!("{ASSETS}/{}", r.body["asset"]["id"].as_str().unwrap());
    for embedding in [json!([]), json!("x")] {
        let p = app.patch(&path, &t, json!({"embedding": embedding})).await;
        let p = p.problem(400, "/problems/validation");
        let text = p.to_string();
        assert!(
            text.contains("must be a JSON object")
                && !text.contains("EmbeddingInput")
                && !text.contains("struct"),
            "{p}"
        );
    }
    // A custom method under the wrong HTTP method is a 405 naming the one it has, whatever the
    // body holds (it was validated as a PATCH of the asset first).
    let p = app
        .patch(
            &format!("{path}:refresh"),
            &t,
            json!({"embedding": [], "nonsense": 1}),
        )
        .await;
    p.problem(405, "/problems/method-not-allowed");
    assert_eq!(p.headers["allow"], "POST");
    // The providers an LLM config may name are listed once each.
    let p = app
        .post(
            "/v1/tenants/acme/llmConfigs",
            &t,
            json!({"provider": "nope", "apiKey": "sk-0123456789"}),
        )
        .await;
    let message = p.problem(400, "/problems/validation")["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed: Vec<&str> = message
        .rsplit("one of ")
        .next()
        .unwrap()
        .split(", ")
        .collect();
    let mut unique = listed.clone();
    unique.dedup();
    assert_eq!(listed, unique, "{message}");
}

/// Found by schemathesis on PostgreSQL: a NUL character (which PostgreSQL text cannot hold) in a
/// name, a document or a list's `search` was a 500 there. It is a 400 naming the field, on both
/// backends, and nothing is stored.
#[tokio::test]
async fn nul_characters_are_refused_where_they_enter() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let body = json!({"name": "a\u{0}b", "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "x", "text": "hello"}]}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    assert_eq!(
        r.problem(400, "/problems/validation")["errors"][0]["field"],
        "name",
        "{}",
        r.body
    );
    let body = json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "x", "text": "he\u{0}llo"}]}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    assert_eq!(
        r.problem(400, "/problems/validation")["errors"][0]["field"],
        "config.parameters.documents[0].text",
        "{}",
        r.body
    );
    let r = app.get("/v1/tenants/acme/assets?search=a%00b", &t).await;
    r.problem(400, "/problems/validation");
    assert_eq!(
        app.get("/v1/tenants/acme/assets", &t).await.body["totalCount"],
        0
    );
}

/// A custom method answers other HTTP methods with a 405 whose `Allow` names the method it has,
/// as does every documented path (found by schemathesis: `Allow` listed the resource's methods).
#[tokio::test]
async fn wrong_methods_are_405_with_the_documented_allow() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let id = uuid::Uuid::now_v7();
    for (method, path, allow) in [
        (
            Method::GET,
            format!("/v1/tenants/acme/assets/{id}:refresh"),
            "POST",
        ),
        (
            Method::OPTIONS,
            format!("/v1/tenants/acme/assets/{id}:search"),
            "POST",
        ),
        (
            Method::POST,
            format!("/v1/tenants/acme/assets/{id}"),
            "GET, PATCH, DELETE, HEAD",
        ),
        (
            Method::DELETE,
            format!("/v1/tenants/acme/assets/{id}/operations/{id}:wait"),
            "GET, HEAD",
        ),
    ] {
        let r = app
            .client
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let mut got: Vec<String> = r.headers()["allow"]
            .to_str()
            .unwrap()
            .split(", ")
            .map(str::to_owned)
            .collect();
        let mut want: Vec<String> = allow.split(", ").map(str::to_owned).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{method} {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
    }
    // An unknown custom method is still a 404.
    let r = app
        .post(&format!("/v1/tenants/acme/assets/{id}:nope"), &t, json!({}))
        .await;
    r.problem(404, "/problems/not-found");
}
