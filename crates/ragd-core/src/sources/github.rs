//! `GITHUB`: a GitHub repository read through the GitHub API.

use super::*;

/// `GITHUB`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitHubParams {
    /// `owner/name`.
    pub repository: String,
    /// The repository's default branch when `None`.
    pub branch: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    pub api_url: String,
}

impl Parameters for GitHubParams {
    const SOURCE_TYPE: SourceType = SourceType::Github;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::Github,
    display_name: "GitHub repository",
    description: "Text files of one branch of a GitHub (or GitHub Enterprise) repository through the REST API, \
        with an OAuth or personal access token. A refresh downloads only files whose blob SHA changed.",
    supports_oauth: true,
    supports_auto_update: true,
    supports_webhook_registration: true,
    supports_poll_schedule: true,
    auth_methods: &[AuthMethod::OAuth2, AuthMethod::ApiKey],
    validate,
    decode: decodes::<GitHubParams>,
    link,
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
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
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

/// The repository on GitHub (or its API on an Enterprise server).
fn link(params: &Map<String, Value>) -> Option<Link> {
    let repo = params.get("repository")?.as_str()?;
    Some(Link::Url(
        match params.get("apiUrl").and_then(|e| e.as_str()) {
            Some(api) => format!("{}/repos/{repo}", api.trim_end_matches('/')),
            None => format!("https://github.com/{repo}"),
        },
    ))
}
