//! `NOTION` assets against a stand-in for Notion's API (api.notion.com cannot be reached from
//! here), answering in the shapes Notion documents for `POST /v1/databases/{id}/query` (paged by
//! `next_cursor`), `GET /v1/pages/{id}` and `GET /v1/blocks/{id}/children`, requiring
//! `Notion-Version: 2022-06-28`, and answering 401 `{"object": "error", "code": "unauthorized"}`
//! to a wrong token.

use crate::helpers::*;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "secret_stand-in";
const DB: &str = "8e2c6f1a-1111-4a4a-9b9b-0123456789ab";
const P1: &str = "a1a1a1a1-2222-4b4b-8c8c-0123456789ab";
const P2: &str = "b2b2b2b2-3333-4c4c-8d8d-0123456789ab";
const P3: &str = "c3c3c3c3-4444-4d4d-8e8e-0123456789ab";
const LIST: &str = "d4d4d4d4-5555-4e4e-8f8f-0123456789ab";

#[derive(Default)]
struct FakeNotion {
    /// Page id → (title, last_edited_time, blocks); block id → its children.
    pages: Mutex<HashMap<String, (String, String)>>,
    children: Mutex<HashMap<String, Vec<Value>>>,
    block_reads: AtomicUsize,
}

fn text(s: &str) -> Value {
    json!([{"type": "text", "text": {"content": s, "link": null}, "plain_text": s, "href": null}])
}

fn block(id: &str, kind: &str, s: &str, has_children: bool) -> Value {
    json!({"object": "block", "id": id, "type": kind, "has_children": has_children, kind: {"rich_text": text(s), "color": "default"}})
}

fn page(id: &str, title: &str, edited: &str) -> Value {
    json!({"object": "page", "id": id, "created_time": "2026-10-01T08:00:00.000Z", "last_edited_time": edited, "archived": false,
           "in_trash": false, "url": format!("https://www.notion.so/{}", id.replace('-', "")),
           "properties": {"Name": {"id": "title", "type": "title", "title": text(title)}}})
}

fn denied(h: &HeaderMap) -> Option<Response> {
    assert_eq!(
        h.get("notion-version").and_then(|v| v.to_str().ok()),
        Some("2022-06-28")
    );
    if h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}")) {
        return None;
    }
    let body = json!({"object": "error", "status": 401, "code": "unauthorized", "message": "API token is invalid."});
    Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
}

async fn query(
    State(s): State<Arc<FakeNotion>>,
    Path(db): Path<String>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    assert_eq!(db, DB);
    let pages = s.pages.lock().unwrap();
    let mut ids: Vec<&String> = pages.keys().filter(|id| id.as_str() != P3).collect();
    ids.sort();
    // One page per answer, to exercise the cursor.
    let start = body["start_cursor"]
        .as_str()
        .map_or(0, |c| ids.iter().position(|i| i.as_str() == c).unwrap());
    let (title, edited) = &pages[ids[start]];
    let next = ids.get(start + 1).map(|i| i.as_str());
    axum::Json(json!({"object": "list", "results": [page(ids[start], title, edited)], "next_cursor": next, "has_more": next.is_some(),
                      "type": "page_or_database", "page_or_database": {}}))
    .into_response()
}

async fn get_page(
    State(s): State<Arc<FakeNotion>>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    let pages = s.pages.lock().unwrap();
    match pages.get(&id) {
        Some((title, edited)) => axum::Json(page(&id, title, edited)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"object": "error", "status": 404, "code": "object_not_found",
            "message": format!("Could not find page with ID: {id}.")}),
            ),
        )
            .into_response(),
    }
}

async fn children(
    State(s): State<Arc<FakeNotion>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    assert_eq!(q["page_size"], "100");
    s.block_reads.fetch_add(1, Ordering::SeqCst);
    let blocks = s
        .children
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap_or_default();
    axum::Json(json!({"object": "list", "results": blocks, "next_cursor": null, "has_more": false, "type": "block", "block": {}}))
        .into_response()
}

#[tokio::test]
async fn notion_pages_and_databases_become_markdown_and_refresh_by_edit_time() {
    let s = Arc::new(FakeNotion::default());
    let t0 = "2026-11-01T10:00:00.000Z";
    {
        let mut pages = s.pages.lock().unwrap();
        pages.insert(P1.into(), ("Ferry guide".into(), t0.into()));
        pages.insert(P2.into(), ("Timetable".into(), t0.into()));
        pages.insert(P3.into(), ("Harbour rules".into(), t0.into()));
        let mut c = s.children.lock().unwrap();
        c.insert(
            P1.into(),
            vec![
                block("e1", "heading_1", "Boarding", false),
                block(LIST, "bulleted_list_item", "Bring a ticket", true),
                block("e3", "bulleted_list_item", "Arrive early", false),
            ],
        );
        c.insert(
            LIST.into(),
            vec![block(
                "e4",
                "paragraph",
                "Tickets are sold at the pier",
                false,
            )],
        );
        c.insert(
            P2.into(),
            vec![block(
                "e5",
                "paragraph",
                "The first ferry leaves at 06:10.",
                false,
            )],
        );
        c.insert(
            P3.into(),
            vec![block("e6", "quote", "No swimming near the pier.", false)],
        );
    }
    let app_router = axum::Router::new()
        .route("/v1/databases/{id}/query", axum::routing::post(query))
        .route("/v1/pages/{id}", axum::routing::get(get_page))
        .route("/v1/blocks/{id}/children", axum::routing::get(children))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app_router).await.unwrap() });

    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");
    let body = |token: &str| {
        json!({"name": "Wiki", "config": {"sourceType": "NOTION", "parameters": {"databaseIds": [DB], "pageIds": [P3], "apiUrl": api}},
                                    "auth": {"method": "OAUTH2", "parameters": {"accessToken": token}}})
    };
    let r = app.post("/v1/tenants/acme/assets", &t, body(TOKEN)).await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!(
        (first["status"].as_str(), first["itemsTotal"].as_i64()),
        (Some("COMPLETED"), Some(3)),
        "{first}"
    );
    let store = app.store().await;
    let tenant = ragd_core::domain::TenantId::parse("acme").unwrap();
    let guide = ragd_core::domain::Document::id_for(a.parse().unwrap(), P1);
    let text: String = store
        .chunk_list(&tenant, guide)
        .await
        .unwrap()
        .iter()
        .map(|c| c.content.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let (ticket, pier, early) = (
        text.find("- Bring a ticket").unwrap(),
        text.find("  Tickets are sold at the pier").unwrap(),
        text.find("- Arrive early").unwrap(),
    );
    assert!(
        ticket < pier && pier < early,
        "nested blocks follow their parent: {text}"
    );
    assert!(text.starts_with("# Ferry guide"), "{text}");
    let hits = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "swimming near the pier", "topK": 1}),
        )
        .await;
    assert_eq!(
        hits.body["results"][0]["sourceUrl"],
        format!("https://www.notion.so/{}", P3.replace('-', "")),
        "{}",
        hits.body
    );
    let reads = s.block_reads.load(Ordering::SeqCst);
    assert_eq!(reads, 4, "three pages and one nested list");

    // One page is edited: only its blocks are read again.
    s.pages.lock().unwrap().insert(
        P2.into(),
        ("Timetable".into(), "2026-11-02T07:00:00.000Z".into()),
    );
    s.children.lock().unwrap().insert(
        P2.into(),
        vec![block(
            "e5",
            "paragraph",
            "The first ferry now leaves at 05:50.",
            false,
        )],
    );
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
            second["itemsTotal"].as_i64()
        ),
        (Some(2), Some(3)),
        "{second}"
    );
    assert_eq!(s.block_reads.load(Ordering::SeqCst), reads + 1);

    let r = app
        .post("/v1/tenants/acme/assets", &t, body("secret_wrong"))
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
        format!("querying database {DB}: Notion answered 401 Unauthorized: API token is invalid.")
    );
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            json!({"config": {"sourceType": "NOTION", "parameters": {"pageIds": ["nope"]}}}),
        )
        .await;
    r.problem(400, "/problems/validation");
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            json!({"config": {"sourceType": "NOTION", "parameters": {}}}),
        )
        .await;
    r.problem(400, "/problems/validation");
}
