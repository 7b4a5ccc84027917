//! Uploads through the API: the two real PDFs and a generated DOCX are stored, imported and
//! ingested with page numbers and headings; broken files (a corrupt PDF, a zip-bomb DOCX, 10,000-
//! deep HTML) fail alone; size and type limits answer 413 and 415; uploads are per tenant.

use crate::helpers::*;
use ragd_pipeline::parse::fixtures;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const LIBTASN1: &str = "/usr/share/doc/libtasn1-doc/libtasn1.pdf";
const MIME_SPEC: &str = "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf";

pub(crate) async fn multipart(app: &TestApp, path: &str, token: &str, form: Form) -> Resp {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request sent");
    Resp::from_response(r).await
}

pub(crate) fn file_part(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_owned())
}

/// `POST /assets:file` of one file; returns (asset, operation when done).
pub(crate) async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> (String, Value) {
    let (asset, op) = start_upload(app, name, bytes, None).await;
    let op = app.wait_done("acme", &asset, &op).await;
    (asset, op)
}

/// `POST /assets:file` of one file, with a `Payload` if given, without waiting: (asset,
/// operation id).
pub(crate) async fn start_upload(
    app: &TestApp,
    name: &str,
    bytes: Vec<u8>,
    payload: Option<Value>,
) -> (String, String) {
    let mut form = Form::new().part("File", file_part(name, bytes));
    if let Some(p) = payload {
        form = form.text("Payload", p.to_string());
    }
    let r = multipart(
        app,
        "/v1/tenants/acme/assets:file",
        &app.token("acme"),
        form,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    (id(&r.body["asset"]), id(&r.body["operation"]))
}

/// `POST /storage` then `POST /assets:import`; returns (asset, operation when done).
async fn store_and_import(app: &TestApp, name: &str, bytes: Vec<u8>) -> (String, Value) {
    let t = app.token("acme");
    let r = multipart(
        app,
        "/v1/tenants/acme/storage?temporary=true",
        &t,
        Form::new().part("file", file_part(name, bytes)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let file_id = r.body["fileId"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/v1/tenants/acme/assets:import",
            &t,
            json!({"fileId": file_id}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["asset"]["type"], "FILE");
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    (asset, op)
}

pub(crate) async fn only_document(app: &TestApp, asset: &str) -> Value {
    let r = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/documents"),
            &app.token("acme"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalCount"], 1, "{}", r.body);
    r.body["items"][0].clone()
}

pub(crate) async fn all_chunks(app: &TestApp, asset: &str, doc: &Value) -> Vec<Value> {
    let path = format!(
        "/v1/tenants/acme/assets/{asset}/documents/{}/chunks?PageSize=1000",
        doc["id"].as_str().unwrap()
    );
    let r = app.get(&path, &app.token("acme")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["chunks"].as_array().unwrap().clone()
}

#[tokio::test]
async fn real_pdfs_are_ingested_with_page_numbers() {
    let app = TestApp::spawn().await;
    for (path, min_pages) in [(LIBTASN1, 30), (MIME_SPEC, 10)] {
        let bytes = std::fs::read(path).unwrap_or_else(|_| {
            panic!("{path} is missing: apt-get install libtasn1-doc shared-mime-info")
        });
        let size = bytes.len() as i64;
        let (asset, op) =
            store_and_import(&app, path.rsplit('/').next().unwrap(), bytes.clone()).await;
        assert_eq!(op["status"], "COMPLETED", "{op}");
        let doc = only_document(&app, &asset).await;
        assert_eq!(
            (
                doc["contentType"].as_str(),
                doc["fileSize"].as_i64(),
                doc["status"].as_str()
            ),
            (Some("application/pdf"), Some(size), Some("INDEXED"))
        );
        let chunks = all_chunks(&app, &asset, &doc).await;
        assert_eq!(chunks.len() as i64, doc["chunkCount"].as_i64().unwrap());
        let pages: Vec<i64> = chunks
            .iter()
            .map(|c| {
                c["pageNumber"]
                    .as_str()
                    .expect("every chunk has a page")
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(
            pages.windows(2).all(|w| w[0] <= w[1]),
            "pages ascend: {pages:?}"
        );
        assert!(
            *pages.last().unwrap() >= min_pages,
            "{path}: last page {}",
            pages.last().unwrap()
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["tokenCount"].as_i64().unwrap() <= 200)
        );
        // The outline's sections are the chunks' heading paths; no word is split by a line-end
        // hyphen; running page headers and page numbers are not in the text.
        let paths: Vec<&str> = chunks
            .iter()
            .map(|c| c["headingPath"].as_str().unwrap())
            .collect();
        let sections: &[&str] = if path == LIBTASN1 {
            &[
                "1 Introduction",
                "2 ASN.1 structure handling > 2.1 ASN.1 syntax",
                "3 Utilities > 3.1 Invoking asn1Parser",
                "4 Function reference > 4.1 ASN.1 schema functions",
                "4 Function reference > 4.3 DER functions",
            ]
        } else {
            &[
                "1. Introduction > 1.2. What is this spec?",
                "2. Unified system > 2.4. The glob files",
                "2. Unified system > 2.11. Subclassing",
            ]
        };
        for section in sections {
            assert!(
                paths.contains(section),
                "{path}: no chunk under {section:?}: {paths:?}"
            );
        }
        for c in &chunks {
            let lines: Vec<&str> = c["content"].as_str().unwrap().lines().collect();
            for pair in lines.windows(2) {
                let split = pair[0].ends_with('-')
                    && pair[0].chars().rev().nth(1).is_some_and(char::is_lowercase)
                    && pair[1].starts_with(char::is_lowercase);
                assert!(
                    !split,
                    "{path}: a word split across lines: {:?} / {:?}",
                    pair[0], pair[1]
                );
            }
            for line in lines {
                let running = line.starts_with("Chapter ")
                    && line
                        .rsplit(' ')
                        .next()
                        .is_some_and(|n| n.parse::<u32>().is_ok());
                assert!(
                    !running && line.trim().parse::<u32>().is_err(),
                    "{path}: a running header or page number: {line:?}"
                );
            }
        }
        // The asset links to its file, which downloads byte for byte.
        let link = app
            .get(
                &format!("/v1/tenants/acme/assets/{asset}"),
                &app.token("acme"),
            )
            .await
            .body["assetLink"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .client
            .get(format!("{}{link}", app.base))
            .bearer_auth(app.token("acme"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    // Refreshing an unchanged file costs nothing.
    let r = app.get("/v1/tenants/acme/assets", &app.token("acme")).await;
    let asset = r.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:refresh"),
            &app.token("acme"),
            json!({}),
        )
        .await;
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (op["tokenCount"].as_i64(), op["itemsSkipped"].as_i64()),
        (Some(0), Some(1)),
        "{op}"
    );
}

#[tokio::test]
async fn a_generated_docx_is_uploaded_with_its_payload_and_keeps_headings() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let docx = fixtures::docx(&[
        (Some("Title"), "Harbour handbook"),
        (Some("Heading1"), "Tides"),
        (
            None,
            "High water comes twice a day; the harbour master posts the times at the quay.",
        ),
        (Some("Heading2"), "Spring tides"),
        (
            None,
            "Spring tides follow the full and the new moon and run higher than neap tides.",
        ),
        (None, "|Port|High tide|Low tide"),
    ]);
    let payload = json!({"DISPLAYNAME": "Handbook", "Vectorize": true, "embedding": {"chunkSize": 32, "chunkOverlap": 0}});
    let form = Form::new()
        .part("File", file_part("handbook.docx", docx))
        .text("Payload", payload.to_string());
    let r = multipart(&app, "/v1/tenants/acme/assets:file", &t, form).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (
            r.body["asset"]["displayName"].as_str(),
            r.body["asset"]["embedding"]["chunkSize"].as_i64()
        ),
        (Some("Handbook"), Some(32))
    );
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(op["status"], "COMPLETED", "{op}");
    let doc = only_document(&app, &asset).await;
    assert_eq!(
        doc["contentType"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let chunks = all_chunks(&app, &asset, &doc).await;
    let spring = chunks
        .iter()
        .find(|c| {
            c["content"]
                .as_str()
                .unwrap()
                .contains("full and the new moon")
        })
        .unwrap();
    // Word's Title and Heading 1 are both top-level headings.
    assert_eq!(spring["headingPath"], "Tides > Spring tides");
    assert!(
        spring["contextText"]
            .as_str()
            .unwrap()
            .starts_with("handbook.docx > Tides > Spring tides"),
        "{spring}"
    );
    assert!(chunks.iter().any(|c| {
        c["content"]
            .as_str()
            .unwrap()
            .contains("| Port | High tide | Low tide |")
    }));

    // A bad payload names its field, and the upload is not kept.
    let form = Form::new()
        .part("File", file_part("x.md", b"# x\n\ntext".to_vec()))
        .text("Payload", r#"{"colour": "blue"}"#);
    let r = multipart(&app, "/v1/tenants/acme/assets:file", &t, form).await;
    assert_eq!(
        r.problem(400, "/problems/validation")["errors"][0]["field"],
        "Payload.colour"
    );
}

#[tokio::test]
async fn broken_files_fail_alone_and_the_process_lives() {
    let app = TestApp::spawn().await;
    let corrupt = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\nxref\n0 1\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec();
    for (name, bytes, reason) in [
        ("corrupt.pdf", corrupt, "PDF"),
        ("bomb.docx", fixtures::zip_bomb(300 << 20), "zip bomb"),
        (
            "deep.html",
            format!(
                "<html><body>{}x{}</body></html>",
                "<div>".repeat(10_000),
                "</div>".repeat(10_000)
            )
            .into_bytes(),
            "deep",
        ),
    ] {
        let (asset, op) = store_and_import(&app, name, bytes).await;
        assert_eq!(
            (op["status"].as_str(), op["itemsFailed"].as_i64()),
            (Some("FAILED"), Some(1)),
            "{name}: {op}"
        );
        assert!(
            op["errorMessage"].as_str().unwrap().contains(reason),
            "{name}: {op}"
        );
        let r = app
            .get(
                &format!("/v1/tenants/acme/assets/{asset}"),
                &app.token("acme"),
            )
            .await;
        assert_eq!(r.body["status"], "FAILED", "{}", r.body);
    }
    // In a TEXT asset, the broken document fails and the others are indexed.
    let deep = format!(
        "<html><body>{}x{}</body></html>",
        "<ul><li>".repeat(10_000),
        "</li></ul>".repeat(10_000)
    );
    let body = json!({"config": {"sourceType": "TEXT", "parameters": {"documents": [
        {"name": "good", "text": "A perfectly fine document."},
        {"name": "deep", "text": deep, "contentType": "text/html"},
        {"name": "fine", "text": "<p>Also fine.</p>", "contentType": "text/html"},
    ]}}});
    let r = app
        .post("/v1/tenants/acme/assets", &app.token("acme"), body)
        .await;
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            op["status"].as_str(),
            op["itemsFailed"].as_i64(),
            op["itemsProcessed"].as_i64()
        ),
        (Some("COMPLETED"), Some(1), Some(3)),
        "{op}"
    );
    let r = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/documents?search=deep"),
            &app.token("acme"),
        )
        .await;
    assert_eq!(r.body["items"][0]["status"], "FAILED");
    assert!(
        r.body["items"][0]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("nests elements"),
        "{}",
        r.body
    );
    assert_eq!(app.get("/healthz", "").await.status, 200);
}

#[tokio::test]
async fn uploads_enforce_size_type_and_tenant() {
    let app = TestApp::spawn_with(|c| c.upload_max_bytes = 1 << 20, None).await;
    let t = app.token("acme");
    // Over the limit: 413, and nothing kept.
    let big = vec![b'a'; 3 << 20];
    let r = multipart(
        &app,
        "/v1/tenants/acme/storage",
        &t,
        Form::new().part("file", file_part("big.txt", big)),
    )
    .await;
    r.problem(413, "/problems/payload-too-large");
    let files = walk(&app.config.files_dir());
    assert!(files.is_empty(), "nothing stored: {files:?}");
    // A type ragd cannot parse (an animation; PNG, JPEG and TIFF it reads by OCR): 415 naming
    // what it can.
    let gif = b"GIF89a\x01\0\x01\0".to_vec();
    let r = multipart(
        &app,
        "/v1/tenants/acme/storage",
        &t,
        Form::new().part(
            "file",
            file_part("image.gif", gif).mime_str("image/gif").unwrap(),
        ),
    )
    .await;
    assert!(
        r.problem(415, "/problems/unsupported-media-type")["detail"]
            .as_str()
            .unwrap()
            .contains(".pdf")
    );
    let r = multipart(
        &app,
        "/v1/tenants/acme/assets:file",
        &t,
        Form::new().text("Payload", "{}"),
    )
    .await;
    assert_eq!(
        r.problem(400, "/problems/validation")["errors"][0]["field"],
        "File"
    );
    // The declared type is used when the name says nothing; magic bytes win for PDFs.
    let r = multipart(
        &app,
        "/v1/tenants/acme/storage",
        &t,
        Form::new().part(
            "file",
            file_part("notes", b"# Notes".to_vec())
                .mime_str("text/markdown")
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["fileType"].as_str()),
        (201, Some("text/markdown")),
        "{}",
        r.body
    );
    let file_id = r.body["fileId"].as_str().unwrap().to_owned();

    // Another tenant can neither import nor download it.
    let other = app.token("other");
    let r = app
        .post(
            "/v1/tenants/other/assets:import",
            &other,
            json!({"fileId": file_id}),
        )
        .await;
    assert_eq!(
        r.problem(400, "/problems/validation")["errors"][0]["field"],
        "fileId"
    );
    app.get(&format!("/v1/tenants/other/storage/{file_id}"), &other)
        .await
        .problem(404, "/problems/not-found");
    app.post(
        "/v1/tenants/acme/assets:import",
        &t,
        json!({"fileId": file_id, "colour": 1}),
    )
    .await
    .problem(400, "/problems/validation");

    // Deleting the asset deletes its file.
    let r = app
        .post(
            "/v1/tenants/acme/assets:import",
            &t,
            json!({"fileId": file_id, "vectorize": false}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["asset"]["vectorized"].as_bool()),
        (201, Some(false)),
        "{}",
        r.body
    );
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            op["status"].as_str(),
            op["tokenCount"].as_i64(),
            op["chunkCount"].as_i64()
        ),
        (Some("COMPLETED"), Some(0), Some(1)),
        "full text only: {op}"
    );
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/storage/{file_id}"), &t)
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&format!("/v1/tenants/acme/assets/{asset}"), &t)
            .await
            .status,
        204
    );
    app.get(&format!("/v1/tenants/acme/storage/{file_id}"), &t)
        .await
        .problem(404, "/problems/not-found");
    assert!(walk(&app.config.files_dir()).is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test]
async fn one_file_asset_holds_several_uploads_named_by_file_ids() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let mut ids = Vec::new();
    for (name, text) in [
        ("a.md", "# Alpha\nThe first file."),
        ("b.txt", "The second file."),
        ("c.md", "# Gamma\nThe third."),
    ] {
        let r = multipart(
            &app,
            "/v1/tenants/acme/storage?temporary=true",
            &t,
            Form::new().part("file", file_part(name, text.into())),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["fileId"].as_str().unwrap().to_owned());
    }
    let create = |params: Value| json!({"config": {"sourceType": "FILE", "parameters": params}});
    // Both, neither, a repeated id and an unknown id are each a 400 naming the field.
    for (params, field) in [
        (
            json!({"fileId": ids[0], "fileIds": [ids[1]]}),
            "config.parameters.fileId",
        ),
        (json!({}), "config.parameters.fileId"),
        (json!({"fileIds": []}), "config.parameters.fileIds"),
        (
            json!({"fileIds": [ids[0], ids[0]]}),
            "config.parameters.fileIds[1]",
        ),
        (
            json!({"fileIds": [ids[0], uuid::Uuid::new_v4()]}),
            "config.parameters.fileIds[1]",
        ),
    ] {
        let r = app
            .post("/v1/tenants/acme/assets", &t, create(params.clone()))
            .await;
        assert_eq!(
            r.problem(400, "/problems/validation")["errors"][0]["field"],
            field,
            "{params}: {}",
            r.body
        );
    }
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            create(json!({"fileIds": ids})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["asset"]["displayName"], "3 files");
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (op["status"].as_str(), op["itemsProcessed"].as_i64()),
        (Some("COMPLETED"), Some(3)),
        "{op}"
    );
    let r = app
        .get(&format!("/v1/tenants/acme/assets/{asset}/documents"), &t)
        .await;
    let mut names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["fileName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a.md", "b.txt", "c.md"]);
    // Deleting the asset discards its uploads.
    assert_eq!(
        app.delete(&format!("/v1/tenants/acme/assets/{asset}"), &t)
            .await
            .status,
        204
    );
    for id in &ids {
        assert_eq!(
            app.get(&format!("/v1/tenants/acme/storage/{id}"), &t)
                .await
                .status,
            404
        );
    }
}
