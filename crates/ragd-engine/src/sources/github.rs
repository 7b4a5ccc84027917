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
use ragd_core::model::DocumentStatus;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

pub const API_VERSION: &str = "2022-11-28";

#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// Hosts an `apiUrl` may point at although they are private (the crawler's `web_allow_hosts`).
    pub allow_hosts: Vec<String>,
    pub max_file_bytes: u64,
}

pub struct GitHubSource {
    config: GitHubConfig,
    http: reqwest::Client,
    /// The blob SHA of each listed path, per asset, from the run's tree: what `fetch` downloads.
    blobs: Mutex<HashMap<uuid::Uuid, HashMap<String, String>>>,
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

impl GitHubSource {
    pub fn new(config: GitHubConfig) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("ragd/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("a TLS-capable HTTP client");
        Self { config, http, blobs: Mutex::new(HashMap::new()) }
    }

    fn request(&self, cx: &Context<'_>, url: &str, accept: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.get(url).header("accept", accept).header("x-github-api-version", API_VERSION);
        if let Some(t) = super::bearer_token(cx.credentials) {
            req = req.bearer_auth(t);
        }
        req
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, cx: &Context<'_>, url: &str, what: &str) -> Result<T, JobError> {
        let r = self.request(cx, url, "application/vnd.github+json").send().await.map_err(|e| {
            JobError::Source(format!(
                "{what}: GitHub could not be reached ({})",
                if e.is_timeout() { "timed out" } else { "connection failed" }
            ))
        })?;
        if !r.status().is_success() {
            return Err(JobError::Source(format!("{what}: {}", super::api_refusal("GitHub", r).await)));
        }
        r.json().await.map_err(|e| JobError::Source(format!("{what}: unexpected answer from GitHub ({e})")))
    }
}

/// The API base and the repository's `owner/name` (validated when the asset was saved).
fn repository(params: &serde_json::Map<String, Value>) -> (String, String) {
    let repo = params.get("repository").and_then(Value::as_str).unwrap_or_default();
    let api = params.get("apiUrl").and_then(Value::as_str).unwrap_or("https://api.github.com").trim_end_matches('/');
    (api.to_owned(), repo.to_owned())
}

#[async_trait::async_trait]
impl Source for GitHubSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params = &cx.job.claim.asset.parameters;
        let (api, repo) = repository(params);
        let api_url = url::Url::parse(&api).map_err(|_| JobError::Source(format!("{api:?} is not a URL")))?;
        super::web::check_endpoint(&self.config.allow_hosts, &api_url).await.map_err(JobError::Source)?;
        let info: Repository = self.get_json(cx, &format!("{api}/repos/{repo}"), &format!("reading {repo}")).await?;
        let branch = params.get("branch").and_then(Value::as_str).map_or(info.default_branch.clone(), str::to_owned);
        let branch_path: String = url::form_urlencoded::byte_serialize(branch.as_bytes()).collect();
        let tree: Tree = cx
            .stages
            .time(
                "fetch",
                self.get_json(cx, &format!("{api}/repos/{repo}/git/trees/{branch_path}?recursive=1"), &format!("listing {repo}@{branch}")),
            )
            .await?;
        let globs = super::globs(params, "paths");
        let mut shas = HashMap::new();
        let mut docs = Vec::new();
        for e in tree.tree {
            if e.kind != "blob" || !(e.mode == "100644" || e.mode == "100755") || !globs.as_ref().is_none_or(|g| g.is_match(&e.path)) {
                continue;
            }
            let Some(content_type) = super::file_content_type(&e.path) else { continue };
            let unchanged = !cx.force
                && cx.stored.get(&e.path).is_some_and(|d| {
                    d.status == DocumentStatus::Indexed && d.source_meta.get("blob").and_then(Value::as_str) == Some(e.sha.as_str())
                });
            let body = if unchanged {
                Body::Unchanged
            } else if e.size > self.config.max_file_bytes {
                Body::Failed(format!("the file is larger than {} bytes", self.config.max_file_bytes))
            } else {
                Body::Pending
            };
            shas.insert(e.path.clone(), e.sha);
            docs.push(SourceDoc {
                source_url: Some(format!("{}/blob/{branch}/{}", info.html_url, e.path)),
                file_name: e.path.clone(),
                key: e.path,
                content_type: content_type.to_owned(),
                body,
            });
        }
        self.blobs.lock().expect("blobs lock").insert(cx.job.claim.asset.id, shas);
        Ok(Collected { docs, complete: !tree.truncated })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc) -> Body {
        let params = &cx.job.claim.asset.parameters;
        let (api, repo) = repository(params);
        let sha = self.blobs.lock().expect("blobs lock").get(&cx.job.claim.asset.id).and_then(|m| m.get(&doc.key).cloned());
        let Some(sha) = sha else { return Body::Failed("the file was not in the listed tree".into()) };
        let read = async {
            let r = self
                .request(cx, &format!("{api}/repos/{repo}/git/blobs/{sha}"), "application/vnd.github.raw+json")
                .send()
                .await
                .map_err(|_| "GitHub could not be reached".to_owned())?;
            if !r.status().is_success() {
                return Err(super::api_refusal("GitHub", r).await);
            }
            r.bytes().await.map_err(|_| "the download broke off".to_owned())
        };
        match read.await {
            Ok(bytes) => Body::Bytes { bytes, meta: json!({ "blob": sha }) },
            Err(e) => Body::Failed(format!("downloading {}: {e}", doc.key)),
        }
    }
}
