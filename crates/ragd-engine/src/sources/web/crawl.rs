//! The traversal: robots.txt of every origin first, then breadth-first from the seeds (start URLs
//! and sitemaps' pages, or a targeted refresh's pages) within scope, `concurrency` pages in flight,
//! paced by the crawl delay, until `maxPages`; what it leaves out is reported with why.

use super::WebSource;
use super::http::Robots;
use super::page::{Fetched, drop_duplicates};
use super::scope::{Crawl, is_static, origin_of};
use crate::sources::{Body, Collected, Context, Excluded, SourceDoc};
use crate::worker::JobError;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};
use url::Url;

/// Longest `Crawl-delay` honoured; a site asking for more is crawled at this pace.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(10);
/// A page with this many links in scope is a table of contents: depth counts again from it.
const TOC_LINKS: usize = 20;

/// Crawls an asset's site.
pub(super) async fn crawl(web: &WebSource, cx: &Context<'_>) -> Result<Collected, JobError> {
    let crawl = Crawl::new(&cx.params()?);
    // Robots rules of every origin the crawl may touch (start URLs' origins).
    let origins: Vec<Url> = crawl
        .starts
        .iter()
        .filter_map(origin_of)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut robots: HashMap<String, Robots> = HashMap::new();
    for origin in &origins {
        robots.insert(origin.to_string(), web.robots(origin).await);
    }
    let delay = robots
        .values()
        .filter_map(|r| r.robot.as_ref()?.delay)
        .map(|d| Duration::from_secs_f32(d.max(0.0)).min(MAX_CRAWL_DELAY))
        .fold(web.config.delay, Duration::max);
    let mut walk = Walk::new(cx, &crawl, robots);
    walk.seed(web, &origins).await;
    let (mut started, mut last_start) = (0usize, None::<Instant>);
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < web.config.concurrency.max(1) && started < crawl.max_pages {
            let Some((url, depth)) = walk.frontier.pop_front() else {
                break;
            };
            if walk.refused(&url) {
                continue;
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
            in_flight.push(async move { (web.fetch_page(cx, crawl, url).await, depth) });
        }
        let Some((fetched, depth)) = in_flight.next().await else {
            break;
        };
        walk.take(fetched, depth);
        // Progress is not counted during the crawl (itemsTotal is known only at its end), but
        // the lease is renewed and a cancel is honoured between pages.
        cx.job.checkpoint().await?;
    }
    Ok(walk.finish())
}

/// The state of one traversal.
struct Walk<'a> {
    cx: &'a Context<'a>,
    crawl: &'a Crawl,
    robots: HashMap<String, Robots>,
    /// Links are followed (not for a targeted refresh, which fetches just its pages).
    follow: bool,
    frontier: VecDeque<(Url, usize)>,
    seen: HashSet<Url>,
    docs: Vec<SourceDoc>,
    /// The documents' keys, each once.
    keys: HashSet<String>,
    excluded: Vec<Excluded>,
    /// The whole site was seen: nothing transient failed and no cap was reached.
    complete: bool,
}

impl<'a> Walk<'a> {
    fn new(cx: &'a Context<'a>, crawl: &'a Crawl, robots: HashMap<String, Robots>) -> Self {
        let complete = cx.targeted.is_none() && robots.values().all(|r| r.unreachable.is_none());
        Walk {
            cx,
            crawl,
            robots,
            follow: cx.targeted.is_none(),
            frontier: VecDeque::new(),
            seen: HashSet::new(),
            docs: Vec::new(),
            keys: HashSet::new(),
            excluded: Vec::new(),
            complete,
        }
    }

    /// Seeds: the start URLs, the sitemaps' pages (or, for a targeted refresh, just those pages).
    async fn seed(&mut self, web: &WebSource, origins: &[Url]) {
        let seeds: Vec<Url> = match self.cx.targeted {
            Some(keys) => keys.iter().filter_map(|k| Url::parse(k).ok()).collect(),
            None => {
                let mut s = self.crawl.starts.clone();
                if self.crawl.use_sitemap {
                    let from_sitemaps = web.sitemap_urls(origins, &self.robots).await;
                    s.extend(
                        from_sitemaps
                            .into_iter()
                            .filter(|u| self.crawl.in_scope(u) && self.crawl.indexable(u)),
                    );
                }
                s
            }
        };
        for url in seeds {
            self.push(url, 0);
        }
    }

    fn push(&mut self, url: Url, depth: usize) {
        if self.seen.insert(url.clone()) {
            self.frontier.push_back((url, depth));
        }
    }

    fn add_doc(&mut self, doc: SourceDoc) {
        if self.keys.insert(doc.key.clone()) {
            self.docs.push(doc);
        }
    }

    fn exclude(&mut self, url: &Url, reason: String) {
        self.excluded.push(Excluded {
            url: url.to_string(),
            reason,
        });
    }

    /// Whether robots.txt keeps the crawler from a URL: its rules disallow it (an exclusion), or
    /// the site could not be reached (a failure of its start URLs, with the cause).
    fn refused(&mut self, url: &Url) -> bool {
        let Some(origin) = origin_of(url) else {
            return false;
        };
        match self.robots.get(origin.as_str()) {
            Some(Robots {
                unreachable: Some(reason),
                ..
            }) => {
                let reason = format!(
                    "could not reach {}: its robots.txt could not be read ({reason}), so nothing on the site may be crawled",
                    origin.as_str().trim_end_matches('/')
                );
                self.add_doc(SourceDoc::failed_url(url, reason));
                true
            }
            Some(Robots { robot: Some(r), .. }) if !r.allowed(url.as_str()) => {
                self.exclude(url, "robots.txt disallows it".to_owned());
                true
            }
            _ => false,
        }
    }

    /// Takes what fetching one URL gave.
    fn take(&mut self, fetched: Fetched, depth: usize) {
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
                if self.follow && next <= self.crawl.max_depth {
                    for link in links {
                        if !is_static(&link) && self.crawl.indexable(&link) {
                            self.push(link, next);
                        }
                    }
                }
                // A canonical URL elsewhere in scope is the page to index (fetched if new).
                let canonical = directives
                    .canonical
                    .filter(|c| *c != url && self.crawl.in_scope(c));
                let is_start = self.crawl.starts.contains(&url);
                if let Some(target) = directives.redirect.filter(|t| *t != url) {
                    // Its target is among its links, so it is crawled like a redirect's.
                    self.exclude(&url, format!("it redirects to {target} (meta refresh)"));
                } else if directives.noindex {
                    let reason = "the page asks not to be indexed (noindex)".to_owned();
                    self.exclude(&url, reason);
                } else if let Some(canonical) = canonical {
                    self.exclude(&url, format!("its canonical URL is {canonical}"));
                    if self.follow {
                        self.push(canonical, depth);
                    }
                } else if self.crawl.indexable(&url)
                    || matches!(doc.body, Body::Failed(_)) && is_start
                {
                    self.add_doc(*doc);
                }
            }
            Fetched::NotADocument(url) => {
                // A start URL that is not a page is worth a word; a dead link elsewhere is not.
                if self.crawl.starts.contains(&url) {
                    self.add_doc(SourceDoc::failed_url(
                        &url,
                        "not found (HTTP 404 or 410), or not a supported document type".to_owned(),
                    ));
                }
            }
            Fetched::Transient { url, reason } => {
                self.complete = false;
                tracing::warn!(%url, %reason, "page not fetched; the crawl is incomplete and deletes nothing");
                self.add_doc(SourceDoc::failed_url(&url, reason));
            }
        }
    }

    /// What the crawl collected: pages with the same text made one document.
    fn finish(mut self) -> Collected {
        if !self.frontier.is_empty() {
            self.complete = false;
            tracing::info!(
                max_pages = self.crawl.max_pages,
                "page cap reached; the crawl is incomplete and deletes nothing"
            );
        }
        let docs = drop_duplicates(self.docs, self.cx, &mut self.excluded);
        Collected {
            docs,
            complete: self.complete,
            excluded: self.excluded,
        }
    }
}
