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

use super::{Body, Collected, Context, Excluded, Source, SourceDoc};
use crate::worker::JobError;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use ragd_core::domain::SourceType;
use ragd_core::sources::parameter_default;
use ragd_pipeline::parse::{self, Parsed};
use reqwest::header;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};

use crate::net::{Guard, guarded_builder, reason};
use std::sync::Arc;
use std::time::{Duration, Instant};
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

/// Longest `Crawl-delay` honoured; a site asking for more is crawled at this pace.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 10;
const MAX_SITEMAPS: usize = 20;
/// A page with this many links in scope is a table of contents: depth counts again from it.
const TOC_LINKS: usize = 20;
/// Paths that are never documents; not fetched when found as links.
const STATIC_EXTENSIONS: &[&str] = &[
    ".css", ".js", ".mjs", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".woff",
    ".woff2", ".ttf", ".otf", ".eot", ".zip", ".gz", ".tgz", ".xz", ".bz2", ".tar", ".mp3", ".mp4",
    ".webm", ".wasm", ".exe", ".dmg", ".iso",
];

pub struct WebSource {
    config: WebConfig,
    guard: Arc<Guard>,
    client: reqwest::Client,
    renderer: Option<super::render::Renderer>,
}

/// The crawl settings of one asset.
struct Crawl {
    starts: Vec<Url>,
    max_pages: usize,
    max_depth: usize,
    prefix_scope: bool,
    use_sitemap: bool,
    /// Pages are rendered by Chromium before their text is read.
    render: bool,
    include: Option<globset::GlobSet>,
    exclude: Option<globset::GlobSet>,
}

impl Crawl {
    fn from_params(params: &serde_json::Map<String, Value>) -> Self {
        let starts = params
            .get("urls")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|u| Url::parse(u.as_str()?).ok())
            .map(normalise)
            .collect();
        let value = |name: &str| {
            params
                .get(name)
                .filter(|v| !v.is_null())
                .cloned()
                .or_else(|| parameter_default(SourceType::Web, name))
                .unwrap_or_default()
        };
        let int = |name: &str| value(name).as_i64().unwrap_or_default().max(0) as usize;
        let flag = |name: &str| value(name).as_bool().unwrap_or_default();
        Crawl {
            starts,
            max_pages: int("maxPages"),
            max_depth: int("maxDepth"),
            prefix_scope: value("scope").as_str() == Some("PREFIX"),
            use_sitemap: flag("useSitemap"),
            render: flag("render"),
            include: super::globs(params, "includePatterns"),
            exclude: super::globs(params, "excludePatterns"),
        }
    }

    /// Same host as a start URL (HOST), or under a start URL's directory (PREFIX).
    fn in_scope(&self, url: &Url) -> bool {
        self.starts.iter().any(|s| {
            if self.prefix_scope {
                let dir = &s.as_str()[..s.as_str().rfind('/').map_or(s.as_str().len(), |i| i + 1)];
                url.as_str().starts_with(dir)
            } else {
                url.host_str() == s.host_str()
                    && url.port_or_known_default() == s.port_or_known_default()
            }
        })
    }

    /// Whether a page becomes a document (the include and exclude globs, on its path).
    fn indexable(&self, url: &Url) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(url.path()))
            && !self
                .exclude
                .as_ref()
                .is_some_and(|g| g.is_match(url.path()))
    }
}

/// One spelling per page. The `url` crate already lowercases the host, drops the default port and
/// resolves `.` and `..`; this drops the fragment and an empty query, folds duplicate slashes,
/// writes `dir/index.html` (and `.htm`) as `dir/`, decodes percent-escapes of unreserved characters
/// and writes the others in upper case (RFC 3986, 6.2.2).
fn normalise(mut url: Url) -> Url {
    url.set_fragment(None);
    if url.query() == Some("") {
        url.set_query(None);
    }
    if url.cannot_be_a_base() {
        return url;
    }
    let path = normalise_path(url.path());
    if path != url.path() {
        url.set_path(&path);
    }
    url
}

fn normalise_path(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'/' if out.ends_with('/') => {}
            b'%' if i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() => {
                let c = (hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0)) as u8;
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                    out.push(c as char);
                } else {
                    out.push('%');
                    out.push_str(&path[i + 1..i + 3].to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
            // Paths of parsed URLs are ASCII (the rest is percent-encoded).
            c => out.push(c as char),
        }
        i += 1;
    }
    for index in ["/index.html", "/index.htm"] {
        if out.ends_with(index) {
            out.truncate(out.len() - index.len() + 1);
        }
    }
    out
}

/// What a fetched page says about its own indexing, from its HTML and its `X-Robots-Tag` headers.
#[derive(Debug, Default)]
struct Directives {
    noindex: bool,
    nofollow: bool,
    /// The page's `rel="canonical"`, resolved and normalised.
    canonical: Option<Url>,
    /// Where an instant `<meta http-equiv="refresh">` sends the reader: a redirect, not a page.
    redirect: Option<Url>,
}

/// `(noindex, nofollow)` of a response's `X-Robots-Tag` headers: directives for every crawler, or
/// for ragd (`ragd: noindex`); those for other crawlers (`googlebot: nofollow`) do not apply.
fn robots_header(headers: &header::HeaderMap) -> (bool, bool) {
    let (mut noindex, mut nofollow) = (false, false);
    for value in headers
        .get_all("x-robots-tag")
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        let list = match value.split_once(':') {
            Some((agent, rest))
                if !agent.contains(',')
                    && !agent.trim().eq_ignore_ascii_case("unavailable_after") =>
            {
                if !agent.trim().eq_ignore_ascii_case("ragd") {
                    continue;
                }
                rest
            }
            _ => value,
        };
        let (i, f) = parse::robots_directives(list);
        noindex |= i;
        nofollow |= f;
    }
    (noindex, nofollow)
}

/// What fetching one URL gave.
enum Fetched {
    Page {
        url: Url,
        doc: Box<SourceDoc>,
        links: Vec<Url>,
        directives: Directives,
    },
    /// 404 or 410, out of scope after a redirect, or not a document type: not part of the site.
    NotADocument(Url),
    /// A 5xx, 429, timeout or connection error: the crawl is incomplete.
    Transient { url: Url, reason: String },
}

/// The outcome of one conditional GET, redirects followed.
enum Response {
    Ok { url: Url, resp: reqwest::Response },
    NotModified,
    Gone,
    Refused(String),
    Transient(String),
    Client(u16),
}

/// Per-origin robots.txt rules.
struct Robots {
    robot: Option<texting_robots::Robot>,
    /// Why robots.txt could not be read (5xx, or the site could not be reached): then nothing
    /// may be crawled (RFC 9309).
    unreachable: Option<String>,
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

    /// GET with redirects followed by hand, each hop checked by the guard and the scope.
    async fn get(
        &self,
        url: &Url,
        conditional: Option<&Value>,
        scope: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Response {
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            if let Err(r) = self.guard.check(&url) {
                return Response::Refused(r.to_string());
            }
            let mut req = self.client.get(url.clone());
            if let Some(meta) = conditional {
                if let Some(etag) = meta.get("etag").and_then(Value::as_str) {
                    req = req.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = meta.get("lastModified").and_then(Value::as_str) {
                    req = req.header(header::IF_MODIFIED_SINCE, lm);
                }
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let reason = reason(&e);
                    return if reason.starts_with("refused") {
                        Response::Refused(reason)
                    } else {
                        Response::Transient(reason)
                    };
                }
            };
            let status = resp.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                let Some(next) = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                else {
                    return Response::Client(status.as_u16());
                };
                let next = normalise(next);
                if let Err(r) = self.guard.check(&next) {
                    return Response::Refused(r.to_string());
                }
                if !scope(&next) {
                    return Response::Gone;
                }
                url = next;
                continue;
            }
            return match status.as_u16() {
                200..=299 => Response::Ok { url, resp },
                304 => Response::NotModified,
                404 | 410 => Response::Gone,
                429 | 500..=599 => Response::Transient(format!("HTTP {status}")),
                code => Response::Client(code),
            };
        }
        Response::Transient(format!("more than {MAX_REDIRECTS} redirects"))
    }

    /// Reads a body up to the page limit.
    async fn read(&self, resp: reqwest::Response) -> Result<bytes::Bytes, String> {
        let limit = self.config.max_page_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(format!("the page is larger than {limit} bytes"));
        }
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| reason(&e))?;
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limit {
                return Err(format!("the page is larger than {limit} bytes"));
            }
        }
        Ok(body.into())
    }

    /// A small text resource (robots.txt, a sitemap): `Ok(None)` when absent, `Err` when the
    /// server failed.
    async fn get_text(&self, url: &Url) -> Result<Option<bytes::Bytes>, String> {
        match self.get(url, None, &|_| true).await {
            Response::Ok { resp, .. } => self.read(resp).await.map(Some),
            Response::Transient(r) => Err(r),
            _ => Ok(None),
        }
    }

    async fn robots(&self, origin: &Url) -> Robots {
        let Ok(url) = origin.join("/robots.txt") else {
            return Robots {
                robot: None,
                unreachable: None,
            };
        };
        match self.get_text(&url).await {
            Ok(Some(body)) => Robots {
                robot: texting_robots::Robot::new(&self.config.user_agent, &body).ok(),
                unreachable: None,
            },
            Ok(None) => Robots {
                robot: None,
                unreachable: None,
            },
            Err(reason) => Robots {
                robot: None,
                unreachable: Some(reason),
            },
        }
    }

    /// Page URLs from the sites' sitemaps: robots.txt `Sitemap:` lines, `/sitemap.xml` and
    /// `/sitemap.txt`; sitemap indexes are followed.
    async fn sitemap_urls(&self, origins: &[Url], robots: &HashMap<String, Robots>) -> Vec<Url> {
        let mut queue: VecDeque<Url> = VecDeque::new();
        for origin in origins {
            if let Some(r) = robots.get(origin.as_str()).and_then(|r| r.robot.as_ref()) {
                // Only the site's own sitemaps: another host's would list pages out of scope.
                queue.extend(
                    r.sitemaps
                        .iter()
                        .filter_map(|s| Url::parse(s).ok())
                        .filter(|s| origin_of(s).as_ref() == Some(origin)),
                );
            }
            queue.extend(
                ["/sitemap.xml", "/sitemap.txt"]
                    .iter()
                    .filter_map(|p| origin.join(p).ok()),
            );
        }
        let (mut seen, mut pages) = (HashSet::new(), Vec::new());
        while let Some(sitemap) = queue.pop_front() {
            if seen.len() >= MAX_SITEMAPS || !seen.insert(sitemap.clone()) {
                continue;
            }
            let Ok(Some(body)) = self.get_text(&sitemap).await else {
                continue;
            };
            let text = String::from_utf8_lossy(&body);
            if text.trim_start().starts_with('<') {
                let (locs, index) = sitemap_locs(&text);
                let urls = locs.iter().filter_map(|l| Url::parse(l).ok());
                if index {
                    queue.extend(urls)
                } else {
                    pages.extend(urls.map(normalise))
                }
            } else {
                pages.extend(
                    text.lines()
                        .filter_map(|l| Url::parse(l.trim()).ok())
                        .map(normalise),
                );
            }
        }
        pages
    }

    /// Fetches and parses one page.
    async fn fetch_page(&self, cx: &Context<'_>, crawl: &Crawl, url: Url) -> Fetched {
        let previous = cx.stored.get(url.as_str());
        let conditional = previous
            .filter(|p| !cx.force && p.status == ragd_core::domain::DocumentStatus::Indexed)
            .map(|p| &p.source_meta);
        let started = Instant::now();
        let response = self.get(&url, conditional, &|u| crawl.in_scope(u)).await;
        let failed = |reason: String| SourceDoc::failed_url(&url, reason);
        let (final_url, resp) = match response {
            Response::Ok { url, resp } => (url, resp),
            Response::NotModified => {
                cx.stages.add("fetch", started.elapsed());
                let p = previous.expect("conditional requests only for stored pages");
                let links = p
                    .source_meta
                    .get("links")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let links = links
                    .iter()
                    .filter_map(|l| Url::parse(l.as_str()?).ok())
                    .collect();
                let doc = SourceDoc {
                    key: url.to_string(),
                    file_name: p.file_name.clone(),
                    source_url: Some(url.to_string()),
                    content_type: p.content_type.clone(),
                    body: Body::Unchanged,
                };
                return Fetched::Page {
                    url,
                    doc: Box::new(doc),
                    links,
                    directives: Directives::default(),
                };
            }
            Response::Gone => return Fetched::NotADocument(url),
            Response::Refused(r) => return Fetched::failed(failed(r), url),
            Response::Client(code) => return Fetched::failed(failed(format!("HTTP {code}")), url),
            Response::Transient(reason) => return Fetched::Transient { url, reason },
        };
        let declared = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/html")
            .to_owned();
        let Some(content_type) =
            parse::normalise(&declared).or_else(|| parse::detect(final_url.path(), None, b""))
        else {
            return Fetched::NotADocument(url);
        };
        let header_text = |h: header::HeaderName| {
            resp.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified) = (
            header_text(header::ETAG),
            header_text(header::LAST_MODIFIED),
        );
        let (header_noindex, header_nofollow) = robots_header(resp.headers());
        let body = match self.read(resp).await {
            Ok(b) => b,
            Err(reason) if reason.starts_with("the page is larger") => {
                return Fetched::failed(failed(reason), final_url);
            }
            Err(reason) => {
                return Fetched::Transient {
                    url: final_url,
                    reason,
                };
            }
        };
        // Change is still told by the document's bytes: a 304 is not rendered again.
        let hash = ragd_core::domain::content_hash(&body);
        let size = body.len() as i64;
        let body: bytes::Bytes = if crawl.render && content_type == parse::HTML {
            let rendered = match &self.renderer {
                Some(r) => r.render(&final_url, &body).await,
                None => Err(
                    "rendering needs Chromium, which this worker does not have (chromium_path)"
                        .to_owned(),
                ),
            };
            match rendered {
                Ok(html) => html.into_bytes().into(),
                Err(reason) => {
                    return Fetched::failed(
                        failed(format!("rendering failed: {reason}")),
                        final_url,
                    );
                }
            }
        } else {
            body
        };
        cx.stages.add("fetch", started.elapsed());
        let started = Instant::now();
        let parsed = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| parse::parse(&body, content_type)).unwrap_or_else(|_| {
                Err("the page could not be parsed (the parser failed on it)".to_owned())
            })
        })
        .await
        .unwrap_or_else(|_| {
            Err("the page could not be parsed (the parser failed on it)".to_owned())
        });
        cx.stages.add("parse", started.elapsed());
        let key = final_url.to_string();
        let parsed: Parsed = match parsed {
            Ok(p) => p,
            Err(reason) => {
                let mut doc = failed(reason);
                doc.key = key;
                return Fetched::failed(doc, final_url);
            }
        };
        // Relative links resolve against the page's `<base href>`, if it has one.
        let base = parsed
            .hints
            .base
            .as_deref()
            .and_then(|b| final_url.join(b).ok())
            .unwrap_or_else(|| final_url.clone());
        let directives = Directives {
            noindex: parsed.hints.noindex || header_noindex,
            nofollow: parsed.hints.nofollow || header_nofollow,
            canonical: parsed
                .hints
                .canonical
                .as_deref()
                .and_then(|c| base.join(c).ok())
                .map(normalise),
            redirect: parsed
                .hints
                .redirect
                .as_deref()
                .and_then(|c| base.join(c).ok())
                .map(normalise),
        };
        let links: Vec<Url> = if directives.nofollow {
            Vec::new()
        } else {
            parsed
                .links
                .iter()
                .filter_map(|l| base.join(l).ok())
                .map(normalise)
                .filter(|u| matches!(u.scheme(), "http" | "https") && crawl.in_scope(u))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let file_name = parsed.title.clone().unwrap_or_else(|| {
            final_url
                .path()
                .rsplit('/')
                .find(|s| !s.is_empty())
                .unwrap_or("/")
                .to_owned()
        });
        let meta = json!({
            "etag": etag,
            "lastModified": last_modified,
            "links": links.iter().map(Url::as_str).collect::<Vec<_>>(),
            "textHash": ragd_core::domain::content_hash(parsed.text.as_bytes()),
        });
        let doc = SourceDoc {
            key,
            file_name,
            source_url: Some(final_url.to_string()),
            content_type: content_type.to_owned(),
            body: Body::Parsed {
                parsed,
                hash,
                size,
                meta,
            },
        };
        Fetched::Page {
            url: final_url,
            doc: Box::new(doc),
            links,
            directives,
        }
    }
}

impl Fetched {
    fn failed(doc: SourceDoc, url: Url) -> Self {
        Fetched::Page {
            url,
            doc: Box::new(doc),
            links: Vec::new(),
            directives: Directives::default(),
        }
    }
}

/// The hash of a page's extracted text: from its body when fetched, from what is stored when it
/// answered 304.
fn text_hash<'a>(doc: &'a SourceDoc, cx: &'a Context<'_>) -> Option<&'a str> {
    let meta = match &doc.body {
        Body::Parsed { meta, .. } => meta,
        Body::Unchanged => &cx.stored.get(&doc.key)?.source_meta,
        _ => return None,
    };
    meta.get("textHash").and_then(Value::as_str)
}

/// Pages with the same text are one document: the one indexed before if there is one, else the
/// one with the shortest URL (then the first in byte order), so the choice does not flip between
/// crawls. The others are reported as excluded.
fn drop_duplicates(
    docs: Vec<SourceDoc>,
    cx: &Context<'_>,
    excluded: &mut Vec<Excluded>,
) -> Vec<SourceDoc> {
    let indexed = |d: &SourceDoc| {
        cx.stored
            .get(&d.key)
            .is_some_and(|p| p.status == ragd_core::domain::DocumentStatus::Indexed)
    };
    let rank = |i: usize| (!indexed(&docs[i]), docs[i].key.len(), docs[i].key.as_str());
    let mut best: HashMap<&str, usize> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        if let Some(h) = text_hash(d, cx) {
            let b = best.entry(h).or_insert(i);
            if rank(i) < rank(*b) {
                *b = i;
            }
        }
    }
    // For each document, the page it duplicates, if it is not the one kept.
    let original: Vec<Option<String>> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            text_hash(d, cx)
                .map(|h| best[h])
                .filter(|&b| b != i)
                .map(|b| docs[b].key.clone())
        })
        .collect();
    let mut out = Vec::with_capacity(docs.len());
    for (d, original) in docs.into_iter().zip(original) {
        match original {
            Some(original) => excluded.push(Excluded {
                url: d.key,
                reason: format!("the same text as {original}"),
            }),
            None => out.push(d),
        }
    }
    out
}

/// `<loc>` values of a sitemap, and whether it is a sitemap index. (Public for the fuzz target
/// `sitemap`.)
pub fn sitemap_locs(xml: &str) -> (Vec<String>, bool) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut locs, mut index, mut in_loc) = (Vec::new(), false, false);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "sitemapindex" => index = true,
                "loc" => in_loc = true,
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == "loc" => in_loc = false,
            Ok(Event::Text(t)) if in_loc => locs.push(t.xml10_content().trim().to_owned()),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    (locs, index)
}

fn origin_of(url: &Url) -> Option<Url> {
    url.join("/").ok()
}

fn is_static(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    STATIC_EXTENSIONS.iter().any(|e| path.ends_with(e))
}

#[async_trait::async_trait]
impl Source for WebSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let crawl = Crawl::from_params(&cx.job.claim.asset.parameters);
        let mut complete = cx.targeted.is_none();

        // Robots rules of every origin the crawl may touch (start URLs' origins).
        let mut robots: HashMap<String, Robots> = HashMap::new();
        let origins: Vec<Url> = crawl
            .starts
            .iter()
            .filter_map(origin_of)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for origin in &origins {
            let r = self.robots(origin).await;
            complete &= r.unreachable.is_none();
            robots.insert(origin.to_string(), r);
        }
        // Why robots.txt keeps the crawler from a URL, if it does: `Err` when the site could not
        // be reached (a failure to report), `Ok` when its rules disallow the URL (an exclusion).
        let disallowed = |url: &Url, robots: &HashMap<String, Robots>| {
            let origin = origin_of(url)?;
            match robots.get(origin.as_str()) {
                Some(Robots {
                    unreachable: Some(reason),
                    ..
                }) => Some(Err(format!(
                    "could not reach {}: its robots.txt could not be read ({reason}), so nothing on the site may be crawled",
                    origin.as_str().trim_end_matches('/')
                ))),
                Some(Robots { robot: Some(r), .. }) if !r.allowed(url.as_str()) => {
                    Some(Ok("robots.txt disallows it".to_owned()))
                }
                _ => None,
            }
        };
        let delay = robots
            .values()
            .filter_map(|r| r.robot.as_ref()?.delay)
            .map(|d| Duration::from_secs_f32(d.max(0.0)).min(MAX_CRAWL_DELAY))
            .fold(self.config.delay, Duration::max);

        // Seeds: the start URLs, the sitemaps' pages (or, for a targeted refresh, just those pages).
        let mut frontier: VecDeque<(Url, usize)> = VecDeque::new();
        let mut seen: HashSet<Url> = HashSet::new();
        let seeds: Vec<Url> = match cx.targeted {
            Some(keys) => keys.iter().filter_map(|k| Url::parse(k).ok()).collect(),
            None => {
                let mut s = crawl.starts.clone();
                if crawl.use_sitemap {
                    let from_sitemaps = self.sitemap_urls(&origins, &robots).await;
                    s.extend(
                        from_sitemaps
                            .into_iter()
                            .filter(|u| crawl.in_scope(u) && crawl.indexable(u)),
                    );
                }
                s
            }
        };
        for url in seeds {
            if seen.insert(url.clone()) {
                frontier.push_back((url, 0));
            }
        }

        let follow = cx.targeted.is_none();
        let mut docs: Vec<SourceDoc> = Vec::new();
        let mut excluded: Vec<Excluded> = Vec::new();
        let mut keys: HashSet<String> = HashSet::new();
        let mut started = 0usize;
        let mut last_start: Option<Instant> = None;
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < self.config.concurrency.max(1) && started < crawl.max_pages {
                let Some((url, depth)) = frontier.pop_front() else {
                    break;
                };
                match disallowed(&url, &robots) {
                    Some(Ok(reason)) => {
                        excluded.push(Excluded {
                            url: url.to_string(),
                            reason,
                        });
                        continue;
                    }
                    // A site that cannot be reached fails its start URLs, with the cause.
                    Some(Err(reason)) => {
                        if keys.insert(url.to_string()) {
                            docs.push(SourceDoc::failed_url(&url, reason));
                        }
                        continue;
                    }
                    None => {}
                }
                if let Some(last) = last_start {
                    let wait = delay.saturating_sub(last.elapsed());
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                }
                last_start = Some(Instant::now());
                started += 1;
                let crawl = &crawl;
                in_flight.push(async move { (self.fetch_page(cx, crawl, url).await, depth) });
            }
            let Some((fetched, depth)) = in_flight.next().await else {
                break;
            };
            match fetched {
                Fetched::Page {
                    url,
                    doc,
                    links,
                    directives,
                } => {
                    // Depth counts from the nearest start URL, sitemap entry or table of contents
                    // (a page linking to TOC_LINKS pages or more): what it lists is one hop away.
                    let next = if links.len() >= TOC_LINKS {
                        1
                    } else {
                        depth + 1
                    };
                    if follow && next <= crawl.max_depth {
                        for link in links {
                            if !is_static(&link)
                                && crawl.indexable(&link)
                                && seen.insert(link.clone())
                            {
                                frontier.push_back((link, next));
                            }
                        }
                    }
                    // A canonical URL elsewhere in scope is the page to index (fetched if new).
                    let canonical = directives
                        .canonical
                        .filter(|c| *c != url && crawl.in_scope(c));
                    let is_start = crawl.starts.contains(&url);
                    if let Some(target) = directives.redirect.filter(|t| *t != url) {
                        // Its target is among its links, so it is crawled like a redirect's.
                        excluded.push(Excluded {
                            url: url.to_string(),
                            reason: format!("it redirects to {target} (meta refresh)"),
                        });
                    } else if directives.noindex {
                        excluded.push(Excluded {
                            url: url.to_string(),
                            reason: "the page asks not to be indexed (noindex)".to_owned(),
                        });
                    } else if let Some(canonical) = canonical {
                        excluded.push(Excluded {
                            url: url.to_string(),
                            reason: format!("its canonical URL is {canonical}"),
                        });
                        if follow && seen.insert(canonical.clone()) {
                            frontier.push_back((canonical, depth));
                        }
                    } else if (crawl.indexable(&url)
                        || matches!(doc.body, Body::Failed(_)) && is_start)
                        && keys.insert(doc.key.clone())
                    {
                        docs.push(*doc);
                    }
                }
                Fetched::NotADocument(url) => {
                    // A start URL that is not a page is worth a word; a dead link elsewhere is not.
                    if crawl.starts.contains(&url) && keys.insert(url.to_string()) {
                        docs.push(SourceDoc::failed_url(
                            &url,
                            "not found (HTTP 404 or 410), or not a supported document type"
                                .to_owned(),
                        ));
                    }
                }
                Fetched::Transient { url, reason } => {
                    complete = false;
                    tracing::warn!(%url, %reason, "page not fetched; the crawl is incomplete and deletes nothing");
                    if keys.insert(url.to_string()) {
                        docs.push(SourceDoc::failed_url(&url, reason));
                    }
                }
            }
            // Progress is not counted during the crawl (itemsTotal is known only at its end),
            // but the lease is renewed and a cancel is honoured between pages.
            cx.job.checkpoint().await?;
        }
        if !frontier.is_empty() {
            complete = false;
            tracing::info!(
                max_pages = crawl.max_pages,
                "page cap reached; the crawl is incomplete and deletes nothing"
            );
        }
        let docs = drop_duplicates(docs, cx, &mut excluded);
        Ok(Collected {
            docs,
            complete,
            excluded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let crawl = Crawl::from_params(params.as_object().unwrap());
        assert!(crawl.in_scope(&Url::parse("https://a.example/book/ch01.html").unwrap()));
        assert!(!crawl.in_scope(&Url::parse("https://a.example/other/").unwrap()));
        assert!(!crawl.indexable(&Url::parse("https://a.example/book/print.html").unwrap()));
        let host = Crawl::from_params(
            json!({"urls": ["https://a.example/book/"]})
                .as_object()
                .unwrap(),
        );
        assert!(host.in_scope(&Url::parse("https://a.example/other/").unwrap()));
        assert!(!host.in_scope(&Url::parse("https://b.example/").unwrap()));
    }
}
