//! `WEB`: a web site crawled from its start URLs.

use super::*;

/// Most start URLs of one `WEB` asset.
pub const MAX_START_URLS: usize = 100;

/// `WEB`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebParams {
    pub urls: Vec<String>,
    pub max_pages: i64,
    pub max_depth: i64,
    pub scope: Scope,
    pub use_sitemap: bool,
    #[serde(default)]
    pub include_patterns: Vec<String>,
    #[serde(default)]
    pub exclude_patterns: Vec<String>,
    pub render: bool,
}

/// Which pages a crawl may visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Scope {
    /// Any page of the start URLs' hosts.
    Host,
    /// Only URLs under a start URL's directory.
    Prefix,
}

impl Parameters for WebParams {
    const SOURCE_TYPE: SourceType = SourceType::Web;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::Web,
    display_name: "Web site",
    description: "Pages crawled from start URLs, following links and sitemaps within scope, obeying robots.txt.",
    supports_oauth: false,
    supports_auto_update: true,
    supports_webhook_registration: true,
    supports_poll_schedule: true,
    auth_methods: &[],
    validate,
    decode: decodes::<WebParams>,
    link,
    properties: &[
        prop(
            "urls",
            PropertyType::StringList,
            true,
            None,
            "Start URLs (http or https).",
        ),
        prop(
            "maxPages",
            PropertyType::Integer,
            false,
            Some("500"),
            "Most pages fetched per crawl (1-10000).",
        ),
        prop(
            "maxDepth",
            PropertyType::Integer,
            false,
            Some("3"),
            "Most links followed from a start URL or sitemap entry (0-20).",
        ),
        Property {
            name: "scope",
            kind: PropertyType::String,
            required: false,
            default_value: Some("HOST"),
            description: "HOST: any page of the start URLs' hosts; PREFIX: only URLs under a start URL's directory.",
            options: &["HOST", "PREFIX"],
        },
        prop(
            "useSitemap",
            PropertyType::Boolean,
            false,
            Some("true"),
            "Seed the crawl from sitemap.xml/sitemap.txt and robots.txt Sitemap lines.",
        ),
        prop(
            "includePatterns",
            PropertyType::StringList,
            false,
            None,
            "Globs on the URL path; when given, only matching pages are indexed.",
        ),
        prop(
            "excludePatterns",
            PropertyType::StringList,
            false,
            None,
            "Globs on the URL path of pages to leave out.",
        ),
        prop(
            "render",
            PropertyType::Boolean,
            false,
            Some("false"),
            "(ragd) Render each page in a headless Chromium before reading it, for sites whose text JavaScript writes.",
        ),
    ],
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let urls = params
        .get("urls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if urls.is_empty() || urls.len() > MAX_START_URLS {
        v.add(
            format!("{at}.urls"),
            format!("must hold 1 to {MAX_START_URLS} URLs"),
        );
    }
    for (i, u) in urls.iter().enumerate() {
        check_url(
            u.as_str().unwrap_or_default(),
            false,
            &format!("{at}.urls[{i}]"),
            &mut v,
        );
    }
    for (_, name, range) in PARAMETER_RANGES
        .iter()
        .filter(|(t, ..)| *t == SourceType::Web)
    {
        if let Some(n) = params.get(*name).and_then(Value::as_i64)
            && !range.contains(&n)
        {
            v.add(
                format!("{at}.{name}"),
                format!("must be between {} and {}", range.start(), range.end()),
            );
        }
    }
    for name in ["includePatterns", "excludePatterns"] {
        globs(params, name, at, &mut v);
    }
    v.into_result()
}

/// The first start URL.
fn link(params: &Map<String, Value>) -> Option<Link> {
    let url = params.get("urls")?.get(0)?.as_str()?;
    Some(Link::Url(url.to_owned()))
}
