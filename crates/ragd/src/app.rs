//! `Application`: builds every layer from a `Config` and runs them. Shared by `main` and the tests,
//! so tests exercise exactly what `ragd serve` runs.

use crate::config::{Config, Database, Role};
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use ragd_api::auth::{AuthConfig, Authenticator, KeyConfig};
use ragd_api::pagination::CursorCodec;
use ragd_api::{AppState, router};
use ragd_core::embedding::ModelCatalog;
use ragd_core::events::Events;
use ragd_core::ports::store::Store;
use ragd_core::services::Services;
use ragd_embed::{LocalEmbedder, ModelFiles};
use ragd_engine::ingest::IngestExecutor;
use ragd_engine::{Engine, EngineConfig, StepHook};
use ragd_store::PgStore;
use ragd_store::{ObjectBlobs, SqliteStore};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The process-wide metrics recorder (there can be only one; test apps share it).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Opens the store of a configuration (creating and migrating the database).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_backend(config).await?.0)
}

/// The store, and on PostgreSQL the same store as itself, whose notifications wake this process.
async fn open_backend(config: &Config) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<PgStore>>)> {
    match config.database()? {
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = SqliteStore::open(&path)
                .await
                .map_err(|e| anyhow::anyhow!("opening the database {}: {e:?}", path.display()))?;
            Ok((Arc::new(store), None))
        }
        Database::Postgres(url) => {
            let store = PgStore::open(&url, 16)
                .await
                .map_err(|e| anyhow::anyhow!("opening the PostgreSQL database: {e:?}"))?;
            let store = Arc::new(store);
            Ok((store.clone(), Some(store)))
        }
    }
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    engine: Option<Engine>,
    serve_api: bool,
    /// On PostgreSQL: the store whose LISTEN connection wakes this process for other processes' work.
    notifications: Option<(Arc<PgStore>, Arc<Events>)>,
    /// How often the scheduler (run by processes with workers) looks for due work.
    schedule_tick: Duration,
    /// Where the workers keep git mirrors (swept of deleted assets' ones).
    git_dir: std::path::PathBuf,
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_hook(config, None).await
    }

    /// As `build`, with a hook every running operation calls at each checkpoint (tests use it as
    /// a breakpoint to hold an operation at a known step).
    pub async fn build_with_hook(config: &Config, hook: Option<StepHook>) -> anyhow::Result<Self> {
        config.validate()?;
        let (store, pg) = open_backend(config).await?;
        let events = Arc::new(Events::default());
        let models = Arc::new(ModelCatalog::default().with_prices(&config.prices));
        let blobs = Arc::new(ObjectBlobs::local(&config.files_dir())?);
        let secrets = Arc::new(config.secret_box()?);
        let mut services = services(
            config,
            store.clone(),
            models.clone(),
            events.clone(),
            blobs.clone(),
            secrets.clone(),
        );
        // The Chromium is looked up once: the API refuses `render: true` without it, the worker uses it.
        let web = config.web();
        services.can_render = web.chromium.is_some();
        let (local, registry) = embedders(config, models);
        serve_models(&mut services, &registry);

        let secret = config.hs256_secret()?;
        let auth = authenticator(config, &secret);
        // Cursors are signed with a key derived from the server secret, so every process of a
        // deployment accepts the others' cursors.
        let cursor_key = [secret.as_slice(), b"|ragd-cursor"].concat();
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let public_url = match &config.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let oauth = oauth_clients(config, &public_url)?;
        services.oauth = oauth.clone();
        let oauth_success_url = config
            .oauth_success_url
            .clone()
            .unwrap_or_else(|| format!("{public_url}/v1/oauth/done"));
        let state = AppState {
            services,
            auth: Arc::new(auth),
            limits: Arc::new(limits(config)),
            cursors: Arc::new(CursorCodec::new(&cursor_key)),
            metrics: Some(metrics_handle()),
            // Loaded on first use, so that processes and tests that never embed never pay for it.
            embedder: Some(Arc::new(local)),
            local_token_secret: (config.console_local_token
                && config.jwks_url.is_none()
                && listener.local_addr()?.ip().is_loopback())
            .then(|| Arc::from(secret.as_slice())),
            public_url,
            oauth_success_url,
        };

        if config.role != Role::Api {
            // Before serving, so that a restart leaves no mirror of a deleted asset behind.
            sweep_mirrors(&config.git().dir, store.as_ref()).await;
        }
        let engine = (config.role != Role::Api).then(|| {
            let executor = IngestExecutor {
                models: registry,
                sources: ragd_engine::sources::collectors(config.sources(blobs.clone(), web)),
                secrets,
                oauth,
                fetch_ahead: config.ingest_fetch_ahead,
            };
            engine(config, store.clone(), events.clone(), executor, hook)
        });
        Ok(Self {
            listener,
            state,
            engine,
            serve_api: config.role != Role::Worker,
            notifications: pg.map(|pg| (pg, events)),
            schedule_tick: Duration::from_millis(config.schedule_tick_ms),
            git_dir: config.git().dir,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Serves until `shutdown` resolves, then stops the workers, giving back their leases.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = self
            .engine
            .map(|e| e.spawn(stop_rx.clone()))
            .unwrap_or_default();
        if !workers.is_empty() {
            workers.push(tokio::spawn(sweep(
                self.state.services.clone(),
                self.git_dir.clone(),
                stop_rx.clone(),
            )));
            workers.push(tokio::spawn(schedule(
                self.state.services.clone(),
                self.schedule_tick,
                stop_rx,
            )));
        }
        let listen = self.notifications.map(|(pg, events)| {
            tokio::spawn(async move { pg.forward_notifications(events).await })
        });
        let app = router(self.state, self.serve_api);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        let _ = stop_tx.send(true);
        if let Some(l) = listen {
            l.abort();
        }
        for w in workers {
            let _ = w.await;
        }
        Ok(())
    }
}

/// The scheduler: fires due poll schedules (a run missed while no process was up fires once, at
/// the first tick) and starts webhook updates that waited for an operation to end. Every process
/// with workers runs it; the store makes each firing happen once.
async fn schedule(
    services: ragd_core::services::Services,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match services.schedule_tick(ragd_core::time::now_ms()).await {
            Ok(started) if !started.is_empty() => {
                tracing::info!(operations = started.len(), "scheduler queued operations")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the scheduler's tick failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Removes the git mirrors of deleted assets, saying what it did.
async fn sweep_mirrors(git_dir: &std::path::Path, store: &dyn Store) {
    match ragd_engine::sources::git::sweep_mirrors(git_dir, store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(mirrors = n, "removed the git mirrors of deleted assets"),
        Err(e) => tracing::warn!(error = %e, "sweeping git mirrors failed"),
    }
}

/// Deletes temporary uploads nobody imported within a day (at start-up, then hourly), and the
/// git mirrors of deleted assets hourly (`build` swept them before serving).
async fn sweep(
    services: ragd_core::services::Services,
    git_dir: std::path::PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match services.files_sweep(ragd_core::time::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "swept temporary uploads"),
            Err(e) => tracing::warn!(error = %e, "sweeping temporary uploads failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
        sweep_mirrors(&git_dir, services.store.as_ref()).await;
    }
}

/// The use cases, with the configured upload limit and cap on active operations.
fn services(
    config: &Config,
    store: Arc<dyn Store>,
    models: Arc<ModelCatalog>,
    events: Arc<Events>,
    blobs: Arc<ObjectBlobs>,
    secrets: Arc<ragd_core::secrets::SecretBox>,
) -> Services {
    let mut services = Services::new(store, models, events, blobs, secrets);
    services.upload_limit = config.upload_max_bytes;
    services.max_active_operations = Some(config.max_active_operations).filter(|n| *n > 0);
    services.rerank_timeout = Duration::from_millis(config.rerank_timeout_ms.max(1));
    services.generation_retention = Duration::from_secs(config.generation_retention_secs);
    services
}

/// The model registry serves the API's query embeddings, re-rankings and estimates.
fn serve_models(services: &mut Services, registry: &Arc<crate::embedders::Models>) {
    services.embedders = Some(registry.clone());
    services.rerankers = Some(registry.clone());
    services.chunker = Some(Arc::new(ragd_engine::models::TextChunker(registry.clone())));
}

/// One local model per process, loaded on first use, shared by the API and the workers; and the
/// registry of every model this process embeds with.
fn embedders(
    config: &Config,
    models: Arc<ModelCatalog>,
) -> (LocalEmbedder, Arc<crate::embedders::Models>) {
    let files = ModelFiles::new(config.model_dir());
    let local = LocalEmbedder::new(files.clone(), config.model_threads, config.model_precision);
    let registry = Arc::new(crate::embedders::Models::new(
        local.clone(),
        files,
        models,
        config.openai(),
        config.rerank(),
        config.allow_hosts(),
    ));
    (local, registry)
}

/// The request limits: per-tenant rate, concurrent uploads, the request timeout.
fn limits(config: &Config) -> ragd_api::limits::Limits {
    ragd_api::limits::Limits::new(ragd_api::limits::LimitsConfig {
        requests_per_second: config.rate_limit_per_second,
        burst: config.rate_limit_burst,
        concurrent_uploads: config.max_concurrent_uploads,
        request_timeout: Duration::from_secs_f64(config.request_timeout_seconds.max(1.0)),
    })
}

/// The configured OAuth providers, if any, with their callback under `public_url`.
fn oauth_clients(
    config: &Config,
    public_url: &str,
) -> anyhow::Result<Option<Arc<dyn ragd_core::ports::oauth::OAuthClients>>> {
    let oauth = crate::oauth::OAuthProviders::new(
        &config.oauth,
        format!("{public_url}/v1/oauth/callback"),
    )?;
    Ok((!oauth.is_empty()).then(|| Arc::new(oauth) as _))
}

/// The workers' engine, running the ingestion executor.
fn engine(
    config: &Config,
    store: Arc<dyn Store>,
    events: Arc<Events>,
    executor: IngestExecutor,
    hook: Option<StepHook>,
) -> Engine {
    let engine_config = EngineConfig {
        workers: config.workers,
        lease: Duration::from_secs_f64(config.lease_seconds),
        heartbeat: Duration::from_millis(config.heartbeat_ms),
        poll: Duration::from_millis(config.poll_ms),
        max_attempts: config.max_attempts,
    };
    let engine = Engine::new(store, Arc::new(executor), events, engine_config);
    match hook {
        Some(h) => engine.with_step_hook(h),
        None => engine,
    }
}

/// Verifies bearer JWTs with the configured JWKS, or else the HS256 secret.
fn authenticator(config: &Config, secret: &[u8]) -> Authenticator {
    let keys = match &config.jwks_url {
        Some(url) => KeyConfig::Jwks { url: url.clone() },
        None => KeyConfig::Hs256 {
            secret: secret.to_vec(),
        },
    };
    Authenticator::new(AuthConfig {
        keys,
        issuer: config.jwt_issuer.clone(),
        audience: config.jwt_audience.clone(),
    })
}
