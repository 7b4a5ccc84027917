//! Scanned PDFs through OCR: a real PDF (shared-mime-info's spec) rendered to images by poppler
//! and packed back into an image-only PDF by img2pdf, as a scanner would deliver it, is uploaded;
//! its pages are read by Tesseract, ≥ 95 % of the original's words (by `pdftotext` of the
//! original's text layer) are in the chunks, each marked `ocr`, and it is searchable. In a PDF
//! that mixes text pages and scanned ones, only the scanned pages are read so and marked.
//! Uploaded PNG, JPEG and (multi-page) TIFF images are read so too; an asset can turn OCR off
//! and on again; a long scan's operation shows its pages as they are read.

use crate::files::{all_chunks, only_document, start_upload, upload};
use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::HashMap;

const SPEC: &str = "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf";

fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs ({e}); ./scripts/test installs it"));
    assert!(out.status.success(), "{program} {args:?} failed");
    out.stdout
}

/// Lowercased words of three or more letters, counted.
fn words(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.chars().count() >= 3 {
            *counts.entry(w.to_lowercase()).or_default() += 1;
        }
    }
    counts
}

/// Share of `want`'s words (with their counts) found in `got`.
fn recall(want: &str, got: &str) -> f64 {
    let (want, got) = (words(want), words(got));
    let total: usize = want.values().sum();
    let found: usize = want
        .iter()
        .map(|(w, n)| (*n).min(got.get(w).copied().unwrap_or(0)))
        .sum();
    found as f64 / total as f64
}

/// The chunks' contents, joined.
fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pages `first..=last` of the spec rendered at 200 dpi and packed into an image-only PDF.
fn scanned(dir: &std::path::Path, first: u32, last: u32) -> Vec<u8> {
    let d = dir.to_str().unwrap();
    let (f, l) = (first.to_string(), last.to_string());
    let prefix = format!("{d}/scan{f}-{l}");
    tool(
        "pdftoppm",
        &[
            "-f", &f, "-l", &l, "-r", "200", "-gray", "-png", SPEC, &prefix,
        ],
    );
    let mut images: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_owned())
        .filter(|p| p.starts_with(&format!("{prefix}-")) && p.ends_with(".png"))
        .collect();
    images.sort();
    let pdf = format!("{prefix}.pdf");
    let mut args: Vec<&str> = images.iter().map(String::as_str).collect();
    args.extend(["-o", &pdf]);
    tool("img2pdf", &args);
    std::fs::read(&pdf).unwrap()
}

#[tokio::test]
async fn a_scanned_pdf_is_read_by_ocr_and_found_by_search() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    tool(
        "pdftoppm",
        &["-r", "200", "-gray", "-png", SPEC, &format!("{d}/p")],
    );
    let mut images: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_owned())
        .collect();
    images.sort();
    let scanned = format!("{d}/scanned.pdf");
    let mut args: Vec<&str> = images.iter().map(String::as_str).collect();
    args.extend(["-o", &scanned]);
    tool("img2pdf", &args);
    let original = String::from_utf8(tool("pdftotext", &[SPEC, "-"])).unwrap();
    assert!(
        String::from_utf8(tool("pdftotext", &[&scanned, "-"]))
            .unwrap()
            .trim()
            .is_empty(),
        "the scan has no text layer"
    );

    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let (asset, op) = upload(&app, "scanned.pdf", std::fs::read(&scanned).unwrap()).await;
    assert_eq!(op["status"], "COMPLETED", "{op}");
    let doc = only_document(&app, &asset).await;
    assert_eq!(doc["metadata"]["ocrPages"], images.len(), "{doc}");

    let chunks = all_chunks(&app, &asset, &doc).await;
    let recall = recall(&original, &content(&chunks));
    eprintln!("OCR word recall: {recall:.4}");
    assert!(recall >= 0.95, "word recall {recall:.4}");
    assert!(
        chunks
            .iter()
            .all(|c| !c["pageNumber"].is_null() && c["metadata"]["ocr"] == true)
    );

    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{asset}:search"),
            &t,
            json!({"query": "How are glob patterns weighted against magic rules?", "topK": 3}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body["results"].as_array().unwrap().is_empty(),
        "{}",
        r.body
    );

    // A PDF of two pages with a text layer and two scanned ones: only the scanned pages are
    // read by OCR, and only their chunks say so.
    tool(
        "pdfseparate",
        &["-f", "1", "-l", "2", SPEC, &format!("{d}/text-%d.pdf")],
    );
    let scan = format!("{d}/scan.pdf");
    tool("img2pdf", &[&images[2], &images[3], "-o", &scan]);
    let mixed = format!("{d}/mixed.pdf");
    tool(
        "pdfunite",
        &[
            &format!("{d}/text-1.pdf"),
            &format!("{d}/text-2.pdf"),
            &scan,
            &mixed,
        ],
    );
    let (asset, op) = upload(&app, "mixed.pdf", std::fs::read(&mixed).unwrap()).await;
    assert_eq!(op["status"], "COMPLETED", "{op}");
    let doc = only_document(&app, &asset).await;
    assert_eq!(doc["metadata"]["ocrPages"], 2, "{doc}");
    let chunks = all_chunks(&app, &asset, &doc).await;
    for c in &chunks {
        let scanned = matches!(c["pageNumber"].as_str(), Some("3" | "4"));
        assert_eq!(c["metadata"]["ocr"] == true, scanned, "{c}");
    }
    assert!(chunks.iter().any(|c| c["pageNumber"] == "1"));
    assert!(chunks.iter().any(|c| c["pageNumber"] == "4"));
}

#[tokio::test]
async fn uploaded_images_are_read_by_ocr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let render = |page: &str, format: &str, name: &str| {
        let out = format!("{d}/{name}");
        tool(
            "pdftoppm",
            &[
                "-f",
                page,
                "-l",
                page,
                "-r",
                "200",
                "-gray",
                format,
                "-singlefile",
                SPEC,
                &out,
            ],
        );
    };
    render("1", "-png", "one");
    render("1", "-jpeg", "one");
    render("1", "-tiff", "one");
    render("2", "-tiff", "two");
    tool(
        "tiffcp",
        &[
            &format!("{d}/one.tif"),
            &format!("{d}/two.tif"),
            &format!("{d}/both.tif"),
        ],
    );
    let text = |first: &str, last: &str| {
        String::from_utf8(tool("pdftotext", &["-f", first, "-l", last, SPEC, "-"])).unwrap()
    };
    let app = TestApp::spawn().await;
    let r = app
        .get("/v1/tenants/acme/assets:supportedTypes", &app.token("acme"))
        .await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["contentType"] == "image/png"),
        "{}",
        r.body
    );
    for (file, pages, original) in [
        ("one.png", 1, text("1", "1")),
        ("one.jpg", 1, text("1", "1")),
        ("both.tif", 2, text("1", "2")),
    ] {
        // A scan is named as its scanner names it; its type comes from its bytes.
        let (asset, op) = upload(
            &app,
            &format!("scan-{file}.bin"),
            std::fs::read(format!("{d}/{file}")).unwrap(),
        )
        .await;
        assert_eq!(
            (op["status"].as_str(), op["ocrPages"].as_i64()),
            (Some("COMPLETED"), Some(pages)),
            "{file}: {op}"
        );
        let doc = only_document(&app, &asset).await;
        assert_eq!(doc["metadata"]["ocrPages"], pages, "{file}: {doc}");
        let chunks = all_chunks(&app, &asset, &doc).await;
        assert!(
            chunks.iter().all(|c| c["metadata"]["ocr"] == true),
            "{file}"
        );
        assert_eq!(
            chunks.iter().filter_map(|c| c["pageNumber"].as_str()).max(),
            Some(pages.to_string().as_str()),
            "{file}"
        );
        let recall = recall(&original, &content(&chunks));
        eprintln!("{file}: OCR word recall {recall:.4}");
        assert!(recall >= 0.9, "{file}: word recall {recall:.4}");
    }
}

#[tokio::test]
async fn ocr_is_turned_off_and_on_per_asset() {
    let dir = tempfile::tempdir().unwrap();
    let scan = scanned(dir.path(), 1, 2);
    let app = TestApp::spawn().await;
    let t = app.token("acme");

    let (asset, op) = start_upload(&app, "scan.pdf", scan, Some(json!({"ocr": false}))).await;
    let op = app.wait_done("acme", &asset, &op).await;
    assert_eq!(
        (op["itemsFailed"].as_i64(), op["ocrPages"].as_i64()),
        (Some(1), Some(0)),
        "{op}"
    );
    let reason = "the PDF has no text layer, and OCR is off for this asset";
    assert!(
        op["errorMessage"].as_str().unwrap().contains(reason),
        "{op}"
    );
    let path = format!("/v1/tenants/acme/assets/{asset}");
    assert_eq!(app.get(&path, &t).await.body["ocr"], false);

    // Turning it on reads the document again.
    let r = app.patch(&path, &t, json!({"ocr": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["asset"]["ocr"].as_bool(),
            r.body["operation"]["type"].as_str()
        ),
        (Some(true), Some("REFRESH")),
        "{}",
        r.body
    );
    let op = app
        .wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            op["status"].as_str(),
            op["itemsFailed"].as_i64(),
            op["ocrPages"].as_i64()
        ),
        (Some("COMPLETED"), Some(0), Some(2)),
        "{op}"
    );
    let doc = only_document(&app, &asset).await;
    assert_eq!(
        (doc["status"].as_str(), doc["metadata"]["ocrPages"].as_i64()),
        (Some("INDEXED"), Some(2)),
        "{doc}"
    );
    // Setting what is set starts nothing.
    let r = app.patch(&path, &t, json!({"ocr": true})).await;
    assert!(r.body["operation"].is_null(), "{}", r.body);

    // An image of an asset without OCR fails alone, saying why.
    let image = format!("{}/page", dir.path().to_str().unwrap());
    tool(
        "pdftoppm",
        &[
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "100",
            "-png",
            "-singlefile",
            SPEC,
            &image,
        ],
    );
    let png = std::fs::read(format!("{image}.png")).unwrap();
    let (asset, op) = start_upload(&app, "page.png", png, Some(json!({"OCR": false}))).await;
    let op = app.wait_done("acme", &asset, &op).await;
    let reason = "an image is read by OCR, and OCR is off for this asset";
    assert!(
        op["errorMessage"].as_str().unwrap().contains(reason),
        "{op}"
    );
}

#[tokio::test]
async fn a_long_scan_shows_its_pages_on_the_operation_as_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let pages = 8;
    let scan = scanned(dir.path(), 1, pages);
    let app = TestApp::spawn().await;
    let (asset, op) = start_upload(&app, "long-scan.pdf", scan, Some(json!({}))).await;
    let res = app
        .client
        .get(format!(
            "{}/v1/tenants/acme/assets/{asset}/operations/{op}:watch",
            app.base
        ))
        .bearer_auth(app.token("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = tokio::time::timeout(std::time::Duration::from_secs(600), res.text())
        .await
        .expect("the stream ends with the operation")
        .unwrap();
    let snapshots: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect();
    let last = snapshots.last().unwrap();
    assert_eq!(
        (
            last["status"].as_str(),
            last["ocrPages"].as_i64(),
            last["ocrPagesTotal"].as_i64()
        ),
        (Some("COMPLETED"), Some(pages as i64), Some(pages as i64)),
        "{last}"
    );
    // While the one document was read, its pages moved the operation on, never back.
    let reading: Vec<(i64, f64)> = snapshots
        .iter()
        .filter(|s| s["done"] == false)
        .map(|s| {
            (
                s["ocrPages"].as_i64().unwrap(),
                s["progress"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(
        reading
            .iter()
            .any(|(read, progress)| (1..pages as i64).contains(read)
                && *progress > 0.0
                && *progress < 1.0),
        "{reading:?}"
    );
    assert!(
        reading
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "{reading:?}"
    );
}
