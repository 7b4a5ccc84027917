//! Web crawls through the API against a real site on 127.0.0.1: the Rust Book from the
//! toolchain's docs with its robots.txt and a sitemap, refreshed unchanged, edited, half-broken
//! and complete; and the SSRF guard, directly and through redirects.

use crate::helpers::*;
use crate::site::{Override, Site, rust_book_site};
use serde_json::{Value, json};

fn web_asset(urls: &[String], extra: Value) -> Value {
    let mut params = json!({"urls": urls});
    params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({"name": "Rust Book", "config": {"sourceType": "WEB", "parameters": params}})
}

async fn refresh(app: &TestApp, asset: &str) -> Value {
    let t = app.token("acme");
    let r = app.post(&format!("/v1/tenants/acme/assets/{asset}:refresh"), &t, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    app.wait_done("acme", asset, r.body["operation"]["id"].as_str().unwrap()).await
}

async fn documents(app: &TestApp, asset: &str) -> Vec<Value> {
    let r = app.get(&format!("/v1/tenants/acme/assets/{asset}/documents?PageSize=1000"), &app.token("acme")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

async fn chunks(app: &TestApp, asset: &str, doc: &str) -> Vec<Value> {
    let r = app.get(&format!("/v1/tenants/acme/assets/{asset}/documents/{doc}/chunks?PageSize=1000"), &app.token("acme")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["chunks"].as_array().unwrap().clone()
}

fn by_page<'a>(docs: &'a [Value], page: &str) -> Option<&'a Value> {
    docs.iter().find(|d| d["sourceUrl"].as_str().is_some_and(|u| u.ends_with(page)))
}

#[tokio::test]
async fn crawls_the_rust_book_and_refreshes_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::serve(dir.path().to_owned()).await;
    let pages = rust_book_site(dir.path(), &site.base);
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await;
    let t = app.token("acme");

    // Chapters 4 and 8 (minus a page robots.txt disallows), found through the sitemap.
    let expected: Vec<&String> =
        pages.iter().filter(|p| (p.starts_with("ch04-0") || p.starts_with("ch08-0")) && !p.starts_with("ch04-03")).collect();
    assert_eq!(expected.len(), 7, "{expected:?}");
    let body = web_asset(
        &[format!("{}/book/index.html", site.base)],
        json!({"scope": "PREFIX", "maxDepth": 1, "includePatterns": ["/book/ch04-0*", "/book/ch08-0*"]}),
    );
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["asset"]["assetLink"], format!("{}/book/index.html", site.base));
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app.wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!(op["status"], "COMPLETED", "{op}");
    assert_eq!(op["errorMessage"], Value::Null, "{op}");
    assert_eq!((op["itemsTotal"].as_i64(), op["itemsFailed"].as_i64()), (Some(7), Some(0)), "{op}");
    let log = site.take_log();
    assert!(log.iter().any(|(p, _)| p == "/robots.txt") && log.iter().any(|(p, _)| p == "/book/sitemap.xml"));
    assert!(!log.iter().any(|(p, _)| p.contains("ch04-03") || p.contains("print.html")), "robots.txt is obeyed");
    assert!(!log.iter().any(|(p, _)| p.ends_with(".css") || p.ends_with(".js")), "static files are not fetched");

    let docs = documents(&app, &asset).await;
    assert_eq!(docs.len(), 7);
    for page in &expected {
        let d = by_page(&docs, page).unwrap_or_else(|| panic!("{page} missing"));
        assert_eq!((d["status"].as_str(), d["contentType"].as_str()), (Some("INDEXED"), Some("text/html")), "{d}");
        assert!(d["fileName"].as_str().unwrap().ends_with("The Rust Programming Language"), "the title names it: {d}");
    }

    // Structure survives: heading trails, token limits, whole code blocks.
    let ownership = by_page(&docs, "ch04-01-what-is-ownership.html").unwrap();
    let cs = chunks(&app, &asset, ownership["id"].as_str().unwrap()).await;
    assert!(cs.len() > 20, "{}", cs.len());
    assert!(cs.iter().any(|c| c["headingPath"] == "What Is Ownership? > The Stack and the Heap"));
    assert!(cs.iter().all(|c| c["contextText"].as_str().unwrap().starts_with("What is Ownership? - The Rust Programming Language")));
    for d in &docs {
        // A code block is split only when it alone exceeds the chunk size: the chunks a split
        // block spans (from the one leaving a fence open to the one closing it) hold > 200 tokens.
        let mut open_span: Option<i64> = None;
        for c in chunks(&app, &asset, d["id"].as_str().unwrap()).await {
            let (tokens, content) = (c["tokenCount"].as_i64().unwrap(), c["content"].as_str().unwrap());
            assert!(tokens <= 200, "chunk over chunkSize: {c}");
            let fences = content.lines().filter(|l| l.trim_start().starts_with("```")).count();
            open_span = match (open_span, fences % 2 == 1) {
                (None, false) => None,
                (None, true) => Some(tokens),
                (Some(sum), false) => Some(sum + tokens),
                (Some(sum), true) => {
                    assert!(sum + tokens > 200, "a code block that fits was split, ending at {c}");
                    None
                }
            };
        }
        assert_eq!(open_span, None, "a code block was left open in {}", d["sourceUrl"]);
    }
    let strings = by_page(&docs, "ch08-02-strings.html").unwrap().clone();
    let strings_tokens = strings["tokenCount"].as_i64().unwrap();

    // Nothing changed: every page answers 304 and nothing is embedded.
    let op = refresh(&app, &asset).await;
    assert_eq!(
        (op["status"].as_str(), op["tokenCount"].as_i64(), op["itemsSkipped"].as_i64()),
        (Some("COMPLETED"), Some(0), Some(7)),
        "{op}"
    );
    let log = site.take_log();
    assert_eq!(log.iter().filter(|(_, s)| *s == 304).count(), 7, "conditional requests: {log:?}");

    // One page edited: only its changed chunks are embedded.
    let file = dir.path().join("book/ch08-02-strings.html");
    let html = std::fs::read_to_string(&file).unwrap();
    let edited =
        html.replacen("Many of the same operations", "ragd edited this paragraph of the strings chapter. Many of the same operations", 1);
    assert_ne!(edited, html);
    std::fs::write(&file, edited).unwrap();
    let op = refresh(&app, &asset).await;
    assert_eq!((op["status"].as_str(), op["itemsSkipped"].as_i64()), (Some("COMPLETED"), Some(6)), "{op}");
    let sent = op["tokenCount"].as_i64().unwrap();
    assert!(sent > 0 && sent * 5 < strings_tokens, "only changed chunks are embedded: {sent} of {strings_tokens}");
    assert!(op["tokensSaved"].as_i64().unwrap() > strings_tokens / 2, "{op}");

    // Half-way failure: one page deleted at the source, another answering 503. The crawl is
    // incomplete, so nothing is deleted, and the failing page keeps its indexed version.
    std::fs::remove_file(dir.path().join("book/ch08-03-hash-maps.html")).unwrap();
    site.set("/book/ch08-01-vectors.html", Override::Status(503));
    let op = refresh(&app, &asset).await;
    assert_eq!(op["status"], "COMPLETED", "{op}");
    assert!(op["errorMessage"].as_str().unwrap().contains("503"), "{op}");
    let docs = documents(&app, &asset).await;
    assert_eq!(docs.len(), 7, "an incomplete crawl deletes nothing");
    assert_eq!(by_page(&docs, "ch08-01-vectors.html").unwrap()["status"], "INDEXED");

    // A complete crawl removes the deleted page.
    site.clear("/book/ch08-01-vectors.html");
    let op = refresh(&app, &asset).await;
    assert_eq!((op["status"].as_str(), op["errorMessage"].as_str()), (Some("COMPLETED"), None), "{op}");
    let docs = documents(&app, &asset).await;
    assert_eq!(docs.len(), 6);
    assert!(by_page(&docs, "ch08-03-hash-maps.html").is_none());
}

#[tokio::test]
async fn ssrf_is_refused_directly_and_through_redirects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.html"), "<html><body><p>internal secret</p></body></html>").unwrap();
    let site = Site::serve(dir.path().to_owned()).await;
    let port = site.base.rsplit(':').next().unwrap().to_owned();
    site.set("/go-loopback", Override::Redirect(format!("http://127.0.0.1:{port}/secret.html")));
    site.set("/go-metadata", Override::Redirect("http://169.254.169.254/latest/meta-data/".into()));
    let no_crawl = json!({"useSitemap": false, "maxDepth": 0});

    // Without an allow-list: a loopback IP, and a name resolving to one, are refused.
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    for url in [format!("http://127.0.0.1:{port}/secret.html"), format!("http://localhost:{port}/secret.html")] {
        let r = app.post("/v1/tenants/acme/assets", &t, web_asset(std::slice::from_ref(&url), no_crawl.clone())).await;
        let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
        let op = app.wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap()).await;
        assert_eq!(op["status"], "FAILED", "{op}");
        assert!(op["errorMessage"].as_str().unwrap().contains("refused"), "{op}");
        assert!(op["errorMessage"].as_str().unwrap().contains("RAGD_WEB_ALLOW_HOSTS"), "{op}");
    }
    drop(app);

    // With only the name `localhost` allowed: redirects to a loopback IP or to the cloud
    // metadata address are refused before any request is made to them.
    let app = TestApp::spawn_with(|c| c.web_allow_hosts = "localhost".into(), None).await;
    let t = app.token("acme");
    let urls = [format!("http://localhost:{port}/go-loopback"), format!("http://localhost:{port}/go-metadata")];
    let r = app.post("/v1/tenants/acme/assets", &t, web_asset(&urls, no_crawl)).await;
    let asset = r.body["asset"]["id"].as_str().unwrap().to_owned();
    let op = app.wait_done("acme", &asset, r.body["operation"]["id"].as_str().unwrap()).await;
    assert_eq!((op["status"].as_str(), op["itemsFailed"].as_i64()), (Some("FAILED"), Some(2)), "{op}");
    let message = op["errorMessage"].as_str().unwrap();
    assert_eq!(message.matches("refused").count(), 2, "{op}");
    assert!(message.contains("169.254.169.254") && message.contains("127.0.0.1"), "{op}");
    assert!(!site.take_log().iter().any(|(p, _)| p == "/secret.html"), "the private page was never requested");
}
