//! Crawls of sites exactly as real generators publish them, built by `scripts/sites/build.sh` from
//! content that ships with each generator (Sphinx's own documentation, MkDocs' and mdBook's sample
//! projects) and served by a plain static server with nothing added: for each, the pages indexed
//! are the pages the generator wrote, once each, minus what they mark noindex, redirect stubs and
//! pages no page links to (the 404 page, Sphinx's orphans), which no crawler can find without a
//! sitemap. (The Rust Book and rustdoc output from the toolchain: `web.rs`.)

use crate::site::Site;
use crate::web::{
    assert_every_page_once, by_main_text, crawl_app, crawl_asset, documents, html_files, linked, marked_noindex, operation_with_exclusions,
};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The built sites: `RAGD_SITES_DIR` (set by `scripts/test`), else built now. Fails, never skips,
/// when they cannot be built.
fn sites() -> PathBuf {
    if let Some(dir) = std::env::var("RAGD_SITES_DIR").map(PathBuf::from).ok().filter(|d| d.join("built").exists()) {
        return dir;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sites/build.sh");
    let out = std::process::Command::new("bash").arg(&script).output().expect("bash runs");
    assert!(out.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

pub(crate) fn percent_decoded(s: &str) -> String {
    let (b, mut out, mut i) = (s.as_bytes(), Vec::new(), 0);
    while i < b.len() {
        match (b[i], s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(c)) => {
                out.push(c);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Crawls the site in `root` from its `index.html` and checks the pages indexed against the files
/// the generator wrote.
async fn crawls_as_published(root: &Path) {
    let read = |p: &String| std::fs::read_to_string(root.join(p)).unwrap();
    let mut expected = html_files(root);
    assert!(expected.len() > 3, "{} holds {} pages", root.display(), expected.len());
    let reachable = linked(root, &expected);
    let orphans: Vec<&String> = expected.iter().filter(|p| *p != "index.html" && !reachable.contains(*p)).collect();
    eprintln!("{}: pages nothing links to (not crawlable): {orphans:?}", root.display());
    expected.retain(|p| {
        (p == "index.html" || reachable.contains(p)) && !marked_noindex(&read(p)) && !read(p).contains("http-equiv=\"refresh\"")
    });
    let groups = by_main_text(root, &expected);

    let site = Site::serve(root.to_owned()).await;
    let app = crawl_app().await;
    let r = app
        .post("/v1/tenants/acme/assets", &app.token("acme"), crawl_asset(&[format!("{}/index.html", site.base)], json!({"maxPages": 1000})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app.wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!((op["status"].as_str(), op["itemsFailed"].as_i64()), (Some("COMPLETED"), Some(0)), "{op}");
    let prefix = format!("{}/", site.base);
    let page_of = |url: &str| {
        let p = percent_decoded(url.strip_prefix(&prefix).unwrap_or(url));
        if p.is_empty() || p.ends_with('/') { format!("{p}index.html") } else { p }
    };
    let indexed: Vec<String> = documents(&app, &asset).await.iter().map(|d| page_of(d["sourceUrl"].as_str().unwrap())).collect();
    let op = operation_with_exclusions(&app, &asset, &op).await;
    eprintln!("{}: {} pages indexed, {} left out: {}", root.display(), indexed.len(), op["itemsExcluded"], op["excluded"]);
    assert_every_page_once(&indexed, &groups);
}

#[tokio::test]
async fn crawls_sphinx_as_it_publishes_its_own_documentation() {
    crawls_as_published(&sites().join("sphinx")).await;
}

#[tokio::test]
async fn crawls_mkdocs_sample_projects_as_published() {
    let sites = sites();
    crawls_as_published(&sites.join("mkdocs-subpages")).await;
    crawls_as_published(&sites.join("mkdocs-unicode")).await;
}

#[tokio::test]
async fn crawls_an_mdbook_built_book_as_published() {
    crawls_as_published(&sites().join("mdbook-summary")).await;
}
