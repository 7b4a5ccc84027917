//! Crawls of sites exactly as real generators publish them, built by `scripts/sites/build.sh` from
//! content that ships with each generator (Sphinx's own documentation, MkDocs' and mdBook's sample
//! projects) and served by a plain static server with nothing added: for each, the pages indexed
//! are the pages the generator wrote, once each, minus what they mark noindex, redirect stubs and
//! pages no page links to (the 404 page, Sphinx's orphans), which no crawler can find without a
//! sitemap. (The Rust Book and rustdoc output from the toolchain: `web.rs`.)

use crate::site::Site;
use crate::web::{
    assert_every_page_once, by_main_text, crawl_app, crawl_site, html_files, linked, marked_noindex,
};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The built sites: `RAGD_SITES_DIR` (set by `scripts/test`), else built now. Fails, never skips,
/// when they cannot be built.
fn sites() -> PathBuf {
    if let Some(dir) = std::env::var("RAGD_SITES_DIR")
        .map(PathBuf::from)
        .ok()
        .filter(|d| d.join("built").exists())
    {
        return dir;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sites/build.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Crawls the site in `root` from its `index.html` and checks the pages indexed against the files
/// the generator wrote.
async fn crawls_as_published(root: &Path) {
    let read = |p: &String| std::fs::read_to_string(root.join(p)).unwrap();
    let mut expected = html_files(root);
    assert!(
        expected.len() > 3,
        "{} holds {} pages",
        root.display(),
        expected.len()
    );
    let reachable = linked(root, &expected);
    let orphans: Vec<&String> = expected
        .iter()
        .filter(|p| *p != "index.html" && !reachable.contains(*p))
        .collect();
    eprintln!(
        "{}: pages nothing links to (not crawlable): {orphans:?}",
        root.display()
    );
    expected.retain(|p| {
        (p == "index.html" || reachable.contains(p))
            && !marked_noindex(&read(p))
            && !read(p).contains("http-equiv=\"refresh\"")
    });
    let groups = by_main_text(root, &expected);

    let site = Site::serve(root.to_owned()).await;
    let app = crawl_app().await;
    let prefix = format!("{}/", site.base);
    let (_, op, indexed) = crawl_site(
        &app,
        format!("{prefix}index.html"),
        &prefix,
        json!({"maxPages": 1000}),
    )
    .await;
    eprintln!(
        "{}: {} pages indexed, {} left out: {}",
        root.display(),
        indexed.len(),
        op["itemsExcluded"],
        op["excluded"]
    );
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
