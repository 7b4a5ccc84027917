//! Document metadata through the API: what the client gives (inline documents, uploads), what
//! ragd derives from the source, a PATCH that changes it without re-embedding and that refreshes
//! keep, metadata on search results, and refusals that name the bad key.

use crate::helpers::*;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn documents(app: &TestApp, asset: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/documents"),
            &app.token("acme"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn named<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["fileName"] == name)
        .unwrap_or_else(|| panic!("{name} in {docs:?}"))
}

#[tokio::test]
async fn metadata_comes_from_the_client_and_the_source_and_a_patch_needs_no_embedding() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let guide = "<html><head><title>Tides</title></head><body><p>Spring tides follow the full and the new moon.</p></body></html>";
    let body = json!({"name": "Notes", "config": {"sourceType": "TEXT", "parameters": {"documents": [
        {"name": "guides/tides.html", "text": guide, "contentType": "text/html",
         "metadata": {"team": "coast", "year": 2024, "reviewed": true, "tags": ["sea", "moon"], "extension": "mdx"}},
        {"name": "notes.txt", "text": "Neap tides come between them."},
    ]}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let done = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");

    let docs = documents(&app, &asset).await;
    let tides = named(&docs, "guides/tides.html");
    assert_eq!(
        tides["metadata"],
        json!({"path": "guides/tides.html", "extension": "mdx", "title": "Tides", "team": "coast",
               "year": 2024, "reviewed": true, "tags": ["sea", "moon"]}),
        "derived keys, the client's winning where both have one"
    );
    assert_eq!(
        named(&docs, "notes.txt")["metadata"],
        json!({"path": "notes.txt", "extension": "txt"})
    );

    // A PATCH sets and removes keys (a derived one too) and embeds nothing.
    let doc = tides["id"].as_str().unwrap();
    let path = format!("/v1/tenants/acme/assets/{asset}/documents/{doc}");
    let r = app
        .patch(
            &path,
            &t,
            json!({"metadata": {"team": "harbour", "year": null, "title": null, "owner": "ops"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let want = json!({"path": "guides/tides.html", "extension": "mdx", "team": "harbour",
                      "reviewed": true, "tags": ["sea", "moon"], "owner": "ops"});
    assert_eq!(r.body["metadata"], want);
    assert_eq!(app.get(&path, &t).await.body["metadata"], want);

    // The next refresh pays nothing, and neither does a forced one, which re-indexes every
    // document (its text unchanged, its vectors cached); both keep what the PATCH set.
    for force in [false, true] {
        let r = app
            .post(
                &format!("/v1/tenants/acme/assets/{asset}:refresh"),
                &t,
                json!({"force": force}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let done = app
            .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
            .await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        assert_eq!(done["tokenCount"], 0, "{done}");
        assert_eq!(app.get(&path, &t).await.body["metadata"], want);
    }

    // Search results carry it.
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &t,
            json!({"query": "spring tides and the moon", "topK": 5}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hit = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["documentId"] == doc)
        .expect("the guide is found");
    assert_eq!(hit["metadata"], want);

    // Bad metadata is a 400 naming each bad key; another tenant's document is not there; a
    // read-only token may not change it.
    let r = app
        .patch(
            &path,
            &t,
            json!({"metadata": {"bad key": 1, "deep": {"x": 1}, "list": [1]}}),
        )
        .await;
    let p = r.problem(400, "/problems/validation");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["metadata.bad key", "metadata.deep", "metadata.list"],
        "{p}"
    );
    let foreign = path.replace("/tenants/acme/", "/tenants/other/");
    let r = app
        .patch(&foreign, &app.token("other"), json!({"metadata": {"a": 1}}))
        .await;
    r.problem(404, "/problems/not-found");
    let r = app
        .patch(
            &path,
            &token_for("acme", "assets:read"),
            json!({"metadata": {"a": 1}}),
        )
        .await;
    r.problem(403, "/problems/forbidden");
    assert_eq!(app.get(&path, &t).await.body["metadata"], want);

    let body = json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [
        {"name": "a", "text": "x", "metadata": {"ok": "yes", "nested": {"no": 1}}},
        {"name": "b", "text": "y", "metadata": "not an object"},
    ]}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    let p = r.problem(400, "/problems/validation");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "config.parameters.documents[0].metadata.nested",
            "config.parameters.documents[1].metadata"
        ],
        "{p}"
    );
}

#[tokio::test]
async fn uploads_carry_the_metadata_given_with_them() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let upload = |path: &str, form: Form| {
        app.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(&t)
            .multipart(form)
            .send()
    };
    let part =
        |name: &str, text: &str| Part::bytes(text.as_bytes().to_vec()).file_name(name.to_owned());

    let payload = json!({"Metadata": {"owner": "ops", "tier": 2}});
    let form = Form::new()
        .part(
            "File",
            part("report.md", "# Report\n\nAll tides were measured.\n"),
        )
        .text("Payload", payload.to_string());
    let r = Resp::from_response(upload("/v1/tenants/acme/assets:file", form).await.unwrap()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let done = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        documents(&app, &asset).await[0]["metadata"],
        json!({"path": "report.md", "extension": "md", "owner": "ops", "tier": 2})
    );

    let form = Form::new().part("file", part("log.txt", "High water at noon."));
    let r = Resp::from_response(
        upload("/v1/tenants/acme/storage?temporary=true", form)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let file_id = r.body["fileId"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/v1/tenants/acme/assets:import",
            &t,
            json!({"fileId": file_id, "metadata": {"x": {"y": 1}}}),
        )
        .await;
    r.problem(400, "/problems/validation");
    let r = app
        .post(
            "/v1/tenants/acme/assets:import",
            &t,
            json!({"fileId": file_id, "metadata": {"station": "north"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let done = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        documents(&app, &asset).await[0]["metadata"],
        json!({"path": "log.txt", "extension": "txt", "station": "north"})
    );
}

#[tokio::test]
async fn crawled_pages_carry_their_url_path_and_title() {
    let site = crate::site::Site::serve(crate::web::toolchain_docs()).await;
    let app = crate::web::crawl_app().await;
    let prefix = format!("{}/book/", site.base);
    let (asset, _, _) = crate::web::crawl_site(
        &app,
        format!("{prefix}ch01-00-getting-started.html"),
        &prefix,
        json!({"scope": "PREFIX", "maxPages": 3, "useSitemap": false}),
    )
    .await;
    let docs = documents(&app, &asset).await;
    assert!(!docs.is_empty());
    for d in &docs {
        let m = &d["metadata"];
        let url = url::Url::parse(d["sourceUrl"].as_str().unwrap()).unwrap();
        assert_eq!(m["url"], url.as_str(), "{d}");
        assert_eq!(m["urlPath"], url.path(), "{d}");
        assert!(m["urlPath"].as_str().unwrap().starts_with("/book/"), "{d}");
        assert!(
            m["title"]
                .as_str()
                .is_some_and(|t| t.contains("The Rust Programming Language")),
            "{d}"
        );
    }
}
