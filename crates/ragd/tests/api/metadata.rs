//! Document metadata through the API: what the client gives (inline documents, uploads), what
//! ragd derives from the source, a PATCH that changes it without re-embedding and that refreshes
//! keep, metadata on search results, and refusals that name the bad key.

use crate::helpers::*;
use crate::web::documents;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

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
    let asset = app.ingested("acme", &r).await;

    let docs = documents(&app, &asset).await;
    let tides = named(&docs, "guides/tides.html");
    assert_eq!(
        tides["metadata"],
        json!({"path": "guides/tides.html", "extension": "mdx", "title": "Tides", "team": "coast",
               "year": 2024, "reviewed": true, "tags": ["sea", "moon"], "encoding": "UTF-8"}),
        "derived keys, the client's winning where both have one"
    );
    assert_eq!(
        named(&docs, "notes.txt")["metadata"],
        json!({"path": "notes.txt", "extension": "txt", "encoding": "UTF-8"})
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
                      "reviewed": true, "tags": ["sea", "moon"], "owner": "ops", "encoding": "UTF-8"});
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
    assert_eq!(
        r.invalid_fields(),
        ["metadata.bad key", "metadata.deep", "metadata.list"],
        "{}",
        r.body
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
    assert_eq!(
        r.invalid_fields(),
        [
            "config.parameters.documents[0].metadata.nested",
            "config.parameters.documents[1].metadata"
        ],
        "{}",
        r.body
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
    let asset = app.ingested("acme", &r).await;
    assert_eq!(
        documents(&app, &asset).await[0]["metadata"],
        json!({"path": "report.md", "extension": "md", "owner": "ops", "tier": 2, "encoding": "UTF-8"})
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
    let asset = app.ingested("acme", &r).await;
    assert_eq!(
        documents(&app, &asset).await[0]["metadata"],
        json!({"path": "log.txt", "extension": "txt", "station": "north", "encoding": "UTF-8"})
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

/// `n` documents `doc-{i}` of one tide table each, with metadata `{n: i, group, tags}`.
async fn numbered_asset(app: &TestApp, tenant: &str, n: usize) -> String {
    let documents: Vec<Value> = (0..n)
        .map(|i| {
            let group = if i % 3 == 0 { "a" } else { "b" };
            json!({"name": format!("doc-{i}"), "text": format!("Tide table {i}: high water at the harbour, low water at the bar."),
                   "metadata": {"n": i, "group": group, "tags": [format!("t{}", i % 5), "tides"]}})
        })
        .collect();
    let body = json!({"config": {"sourceType": "TEXT", "parameters": {"documents": documents}}});
    let r = app
        .post(
            &format!("/v1/tenants/{tenant}/assets"),
            &app.token(tenant),
            body,
        )
        .await;
    app.ingested(tenant, &r).await
}

#[tokio::test]
async fn metadata_filters_choose_the_documents_before_the_nearest_neighbours() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let asset = numbered_asset(&app, "acme", 30).await;
    let foreign = numbered_asset(&app, "other", 30).await;
    let search = |mode: &str, top_k: usize, filter: Value| {
        let body = json!({"query": "high water at the harbour", "searchMode": mode, "topK": top_k,
                          "filter": {"metadata": filter}});
        let path = format!("/v1/tenants/acme/assets/{asset}:search");
        let t = t.clone();
        let app = &app;
        async move {
            let r = app.post(&path, &t, body).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["results"].as_array().unwrap().clone()
        }
    };
    let ns = |results: &[Value]| -> Vec<i64> {
        let mut ns: Vec<i64> = results
            .iter()
            .map(|r| r["metadata"]["n"].as_i64().unwrap())
            .collect();
        ns.sort();
        ns
    };
    let cases = [
        (
            json!({"type": "eq", "key": "group", "value": "a"}),
            (0..30).filter(|i| i % 3 == 0).collect::<Vec<i64>>(),
        ),
        (
            json!({"type": "ne", "key": "group", "value": "b"}),
            (0..30).filter(|i| i % 3 == 0).collect(),
        ),
        (
            json!({"type": "gt", "key": "n", "value": 24}),
            (25..30).collect(),
        ),
        (
            json!({"type": "gte", "key": "n", "value": 27}),
            (27..30).collect(),
        ),
        (json!({"type": "lt", "key": "n", "value": 2}), vec![0, 1]),
        (json!({"type": "lte", "key": "n", "value": 1}), vec![0, 1]),
        (
            json!({"type": "in", "key": "n", "value": [3, 7, 99]}),
            vec![3, 7],
        ),
        (
            json!({"type": "nin", "key": "tags", "value": ["tides"]}),
            vec![],
        ),
        (
            json!({"type": "eq", "key": "tags", "value": "t4"}),
            vec![4, 9, 14, 19, 24, 29],
        ),
        (json!({"type": "eq", "key": "missing", "value": 1}), vec![]),
        (
            json!({"type": "and", "filters": [
            {"type": "or", "filters": [{"type": "eq", "key": "group", "value": "a"}, {"type": "lt", "key": "n", "value": 3}]},
            {"type": "not", "filter": {"type": "in", "key": "n", "value": [0, 1]}},
            {"type": "lt", "key": "n", "value": 10}]}),
            vec![2, 3, 6, 9],
        ),
    ];
    for (filter, want) in &cases {
        for mode in ["VECTOR", "FULL_TEXT", "HYBRID"] {
            let got = search(mode, 100, filter.clone()).await;
            assert_eq!(&ns(&got), want, "{mode} {filter}");
        }
    }
    // A selective filter still fills topK when that many match, with the nearest of them.
    let got = search("VECTOR", 5, json!({"type": "gte", "key": "n", "value": 20})).await;
    assert_eq!(got.len(), 5);
    assert!(ns(&got).iter().all(|n| *n >= 20), "{got:?}");
    // The filter is applied before the nearest neighbours are chosen, not to them: two documents
    // far from the query, among more near ones than a search looks at, are still found.
    let mut documents: Vec<Value> = (0..80)
        .map(|i| json!({"name": format!("tide-{i}"), "text": format!("High water at the harbour, table {i}.")}))
        .collect();
    for i in 0..2 {
        documents.push(json!({"name": format!("bread-{i}"), "text": format!("Knead the dough and bake loaf {i}."),
                              "metadata": {"kind": "bread"}}));
    }
    let body = json!({"config": {"sourceType": "TEXT", "parameters": {"documents": documents}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    let far = app.ingested("acme", &r).await;
    for mode in ["VECTOR", "HYBRID"] {
        let r = app
            .post(
                &format!("/v1/tenants/acme/assets/{far}:search"),
                &t,
                json!({"query": "high water at the harbour", "searchMode": mode, "topK": 2,
                       "filter": {"metadata": {"type": "eq", "key": "kind", "value": "bread"}}}),
            )
            .await;
        let names: std::collections::BTreeSet<&str> = r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["source"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bread-0", "bread-1"].into(), "{mode}: {}", r.body);
    }
    // A missing key satisfies ne and nin.
    let got = search(
        "VECTOR",
        100,
        json!({"type": "ne", "key": "missing", "value": 1}),
    )
    .await;
    assert_eq!(got.len(), 30);

    // Across assets: only the tenant's own documents, whatever the filter says.
    let r = app
        .post(
            "/v1/tenants/acme/search",
            &t,
            json!({"query": "harbour", "topK": 100, "filter": {"metadata": {"type": "eq", "key": "group", "value": "a"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 10, "{}", r.body);
    assert!(
        results
            .iter()
            .all(|h| h["assetId"] == asset.as_str() && h["assetId"] != foreign.as_str())
    );

    // A bad filter is a 400 naming the bad part.
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &t,
            json!({"query": "harbour", "filter": {"metadata": {"type": "and", "filters": [
                {"type": "eq", "key": "n", "value": 1}, {"type": "near", "key": "n", "value": 1}]}}}),
        )
        .await;
    assert_eq!(
        r.invalid_fields(),
        ["filter.metadata.filters[1].type"],
        "{}",
        r.body
    );
}
