//! The configuration the in-process benchmarks start ragd with: a fresh data directory, port 0,
//! the bench's JWT secret, the suite's local model (`RAGD_MODEL_DIR` or `.cache/`), one worker,
//! loopback allowed for the local stand-ins.

#![allow(dead_code)] // each benchmark uses part of it

use ragd::config::Config;

pub const SECRET: &str = "bench-secret-0123456789";

pub fn config(data_dir: &std::path::Path) -> Config {
    let model_dir = std::env::var_os("RAGD_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../.cache/models/all-MiniLM-L6-v2")
        });
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        jwt_secret: Some(SECRET.into()),
        model_dir: Some(model_dir),
        model_auto_fetch: false,
        web_allow_hosts: "127.0.0.1".into(),
        workers: 1,
        ..Config::default()
    }
}

/// The bench tenant's side of a ragd started in this runtime: JSON calls through its public API.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    token: String,
}

impl Api {
    /// Starts ragd with `config` and a token of the `bench` tenant that may read and write.
    pub async fn start(config: &Config) -> Api {
        let app = ragd::Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until(std::future::pending()));
        let scopes = "assets:read assets:write";
        let token = ragd::token::mint(
            SECRET.as_bytes(),
            "bench",
            scopes,
            std::time::Duration::from_secs(3600),
            "b",
        )
        .unwrap();
        Api {
            base,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            token,
        }
    }

    /// One JSON request to `/v1/tenants/bench/{path}`: GET without a body, POST with one.
    pub async fn call(&self, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let url = format!("{}/v1/tenants/bench/{path}", self.base);
        self.send(match body {
            Some(b) => self.client.post(url).json(&b),
            None => self.client.get(url),
        })
        .await
    }

    /// `PATCH /v1/tenants/bench/{path}` with `body`.
    pub async fn patch(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}/v1/tenants/bench/{path}", self.base);
        self.send(self.client.patch(url).json(&body)).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> serde_json::Value {
        req.bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The operation once it is done, long-polled through `:wait`.
    pub async fn wait(&self, asset: &str, op: &str) -> serde_json::Value {
        loop {
            let body = self
                .call(
                    &format!("assets/{asset}/operations/{op}:wait?timeout=60"),
                    None,
                )
                .await;
            if body["done"] == serde_json::json!(true) {
                return body;
            }
        }
    }
}
