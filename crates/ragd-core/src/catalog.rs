//! What ragd knows how to do: source types and their parameters, embedding models with prices,
//! and content types. The HTTP layer lists these; the services validate requests against them.

use crate::error::{Result, Violations};
use crate::model::{AuthMethod, Credentials, EmbeddingSpec, SourceType};
use serde_json::{Map, Value};

/// The types a source parameter can have. `OBJECT_LIST` is ragd's addition for inline documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    String,
    Integer,
    Boolean,
    StringList,
    Secret,
    ObjectList,
}

impl PropertyType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "STRING",
            Self::Integer => "INTEGER",
            Self::Boolean => "BOOLEAN",
            Self::StringList => "STRING_LIST",
            Self::Secret => "SECRET",
            Self::ObjectList => "OBJECT_LIST",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Property {
    pub name: &'static str,
    pub kind: PropertyType,
    pub required: bool,
    pub default_value: Option<&'static str>,
    pub description: &'static str,
    pub options: &'static [&'static str],
}

impl Property {
    pub fn secret(&self) -> bool {
        self.kind == PropertyType::Secret
    }
}

#[derive(Debug, Clone)]
pub struct SourceTypeDescriptor {
    pub source_type: SourceType,
    pub display_name: &'static str,
    pub description: &'static str,
    pub supports_oauth: bool,
    pub supports_auto_update: bool,
    pub supports_webhook_registration: bool,
    pub supports_poll_schedule: bool,
    pub properties: &'static [Property],
    /// `auth.method`s the source accepts besides `NONE`.
    pub auth_methods: &'static [AuthMethod],
}

/// Content types an inline `TEXT` document may declare.
pub const TEXT_CONTENT_TYPES: &[&str] = &["text/plain", "text/markdown", "text/html"];
/// Largest inline document, in bytes of UTF-8.
pub const MAX_INLINE_DOCUMENT_BYTES: u64 = 5 * 1024 * 1024;
/// Most documents one `TEXT` asset may declare.
pub const MAX_INLINE_DOCUMENTS: usize = 10_000;

/// Most start URLs of one `WEB` asset.
pub const MAX_START_URLS: usize = 100;
/// Most uploads one `FILE` asset holds (`fileIds`, ragd).
pub const MAX_FILES: usize = 10_000;
/// The integer parameters of source types with a range, `(source type, name, range)`; the
/// OpenAPI document states them too.
pub const PARAMETER_RANGES: &[(SourceType, &str, std::ops::RangeInclusive<i64>)] = &[
    (SourceType::Web, "maxPages", 1..=10_000),
    (SourceType::Web, "maxDepth", 0..=20),
];

/// Content types ragd parses, with their file extensions. The parsers are in `ragd-pipeline`.
pub const CONTENT_TYPES: &[(&str, &[&str])] = &[
    ("text/plain", &[".txt", ".text", ".log"]),
    ("text/markdown", &[".md", ".markdown"]),
    ("text/html", &[".html", ".htm"]),
    ("application/pdf", &[".pdf"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &[".docx"],
    ),
    ("text/csv", &[".csv"]),
    ("application/json", &[".json"]),
];

/// The content type of a file from its name, its declared type and its first bytes: PDF magic
/// bytes win, then the extension, then the declared type (a generic one is ignored).
pub fn detect_content_type(
    file_name: &str,
    declared: Option<&str>,
    head: &[u8],
) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    let lower = file_name.to_ascii_lowercase();
    let by_name = CONTENT_TYPES
        .iter()
        .find(|(_, exts)| exts.iter().any(|e| lower.ends_with(e)))
        .map(|(ct, _)| *ct);
    by_name.or_else(|| declared.and_then(normalise_content_type))
}

/// `text/html; charset=utf-8` → `text/html`, with common aliases, if ragd parses the type.
pub fn normalise_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let essence = match essence.as_str() {
        "application/xhtml+xml" => "text/html",
        "text/x-markdown" => "text/markdown",
        "application/csv" => "text/csv",
        "text/json" => "application/json",
        other => other,
    };
    CONTENT_TYPES
        .iter()
        .map(|(ct, _)| *ct)
        .find(|ct| *ct == essence)
}

/// Default upload limit (`POST /storage`, `POST /assets:file`); configurable.
pub const DEFAULT_UPLOAD_LIMIT_BYTES: u64 = 50 * 1024 * 1024;

const fn prop(
    name: &'static str,
    kind: PropertyType,
    required: bool,
    default_value: Option<&'static str>,
    description: &'static str,
) -> Property {
    Property {
        name,
        kind,
        required,
        default_value,
        description,
        options: &[],
    }
}

/// Source types ragd ingests, with their parameters; any other `sourceType` is a 400.
pub static SOURCE_TYPES: &[SourceTypeDescriptor] = &[
    SourceTypeDescriptor {
        source_type: SourceType::Text,
        display_name: "Inline text",
        description: "Documents given in the create request; for quick starts and tests.",
        supports_oauth: false,
        supports_auto_update: false,
        supports_webhook_registration: false,
        supports_poll_schedule: false,
        auth_methods: &[],
        properties: &[prop(
            "documents",
            PropertyType::ObjectList,
            true,
            None,
            "Documents as [{name, text, contentType?}]; contentType is text/plain (default), text/markdown or text/html. Names are unique within the asset.",
        )],
    },
    SourceTypeDescriptor {
        source_type: SourceType::File,
        display_name: "Uploaded file",
        description: "Files uploaded to /storage (or one with assets:file): PDF, DOCX, HTML, Markdown, text, CSV or JSON.",
        supports_oauth: false,
        supports_auto_update: false,
        supports_webhook_registration: false,
        supports_poll_schedule: false,
        auth_methods: &[],
        properties: &[
            prop(
                "fileId",
                PropertyType::String,
                false,
                None,
                "The fileId returned by POST /storage (this or fileIds).",
            ),
            prop(
                "fileIds",
                PropertyType::StringList,
                false,
                None,
                "(ragd) Several fileIds returned by POST /storage, one document each (this or fileId).",
            ),
        ],
    },
    SourceTypeDescriptor {
        source_type: SourceType::Web,
        display_name: "Web site",
        description: "Pages crawled from start URLs, following links and sitemaps within scope, obeying robots.txt.",
        supports_oauth: false,
        supports_auto_update: true,
        supports_webhook_registration: true,
        supports_poll_schedule: true,
        auth_methods: &[],
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
    },
    SourceTypeDescriptor {
        source_type: SourceType::Git,
        display_name: "Git repository",
        description: "Text files of one branch of a git repository (https, http or, where the server allows it, file URLs). \
            A refresh fetches the branch and reads only files whose blob changed.",
        supports_oauth: true,
        supports_auto_update: true,
        supports_webhook_registration: true,
        supports_poll_schedule: true,
        auth_methods: &[AuthMethod::Basic, AuthMethod::ApiKey, AuthMethod::OAuth2],
        properties: &[
            prop(
                "url",
                PropertyType::String,
                true,
                None,
                "Clone URL of the repository.",
            ),
            prop(
                "branch",
                PropertyType::String,
                false,
                None,
                "Branch to index (default: the remote's HEAD).",
            ),
            prop(
                "paths",
                PropertyType::StringList,
                false,
                None,
                "Globs on the path within the repository (e.g. docs/**/*.md); default: every text file ragd can parse.",
            ),
        ],
    },
    SourceTypeDescriptor {
        source_type: SourceType::S3,
        display_name: "S3 bucket",
        description: "Objects under a prefix of a bucket on AWS S3 or any S3-compatible store (MinIO, Ceph, R2, …). \
            A refresh lists the prefix and reads only objects whose ETag changed.",
        supports_oauth: false,
        supports_auto_update: true,
        supports_webhook_registration: true,
        supports_poll_schedule: true,
        auth_methods: &[AuthMethod::Aws],
        properties: &[
            prop("bucket", PropertyType::String, true, None, "Bucket name."),
            prop(
                "prefix",
                PropertyType::String,
                false,
                None,
                "Only objects whose key starts with this prefix (e.g. docs/).",
            ),
            prop(
                "endpointUrl",
                PropertyType::String,
                false,
                None,
                "Endpoint of an S3-compatible store (default: AWS).",
            ),
            prop(
                "region",
                PropertyType::String,
                false,
                Some("us-east-1"),
                "Region of the bucket.",
            ),
        ],
    },
    SourceTypeDescriptor {
        source_type: SourceType::Github,
        display_name: "GitHub repository",
        description: "Text files of one branch of a GitHub (or GitHub Enterprise) repository through the REST API, \
            with an OAuth or personal access token. A refresh downloads only files whose blob SHA changed.",
        supports_oauth: true,
        supports_auto_update: true,
        supports_webhook_registration: true,
        supports_poll_schedule: true,
        auth_methods: &[AuthMethod::OAuth2, AuthMethod::ApiKey],
        properties: &[
            prop("repository", PropertyType::String, true, None, "owner/name"),
            prop(
                "branch",
                PropertyType::String,
                false,
                None,
                "Branch to index (default: the repository's default branch).",
            ),
            prop(
                "paths",
                PropertyType::StringList,
                false,
                None,
                "Globs on the path within the repository; default: every text file ragd can parse.",
            ),
            prop(
                "apiUrl",
                PropertyType::String,
                false,
                Some("https://api.github.com"),
                "REST API base, for GitHub Enterprise (https://HOST/api/v3).",
            ),
        ],
    },
    SourceTypeDescriptor {
        source_type: SourceType::GoogleDrive,
        display_name: "Google Drive folder",
        description: "Files of a Drive folder and its subfolders through the Drive API, with an OAuth token: Docs as HTML, \
            Sheets as CSV, Slides as text, and uploaded files of the types ragd parses. A refresh downloads only files whose version changed.",
        supports_oauth: true,
        supports_auto_update: true,
        supports_webhook_registration: true,
        supports_poll_schedule: true,
        auth_methods: &[AuthMethod::OAuth2],
        properties: &[
            prop(
                "folderId",
                PropertyType::String,
                false,
                Some("root"),
                "The folder's id (from its URL); default: My Drive.",
            ),
            prop(
                "includeSubfolders",
                PropertyType::Boolean,
                false,
                Some("true"),
                "Also index the folder's subfolders.",
            ),
            prop(
                "apiUrl",
                PropertyType::String,
                false,
                Some("https://www.googleapis.com"),
                "API base (for tests and proxies).",
            ),
        ],
    },
    SourceTypeDescriptor {
        source_type: SourceType::Notion,
        display_name: "Notion pages",
        description: "Notion pages and the pages of Notion databases through the Notion API, rendered as Markdown, with an OAuth token \
            or an internal integration's secret (API_KEY). A refresh reads only pages whose last_edited_time changed.",
        supports_oauth: true,
        supports_auto_update: true,
        supports_webhook_registration: true,
        supports_poll_schedule: true,
        auth_methods: &[AuthMethod::OAuth2, AuthMethod::ApiKey],
        properties: &[
            prop(
                "pageIds",
                PropertyType::StringList,
                false,
                None,
                "Pages to index.",
            ),
            prop(
                "databaseIds",
                PropertyType::StringList,
                false,
                None,
                "Databases whose pages to index.",
            ),
            prop(
                "apiUrl",
                PropertyType::String,
                false,
                Some("https://api.notion.com"),
                "API base (for tests and proxies).",
            ),
        ],
    },
];

/// The parameters each `auth.method` needs (`required`, `optional`), all strings.
pub fn auth_parameters(method: AuthMethod) -> (&'static [&'static str], &'static [&'static str]) {
    match method {
        AuthMethod::None => (&[], &[]),
        AuthMethod::Basic => (&["username", "password"], &[]),
        AuthMethod::ApiKey => (&["apiKey"], &["username"]),
        AuthMethod::Aws => (&["accessKeyId", "secretAccessKey"], &["sessionToken"]),
        AuthMethod::OAuth2 => (
            &["accessToken"],
            &[
                "refreshToken",
                "tokenType",
                "expiresAt",
                "scope",
                "username",
            ],
        ),
    }
}

/// Checks an `auth` block against the source type: a method it accepts, the method's parameters
/// present and strings (`expiresAt` may be a number), nothing unknown.
pub fn validate_auth(desc: &SourceTypeDescriptor, auth: &Credentials) -> Result<()> {
    if auth.method != AuthMethod::None && !desc.auth_methods.contains(&auth.method) {
        let accepted: Vec<&str> = std::iter::once("NONE")
            .chain(desc.auth_methods.iter().map(|m| m.as_str()))
            .collect();
        return Err(crate::Error::invalid(
            "auth.method",
            format!(
                "source type {} accepts {}",
                desc.source_type,
                accepted.join(", ")
            ),
        ));
    }
    let (required, optional) = auth_parameters(auth.method);
    let mut v = Violations::default();
    for name in required {
        if auth
            .parameters
            .get(*name)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            v.add(
                format!("auth.parameters.{name}"),
                format!("is required for {}", auth.method),
            );
        }
    }
    for (name, value) in &auth.parameters {
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            v.add(
                format!("auth.parameters.{name}"),
                format!("is not a parameter of {}", auth.method),
            );
        } else if !(value.is_string() || (name == "expiresAt" && value.is_i64())) {
            v.add(format!("auth.parameters.{name}"), "must be a string");
        }
    }
    v.into_result()
}

pub fn source_type(t: SourceType) -> Option<&'static SourceTypeDescriptor> {
    SOURCE_TYPES.iter().find(|d| d.source_type == t)
}

/// Checks `parameters` against the descriptor: no unknown property, none missing, types right.
/// Reports every problem at once, each named by its JSON path under `at` (e.g. `config.parameters`).
pub fn validate_parameters(
    desc: &SourceTypeDescriptor,
    params: &Map<String, Value>,
    at: &str,
) -> Result<()> {
    let mut v = Violations::default();
    for key in params.keys() {
        if !desc.properties.iter().any(|p| p.name == key) {
            v.add(
                format!("{at}.{key}"),
                format!("unknown property for source type {}", desc.source_type),
            );
        }
    }
    for p in desc.properties {
        let field = format!("{at}.{}", p.name);
        match params.get(p.name) {
            None | Some(Value::Null) if p.required => v.add(field, "is required"),
            None | Some(Value::Null) => {}
            Some(value) => {
                let ok = match p.kind {
                    PropertyType::String | PropertyType::Secret => value.is_string(),
                    PropertyType::Integer => value.is_i64(),
                    PropertyType::Boolean => value.is_boolean(),
                    PropertyType::StringList => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_string)),
                    PropertyType::ObjectList => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_object)),
                };
                if !ok {
                    v.add(field, format!("must be of type {}", p.kind.as_str()));
                } else if !p.options.is_empty()
                    && !value.as_str().is_some_and(|s| p.options.contains(&s))
                {
                    v.add(field, format!("must be one of {}", p.options.join(", ")));
                }
            }
        }
    }
    v.into_result()?;
    match desc.source_type {
        SourceType::Text => validate_inline_documents(params, at),
        SourceType::File => validate_files(params, at),
        SourceType::Web => validate_web(params, at),
        SourceType::Git => validate_git(params, at),
        SourceType::S3 => validate_s3(params, at),
        SourceType::Github => validate_github(params, at),
        SourceType::GoogleDrive => {
            let mut v = Violations::default();
            http_url(params, "apiUrl", at, &mut v);
            v.into_result()
        }
        SourceType::Notion => {
            let mut v = Violations::default();
            let count = |n: &str| params.get(n).and_then(Value::as_array).map_or(0, Vec::len);
            if count("pageIds") + count("databaseIds") == 0 {
                v.add(
                    format!("{at}.pageIds"),
                    "name at least one page (pageIds) or database (databaseIds)",
                );
            }
            for name in ["pageIds", "databaseIds"] {
                for (i, id) in params
                    .get(name)
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let id = id.as_str().unwrap_or_default().replace('-', "");
                    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                        v.add(
                            format!("{at}.{name}[{i}]"),
                            "must be a Notion id (32 hex digits, dashes allowed)",
                        );
                    }
                }
            }
            http_url(params, "apiUrl", at, &mut v);
            v.into_result()
        }
    }
}

fn validate_s3(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let bucket = params
        .get("bucket")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.as_bytes()[0].is_ascii_alphanumeric();
    if !valid {
        v.add(
            format!("{at}.bucket"),
            "must be 3-63 characters of a-z, 0-9, '.' and '-'",
        );
    }
    http_url(params, "endpointUrl", at, &mut v);
    v.into_result()
}

fn validate_github(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let repo = params
        .get("repository")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let part_ok = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !matches!(repo.split_once('/'), Some((o, n)) if part_ok(o) && part_ok(n)) {
        v.add(format!("{at}.repository"), "must be owner/name");
    }
    http_url(params, "apiUrl", at, &mut v);
    branch_name(params, at, &mut v);
    globs(params, "paths", at, &mut v);
    v.into_result()
}

/// A violation if the URL parameter `name`, when given, is not an absolute http(s) URL.
fn http_url(params: &Map<String, Value>, name: &str, at: &str, v: &mut Violations) {
    if let Some(e) = params.get(name).and_then(Value::as_str) {
        check_url(e, false, &format!("{at}.{name}"), v);
    }
}

/// A violation at `field` unless `u` is an absolute http(s) URL (or a `file` URL, if allowed)
/// without credentials: a password in a URL would be stored and shown in clear with the asset.
fn check_url(u: &str, file: bool, field: &str, v: &mut Violations) {
    let expected = if file {
        "must be an absolute https, http or file URL"
    } else {
        "must be an absolute http or https URL"
    };
    match url::Url::parse(u) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => v.add(
            field,
            "must not hold credentials (user:password@): they would be stored and shown in clear; give them in `auth`, which is sealed",
        ),
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(u) if file && u.scheme() == "file" => {}
        _ => v.add(field, expected),
    }
}

/// A violation if the `branch` parameter is not a plausible branch name.
fn branch_name(params: &Map<String, Value>, at: &str, v: &mut Violations) {
    if let Some(b) = params.get("branch").and_then(Value::as_str)
        && (b.is_empty()
            || b.starts_with('-')
            || b.contains("..")
            || b.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        v.add(format!("{at}.branch"), "is not a valid branch name");
    }
}

fn validate_git(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    check_url(
        params
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        true,
        &format!("{at}.url"),
        &mut v,
    );
    branch_name(params, at, &mut v);
    globs(params, "paths", at, &mut v);
    v.into_result()
}

/// Adds a violation for each invalid glob in the string list `name`.
fn globs(params: &Map<String, Value>, name: &str, at: &str, v: &mut Violations) {
    for (i, g) in params
        .get(name)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Err(e) = globset::Glob::new(g.as_str().unwrap_or_default()) {
            v.add(
                format!("{at}.{name}[{i}]"),
                format!("is not a valid glob: {e}"),
            );
        }
    }
}

/// The globs of a `WEB` pattern list, or why one is invalid.
/// The uploads a `FILE` asset names: `fileId`, or the list `fileIds` (ragd), in order.
pub fn file_ids(params: &Map<String, Value>) -> Vec<uuid::Uuid> {
    let one = params.get("fileId").filter(|v| !v.is_null()).into_iter();
    let many = params
        .get("fileIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    one.chain(many)
        .filter_map(|v| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()))
        .collect()
}

fn validate_files(params: &Map<String, Value>, at: &str) -> Result<()> {
    let uuid = |v: &Value| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok());
    match (
        params.get("fileId").filter(|v| !v.is_null()),
        params.get("fileIds").filter(|v| !v.is_null()),
    ) {
        (Some(id), None) if uuid(id).is_some() => Ok(()),
        (Some(_), None) => Err(crate::Error::invalid(
            format!("{at}.fileId"),
            "must be a fileId returned by POST /storage",
        )),
        (None, Some(Value::Array(ids))) => {
            let mut v = Violations::default();
            if ids.is_empty() || ids.len() > MAX_FILES {
                v.add(
                    format!("{at}.fileIds"),
                    format!("must hold 1 to {MAX_FILES} fileIds"),
                );
            }
            let mut seen = std::collections::HashSet::new();
            for (i, id) in ids.iter().enumerate() {
                match uuid(id) {
                    None => v.add(
                        format!("{at}.fileIds[{i}]"),
                        "must be a fileId returned by POST /storage",
                    ),
                    Some(id) if !seen.insert(id) => v.add(
                        format!("{at}.fileIds[{i}]"),
                        "names a file already in the list",
                    ),
                    Some(_) => {}
                }
            }
            v.into_result()
        }
        _ => Err(crate::Error::invalid(
            format!("{at}.fileId"),
            "name the upload: fileId, or several as fileIds (not both)",
        )),
    }
}

fn validate_web(params: &Map<String, Value>, at: &str) -> Result<()> {
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

fn validate_inline_documents(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let docs = params
        .get("documents")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if docs.is_empty() {
        v.add(format!("{at}.documents"), "must hold at least one document");
    }
    if docs.len() > MAX_INLINE_DOCUMENTS {
        v.add(
            format!("{at}.documents"),
            format!("holds more than {MAX_INLINE_DOCUMENTS} documents"),
        );
    }
    let mut names = std::collections::HashSet::new();
    for (i, doc) in docs.iter().enumerate() {
        let field = |f: &str| format!("{at}.documents[{i}].{f}");
        let doc = doc.as_object().expect("checked by validate_parameters");
        for key in doc.keys() {
            if !matches!(key.as_str(), "name" | "text" | "contentType") {
                v.add(
                    field(key),
                    "unknown field (expected name, text, contentType)",
                );
            }
        }
        match doc.get("name").and_then(Value::as_str) {
            Some(n) if !n.trim().is_empty() && n.len() <= 1024 => {
                if !names.insert(n) {
                    v.add(field("name"), "is used by another document of this asset");
                }
            }
            Some(_) => v.add(field("name"), "must be 1-1024 characters, not blank"),
            None => v.add(field("name"), "is required and must be a string"),
        }
        match doc.get("text") {
            Some(Value::String(t)) if t.len() as u64 > MAX_INLINE_DOCUMENT_BYTES => v.add(
                field("text"),
                format!("exceeds {MAX_INLINE_DOCUMENT_BYTES} bytes"),
            ),
            Some(Value::String(_)) => {}
            _ => v.add(field("text"), "is required and must be a string"),
        }
        match doc.get("contentType") {
            None | Some(Value::Null) => {}
            Some(Value::String(c)) if TEXT_CONTENT_TYPES.contains(&c.as_str()) => {}
            Some(_) => v.add(
                field("contentType"),
                format!("must be one of {}", TEXT_CONTENT_TYPES.join(", ")),
            ),
        }
    }
    v.into_result()
}

/// An embedding model ragd can price and (once its provider lands) call.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingModel {
    pub provider: &'static str,
    pub model: &'static str,
    pub dimensions: u32,
    pub max_input_tokens: u32,
    pub price_per_million_tokens: f64,
    pub local: bool,
    pub default_chunk_size: u32,
    pub default_chunk_overlap: u32,
}

/// The local model, the default for assets created without `embedding`.
pub const LOCAL_PROVIDER: &str = "local";
pub const LOCAL_MODEL: &str = "all-MiniLM-L6-v2";

/// Published list prices (USD per million input tokens) as of 2026; overridable in configuration.
const MODELS: &[EmbeddingModel] = &[
    EmbeddingModel {
        provider: LOCAL_PROVIDER,
        model: LOCAL_MODEL,
        dimensions: 384,
        max_input_tokens: 256,
        price_per_million_tokens: 0.0,
        local: true,
        default_chunk_size: 200,
        default_chunk_overlap: 40,
    },
    EmbeddingModel {
        provider: "openai",
        model: "text-embedding-3-small",
        dimensions: 1536,
        max_input_tokens: 8191,
        price_per_million_tokens: 0.02,
        local: false,
        default_chunk_size: 512,
        default_chunk_overlap: 64,
    },
    EmbeddingModel {
        provider: "openai",
        model: "text-embedding-3-large",
        dimensions: 3072,
        max_input_tokens: 8191,
        price_per_million_tokens: 0.13,
        local: false,
        default_chunk_size: 512,
        default_chunk_overlap: 64,
    },
    EmbeddingModel {
        provider: "openai",
        model: "text-embedding-ada-002",
        dimensions: 1536,
        max_input_tokens: 8191,
        price_per_million_tokens: 0.10,
        local: false,
        default_chunk_size: 512,
        default_chunk_overlap: 64,
    },
];

/// Tokens a chunk of the local model leaves for `contextText` (title and heading path) within
/// its 256-token window.
const CONTEXT_RESERVE_TOKENS: u32 = 32;

/// The embedding models with prices in force (list prices unless configuration overrides them).
#[derive(Debug, Clone)]
pub struct ModelCatalog {
    models: Vec<EmbeddingModel>,
}

/// The remote embedding providers of the catalog, each once (what an LLM config may name).
pub fn remote_providers() -> Vec<&'static str> {
    let mut remote: Vec<&str> = MODELS
        .iter()
        .filter(|m| !m.local)
        .map(|m| m.provider)
        .collect();
    remote.sort_unstable();
    remote.dedup();
    remote
}

impl Default for ModelCatalog {
    fn default() -> Self {
        Self {
            models: MODELS.to_vec(),
        }
    }
}

/// What a request may say about embedding; missing parts take the model's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbeddingRequest {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub chunk_size: Option<i64>,
    pub chunk_overlap: Option<i64>,
}

impl ModelCatalog {
    /// Overrides prices by `provider/model` key.
    pub fn with_prices(mut self, prices: &std::collections::HashMap<String, f64>) -> Self {
        for m in &mut self.models {
            if let Some(p) = prices.get(&format!("{}/{}", m.provider, m.model)) {
                m.price_per_million_tokens = *p;
            }
        }
        self
    }

    pub fn models(&self) -> &[EmbeddingModel] {
        &self.models
    }

    pub fn find(&self, provider: &str, model: &str) -> Option<&EmbeddingModel> {
        self.models
            .iter()
            .find(|m| m.provider == provider && m.model == model)
    }

    /// USD per million tokens of a model; 0 for a model no longer in the catalog.
    pub fn price(&self, provider: &str, model: &str) -> f64 {
        self.find(provider, model)
            .map_or(0.0, |m| m.price_per_million_tokens)
    }

    /// Resolves a request to a complete spec, starting from `base` (the asset's current spec on
    /// PATCH, the local default on create). Changing the model resets chunking to its defaults
    /// unless the request sets them too.
    pub fn resolve(
        &self,
        base: Option<&EmbeddingSpec>,
        req: &EmbeddingRequest,
    ) -> Result<EmbeddingSpec> {
        let mut v = Violations::default();
        // A request naming only a model or only a provider completes it from the catalog;
        // naming neither keeps the current model (or takes the local default).
        let (provider, model_name) = match (req.provider.clone(), req.model.clone()) {
            (Some(p), Some(m)) => (p, m),
            (None, Some(m)) => match self.models.iter().find(|x| x.model == m) {
                Some(x) => (x.provider.to_owned(), m),
                None => (String::new(), m),
            },
            (Some(p), None) => match base.filter(|b| b.provider == p) {
                Some(b) => (p, b.model.clone()),
                None => {
                    let first = self
                        .models
                        .iter()
                        .find(|m| m.provider == p)
                        .map(|m| m.model.to_owned())
                        .unwrap_or_default();
                    (p, first)
                }
            },
            (None, None) => match base {
                Some(b) => (b.provider.clone(), b.model.clone()),
                None => (LOCAL_PROVIDER.to_owned(), LOCAL_MODEL.to_owned()),
            },
        };
        let Some(model) = self.find(&provider, &model_name) else {
            v.add(
                "embedding.model",
                format!(
                    "unknown embedding model {provider}/{model_name}; see assets:embeddingModels"
                ),
            );
            v.into_result()?;
            unreachable!("a violation was added");
        };
        let same_model = base.is_some_and(|b| b.provider == provider && b.model == model_name);
        let size = req.chunk_size.unwrap_or(match base {
            Some(b) if same_model => b.chunk_size as i64,
            _ => model.default_chunk_size as i64,
        });
        let overlap = req.chunk_overlap.unwrap_or(match base {
            Some(b) if same_model => b.chunk_overlap as i64,
            _ => model.default_chunk_overlap as i64,
        });
        let max = if model.local {
            model.max_input_tokens - CONTEXT_RESERVE_TOKENS
        } else {
            model.max_input_tokens
        };
        if !(16..=max as i64).contains(&size) {
            v.add(
                "embedding.chunkSize",
                format!("must be between 16 and {max} tokens for {provider}/{model_name}"),
            );
        }
        if overlap < 0 || overlap >= size {
            v.add(
                "embedding.chunkOverlap",
                "must be at least 0 and less than chunkSize",
            );
        }
        v.into_result()?;
        Ok(EmbeddingSpec {
            provider,
            model: model_name,
            chunk_size: size as u32,
            chunk_overlap: overlap as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn text_parameters_name_every_problem() {
        let d = source_type(SourceType::Text).unwrap();
        assert!(
            validate_parameters(
                d,
                &params(json!({"documents": [{"name": "a", "text": "x"}]})),
                "config.parameters"
            )
            .is_ok()
        );
        let err = validate_parameters(
            d,
            &params(json!({"documents": [{"name": "a", "text": 3, "contentType": "image/png"}, {"name": "a", "text": ""}]})),
            "config.parameters",
        )
        .unwrap_err();
        let crate::Error::Validation { errors, .. } = err else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "config.parameters.documents[0].text",
                "config.parameters.documents[0].contentType",
                "config.parameters.documents[1].name"
            ]
        );
        let err =
            validate_parameters(d, &params(json!({"extra": 1})), "config.parameters").unwrap_err();
        let crate::Error::Validation { errors, .. } = err else {
            panic!()
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn embedding_defaults_and_limits() {
        let c = ModelCatalog::default();
        let local = c.resolve(None, &EmbeddingRequest::default()).unwrap();
        assert_eq!(
            (local.model.as_str(), local.chunk_size, local.chunk_overlap),
            (LOCAL_MODEL, 200, 40)
        );
        let openai = c
            .resolve(
                Some(&local),
                &EmbeddingRequest {
                    model: Some("text-embedding-3-small".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            (
                openai.provider.as_str(),
                openai.chunk_size,
                openai.chunk_overlap
            ),
            ("openai", 512, 64)
        );
        assert!(
            c.resolve(
                None,
                &EmbeddingRequest {
                    chunk_size: Some(300),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            c.resolve(
                None,
                &EmbeddingRequest {
                    chunk_size: Some(100),
                    chunk_overlap: Some(100),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            c.resolve(
                None,
                &EmbeddingRequest {
                    model: Some("nope".into()),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
