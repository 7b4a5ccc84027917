//! Guarded GETs (each redirect hop checked by the SSRF guard and the crawl's scope), bounded
//! reads, robots.txt and sitemaps.

use super::WebSource;
use super::scope::{normalise, origin_of};
use crate::net::reason;
use futures::StreamExt;
use reqwest::header;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use url::Url;

const MAX_REDIRECTS: usize = 10;
const MAX_SITEMAPS: usize = 20;

/// Why a body could not be read: too large (the page fails alone), or the connection failed
/// (transient: the crawl is incomplete).
#[derive(Debug)]
pub(super) enum ReadError {
    TooLarge(u64),
    Failed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(limit) => write!(f, "the page is larger than {limit} bytes"),
            ReadError::Failed(reason) => f.write_str(reason),
        }
    }
}

/// The outcome of one conditional GET, redirects followed.
pub(super) enum Response {
    Ok { url: Url, resp: reqwest::Response },
    NotModified,
    Gone,
    Refused(String),
    Transient(String),
    Client(u16),
}

/// Per-origin robots.txt rules.
pub(super) struct Robots {
    pub(super) robot: Option<texting_robots::Robot>,
    /// Why robots.txt could not be read (5xx, or the site could not be reached): then nothing
    /// may be crawled (RFC 9309).
    pub(super) unreachable: Option<String>,
}

impl WebSource {
    /// GET with redirects followed by hand, each hop checked by the guard and the scope.
    pub(super) async fn get(
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
    pub(super) async fn read(&self, resp: reqwest::Response) -> Result<bytes::Bytes, ReadError> {
        let limit = self.config.max_page_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(ReadError::TooLarge(limit));
        }
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ReadError::Failed(reason(&e)))?;
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limit {
                return Err(ReadError::TooLarge(limit));
            }
        }
        Ok(body.into())
    }

    /// A small text resource (robots.txt, a sitemap): `Ok(None)` when absent, `Err` when the
    /// server failed.
    pub(super) async fn get_text(&self, url: &Url) -> Result<Option<bytes::Bytes>, String> {
        match self.get(url, None, &|_| true).await {
            Response::Ok { resp, .. } => self.read(resp).await.map(Some).map_err(|e| e.to_string()),
            Response::Transient(r) => Err(r),
            _ => Ok(None),
        }
    }

    pub(super) async fn robots(&self, origin: &Url) -> Robots {
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
    pub(super) async fn sitemap_urls(
        &self,
        origins: &[Url],
        robots: &HashMap<String, Robots>,
    ) -> Vec<Url> {
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
