//! One page: fetched conditionally, rendered by Chromium if the asset asks, parsed off the async
//! runtime, with its links (resolved against `<base href>`, normalised, in scope) and what it says
//! about its own indexing; and pages with the same text made one document.

use super::WebSource;
use super::http::{ReadError, Response};
use super::scope::{Crawl, normalise};
use crate::sources::{Body, Context, Excluded, SourceDoc, Stages};
use ragd_core::domain::{Document, DocumentStatus, content_hash};
use ragd_pipeline::parse::{self, Parsed};
use reqwest::header;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;
use url::Url;

/// What a fetched page says about its own indexing, from its HTML and its `X-Robots-Tag` headers.
#[derive(Debug, Default)]
pub(super) struct Directives {
    pub(super) noindex: bool,
    pub(super) nofollow: bool,
    /// The page's `rel="canonical"`, resolved and normalised.
    pub(super) canonical: Option<Url>,
    /// Where an instant `<meta http-equiv="refresh">` sends the reader: a redirect, not a page.
    pub(super) redirect: Option<Url>,
}

/// `(noindex, nofollow)` of a response's `X-Robots-Tag` headers: directives for every crawler, or
/// for ragd (`ragd: noindex`); those for other crawlers (`googlebot: nofollow`) do not apply.
pub(super) fn robots_header(headers: &header::HeaderMap) -> (bool, bool) {
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
pub(super) enum Fetched {
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

/// What a response's headers say that the page keeps: its validators and robots directives.
struct Headers {
    etag: Option<String>,
    last_modified: Option<String>,
    noindex: bool,
    nofollow: bool,
}

impl Headers {
    fn of(headers: &header::HeaderMap) -> Self {
        let text = |h: header::HeaderName| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (noindex, nofollow) = robots_header(headers);
        Headers {
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
            noindex,
            nofollow,
        }
    }
}

impl WebSource {
    /// Fetches and parses one page.
    pub(super) async fn fetch_page(&self, cx: &Context<'_>, crawl: &Crawl, url: Url) -> Fetched {
        let previous = cx.stored.get(url.as_str());
        let conditional = previous
            .filter(|p| !cx.force && p.status == DocumentStatus::Indexed)
            .map(|p| &p.source_meta);
        let started = Instant::now();
        let response = self.get(&url, conditional, &|u| crawl.in_scope(u)).await;
        let failed = |reason: String| SourceDoc::failed_url(&url, reason);
        let (final_url, resp) = match response {
            Response::Ok { url, resp } => (url, resp),
            Response::NotModified => {
                cx.stages.add("fetch", started.elapsed());
                let p = previous.expect("conditional requests only for stored pages");
                return not_modified(url, p);
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
        let headers = Headers::of(resp.headers());
        let body = match self.read(resp).await {
            Ok(b) => b,
            Err(e @ ReadError::TooLarge(_)) => {
                return Fetched::failed(failed(e.to_string()), final_url);
            }
            Err(ReadError::Failed(reason)) => {
                return Fetched::Transient {
                    url: final_url,
                    reason,
                };
            }
        };
        // Change is still told by the document's bytes: a 304 is not rendered again.
        let (hash, size) = (content_hash(&body), body.len() as i64);
        let body = match self
            .render_if_asked(crawl, content_type, &final_url, body)
            .await
        {
            Ok(body) => body,
            Err(reason) => {
                return Fetched::failed(failed(format!("rendering failed: {reason}")), final_url);
            }
        };
        cx.stages.add("fetch", started.elapsed());
        let parse_as = parse_as(crawl, content_type, &declared);
        // The page's tally ends with its parse: a crawl's documents are indexed after it.
        let (ocr, _pages) = cx.ocr();
        match parse_off_thread(cx.stages, body, parse_as, ocr).await {
            Ok(parsed) => page(
                crawl,
                final_url,
                content_type,
                parsed,
                headers,
                (hash, size),
            ),
            Err(reason) => {
                let mut doc = failed(reason);
                doc.key = final_url.to_string();
                Fetched::failed(doc, final_url)
            }
        }
    }

    /// The HTML Chromium rendered, for assets with `render: true`; other bodies as they came.
    async fn render_if_asked(
        &self,
        crawl: &Crawl,
        content_type: &str,
        url: &Url,
        body: bytes::Bytes,
    ) -> Result<bytes::Bytes, String> {
        if !(crawl.render && content_type == parse::HTML) {
            return Ok(body);
        }
        match &self.renderer {
            Some(r) => r
                .render(url, &body)
                .await
                .map(|html| html.into_bytes().into()),
            None => Err(
                "rendering needs Chromium, which this worker does not have (chromium_path)"
                    .to_owned(),
            ),
        }
    }
}

/// A page that answered 304: unchanged, with the links it had.
fn not_modified(url: Url, p: &Document) -> Fetched {
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
        metadata: Default::default(),
    };
    Fetched::Page {
        url,
        doc: Box::new(doc),
        links,
        directives: Directives::default(),
    }
}

/// The content type a page's body is parsed as: with the charset the server declared, which goes
/// with the bytes it describes; Chromium's output is UTF-8 whatever the page said.
fn parse_as(crawl: &Crawl, content_type: &str, declared: &str) -> String {
    if crawl.render && content_type == parse::HTML {
        return format!("{content_type}; charset=utf-8");
    }
    match parse::decode::charset_param(declared) {
        Some(charset) => format!("{content_type}; charset={charset}"),
        None => content_type.to_owned(),
    }
}

/// Parses a page on a blocking thread; a panic in the parser fails that page only.
async fn parse_off_thread(
    stages: &Stages,
    body: bytes::Bytes,
    content_type: String,
    ocr: parse::ocr::Ocr,
) -> Result<Parsed, String> {
    let started = Instant::now();
    let parsed = tokio::task::spawn_blocking(move || {
        let parse = || parse::parse_with(&body, &content_type, &ocr);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).unwrap_or_else(|_| {
            Err("the page could not be parsed (the parser failed on it)".to_owned())
        })
    })
    .await
    .unwrap_or_else(|_| Err("the page could not be parsed (the parser failed on it)".to_owned()));
    stages.add("parse", started.elapsed());
    parsed
}

/// A parsed page as the crawl sees it: its document, its links in scope and its directives.
fn page(
    crawl: &Crawl,
    final_url: Url,
    content_type: &str,
    parsed: Parsed,
    headers: Headers,
    (hash, size): (String, i64),
) -> Fetched {
    // Relative links resolve against the page's `<base href>`, if it has one.
    let base = parsed
        .hints
        .base
        .as_deref()
        .and_then(|b| final_url.join(b).ok())
        .unwrap_or_else(|| final_url.clone());
    let directives = Directives {
        noindex: parsed.hints.noindex || headers.noindex,
        nofollow: parsed.hints.nofollow || headers.nofollow,
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
        "etag": headers.etag,
        "lastModified": headers.last_modified,
        "links": links.iter().map(Url::as_str).collect::<Vec<_>>(),
        "textHash": content_hash(parsed.text.as_bytes()),
    });
    let doc = SourceDoc {
        metadata: page_metadata(&final_url, headers.last_modified.as_deref()),
        key: final_url.to_string(),
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

impl Fetched {
    pub(super) fn failed(doc: SourceDoc, url: Url) -> Self {
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
pub(super) fn drop_duplicates(
    docs: Vec<SourceDoc>,
    cx: &Context<'_>,
    excluded: &mut Vec<Excluded>,
) -> Vec<SourceDoc> {
    let indexed = |d: &SourceDoc| {
        cx.stored
            .get(&d.key)
            .is_some_and(|p| p.status == DocumentStatus::Indexed)
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

/// What ragd derives for a page: its URL, the URL's path, and its `Last-Modified`.
fn page_metadata(url: &Url, last_modified: Option<&str>) -> crate::sources::Metadata {
    let mut metadata = crate::sources::Metadata::new();
    metadata.insert("url".into(), url.as_str().into());
    metadata.insert("urlPath".into(), url.path().into());
    if let Some(t) = last_modified.and_then(crate::sources::metadata_time) {
        metadata.insert("modifiedTime".into(), t);
    }
    metadata
}
