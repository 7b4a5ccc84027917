//! `WEB`: a polite crawler. From the start URLs (and, by default, the sites' sitemaps) it follows
//! links breadth-first within scope up to `maxDepth` and `maxPages`, obeys `robots.txt` (rules and
//! `Crawl-delay`), limits requests per host, and asks conditionally (`If-None-Match`,
//! `If-Modified-Since`) for pages it has, so an unchanged page costs one 304.
//!
//! **What a site publishes, once.** Links are what a browser without JavaScript can follow (see
//! `ragd_pipeline::parse::PageHints`: `<noscript>` content, iframes, `rel=next|prev`, refresh
//! stubs), every URL is normalised to one spelling ([`normalise`]), a page that asks not to be
//! indexed (`<meta name="robots">`, `<meta name="ragd">`, `X-Robots-Tag`: `noindex`, `nofollow`,
//! `none`) or names another page in scope as its `rel="canonical"` is not indexed, and pages with
//! the same text are one document. Each page left out is reported with its reason
//! ([`Collected::excluded`]).
//!
//! **SSRF guard.** Every connection, each redirect hop included, goes through [`crate::net`]'s
//! guard: public addresses only, unless a host is allow-listed.
//!
//! # Layout
//! - `scope`: an asset's crawl settings, what is in scope, and one spelling per URL.
//! - `http`: guarded GETs with redirects followed by hand, robots.txt, sitemaps.
//! - `page`: one page fetched, rendered if asked, parsed, with its links and directives.
//! - `crawl`: the breadth-first traversal from the seeds, politely paced, and what it leaves out.

mod crawl;
mod http;
mod page;
mod scope;
#[cfg(test)]
mod tests;

pub use http::sitemap_locs;

use super::{Collected, Context, Source};
use crate::net::{Guard, guarded_builder};
use crate::worker::JobError;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Host names and IP addresses that may be private (`RAGD_WEB_ALLOW_HOSTS`).
    pub allow_hosts: Vec<String>,
    /// Requests in flight per crawl.
    pub concurrency: usize,
    /// Least time between two requests to one host; a robots.txt `Crawl-delay` can raise it.
    pub delay: Duration,
    pub timeout: Duration,
    /// Largest page body read; bigger pages fail alone.
    pub max_page_bytes: u64,
    pub user_agent: String,
    /// The Chromium that renders assets with `render: true`; `None`: they fail, saying so.
    pub chromium: Option<std::path::PathBuf>,
    /// Pages rendered at a time per process.
    pub render_tabs: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            concurrency: 4,
            delay: Duration::ZERO,
            timeout: Duration::from_secs(30),
            max_page_bytes: 10 * 1024 * 1024,
            user_agent: concat!(
                "ragd/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/ragd)"
            )
            .to_owned(),
            chromium: None,
            render_tabs: 2,
        }
    }
}

pub struct WebSource {
    config: WebConfig,
    guard: Arc<Guard>,
    client: reqwest::Client,
    renderer: Option<super::render::Renderer>,
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(WebSource::new(s.web.clone()))
}

impl WebSource {
    pub fn new(config: WebConfig) -> Self {
        let guard = Arc::new(Guard::new(&config.allow_hosts));
        let client = guarded_builder(guard.clone(), config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(config.user_agent.clone())
            .build()
            .expect("a reqwest client with static settings");
        let renderer = config.chromium.clone().map(|chromium| {
            let g = guard.clone();
            let check = Arc::new(move |u: &Url| g.check(u).map_err(|r| r.to_string()));
            super::render::Renderer::new(
                chromium,
                client.clone(),
                check,
                config.timeout,
                config.max_page_bytes,
                config.render_tabs,
            )
        });
        Self {
            config,
            guard,
            client,
            renderer,
        }
    }
}

#[async_trait::async_trait]
impl Source for WebSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        crawl::crawl(self, cx).await
    }
}
