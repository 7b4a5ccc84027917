//! `GIT`: the text files of one branch of a git repository, through the `git` command line.
//!
//! Each asset keeps a bare mirror of its branch (depth 1) under the engine's git directory. A run
//! fetches the branch, lists its tree with blob ids (`git ls-tree -r -l`), and lists a file whose
//! blob id equals the one stored for its document as unchanged without reading it: only added and
//! changed files are read (`git cat-file blob`). Credentials reach git through `GIT_CONFIG_*`
//! environment variables (an `Authorization` header), never on its command line, and git may use
//! only the https and http transports (and file URLs where the server allows them). An http(s)
//! remote must pass the crawler's address guard, and git follows no redirects.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use ragd_core::domain::{AuthMethod, Credentials};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct GitConfig {
    /// Where the per-asset mirrors live.
    pub dir: PathBuf,
    /// Whether `file://` URLs may be indexed (they read the server's own disk: off by default).
    pub allow_file_urls: bool,
    /// Largest file indexed, in bytes; larger ones fail alone.
    pub max_file_bytes: u64,
    /// Longest a fetch may take.
    pub fetch_timeout: Duration,
    /// Hosts an http(s) remote may point at although they are private (the crawler's
    /// `web_allow_hosts`).
    pub allow_hosts: Vec<String>,
}

pub struct GitSource {
    pub config: GitConfig,
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(GitSource {
        config: s.git.clone(),
    })
}

/// A failed git command: what to tell the user (git's own message, which names no credential,
/// since credentials are never in the URL or the command line).
fn failure(what: &str, stderr: &[u8]) -> JobError {
    let detail = String::from_utf8_lossy(stderr);
    let detail = detail
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    JobError::Source(format!(
        "{what}: {}",
        if detail.is_empty() {
            "git failed"
        } else {
            &detail
        }
    ))
}

/// Removes the mirrors of assets that no longer exist (each process keeps its own mirrors, so
/// each sweeps its own); returns how many went. A mirror whose name is not `<asset id>.git` or
/// whose tenant directory is not a tenant id is left alone.
pub async fn sweep_mirrors(
    dir: &std::path::Path,
    store: &dyn ragd_core::ports::store::Store,
) -> ragd_core::Result<usize> {
    let mut removed = 0;
    let Ok(tenants) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for tenant_dir in tenants.flatten() {
        let Some(tenant) = tenant_dir
            .file_name()
            .to_str()
            .and_then(|t| ragd_core::domain::TenantId::parse(t).ok())
        else {
            continue;
        };
        let Ok(mirrors) = std::fs::read_dir(tenant_dir.path()) else {
            continue;
        };
        for mirror in mirrors.flatten() {
            let name = mirror.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".git"))
                .and_then(|n| uuid::Uuid::parse_str(n).ok())
            else {
                continue;
            };
            if !store.asset_exists(&tenant, id).await?
                && std::fs::remove_dir_all(mirror.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

impl GitSource {
    fn mirror(&self, cx: &Context<'_>) -> PathBuf {
        let lease = &cx.job.claim.lease;
        self.config
            .dir
            .join(lease.tenant.as_str())
            .join(format!("{}.git", lease.asset_id))
    }

    /// A git command with a clean environment: no prompts, no user or system configuration, only
    /// the allowed transports, and the credentials as an extra HTTP header.
    fn git(
        &self,
        repo: &std::path::Path,
        credentials: Option<&Credentials>,
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("git");
        cmd.arg("-C")
            .arg(repo)
            .env_clear()
            .kill_on_drop(true)
            .stdin(Stdio::null());
        for var in [
            "PATH",
            "LANG",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "HTTPS_PROXY",
            "https_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", repo);
        let mut config = vec![
            ("protocol.allow".to_owned(), "never".to_owned()),
            ("protocol.https.allow".to_owned(), "always".to_owned()),
            ("protocol.http.allow".to_owned(), "always".to_owned()),
            (
                "protocol.file.allow".to_owned(),
                if self.config.allow_file_urls {
                    "always"
                } else {
                    "never"
                }
                .to_owned(),
            ),
            ("credential.helper".to_owned(), String::new()),
            // A redirect could lead past the address check of the remote.
            ("http.followRedirects".to_owned(), "false".to_owned()),
        ];
        if let Some(header) = credentials.and_then(authorization) {
            config.push(("http.extraHeader".to_owned(), header));
        }
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (k, v)) in config.into_iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), k)
                .env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        cmd
    }

    async fn run(
        &self,
        mut cmd: tokio::process::Command,
        what: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, JobError> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = tokio::time::timeout(timeout, cmd.output())
            .await
            .map_err(|_| {
                JobError::Source(format!("{what}: no answer within {} s", timeout.as_secs()))
            })?
            .map_err(|e| {
                JobError::Source(format!(
                    "{what}: git could not be started ({e}); is git installed?"
                ))
            })?;
        if !out.status.success() {
            return Err(failure(what, &out.stderr));
        }
        Ok(out.stdout)
    }
}

/// The `Authorization` header for the asset's credentials: BASIC as given; API_KEY and OAUTH2
/// as a token in Basic form (`x-access-token:<token>`, as GitHub takes it; set `username` for
/// hosts that want another, e.g. `oauth2` on GitLab).
fn authorization(c: &Credentials) -> Option<String> {
    use base64::Engine;
    let (user, password) = match c.method {
        AuthMethod::Basic => (c.get("username")?, c.get("password")?),
        AuthMethod::ApiKey => (
            c.get("username").unwrap_or("x-access-token"),
            c.get("apiKey")?,
        ),
        AuthMethod::OAuth2 => (
            c.get("username").unwrap_or("x-access-token"),
            c.get("accessToken")?,
        ),
        _ => return None,
    };
    Some(format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    ))
}

impl GitSource {
    /// The repository URL, refused when it carries credentials, points at a private address, or
    /// is a file URL this server does not allow.
    async fn checked_url(&self, url: &str) -> Result<url::Url, JobError> {
        let parsed =
            url::Url::parse(url).map_err(|_| JobError::Source(format!("{url:?} is not a URL")))?;
        if parsed.scheme() == "file" && !self.config.allow_file_urls {
            return Err(JobError::Source(
                "file URLs are not allowed on this server (git_allow_file_urls)".into(),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(JobError::Source(
                "put credentials in `auth`, not in the URL".into(),
            ));
        }
        if parsed.scheme() != "file" {
            crate::net::check_endpoint(&self.config.allow_hosts, &parsed)
                .await
                .map_err(|e| JobError::Source(format!("{url}: {e}")))?;
        }
        Ok(parsed)
    }

    /// The documents of a `git ls-tree -r -z -l` listing: regular files the asset's `paths`
    /// globs keep and ragd can parse, each read from its blob when the index needs it.
    fn docs_of(
        &self,
        cx: &Context<'_>,
        listing: &[u8],
        globs: Option<&globset::GlobSet>,
        link: Option<&str>,
    ) -> Vec<SourceDoc> {
        let mut docs = Vec::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let fields: Vec<&str> = meta.split_whitespace().collect();
            // <mode> <type> <object> <size>; symlinks (120000) and submodules (commit) are skipped.
            let [mode, "blob", blob, size] = fields[..] else {
                continue;
            };
            if !(mode == "100644" || mode == "100755") || !globs.is_none_or(|g| g.is_match(path)) {
                continue;
            }
            let Some(content_type) = super::file_content_type(path) else {
                continue;
            };
            let size = size.parse::<u64>().unwrap_or(u64::MAX);
            let body = super::listed_body(
                cx,
                path,
                "blob",
                blob,
                size,
                self.config.max_file_bytes,
                json!({ "blob": blob }),
            );
            docs.push(SourceDoc {
                key: path.to_owned(),
                file_name: path.to_owned(),
                source_url: link.map(|l| format!("{l}/{path}")),
                content_type: content_type.to_owned(),
                body,
                metadata: super::path_metadata(path),
            });
        }
        docs
    }
}

#[async_trait::async_trait]
impl Source for GitSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params: ragd_core::sources::GitParams = cx.params()?;
        let url = params.url.as_str();
        let parsed = self.checked_url(url).await?;
        let branch = params.branch.as_deref();
        let globs = super::globs(&params.paths);
        let repo = self.mirror(cx);
        if !repo.join("HEAD").exists() {
            std::fs::create_dir_all(&repo)
                .map_err(|e| JobError::Source(format!("creating the mirror: {e}")))?;
            let mut init = self.git(&repo, None);
            init.args(["init", "--bare", "--quiet"]);
            self.run(init, "git init", Duration::from_secs(30)).await?;
        }
        let refspec = match branch {
            Some(b) => format!("+refs/heads/{b}:refs/ragd/head"),
            None => "+HEAD:refs/ragd/head".to_owned(),
        };
        let mut fetch = self.git(&repo, cx.credentials);
        fetch.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--depth=1",
            "--",
            url,
            &refspec,
        ]);
        cx.stages
            .time(
                "fetch",
                self.run(fetch, &format!("fetching {url}"), self.config.fetch_timeout),
            )
            .await?;
        let mut rev = self.git(&repo, None);
        rev.args(["rev-parse", "refs/ragd/head^{commit}"]);
        let commit = String::from_utf8_lossy(
            &self
                .run(rev, "reading the fetched commit", Duration::from_secs(30))
                .await?,
        )
        .trim()
        .to_owned();
        let mut ls = self.git(&repo, None);
        ls.args(["ls-tree", "-r", "-z", "-l", "--full-tree", &commit]);
        let listing = self
            .run(ls, "listing the tree", Duration::from_secs(120))
            .await?;

        let link = web_link(&parsed, branch.unwrap_or(&commit));
        let docs = self.docs_of(cx, &listing, globs.as_ref(), link.as_deref());
        tracing::info!(commit = %commit, files = docs.len(), "git tree listed");
        Ok(Collected {
            docs,
            complete: true,
            ..Default::default()
        })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, listed: Value) -> Body {
        let blob = listed["blob"].as_str().unwrap_or_default().to_owned();
        let mut cat = self.git(&self.mirror(cx), None);
        cat.args(["cat-file", "blob", &blob]);
        match self
            .run(
                cat,
                &format!("reading {} from the repository", doc.key),
                Duration::from_secs(120),
            )
            .await
        {
            Ok(bytes) => Body::Bytes {
                bytes: bytes.into(),
                meta: listed,
            },
            Err(e) => Body::Failed(e.to_string()),
        }
    }
}

/// The web page of a file's directory on GitHub or GitLab, for `sourceUrl`.
fn web_link(url: &url::Url, rev: &str) -> Option<String> {
    let host = url.host_str()?;
    if !matches!(host, "github.com" | "gitlab.com") {
        return None;
    }
    let path = url.path().trim_end_matches('/').trim_end_matches(".git");
    let sep = if host == "gitlab.com" {
        "/-/blob/"
    } else {
        "/blob/"
    };
    Some(format!("https://{host}{path}{sep}{rev}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_become_a_basic_header() {
        let c = Credentials {
            method: AuthMethod::ApiKey,
            parameters: json!({"apiKey": "t0k"}).as_object().unwrap().clone(),
        };
        assert_eq!(
            authorization(&c).unwrap(),
            "Authorization: Basic eC1hY2Nlc3MtdG9rZW46dDBr"
        );
        let u = url::Url::parse("https://github.com/o/r.git").unwrap();
        assert_eq!(
            web_link(&u, "main").unwrap(),
            "https://github.com/o/r/blob/main"
        );
    }
}
