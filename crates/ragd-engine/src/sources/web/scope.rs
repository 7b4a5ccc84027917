//! An asset's crawl settings (from its typed `WebParams`), what is in scope, and
//! one spelling per URL.

use ragd_core::sources::{Scope, WebParams};
use url::Url;

/// Paths that are never documents; not fetched when found as links.
const STATIC_EXTENSIONS: &[&str] = &[
    ".css", ".js", ".mjs", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".woff",
    ".woff2", ".ttf", ".otf", ".eot", ".zip", ".gz", ".tgz", ".xz", ".bz2", ".tar", ".mp3", ".mp4",
    ".webm", ".wasm", ".exe", ".dmg", ".iso",
];

/// The crawl settings of one asset.
pub(super) struct Crawl {
    pub(super) starts: Vec<Url>,
    pub(super) max_pages: usize,
    pub(super) max_depth: usize,
    pub(super) prefix_scope: bool,
    pub(super) use_sitemap: bool,
    /// Pages are rendered by Chromium before their text is read.
    pub(super) render: bool,
    pub(super) include: Option<globset::GlobSet>,
    pub(super) exclude: Option<globset::GlobSet>,
}

impl Crawl {
    pub(super) fn new(params: &WebParams) -> Self {
        let starts = params
            .urls
            .iter()
            .filter_map(|u| Url::parse(u).ok())
            .map(normalise)
            .collect();
        Crawl {
            starts,
            max_pages: params.max_pages.max(0) as usize,
            max_depth: params.max_depth.max(0) as usize,
            prefix_scope: params.scope == Scope::Prefix,
            use_sitemap: params.use_sitemap,
            render: params.render,
            include: crate::sources::globs(&params.include_patterns),
            exclude: crate::sources::globs(&params.exclude_patterns),
        }
    }

    /// Same host as a start URL (HOST), or under a start URL's directory (PREFIX).
    pub(super) fn in_scope(&self, url: &Url) -> bool {
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
    pub(super) fn indexable(&self, url: &Url) -> bool {
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
pub(super) fn normalise(mut url: Url) -> Url {
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

pub(super) fn normalise_path(path: &str) -> String {
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

pub(super) fn origin_of(url: &Url) -> Option<Url> {
    url.join("/").ok()
}

pub(super) fn is_static(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    STATIC_EXTENSIONS.iter().any(|e| path.ends_with(e))
}
