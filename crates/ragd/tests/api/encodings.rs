//! Text in any encoding (ragd decodes once, records it as the derived metadata key `encoding`):
//! files made by iconv in Latin-1, Windows-1252, Shift-JIS and UTF-16LE with a byte-order mark,
//! and pages whose charset is only in the HTTP header, only in a `<meta>`, or in both and
//! different (the header wins, as in every browser). In each, the indexed text is the original.

use crate::files::{all_chunks, only_document, upload};
use crate::helpers::*;
use crate::site::{Override, Site};
use serde_json::{Value, json};

/// `text` converted by iconv to `encoding`.
fn iconv(text: &str, encoding: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("iconv")
        .args(["-f", "UTF-8", "-t", encoding])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("iconv runs (Debian's libc-bin)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "iconv -t {encoding} failed");
    out.stdout
}

/// The text of a document's chunks, in order, overlaps removed by the chunks' offsets.
async fn indexed_text(app: &TestApp, asset: &str, doc: &Value) -> String {
    let chunks = all_chunks(app, asset, doc).await;
    let mut text = String::new();
    let mut end: usize = 0;
    for c in chunks {
        let start = c["startCharIdx"].as_u64().unwrap() as usize;
        let content: Vec<char> = c["content"].as_str().unwrap().chars().collect();
        let skip = end.saturating_sub(start).min(content.len());
        if start > end && !text.is_empty() {
            text.push(' ');
        }
        text.extend(&content[skip..]);
        end = end.max(start + content.len());
    }
    text
}

const LATIN_1: &str =
    "Café crème brûlée at the façade: São Paulo's jalapeño piñata, à la carte, naïve and déjà vu.";
const WINDOWS_1252: &str = "“Smart quotes” cost €5 — a bargain… isn’t it? The œuvre of Molière’s rival costs ‰ of it, and Noël is near.";
const SHIFT_JIS: &str = "日本語の文章です。東京は日本の首都であり、多くの人々が住んでいます。桜の季節には公園が花見の客でにぎわいます。";
const UTF_16: &str =
    "Grüße aus Köln — Ünïcödé text written by a Windows tool, with a byte-order mark.";

#[tokio::test]
async fn files_in_legacy_encodings_and_utf16_are_indexed_as_their_text() {
    let app = TestApp::spawn().await;
    // (text, iconv's target, the file's name, the encoding ragd records)
    let cases = [
        (LATIN_1, "ISO-8859-1", "latin1.txt", "windows-1252"),
        (WINDOWS_1252, "WINDOWS-1252", "cp1252.md", "windows-1252"),
        (SHIFT_JIS, "SHIFT_JIS", "japanese.txt", "Shift_JIS"),
        (UTF_16, "UTF-16", "windows.txt", "UTF-16LE"),
    ];
    for (text, target, name, encoding) in cases {
        let bytes = iconv(text, target);
        assert_ne!(bytes, text.as_bytes(), "{target} differs from UTF-8");
        let (asset, op) = upload(&app, name, bytes).await;
        assert_eq!(op["status"], "COMPLETED", "{name}: {op}");
        let doc = only_document(&app, &asset).await;
        assert_eq!(doc["metadata"]["encoding"], encoding, "{name}: {doc}");
        assert_eq!(
            indexed_text(&app, &asset, &doc).await.trim(),
            text,
            "{name}"
        );
    }
    // Binary stays refused.
    let (_, op) = upload(&app, "data.txt", b"abc\0\x01\x02def".to_vec()).await;
    assert!(op.to_string().contains("binary, not text"), "{op}");
}

#[tokio::test]
async fn pages_are_decoded_by_their_header_charset_else_their_meta_charset() {
    let dir = tempfile::tempdir().unwrap();
    let page = |meta: &str, body: &str| {
        format!(
            "<html><head>{meta}<title>Page</title></head><body><main><p>{body}</p></main></body></html>"
        )
    };
    // Only the header says Shift_JIS.
    std::fs::write(
        dir.path().join("header.html"),
        iconv(&page("", SHIFT_JIS), "SHIFT_JIS"),
    )
    .unwrap();
    // Only the page says windows-1252.
    let meta = r#"<meta charset="windows-1252">"#;
    std::fs::write(
        dir.path().join("meta.html"),
        iconv(&page(meta, WINDOWS_1252), "WINDOWS-1252"),
    )
    .unwrap();
    // The header says ISO-8859-1 and the page says UTF-8; the bytes are Latin-1.
    let wrong = r#"<meta http-equiv="Content-Type" content="text/html; charset=utf-8">"#;
    std::fs::write(
        dir.path().join("both.html"),
        iconv(&page(wrong, LATIN_1), "ISO-8859-1"),
    )
    .unwrap();
    let site = Site::serve(dir.path().to_owned()).await;
    let header = |v: &'static str| Override::Header("content-type", v);
    site.set("/header.html", header("text/html; charset=Shift_JIS"));
    site.set("/meta.html", header("text/html"));
    site.set("/both.html", header("text/html; charset=ISO-8859-1"));

    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");
    let urls: Vec<String> = ["header", "meta", "both"]
        .iter()
        .map(|p| format!("{}/{p}.html", site.base))
        .collect();
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            crate::web::web_asset(&urls, json!({"maxDepth": 0})),
        )
        .await;
    let asset = app.ingested("acme", &r).await;
    let docs = app
        .get(&format!("/v1/tenants/acme/assets/{asset}/documents"), &t)
        .await
        .body;
    for (page, text, encoding) in [
        ("header.html", SHIFT_JIS, "Shift_JIS"),
        ("meta.html", WINDOWS_1252, "windows-1252"),
        ("both.html", LATIN_1, "windows-1252"),
    ] {
        let doc = docs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["sourceUrl"].as_str().unwrap().ends_with(page))
            .unwrap_or_else(|| panic!("{page} not indexed: {docs}"));
        assert_eq!(doc["metadata"]["encoding"], encoding, "{page}: {doc}");
        let indexed = indexed_text(&app, &asset, doc).await;
        assert!(indexed.contains(text), "{page}: {indexed}");
    }
}
