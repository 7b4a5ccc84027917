//! `GITHUB`: the text files of one branch of a GitHub repository through GitHub's REST API (or
//! GitHub Enterprise's, by `apiUrl`), with an OAuth token or a personal access token.
//!
//! A run reads the repository (its default branch and web address), then the branch's whole tree
//! in one request (`GET /repos/{o}/{r}/git/trees/{branch}?recursive=1`), which carries every
//! file's blob SHA: a file whose SHA equals the one stored for its document is unchanged and never
//! downloaded; the others are read as raw blobs (`GET /repos/{o}/{r}/git/blobs/{sha}`). A tree
//! GitHub truncates (over 100,000 entries) makes the run incomplete, so nothing is deleted.
//! Requests follow GitHub's REST conventions: `Accept: application/vnd.github+json`,
//! `X-GitHub-Api-Version: 2022-11-28`, a `User-Agent`, and `Authorization: Bearer <token>`.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use serde::Deserialize;
use serde_json::{Value, json};

pub const API_VERSION: &str = "2022-11-28";

pub struct GitHubSource {
    config: super::RemoteConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Repository {
    default_branch: String,
    html_url: String,
}

#[derive(Deserialize)]
struct Tree {
    #[serde(default)]
    truncated: bool,
    tree: Vec<TreeEntry>,
}

#[derive(Deserialize)]
struct TreeEntry {
    path: String,
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    sha: String,
    #[serde(default)]
    size: u64,
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(GitHubSource::new(s.remote.clone()))
}

impl GitHubSource {
    pub fn new(config: super::RemoteConfig) -> Self {
        Self {
            config,
            http: super::api_client(60),
        }
    }

    fn request(&self, cx: &Context<'_>, url: &str, accept: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .get(url)
            .header("accept", accept)
            .header("x-github-api-version", API_VERSION);
        if let Some(t) = super::bearer_token(cx.credentials) {
            req = req.bearer_auth(t);
        }
        req
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        cx: &Context<'_>,
        url: &str,
        what: &str,
    ) -> Result<T, JobError> {
        let r = self
            .request(cx, url, "application/vnd.github+json")
            .send()
            .await
            .map_err(|e| {
                JobError::Source(format!("{what}: {}", super::unreachable("GitHub", &e)))
            })?;
        if !r.status().is_success() {
            return Err(JobError::Source(format!(
                "{what}: {}",
                super::api_refusal("GitHub", r).await
            )));
        }
        r.json()
            .await
            .map_err(|e| JobError::Source(format!("{what}: unexpected answer from GitHub ({e})")))
    }
}

#[async_trait::async_trait]
impl Source for GitHubSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params: ragd_core::sources::GitHubParams = cx.params()?;
        let api = super::checked_api(&params.api_url, &self.config.allow_hosts).await?;
        let repo = &params.repository;
        let info: Repository = self
            .get_json(
                cx,
                &format!("{api}/repos/{repo}"),
                &format!("reading {repo}"),
            )
            .await?;
        let branch = params.branch.clone().unwrap_or(info.default_branch.clone());
        let branch_path: String = url::form_urlencoded::byte_serialize(branch.as_bytes()).collect();
        let tree: Tree = cx
            .stages
            .time(
                "fetch",
                self.get_json(
                    cx,
                    &format!("{api}/repos/{repo}/git/trees/{branch_path}?recursive=1"),
                    &format!("listing {repo}@{branch}"),
                ),
            )
            .await?;
        let globs = super::globs(&params.paths);
        let mut docs = Vec::new();
        for e in tree.tree {
            if e.kind != "blob"
                || !(e.mode == "100644" || e.mode == "100755")
                || !globs.as_ref().is_none_or(|g| g.is_match(&e.path))
            {
                continue;
            }
            let Some(content_type) = super::file_content_type(&e.path) else {
                continue;
            };
            let listed =
                json!({ "blob": e.sha, "url": format!("{api}/repos/{repo}/git/blobs/{}", e.sha) });
            let body = super::listed_body(
                cx,
                &e.path,
                "blob",
                &e.sha,
                e.size,
                self.config.max_file_bytes,
                listed,
            );
            docs.push(SourceDoc {
                metadata: super::path_metadata(&e.path),
                source_url: Some(format!("{}/blob/{branch}/{}", info.html_url, e.path)),
                file_name: e.path.clone(),
                key: e.path,
                content_type: content_type.to_owned(),
                body,
            });
        }
        Ok(Collected {
            docs,
            complete: !tree.truncated,
            ..Default::default()
        })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, listed: Value) -> Body {
        let read = super::download(
            "GitHub",
            self.request(
                cx,
                listed["url"].as_str().unwrap_or_default(),
                "application/vnd.github.raw+json",
            ),
        );
        match read.await {
            Ok(bytes) => Body::Bytes {
                bytes,
                meta: json!({ "blob": listed["blob"] }),
            },
            Err(e) => Body::Failed(format!("downloading {}: {e}", doc.key)),
        }
    }
}
