//! Ingestion through the API with the real local model: chunks by the model's tokens with
//! heading trails, real embeddings, refreshes that pay only for changed text, and the embedding
//! cache shared by a tenant's assets.

use crate::helpers::*;
use serde_json::{Value, json};

const GUIDE: &str = "# Guide\n\nragd keeps knowledge sources fresh.\n\n## Install\n\nDownload the binary and run it. It needs no setup at all.\n\n```sh\ncargo run --release -- serve\n```\n\n## Operations\n\nEvery ingestion is an operation with a lease. Workers renew the lease while they work, and a crashed worker's operation is picked up again.\n";

async fn chunks(app: &TestApp, asset: &str, name: &str) -> Vec<ragd_core::domain::Chunk> {
    let store = app.store().await;
    let doc = ragd_core::domain::Document::id_for(asset.parse().unwrap(), name);
    store
        .chunk_list(&ragd_core::domain::TenantId::parse("acme").unwrap(), doc)
        .await
        .unwrap()
}

fn markdown_asset(docs: &[(&str, &str)], chunk_size: u32) -> Value {
    let documents: Vec<Value> = docs
        .iter()
        .map(|(n, t)| json!({"name": n, "text": t, "contentType": "text/markdown"}))
        .collect();
    json!({"name": "Guide", "embedding": {"chunkSize": chunk_size, "chunkOverlap": 0},
           "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}})
}

#[tokio::test]
async fn markdown_is_chunked_by_model_tokens_with_headings_and_embedded() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            markdown_asset(&[("guide.md", GUIDE)], 24),
        )
        .await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let cs = chunks(&app, &a, "guide.md").await;
    assert_eq!(done["chunkCount"].as_i64().unwrap(), cs.len() as i64);
    assert!(cs.len() >= 4, "{cs:#?}");
    let sizer =
        ragd_pipeline::Sizer::from_tokenizer_file(&model_dir().join("tokenizer.json")).unwrap();
    for (i, c) in cs.iter().enumerate() {
        assert_eq!(c.chunk_index, i as i64);
        assert!(
            c.token_count <= 24 && sizer.count(&c.content) as i64 == c.token_count,
            "{c:?}"
        );
        assert_eq!(c.embedding.len(), 384);
        assert!((c.embedding.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-3);
        let text: String = GUIDE
            .chars()
            .skip(c.start_char as usize)
            .take((c.end_char - c.start_char) as usize)
            .collect();
        assert_eq!(text, c.content, "offsets point at the chunk");
        assert!(c.context_text.starts_with("guide.md"));
    }
    let code = cs.iter().find(|c| c.content.contains("cargo run")).unwrap();
    assert!(
        code.content.starts_with("```sh") && code.content.trim_end().ends_with("```"),
        "code blocks stay whole: {code:?}"
    );
    assert_eq!(code.heading_path, "Guide > Install");
    assert!(cs.iter().any(|c| c.heading_path == "Guide > Operations"));
    // The document's tokens add up to what the operation sent (no cache hits on a first ingest).
    assert_eq!(done["tokensSaved"], 0);
}

#[tokio::test]
async fn refreshes_pay_only_for_changed_text_and_the_cache_spans_assets() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let other = "# Other\n\nA second document about something else entirely, with enough words to make a chunk or two.\n";
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            markdown_asset(&[("guide.md", GUIDE), ("other.md", other)], 40),
        )
        .await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let first = app.wait_done("acme", &a, &op).await;
    let paid = first["tokenCount"].as_i64().unwrap();
    assert!(paid > 50, "{first}");

    // Nothing changed: zero tokens, every document skipped.
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let same = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            same["tokenCount"].as_i64(),
            same["itemsSkipped"].as_i64(),
            same["tokensSaved"].as_i64()
        ),
        (Some(0), Some(2), Some(paid)),
        "{same}"
    );

    // One section of one document changes: only its changed chunks are embedded.
    let edited = GUIDE.replace(
        "It needs no setup at all.",
        "It needs no setup at all, and it starts in a second.",
    );
    let body = json!({"sourceConfig": {"sourceType": "TEXT", "parameters": {"documents": [
        {"name": "guide.md", "text": edited, "contentType": "text/markdown"}, {"name": "other.md", "text": other, "contentType": "text/markdown"}]}}});
    let r = app
        .patch(&format!("/v1/tenants/acme/assets/{a}"), &t, body)
        .await;
    let changed = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    let sent = changed["tokenCount"].as_i64().unwrap();
    assert!(
        sent > 0 && sent < paid / 2,
        "only the changed chunk is paid for: {sent} of {paid}: {changed}"
    );
    assert!(changed["tokensSaved"].as_i64().unwrap() > 0);
    assert_eq!(changed["itemsSkipped"], 1, "other.md is unchanged");

    // Another asset of the tenant with identical text (and so identical context: the document name is
    // part of what is embedded) costs nothing: the cache is per tenant and model.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            markdown_asset(&[("other.md", other)], 40),
        )
        .await;
    let (b, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let copy = app.wait_done("acme", &b, &op).await;
    assert_eq!(copy["tokenCount"], 0, "{copy}");
    assert!(copy["tokensSaved"].as_i64().unwrap() > 0);
    // Another tenant pays for its own.
    let r = app
        .post(
            "/v1/tenants/globex/assets",
            &app.token("globex"),
            markdown_asset(&[("other.md", other)], 40),
        )
        .await;
    let (c, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let theirs = app.wait_done("globex", &c, &op).await;
    assert!(theirs["tokenCount"].as_i64().unwrap() > 0, "{theirs}");
}

#[tokio::test]
async fn documents_and_their_chunks_are_listed_deleted_and_brought_back() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let t = app.token("acme");
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            markdown_asset(
                &[
                    ("guide.md", GUIDE),
                    ("notes.md", "# Notes\n\nShort notes.\n"),
                ],
                24,
            ),
        )
        .await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    gate.reached().await;
    let docs = format!("/v1/tenants/acme/assets/{a}/documents");
    app.get(&docs, &t).await.problem(404, "/problems/not-found");
    gate.open();
    app.wait_done("acme", &a, &op).await;

    let list = app.get(&docs, &t).await;
    assert_eq!(list.body["totalCount"], 2, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    let mut names: Vec<&str> = items
        .iter()
        .map(|d| d["fileName"].as_str().unwrap())
        .collect();
    // Newest first (the two may share a millisecond: they are embedded in one batch).
    assert!(
        items
            .windows(2)
            .all(|w| w[0]["createdAt"].as_i64().unwrap() >= w[1]["createdAt"].as_i64().unwrap()),
        "newest first: {}",
        list.body
    );
    names.sort();
    assert_eq!(names, ["guide.md", "notes.md"]);
    assert_eq!(
        app.get(&format!("{docs}?search=GUIDE"), &t).await.body["totalCount"],
        1
    );
    let guide = items
        .iter()
        .find(|d| d["fileName"] == "guide.md")
        .unwrap()
        .clone();
    assert_eq!(
        (guide["status"].as_str(), guide["contentType"].as_str()),
        (Some("INDEXED"), Some("text/markdown"))
    );
    assert!(
        guide["chunkCount"].as_i64().unwrap() >= 4 && guide["tokenCount"].as_i64().unwrap() > 0
    );
    let id = guide["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("{docs}/{id}"), &t).await.body, guide);

    // Chunks page in chunkIndex order, with a signed cursor.
    let mut seen = Vec::new();
    let mut url = format!("{docs}/{id}/chunks?PageSize=2");
    loop {
        let page = app.get(&url, &t).await;
        assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["documentId"], id);
        assert_eq!(page.body["totalChunks"], guide["chunkCount"]);
        for c in page.body["chunks"].as_array().unwrap() {
            seen.push(c["chunkIndex"].as_i64().unwrap());
            assert!(
                c["tokenCount"].as_i64().unwrap() <= 24
                    && c["contextText"].as_str().unwrap().starts_with("guide.md")
            );
        }
        match page.body["nextPageToken"].as_str() {
            Some(next) => url = format!("{docs}/{id}/chunks?PageSize=2&PageToken.Cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..guide["chunkCount"].as_i64().unwrap()).collect::<Vec<_>>()
    );
    app.get(&format!("{docs}/{id}/chunks?PageToken.Cursor=forged"), &t)
        .await
        .problem(400, "/problems/validation");

    // Delete: gone at once, chunks included; a second delete is 404; a full refresh brings it back for free.
    assert_eq!(
        app.delete(&format!("{docs}/{id}"), &t).await.status,
        reqwest::StatusCode::NO_CONTENT
    );
    app.get(&format!("{docs}/{id}"), &t)
        .await
        .problem(404, "/problems/not-found");
    app.get(&format!("{docs}/{id}/chunks"), &t)
        .await
        .problem(404, "/problems/not-found");
    app.delete(&format!("{docs}/{id}"), &t)
        .await
        .problem(404, "/problems/not-found");
    assert!(chunks(&app, &a, "guide.md").await.is_empty());
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let back = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (back["itemsSkipped"].as_i64(), back["tokenCount"].as_i64()),
        (Some(1), Some(0)),
        "re-indexed from the cache: {back}"
    );
    assert_eq!(
        app.get(&format!("{docs}/{id}"), &t).await.body["chunkCount"],
        guide["chunkCount"]
    );
    app.get(&format!("{docs}/not-a-uuid"), &t)
        .await
        .problem(400, "/problems/validation");
}

#[tokio::test]
async fn budgets_stop_an_operation_before_the_batch_that_would_cross_them() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    // A total budget the first (short) document fits in and the second does not.
    let mut body = markdown_asset(&[("short.md", "A short note."), ("guide.md", GUIDE)], 40);
    body["budget"] = json!({"tokenBudget": 20});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("tokenBudget of 20 tokens") && message.contains("guide.md"),
        "{message}"
    );
    let spent = done["tokenCount"].as_i64().unwrap();
    assert!(
        spent > 0 && spent <= 20,
        "the short document was embedded within the budget: {done}"
    );
    let asset = app
        .get(&format!("/v1/tenants/acme/assets/{a}"), &t)
        .await
        .body;
    assert_eq!(asset["documentCount"], 1, "what was written stays");
    assert_eq!(
        asset["budget"]["totalTokenCount"], spent,
        "usage is recorded with the operation's end"
    );

    // A daily budget counts what earlier operations spent today: re-chunking would cost as much
    // again, which the remaining allowance does not cover.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            markdown_asset(&[("guide.md", GUIDE)], 40),
        )
        .await;
    let (b, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let first = app.wait_done("acme", &b, &op).await["tokenCount"]
        .as_i64()
        .unwrap();
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{b}"),
            &t,
            json!({"budget": {"dailyTokenBudget": first + 5}}),
        )
        .await;
    assert!(r.body.get("operation").is_none(), "budgets start nothing");
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{b}"),
            &t,
            json!({"embedding": {"chunkSize": 30, "chunkOverlap": 0}}),
        )
        .await;
    let reindex = app
        .wait_done("acme", &b, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(reindex["status"], "FAILED", "{reindex}");
    assert!(
        reindex["errorMessage"]
            .as_str()
            .unwrap()
            .contains("dailyTokenBudget"),
        "{reindex}"
    );
    let asset = app
        .get(&format!("/v1/tenants/acme/assets/{b}"), &t)
        .await
        .body;
    assert!(
        asset["budget"]["dailyTokensUsed"].as_i64().unwrap() <= first + 5,
        "{}",
        asset["budget"]
    );
}
