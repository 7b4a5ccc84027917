//! `TestApp`: the real application in its own runtime and thread, so that a test can kill it
//! without any cleanup (as a crashed process would be), plus request helpers and the step gate.

use futures::future::BoxFuture;
use ragd::Config;
use ragd_engine::{Step, StepHook};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};

pub const SECRET: &str = "test-secret-0123456789abcdef";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The configuration the app runs on: respawning on it reaches the same database.
    pub config: Config,
    _tmp: Option<Arc<tempfile::TempDir>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Test defaults: fast heartbeats and polls, a short lease so restarts recover quickly.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        workers: 2,
        jwt_secret: Some(SECRET.into()),
        lease_seconds: 2.0,
        heartbeat_ms: 100,
        poll_ms: 50,
        model_dir: Some(model_dir()),
        model_auto_fetch: false,
        // The request rate and the operation cap are off but where a test is about them
        // (system::limits_…): the suite polls and queues far faster than a client should.
        rate_limit_per_second: 0,
        max_active_operations: 0,
        ..Config::default()
    }
}

/// The local model the suite uses: `scripts/test` fetches it into the repository's `.cache`.
pub fn model_dir() -> PathBuf {
    std::env::var_os("RAGD_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2")
        })
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}, None).await
    }

    pub async fn spawn_with_gate(gate: &Gate) -> Self {
        Self::spawn_with(|_| {}, Some(gate.hook())).await
    }

    /// Spawns an app on a fresh data directory, letting the test adjust the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config), hook: Option<StepHook>) -> Self {
        let tmp = Arc::new(tempfile::tempdir().unwrap());
        let mut config = test_config(tmp.path());
        // `RAGD_TEST_BACKEND=postgres` runs the suite on a fresh PostgreSQL database per app.
        if std::env::var("RAGD_TEST_BACKEND").as_deref() == Ok("postgres") {
            config.database_url = Some(
                ragd_store::postgres::throwaway_database()
                    .await
                    .expect("a PostgreSQL database for the test"),
            );
        }
        adjust(&mut config);
        let mut app = Self::spawn_on(config, hook).await;
        app._tmp = Some(tmp);
        app
    }

    /// Spawns an app on an existing configuration (e.g. the data directory of a killed app).
    pub async fn spawn_on(config: Config, hook: Option<StepHook>) -> Self {
        let (addr_tx, addr_rx) = oneshot::channel();
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let cfg = config.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = ragd::Application::build_with_hook(&cfg, hook)
                    .await
                    .expect("app builds");
                addr_tx.send(app.local_addr()).unwrap();
                let server = tokio::spawn(app.run_until(std::future::pending()));
                let _ = kill_rx.await;
                // Returning here drops the runtime with every task in it: no graceful shutdown,
                // no lease released, exactly like a killed process.
                drop(server);
            });
            // Blocking work still running (a model load, an embedding batch) is let finish before
            // the thread ends: a test process exiting while a native inference runtime runs on
            // another thread can crash in its teardown (seen as SIGSEGV with ONNX Runtime after a
            // passing test). It writes nothing.
            rt.shutdown_timeout(Duration::from_secs(30));
        });
        let addr = addr_rx.await.expect("app started");
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            config,
            _tmp: None,
            kill: Some(kill_tx),
            thread: Some(thread),
        }
    }

    /// Kills the app abruptly and returns its data directory's owner so a new app can reuse it.
    pub fn kill(mut self) -> Option<Arc<tempfile::TempDir>> {
        self.stop();
        self._tmp.take()
    }

    fn stop(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// The app's own store (SQLite file or PostgreSQL database), for what the API does not show.
    pub async fn store(&self) -> Arc<dyn ragd_core::ports::store::Store> {
        ragd::app::open_store(&self.config)
            .await
            .expect("the app's store opens")
    }

    /// One text column of a query on the app's database, `$1` bound to `arg` (both backends
    /// bind `$N` by number; cast non-text columns with `CAST(… AS TEXT)`).
    pub async fn db_column(&self, sql: &str, arg: &str) -> Vec<Option<String>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.config.database().unwrap() {
            ragd::config::Database::Postgres(url) => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(arg)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
            }
            ragd::config::Database::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new().filename(path),
                )
                .await
                .unwrap();
                sqlx::query_scalar(sql)
                    .bind(arg)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
            }
        }
    }

    pub fn token(&self, tenant: &str) -> String {
        token_for(tenant, "assets:read assets:write")
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Resp::from(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Creates a TEXT asset with the given `(name, text)` documents; returns (asset id, operation id).
    pub async fn create_text_asset(&self, tenant: &str, docs: &[(&str, &str)]) -> (String, String) {
        let r = self
            .post(
                &format!("/v1/tenants/{tenant}/assets"),
                &self.token(tenant),
                text_asset(docs),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            r.body["asset"]["id"].as_str().unwrap().to_owned(),
            r.body["operation"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Waits for an operation to be done, through the API's long-poll.
    pub async fn wait_done(&self, tenant: &str, asset: &str, op: &str) -> Value {
        for _ in 0..10 {
            let r = self
                .get(
                    &format!("/v1/tenants/{tenant}/assets/{asset}/operations/{op}:wait?timeout=30"),
                    &self.token(tenant),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            if r.body["done"] == json!(true) {
                return r.body;
            }
        }
        panic!("operation {op} did not finish");
    }

    /// With the operation held at a checkpoint by `gate`, lets it run until `processed` documents
    /// are done and holds it there (documents may have several checkpoints, one per batch).
    /// The asset of a create answer (`{asset, operation}`, 201), once its operation completed.
    pub async fn ingested(&self, tenant: &str, created: &Resp) -> String {
        assert_eq!(created.status, 201, "{}", created.body);
        let asset = created.body["asset"]["id"].as_str().unwrap().to_owned();
        let op = created.body["operation"]["id"].as_str().unwrap();
        let done = self.wait_done(tenant, &asset, op).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        asset
    }

    pub async fn run_until_processed(&self, gate: &Gate, asset: &str, op: &str, processed: i64) {
        loop {
            let now = self.operation("acme", asset, op).await;
            if now["itemsProcessed"] == processed {
                return;
            }
            gate.release(1);
            gate.reached().await;
        }
    }

    pub async fn operation(&self, tenant: &str, asset: &str, op: &str) -> Value {
        let r = self
            .get(
                &format!("/v1/tenants/{tenant}/assets/{asset}/operations/{op}"),
                &self.token(tenant),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn text_asset(docs: &[(&str, &str)]) -> Value {
    let documents: Vec<Value> = docs
        .iter()
        .map(|(n, t)| json!({"name": n, "text": t}))
        .collect();
    json!({"name": "Test asset", "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}})
}

/// `n` small documents named doc-0 … doc-(n-1).
pub fn docs(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("doc-{i}"),
                format!("Document number {i}. It has some text."),
            )
        })
        .collect()
}

pub fn as_refs(d: &[(String, String)]) -> Vec<(&str, &str)> {
    d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

pub fn token_for(tenant: &str, scope: &str) -> String {
    ragd::token::mint(
        SECRET.as_bytes(),
        tenant,
        scope,
        Duration::from_secs(3600),
        "tester",
    )
    .unwrap()
}

/// Signs arbitrary claims with the test secret (for expired, scope-less and other odd tokens).
pub fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub async fn from_response(r: reqwest::Response) -> Self {
        Self::from(r).await
    }

    async fn from(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer with this status and type; returns the body.
    pub fn problem(&self, status: u16, kind: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["type"], kind, "{}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["instance"]
                .as_str()
                .is_some_and(|i| i.starts_with('/')),
            "{}",
            self.body
        );
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        &self.body
    }

    /// Asserts a validation problem (400); returns the fields it names, in order.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.problem(400, "/problems/validation")["errors"]
            .as_array()
            .expect("field errors")
            .iter()
            .map(|e| e["field"].as_str().expect("a field").to_owned())
            .collect()
    }
}

/// A breakpoint at every checkpoint of every operation of an app: a worker reaching one reports
/// it and waits for the test to release it.
pub struct Gate {
    reached_tx: mpsc::UnboundedSender<Step>,
    reached: Mutex<mpsc::UnboundedReceiver<Step>>,
    permits: Arc<Semaphore>,
}

impl Gate {
    pub fn new() -> Self {
        let (reached_tx, reached) = mpsc::unbounded_channel();
        Gate {
            reached_tx,
            reached: Mutex::new(reached),
            permits: Arc::new(Semaphore::new(0)),
        }
    }

    pub fn hook(&self) -> StepHook {
        let (tx, permits) = (self.reached_tx.clone(), self.permits.clone());
        Arc::new(move |step: Step| -> BoxFuture<'static, ()> {
            let _ = tx.send(step);
            let permits = permits.clone();
            Box::pin(async move {
                if let Ok(p) = permits.acquire().await {
                    p.forget();
                }
            })
        })
    }

    /// Waits until some operation reaches a checkpoint, and says which one.
    pub async fn reached(&self) -> Step {
        tokio::time::timeout(Duration::from_secs(30), self.reached.lock().await.recv())
            .await
            .expect("a checkpoint was reached in time")
            .expect("gate open")
    }

    /// Lets `n` checkpoints pass.
    pub fn release(&self, n: usize) {
        self.permits.add_permits(n);
    }

    /// Lets everything through from now on.
    pub fn open(&self) {
        self.permits.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}
