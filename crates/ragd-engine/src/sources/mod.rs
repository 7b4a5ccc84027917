//! Where documents come from. A [`Source`] lists an asset's documents (fetching them when listing
//! and fetching are one step, as in a crawl) and fetches the rest on demand; the ingest executor
//! does everything after that — diff, parse, chunk, embed, write — the same way for every source.

mod render;

use crate::worker::{Job, JobError};
use ragd_core::domain::{Credentials, Document, Metadata, SourceType};
use ragd_core::sources::Parameters;
use ragd_pipeline::Parsed;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What the collectors are built from (the binary's configuration).
pub struct SourceSettings {
    pub blobs: std::sync::Arc<dyn ragd_core::ports::store::Blobs>,
    pub web: web::WebConfig,
    pub git: git::GitConfig,
    pub remote: RemoteConfig,
}

/// Each source type's module (one per entry of [`ragd_core::source_types!`], of the same name as
/// its descriptor's in `ragd_core::sources`), and `collectors`: every source type's collector,
/// built by its module's `collector`.
macro_rules! collectors {
    ($($variant:ident $module:ident $text:literal,)+) => {
        $(pub mod $module;)+

        /// The collector of every source type.
        pub fn collectors(s: SourceSettings) -> HashMap<SourceType, Box<dyn Source>> {
            HashMap::from([$((SourceType::$variant, $module::collector(&s))),+])
        }
    };
}
ragd_core::source_types!(collectors);

/// One document as its source gives it.
#[derive(Debug)]
pub struct SourceDoc {
    /// Stable within the asset (name, path or URL); the document id derives from it.
    pub key: String,
    pub file_name: String,
    pub source_url: Option<String>,
    pub content_type: String,
    pub body: Body,
    /// The document's metadata: what ragd derived from the source (the keys of
    /// [`ragd_core::domain::DERIVED_METADATA_KEYS`]), overlaid by what the client gave with it.
    pub metadata: Metadata,
}

/// `path` and, when its last segment has one, `extension` (lowercase, without the dot).
pub(crate) fn path_metadata(path: &str) -> Metadata {
    let mut m = Metadata::new();
    m.insert("path".into(), path.into());
    let name = path.rsplit('/').next().unwrap_or(path);
    if let Some((stem, ext)) = name.rsplit_once('.')
        && !stem.is_empty()
        && !ext.is_empty()
    {
        m.insert("extension".into(), ext.to_lowercase().into());
    }
    m
}

/// A time as metadata gives every time: RFC 3339 in UTC to the second, so that times compare
/// as strings; `None` for what does not parse as RFC 3339 or as an HTTP date.
pub(crate) fn metadata_time(t: &str) -> Option<Value> {
    let parsed = chrono::DateTime::parse_from_rfc3339(t)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(t))
        .ok()?;
    Some(
        parsed
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
    )
}

impl SourceDoc {
    /// A document known by its URL that could not be fetched or parsed.
    pub fn failed_url(url: &url::Url, reason: String) -> Self {
        SourceDoc {
            key: url.to_string(),
            file_name: url.to_string(),
            source_url: Some(url.to_string()),
            content_type: ragd_pipeline::parse::HTML.to_owned(),
            body: Body::Failed(reason),
            metadata: Metadata::new(),
        }
    }
}

#[derive(Debug)]
pub enum Body {
    /// Listed, not yet fetched: [`Source::fetch`] gets it when the executor needs it, with what
    /// the listing knew of it (a blob id, a download URL and version; `Null` if nothing).
    Pending(serde_json::Value),
    /// The source said the stored version is current (a 304 to a conditional request); `meta`
    /// is what to keep in the document's `source_meta`.
    Unchanged,
    /// The raw bytes; parsed only if their hash differs from the stored version's.
    Bytes {
        bytes: bytes::Bytes,
        meta: serde_json::Value,
    },
    /// Already parsed (a crawler parses to find links); `hash` is the hash of the raw bytes.
    Parsed {
        parsed: Parsed,
        hash: String,
        size: i64,
        meta: serde_json::Value,
    },
    /// Could not be fetched or parsed; the document fails alone with this reason.
    Failed(String),
}

/// The documents a traversal found.
#[derive(Default)]
pub struct Collected {
    pub docs: Vec<SourceDoc>,
    /// The whole source was seen (no transient error, no page cap, not targeted): only then are
    /// stored documents missing from `docs` deleted.
    pub complete: bool,
    /// What the traversal found and left out on purpose, with why (a crawl's `noindex` pages,
    /// duplicates, pages robots.txt disallows), reported on the operation.
    pub excluded: Vec<Excluded>,
}

pub use ragd_core::domain::Excluded;

/// Time spent per pipeline stage, for the operation's log line and the stage metrics.
#[derive(Debug, Default)]
pub struct Stages {
    times: std::sync::Mutex<[std::time::Duration; STAGES.len()]>,
}

pub const STAGES: [&str; 5] = ["fetch", "parse", "chunk", "embed", "write"];

impl Stages {
    /// Runs `f`, adding its time to `stage` (one of [`STAGES`]).
    pub async fn time<T>(&self, stage: &str, f: impl Future<Output = T>) -> T {
        let start = std::time::Instant::now();
        let out = f.await;
        self.add(stage, start.elapsed());
        out
    }

    pub fn add(&self, stage: &str, d: std::time::Duration) {
        let i = STAGES
            .iter()
            .position(|s| *s == stage)
            .expect("a known stage");
        self.times.lock().expect("stages lock")[i] += d;
    }

    pub fn snapshot(&self) -> [(&'static str, std::time::Duration); STAGES.len()] {
        let t = *self.times.lock().expect("stages lock");
        std::array::from_fn(|i| (STAGES[i], t[i]))
    }
}

/// What a source needs from the running job.
pub struct Context<'a> {
    pub job: &'a Job,
    /// The asset's documents as indexed now, by source key.
    pub stored: &'a HashMap<String, Document>,
    /// Only these keys (a targeted refresh), or all when `None`.
    pub targeted: Option<&'a std::collections::HashSet<String>>,
    /// Re-fetch even what the source says is unchanged.
    pub force: bool,
    pub stages: &'a Stages,
    /// The asset's `auth`, opened for this run.
    pub credentials: Option<&'a Credentials>,
}

impl Context<'_> {
    /// How this asset's parses read pages without a text layer, reporting to a tally of one
    /// document's pages that the caller keeps until the document is taken for indexing.
    pub fn ocr(
        &self,
    ) -> (
        ragd_pipeline::parse::ocr::Ocr,
        Arc<crate::worker::DocumentPages>,
    ) {
        let pages = Arc::new(self.job.document_pages());
        let ocr = ragd_pipeline::parse::ocr::Ocr {
            enabled: self.job.claim.asset.ocr,
            progress: Some(pages.clone()),
        };
        (ocr, pages)
    }

    /// The asset's parameters, typed, with their defaults (`let p: WebParams = cx.params()?`).
    pub fn params<P: Parameters>(&self) -> Result<P, JobError> {
        P::parse(&self.job.claim.asset.parameters)
            .map_err(|e| JobError::Source(format!("the asset's parameters do not decode: {e}")))
    }
}

/// The globs of a string-list parameter (validated when the asset was saved), or `None` if none.
pub(crate) fn globs(list: &[String]) -> Option<globset::GlobSet> {
    let mut b = globset::GlobSetBuilder::new();
    for g in list {
        b.add(globset::Glob::new(g).ok()?);
    }
    b.build().ok().filter(|s| !s.is_empty())
}

#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// Lists the asset's documents (for crawlers: fetches them too).
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError>;
    /// Fetches a document listed as [`Body::Pending`], given what the listing knew of it.
    async fn fetch(&self, _cx: &Context<'_>, _doc: &SourceDoc, _listed: Value) -> Body {
        Body::Failed("this source cannot fetch documents on demand".to_owned())
    }
}

/// Settings shared by the sources that read a remote service (S3, GitHub, Drive, Notion).
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Hosts an endpoint (`endpointUrl`, `apiUrl`) may point at although they are private (the
    /// crawler's `web_allow_hosts`).
    pub allow_hosts: Vec<String>,
    /// Largest file or object indexed, in bytes; larger ones fail alone.
    pub max_file_bytes: u64,
}

/// The HTTP client of a SaaS source: ragd's user agent, a request timeout.
pub(crate) fn api_client(timeout_seconds: u64) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("ragd/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(timeout_seconds))
        .build()
        .expect("a TLS-capable HTTP client")
}

/// The asset's `apiUrl` without a trailing slash, once the address guard allowed it.
pub(crate) async fn checked_api(api: &str, allow_hosts: &[String]) -> Result<String, JobError> {
    let api = api.trim_end_matches('/').to_owned();
    let url =
        url::Url::parse(&api).map_err(|_| JobError::Source(format!("{api:?} is not a URL")))?;
    crate::net::check_endpoint(allow_hosts, &url)
        .await
        .map_err(JobError::Source)?;
    Ok(api)
}

/// What a listing makes of a document: unchanged when the version it lists (`field` of the
/// stored document's `source_meta`) is the indexed one and no re-processing was forced; failed
/// when larger than `max_bytes`; else to fetch, with `listed` for [`Source::fetch`].
pub(crate) fn listed_body(
    cx: &Context<'_>,
    key: &str,
    field: &str,
    version: &str,
    size: u64,
    max_bytes: u64,
    listed: Value,
) -> Body {
    let unchanged = !cx.force
        && !version.is_empty()
        && cx.stored.get(key).is_some_and(|d| {
            d.status == ragd_core::domain::DocumentStatus::Indexed
                && d.source_meta.get(field).and_then(Value::as_str) == Some(version)
        });
    if unchanged {
        Body::Unchanged
    } else if size > max_bytes {
        Body::Failed(format!("the file is larger than {max_bytes} bytes"))
    } else {
        Body::Pending(listed)
    }
}

/// Why `provider` could not be reached, naming where it was tried: "GitHub could not be reached
/// at http://127.0.0.1:9 (could not connect)".
pub(crate) fn unreachable(provider: &str, e: &reqwest::Error) -> String {
    let at = e
        .url()
        .map(|u| format!(" at {}", u.origin().ascii_serialization()))
        .unwrap_or_default();
    format!(
        "{provider} could not be reached{at} ({})",
        crate::net::reason(e)
    )
}

/// The body of a provider's answer to `req`, or why not (the provider's refusal, unreachable).
pub(crate) async fn download(
    provider: &str,
    req: reqwest::RequestBuilder,
) -> Result<bytes::Bytes, String> {
    let r = req.send().await.map_err(|e| unreachable(provider, &e))?;
    if !r.status().is_success() {
        return Err(api_refusal(provider, r).await);
    }
    r.bytes()
        .await
        .map_err(|_| "the download broke off".to_owned())
}

/// The bearer token of a SaaS source's credentials: an OAuth access token or an API key.
pub(crate) fn bearer_token(credentials: Option<&Credentials>) -> Option<&str> {
    credentials.and_then(|c| match c.method {
        ragd_core::domain::AuthMethod::OAuth2 => c.get("accessToken"),
        ragd_core::domain::AuthMethod::ApiKey => c.get("apiKey"),
        _ => None,
    })
}

/// What a SaaS API said when it refused a request, for the user: the status and the provider's
/// own message (`{"message"}` as GitHub and Notion send it, `{"error": {"message"}}` as Google
/// does), or that a rate limit is spent and when it resets.
pub(crate) async fn api_refusal(provider: &str, r: reqwest::Response) -> String {
    let status = r.status();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (spent, reset, retry) = (
        header("x-ratelimit-remaining").as_deref() == Some("0"),
        header("x-ratelimit-reset"),
        header("retry-after"),
    );
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let message = body["message"]
        .as_str()
        .or(body["error"]["message"].as_str())
        .unwrap_or_default();
    if spent {
        return format!(
            "{provider}'s rate limit is spent (resets at {} epoch seconds)",
            reset.unwrap_or_default()
        );
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return format!(
            "{provider} is rate limiting (retry after {} s)",
            retry.unwrap_or_else(|| "some".into())
        );
    }
    format!(
        "{provider} answered {status}{}",
        if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        }
    )
}

/// Extensions (and names) of files indexed as plain text, besides the types ragd parses.
const TEXT_EXTENSIONS: &[&str] = &[
    "rs", "py", "js", "mjs", "ts", "tsx", "jsx", "go", "java", "kt", "scala", "c", "h", "cc",
    "cpp", "hpp", "cs", "rb", "php", "swift", "sh", "bash", "zsh", "sql", "toml", "yaml", "yml",
    "ini", "cfg", "conf", "rst", "adoc", "asciidoc", "tex", "org", "proto", "graphql", "css",
    "scss", "xml", "svg", "lua", "r", "pl", "ex", "exs", "erl", "hs", "ml", "clj", "dart", "vue",
];
const TEXT_NAMES: &[&str] = &[
    "README",
    "LICENSE",
    "COPYING",
    "NOTICE",
    "AUTHORS",
    "CHANGELOG",
    "Makefile",
    "Dockerfile",
];

/// The content type ragd indexes a stored file (a repository file, a bucket object) as, by its
/// name, or `None` to leave it out.
pub(crate) fn file_content_type(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if let Some(ct) = ragd_core::content_types::detect_content_type(name, None, &[]) {
        return Some(ct);
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let known = match &ext {
        Some(e) => TEXT_EXTENSIONS.contains(&e.as_str()),
        None => TEXT_NAMES.contains(&name),
    };
    known.then_some("text/plain")
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_files_are_chosen_by_name() {
        use super::file_content_type;
        assert_eq!(file_content_type("docs/guide.md"), Some("text/markdown"));
        assert_eq!(file_content_type("src/main.rs"), Some("text/plain"));
        assert_eq!(file_content_type("LICENSE"), Some("text/plain"));
        assert_eq!(file_content_type("reports/q3.pdf"), Some("application/pdf"));
        // Images are read by OCR from uploads only: a repository's icons are not documents.
        assert_eq!(file_content_type("assets/logo.png"), None);
        assert_eq!(file_content_type("scans/page.tiff"), None);
        assert_eq!(file_content_type("img/logo.png"), None);
        assert_eq!(file_content_type("bin/tool"), None);
    }
}
