//! `GOOGLE_DRIVE` assets against a stand-in for the Drive API v3 (googleapis.com cannot be reached
//! from here), answering in the shapes Google documents: `files.list` with `q`, `fields`, paging
//! by `nextPageToken`; `files.export` for Google Docs and Sheets; `files.get?alt=media` for
//! uploaded files; 401 `{"error": {"code", "message", "status"}}` for a wrong token.

use crate::helpers::*;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "ya29.stand-in";

struct File {
    id: &'static str,
    parent: &'static str,
    name: &'static str,
    mime: &'static str,
    modified: String,
    content: Vec<u8>,
}

#[derive(Default)]
struct FakeDrive {
    files: Mutex<Vec<File>>,
    downloads: AtomicUsize,
}

impl FakeDrive {
    async fn start() -> (String, Arc<FakeDrive>) {
        let state = Arc::new(FakeDrive::default());
        let app = axum::Router::new()
            .route("/drive/v3/files", axum::routing::get(list))
            .route("/drive/v3/files/{id}", axum::routing::get(media))
            .route("/drive/v3/files/{id}/export", axum::routing::get(export))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, state)
    }

    fn put(
        &self,
        id: &'static str,
        parent: &'static str,
        name: &'static str,
        mime: &'static str,
        modified: &str,
        content: &[u8],
    ) {
        let mut files = self.files.lock().unwrap();
        files.retain(|f| f.id != id);
        files.push(File {
            id,
            parent,
            name,
            mime,
            modified: modified.to_owned(),
            content: content.to_vec(),
        });
    }
}

fn unauthenticated(h: &HeaderMap) -> Option<Response> {
    if h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}")) {
        return None;
    }
    let body = json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}});
    Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
}

async fn list(
    State(s): State<Arc<FakeDrive>>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = unauthenticated(&h) {
        return r;
    }
    assert_eq!(q["supportsAllDrives"], "true");
    assert!(q["fields"].contains("nextPageToken") && q["fields"].contains("modifiedTime"));
    let parent = q["q"].split('\'').nth(1).unwrap().to_owned();
    assert!(
        q["q"].ends_with("in parents and trashed = false"),
        "{}",
        q["q"]
    );
    let files = s.files.lock().unwrap();
    let mine: Vec<Value> = files
        .iter()
        .filter(|f| f.parent == parent)
        .map(|f| {
            let mut v = json!({"kind": "drive#file", "id": f.id, "name": f.name, "mimeType": f.mime, "modifiedTime": f.modified,
                               "webViewLink": format!("https://drive.google.com/file/d/{}/view", f.id)});
            if !f.mime.starts_with("application/vnd.google-apps.") {
                v["size"] = json!(f.content.len().to_string());
                v["md5Checksum"] = json!(ragd_core::domain::content_hash(&f.content)[..32]);
            }
            v
        })
        .collect();
    // Two files per page, to exercise paging.
    let start: usize = q.get("pageToken").map_or(0, |t| t.parse().unwrap());
    let page: Vec<Value> = mine.iter().skip(start).take(2).cloned().collect();
    let next = (start + 2 < mine.len()).then(|| (start + 2).to_string());
    axum::Json(json!({"kind": "drive#fileList", "incompleteSearch": false, "files": page, "nextPageToken": next})).into_response()
}

async fn media(
    State(s): State<Arc<FakeDrive>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = unauthenticated(&h) {
        return r;
    }
    assert_eq!(q.get("alt").map(String::as_str), Some("media"));
    let files = s.files.lock().unwrap();
    let f = files.iter().find(|f| f.id == id).unwrap();
    assert!(
        !f.mime.starts_with("application/vnd.google-apps."),
        "Google files must be exported"
    );
    s.downloads.fetch_add(1, Ordering::SeqCst);
    f.content.clone().into_response()
}

async fn export(
    State(s): State<Arc<FakeDrive>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = unauthenticated(&h) {
        return r;
    }
    let files = s.files.lock().unwrap();
    let f = files.iter().find(|f| f.id == id).unwrap();
    let wanted = match f.mime {
        "application/vnd.google-apps.document" => "text/html",
        "application/vnd.google-apps.spreadsheet" => "text/csv",
        other => panic!("unexpected export of {other}"),
    };
    assert_eq!(q["mimeType"], wanted);
    s.downloads.fetch_add(1, Ordering::SeqCst);
    f.content.clone().into_response()
}

fn drive_asset(api: &str, token: &str) -> Value {
    json!({"name": "Team drive", "config": {"sourceType": "GOOGLE_DRIVE", "parameters": {"folderId": "F1", "apiUrl": api}},
           "auth": {"method": "OAUTH2", "parameters": {"accessToken": token}}})
}

#[tokio::test]
async fn drive_folders_are_listed_exported_and_refreshed_by_version() {
    let (api, drive) = FakeDrive::start().await;
    let t0 = "2026-11-01T10:00:00.000Z";
    drive.put(
        "D1",
        "F1",
        "Handbook",
        "application/vnd.google-apps.document",
        t0,
        b"<html><body><h1>Handbook</h1><p>The night ferry runs on Fridays.</p></body></html>",
    );
    drive.put(
        "S1",
        "F1",
        "Prices",
        "application/vnd.google-apps.spreadsheet",
        t0,
        b"route,price\nnorth,12\nsouth,9\n",
    );
    drive.put(
        "F2",
        "F1",
        "Archive",
        "application/vnd.google-apps.folder",
        t0,
        b"",
    );
    drive.put(
        "N1",
        "F2",
        "notes.txt",
        "text/plain",
        t0,
        b"Harbour notes: the crane is out of service.\n",
    );
    drive.put("P1", "F2", "photo.jpg", "image/jpeg", t0, b"\xff\xd8");
    drive.put(
        "Q1",
        "F1",
        "Survey",
        "application/vnd.google-apps.form",
        t0,
        b"",
    );
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");

    let r = app
        .post("/v1/tenants/acme/assets", &t, drive_asset(&api, TOKEN))
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["asset"]["assetLink"],
        "https://drive.google.com/drive/folders/F1"
    );
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!(
        (first["status"].as_str(), first["itemsTotal"].as_i64()),
        (Some("COMPLETED"), Some(3)),
        "doc, sheet, text file: {first}"
    );
    assert_eq!(drive.downloads.load(Ordering::SeqCst), 3);
    let docs = app
        .get(&format!("/v1/tenants/acme/assets/{a}/documents"), &t)
        .await
        .body;
    let mut names: Vec<&str> = docs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["fileName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Archive/notes.txt", "Handbook", "Prices"]);
    let hits = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "night ferry Fridays", "topK": 1}),
        )
        .await;
    assert_eq!(
        hits.body["results"][0]["sourceUrl"], "https://drive.google.com/file/d/D1/view",
        "{}",
        hits.body
    );

    // The doc is edited: only it is exported again.
    drive.put(
        "D1",
        "F1",
        "Handbook",
        "application/vnd.google-apps.document",
        "2026-11-02T09:00:00.000Z",
        b"<html><body><h1>Handbook</h1><p>The night ferry now runs daily.</p></body></html>",
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
    assert_eq!(drive.downloads.load(Ordering::SeqCst), 4);

    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            drive_asset(&api, "ya29.expired"),
        )
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
        "listing folder F1: Google Drive answered 401 Unauthorized: Request had invalid authentication credentials."
    );
}
