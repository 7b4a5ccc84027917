//! Search through the API over real text: chapters of the Rust Book crawled from a local server.
//! Twenty questions whose answer page is known must find it in the hybrid top 5; the modes,
//! weights, threshold, filters, deletion, cross-asset search, usage and bad input are checked.

use crate::helpers::*;
use crate::site::{Site, rust_book_site};
use serde_json::{Value, json};

/// (question, the page that answers it)
const QUESTIONS: &[(&str, &str)] = &[
    (
        "How do I declare a mutable variable?",
        "ch03-01-variables-and-mutability.html",
    ),
    (
        "What is shadowing a variable?",
        "ch03-01-variables-and-mutability.html",
    ),
    (
        "What integer types does Rust have?",
        "ch03-02-data-types.html",
    ),
    (
        "How do I create a tuple and access its elements?",
        "ch03-02-data-types.html",
    ),
    (
        "How does a function return a value?",
        "ch03-03-how-functions-work.html",
    ),
    (
        "How do I loop while a condition holds?",
        "ch03-05-control-flow.html",
    ),
    (
        "What are the ownership rules?",
        "ch04-01-what-is-ownership.html",
    ),
    (
        "What is the difference between the stack and the heap?",
        "ch04-01-what-is-ownership.html",
    ),
    (
        "What happens to a String when it is moved to another variable?",
        "ch04-01-what-is-ownership.html",
    ),
    (
        "What are the rules of references and borrowing?",
        "ch04-02-references-and-borrowing.html",
    ),
    (
        "What is a dangling reference?",
        "ch04-02-references-and-borrowing.html",
    ),
    ("What is a string slice?", "ch04-03-slices.html"),
    (
        "How do I create a vector and push elements onto it?",
        "ch08-01-vectors.html",
    ),
    (
        "Why can't I index into a String to get a character?",
        "ch08-02-strings.html",
    ),
    (
        "How do I count how often each word occurs with a hash map?",
        "ch08-03-hash-maps.html",
    ),
    (
        "When should I call panic! instead of returning Result?",
        "ch09-03-to-panic-or-not-to-panic.html",
    ),
    (
        "How does the question mark operator propagate errors?",
        "ch09-02-recoverable-errors-with-result.html",
    ),
    (
        "How do I get a backtrace when my program panics?",
        "ch09-01-unrecoverable-errors-with-panic.html",
    ),
    (
        "How do I define a trait and implement it on a type?",
        "ch10-02-traits.html",
    ),
    (
        "What do lifetime annotations mean in function signatures?",
        "ch10-03-lifetime-syntax.html",
    ),
];

struct Corpus {
    app: TestApp,
    asset: String,
    _site: Site,
    _dir: tempfile::TempDir,
}

async fn rust_book_chapters() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::serve(dir.path().to_owned()).await;
    rust_book_site(dir.path(), &site.base);
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let body = json!({"name": "Rust Book", "config": {"sourceType": "WEB", "parameters": {
        "urls": [format!("{}/book/index.html", site.base)], "scope": "PREFIX", "maxDepth": 2,
        "includePatterns": ["/book/toc.html", "/book/ch03-0*", "/book/ch04-0*", "/book/ch08-0*", "/book/ch09-0*", "/book/ch10-0*"]}}});
    let r = app
        .post("/v1/tenants/acme/assets", &app.token("acme"), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (op["status"].as_str(), op["itemsFailed"].as_i64()),
        (Some("COMPLETED"), Some(0)),
        "{op}"
    );
    Corpus {
        app,
        asset,
        _site: site,
        _dir: dir,
    }
}

async fn search(app: &TestApp, asset: &str, body: Value) -> Vec<Value> {
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &app.token("acme"),
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["tookMs"].is_u64());
    r.body["results"].as_array().unwrap().clone()
}

fn page_of(result: &Value) -> &str {
    result["sourceUrl"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
}

#[tokio::test]
async fn questions_find_their_pages_and_search_behaves() {
    let Corpus { app, asset, .. } = rust_book_chapters().await;
    let t = app.token("acme");

    // Every question's page is in the hybrid top 5; the single modes are reported.
    let mut found = [0usize; 3];
    for (question, page) in QUESTIONS {
        for (i, mode) in ["HYBRID", "VECTOR", "FULL_TEXT"].iter().enumerate() {
            let results = search(
                &app,
                &asset,
                json!({"query": question, "topK": 5, "searchMode": mode}),
            )
            .await;
            let hit = results.iter().any(|r| page_of(r) == *page);
            found[i] += usize::from(hit);
            if *mode == "HYBRID" {
                assert!(
                    hit,
                    "{question}: {page} not in the hybrid top 5: {:?}",
                    results.iter().map(page_of).collect::<Vec<_>>()
                );
            }
        }
    }
    eprintln!(
        "top-5 hits of {} questions: hybrid {}, vector {}, full text {}",
        QUESTIONS.len(),
        found[0],
        found[1],
        found[2]
    );
    assert!(found[1] >= 16 && found[2] >= 14, "{found:?}");

    // Results carry every field of SearchResult, and scores descend.
    let results = search(
        &app,
        &asset,
        json!({"query": "ownership rules", "searchMode": "UNSPECIFIED"}),
    )
    .await;
    assert_eq!(results.len(), 10);
    let r = &results[0];
    for field in [
        "content",
        "assetId",
        "sourceType",
        "chunkId",
        "chunkIndex",
        "source",
        "sourceUrl",
        "score",
        "startCharIdx",
        "endCharIdx",
        "pageNumber",
        "startLine",
        "endLine",
        "documentId",
        "headingPath",
        "contextText",
    ] {
        assert!(r.get(field).is_some(), "{field} missing: {r}");
    }
    assert_eq!(
        (r["assetId"].as_str(), r["sourceType"].as_str()),
        (Some(asset.as_str()), Some("WEB"))
    );
    assert!(
        results
            .windows(2)
            .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64())
    );

    // Vector scores are cosines; a threshold keeps only what scores at least that.
    let vector = search(
        &app,
        &asset,
        json!({"query": "ownership rules", "searchMode": "VECTOR", "topK": 20}),
    )
    .await;
    let cut = vector[4]["score"].as_f64().unwrap();
    assert!(cut > 0.0 && vector[0]["score"].as_f64().unwrap() <= 1.0001);
    let kept = search(&app, &asset, json!({"query": "ownership rules", "searchMode": "VECTOR", "topK": 20, "scoreThreshold": cut})).await;
    assert!(
        kept.len() >= 5
            && kept.len() < 20
            && kept.iter().all(|r| r["score"].as_f64().unwrap() >= cut),
        "{}",
        kept.len()
    );
    // A zero vector weight makes hybrid rank as full text does.
    let q = json!({"query": "dangling reference compiler error"});
    let text: Vec<Value> = search(
        &app,
        &asset,
        json!({"query": q["query"], "searchMode": "FULL_TEXT"}),
    )
    .await;
    let fused = search(
        &app,
        &asset,
        json!({"query": q["query"], "vectorWeight": 0.0, "ftsWeight": 1.0}),
    )
    .await;
    let ids = |rs: &[Value]| rs.iter().map(|r| r["chunkId"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&text), ids(&fused));

    // Filters narrow in the query.
    let vectors = search(&app, &asset, json!({"query": "vector", "topK": 50, "filter": {"sourceUrlPrefix": vector[0]["sourceUrl"].as_str().unwrap().rsplit_once('/').unwrap().0.to_owned() + "/ch08-01"}})).await;
    assert!(!vectors.is_empty() && vectors.iter().all(|r| page_of(r) == "ch08-01-vectors.html"));
    let doc = vectors[0]["documentId"].clone();
    let only = search(
        &app,
        &asset,
        json!({"query": "ownership", "filter": {"documentIds": [doc]}}),
    )
    .await;
    assert!(!only.is_empty() && only.iter().all(|r| r["documentId"] == doc));
    assert!(
        search(
            &app,
            &asset,
            json!({"query": "ownership", "filter": {"contentTypes": ["application/pdf"]}})
        )
        .await
        .is_empty()
    );

    // A deleted document never appears again.
    let hash_maps = search(
        &app,
        &asset,
        json!({"query": "count words with a hash map", "topK": 5}),
    )
    .await;
    let gone = hash_maps
        .iter()
        .find(|r| page_of(r) == "ch08-03-hash-maps.html")
        .unwrap()["documentId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(
            &format!("/v1/tenants/acme/assets/{asset}/documents/{gone}"),
            &t
        )
        .await
        .status,
        204
    );
    for mode in ["HYBRID", "VECTOR", "FULL_TEXT"] {
        let results = search(
            &app,
            &asset,
            json!({"query": "count words with a hash map", "topK": 100, "searchMode": mode}),
        )
        .await;
        assert!(results.iter().all(|r| r["documentId"] != gone), "{mode}");
    }

    // Usage: the current index.
    let usage = app
        .get(&format!("/v1/tenants/acme/assets/{asset}/usage"), &t)
        .await;
    assert_eq!(usage.status, 200);
    let a = app
        .get(&format!("/v1/tenants/acme/assets/{asset}"), &t)
        .await
        .body;
    assert_eq!(
        (
            usage.body["totalChunkCount"].clone(),
            usage.body["operationCount"].as_i64()
        ),
        (a["chunkCount"].clone(), Some(1))
    );
    assert!(
        usage.body["totalTokenCount"].as_i64().unwrap() > 10_000,
        "{}",
        usage.body
    );

    // Across assets: a TEXT asset joins the results; a foreign or unknown asset does not.
    let (text_asset, op) = app
        .create_text_asset(
            "acme",
            &[(
                "borrow.md",
                "# Borrowing\n\nThe borrow checker enforces the rules of references.",
            )],
        )
        .await;
    app.wait_done("acme", &text_asset, &op).await;
    let r = app
        .post(
            "/v1/tenants/acme/search",
            &t,
            json!({"query": "borrow checker rules of references", "topK": 20}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let assets: std::collections::HashSet<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["assetId"].as_str().unwrap())
        .collect();
    assert!(
        assets.contains(text_asset.as_str()) && assets.contains(asset.as_str()),
        "{assets:?}"
    );
    let r = app
        .post(
            "/v1/tenants/acme/search",
            &t,
            json!({"query": "x", "assetIds": [text_asset]}),
        )
        .await;
    assert!(
        r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["assetId"] == text_asset.as_str())
    );

    // Tenancy and bad input.
    let other = app.token("other");
    app.post(
        &format!("/v1/tenants/other/assets/{asset}:search"),
        &other,
        json!({"query": "ownership"}),
    )
    .await
    .problem(404, "/problems/not-found");
    let r = app
        .post(
            "/v1/tenants/other/search",
            &other,
            json!({"query": "ownership", "assetIds": [asset]}),
        )
        .await;
    assert_eq!(
        r.problem(400, "/problems/validation")["errors"][0]["field"],
        "assetIds"
    );
    let r = app
        .post(
            "/v1/tenants/other/search",
            &other,
            json!({"query": "ownership"}),
        )
        .await;
    assert_eq!(r.body["results"], json!([]), "another tenant sees nothing");
    let path = format!("/v1/tenants/acme/assets/{asset}:search");
    for (body, field) in [
        (json!({"query": "   "}), "query"),
        (json!({}), "body"),
        (json!({"query": "x", "topK": 101}), "topK"),
        (json!({"query": "x", "searchMode": "FUZZY"}), "searchMode"),
        (json!({"query": "x", "rrfK": 0}), "rrfK"),
        (
            json!({"query": "x", "filter": {"colour": 1}}),
            "filter.colour",
        ),
        (json!({"query": "x", "assetIds": []}), "assetIds"),
    ] {
        assert_eq!(
            app.post(&path, &t, body)
                .await
                .problem(400, "/problems/validation")["errors"][0]["field"],
            field
        );
    }
    let long = "ownership and borrowing in rust ".repeat(320);
    assert!(long.len() > 10_000);
    let results = search(&app, &asset, json!({"query": long})).await;
    assert!(!results.is_empty());
    let odd = search(
        &app,
        &asset,
        json!({"query": "\"; DROP TABLE chunks; -- NEAR( *"}),
    )
    .await;
    assert!(odd.len() <= 10, "FTS syntax in a query is just text");
}

#[tokio::test]
async fn results_are_shaped_per_document_and_identical_text_is_merged() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let tides = "Spring tides follow the full and the new moon and run higher than neap tides.";
    let long: String = (0..12)
        .map(|i| {
            format!("Tide note {i}: the harbour floods at spring tides near the new moon.\n\n")
        })
        .collect();
    let body = json!({"embedding": {"chunkSize": 32, "chunkOverlap": 0},
    "config": {"sourceType": "TEXT", "parameters": {"documents": [
        {"name": "page", "text": tides}, {"name": "print", "text": tides}, {"name": "notes", "text": long},
    ]}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    let asset = app.ingested("acme", &r).await;
    let query = |extra: Value| {
        let mut body =
            json!({"query": "spring tides and the new moon", "topK": 6, "searchMode": "VECTOR"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        search(&app, &asset, body)
    };
    let count = |results: &[Value], field: &str, value: &str| {
        results.iter().filter(|r| r[field] == value).count()
    };

    let plain = query(json!({})).await;
    assert_eq!(plain.len(), 6);
    assert_eq!(
        count(&plain, "content", tides),
        2,
        "the control: both copies"
    );
    assert!(plain.iter().all(|r| r.get("duplicates").is_none()));

    let merged = query(json!({"mergeDuplicates": true})).await;
    assert_eq!(merged.len(), 6, "the freed place goes to the next result");
    assert_eq!(count(&merged, "content", tides), 1);
    let kept = merged.iter().find(|r| r["content"] == tides).unwrap();
    let other = if kept["source"] == "page" {
        "print"
    } else {
        "page"
    };
    assert_eq!(kept["duplicates"].as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept["duplicates"][0]["source"], other, "{kept}");

    let diverse = query(json!({"maxChunksPerDocument": 1})).await;
    assert_eq!(diverse.len(), 3, "three documents, one result each");
    for name in ["page", "print", "notes"] {
        assert_eq!(count(&diverse, "source", name), 1, "{diverse:?}");
    }
    let two = query(json!({"maxChunksPerDocument": 2})).await;
    assert_eq!(count(&two, "source", "notes"), 2, "{two:?}");

    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &t,
            json!({"query": "tides", "maxChunksPerDocument": 0}),
        )
        .await;
    assert_eq!(r.invalid_fields(), ["maxChunksPerDocument"], "{}", r.body);
}
