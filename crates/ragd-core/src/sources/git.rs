//! `GIT`: a git repository cloned at a branch.

use super::*;

/// `GIT`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GitParams {
    pub url: String,
    /// The remote's HEAD when `None`.
    pub branch: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
}

impl Parameters for GitParams {
    const SOURCE_TYPE: SourceType = SourceType::Git;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::Git,
    display_name: "Git repository",
    description: "Text files of one branch of a git repository (https, http or, where the server allows it, file URLs). \
        A refresh fetches the branch and reads only files whose blob changed.",
    supports_oauth: true,
    supports_auto_update: true,
    supports_webhook_registration: true,
    supports_poll_schedule: true,
    auth_methods: &[AuthMethod::Basic, AuthMethod::ApiKey, AuthMethod::OAuth2],
    validate,
    decode: decodes::<GitParams>,
    link,
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
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
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

/// The repository's URL.
fn link(params: &Map<String, Value>) -> Option<Link> {
    Some(Link::Url(params.get("url")?.as_str()?.to_owned()))
}
