//! The crawler's pure parts: URL spelling, robots headers, sitemaps and scope.

use super::http::sitemap_locs;
use super::page::robots_header;
use super::scope::{Crawl, normalise};
use ragd_core::sources::{Parameters, WebParams};
use reqwest::header;
use serde_json::json;
use url::Url;

#[test]
fn one_spelling_per_page() {
    let n = |u: &str| normalise(Url::parse(u).unwrap()).to_string();
    assert_eq!(
        n("HTTP://Docs.Example:80/a//b/./c/../index.html?#frag"),
        "http://docs.example/a/b/"
    );
    assert_eq!(
        n("https://docs.example:443/book/index.htm"),
        "https://docs.example/book/"
    );
    assert_eq!(
        n("https://docs.example/book/"),
        "https://docs.example/book/"
    );
    assert_eq!(
        n("https://docs.example/%7euser/%41%2fb%2F%e2%82%ac.html"),
        "https://docs.example/~user/A%2Fb%2F%E2%82%AC.html"
    );
    assert_eq!(
        n("https://docs.example/café.html"),
        "https://docs.example/caf%C3%A9.html"
    );
    assert_eq!(
        n("https://docs.example/search?q=a#x"),
        "https://docs.example/search?q=a"
    );
    assert_eq!(
        n("https://docs.example/myindex.html"),
        "https://docs.example/myindex.html"
    );
    assert_eq!(n("https://docs.example/a%2"), "https://docs.example/a%2");
}

#[test]
fn robots_headers_for_everyone_or_for_ragd() {
    let mut h = header::HeaderMap::new();
    h.append("x-robots-tag", "googlebot: noindex".parse().unwrap());
    assert_eq!(robots_header(&h), (false, false));
    h.append(
        "x-robots-tag",
        "unavailable_after: 25 Jun 2010 15:00:00 PST"
            .parse()
            .unwrap(),
    );
    assert_eq!(robots_header(&h), (false, false));
    h.append("x-robots-tag", "RAGD: nofollow".parse().unwrap());
    assert_eq!(robots_header(&h), (false, true));
    h.append("x-robots-tag", "noindex, noarchive".parse().unwrap());
    assert_eq!(robots_header(&h), (true, true));
}

#[test]
fn sitemaps_and_scope() {
    let (locs, index) = sitemap_locs(
        r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc> https://a.example/x.html </loc></url><url><loc>https://a.example/y</loc></url></urlset>"#,
    );
    assert_eq!(
        (locs, index),
        (
            vec![
                "https://a.example/x.html".to_owned(),
                "https://a.example/y".to_owned()
            ],
            false
        )
    );
    let (_, index) = sitemap_locs(
        r#"<sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>"#,
    );
    assert!(index);
    let params = json!({"urls": ["https://a.example/book/index.html"], "scope": "PREFIX", "excludePatterns": ["**/print.html"]});
    let crawl = Crawl::new(&WebParams::parse(params.as_object().unwrap()).unwrap());
    assert!(crawl.in_scope(&Url::parse("https://a.example/book/ch01.html").unwrap()));
    assert!(!crawl.in_scope(&Url::parse("https://a.example/other/").unwrap()));
    assert!(!crawl.indexable(&Url::parse("https://a.example/book/print.html").unwrap()));
    let host = json!({"urls": ["https://a.example/book/"]});
    let host = Crawl::new(&WebParams::parse(host.as_object().unwrap()).unwrap());
    assert!(host.in_scope(&Url::parse("https://a.example/other/").unwrap()));
    assert!(!host.in_scope(&Url::parse("https://b.example/").unwrap()));
}
