//! Scanned PDFs through OCR: a real PDF (shared-mime-info's spec) rendered to images by poppler
//! and packed back into an image-only PDF by img2pdf, as a scanner would deliver it, is uploaded;
//! its pages are read by Tesseract, ≥ 95 % of the original's words (by `pdftotext` of the
//! original's text layer) are in the chunks, each marked `ocr`, and it is searchable. In a PDF
//! that mixes text pages and scanned ones, only the scanned pages are read so and marked.

use crate::files::{all_chunks, only_document, upload};
use crate::helpers::*;
use serde_json::json;
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
    let read: String = chunks
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let (want, got) = (words(&original), words(&read));
    let total: usize = want.values().sum();
    let found: usize = want
        .iter()
        .map(|(w, n)| (*n).min(got.get(w).copied().unwrap_or(0)))
        .sum();
    let recall = found as f64 / total as f64;
    eprintln!("OCR word recall: {recall:.4} ({found} of {total} words)");
    assert!(
        recall >= 0.95,
        "word recall {recall:.4} ({found} of {total})"
    );
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
