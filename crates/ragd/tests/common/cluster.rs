//! Real `ragd serve` processes for multi-process tests and benchmarks: start one on a database
//! URL with a role, find its address in its JSON log, `kill -9` it; and a minimal API client.

#![allow(dead_code)] // each of the test and the benchmark uses a part

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

pub const SECRET: &str = "scale-out-secret-0123456789abcdef";

pub fn model_dir() -> PathBuf {
    std::env::var_os("RAGD_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2")
        })
}

/// One `ragd serve` process; its log (JSON lines) goes to a file of its own.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `ragd serve --role <role> --workers 1` with `env` on top of the defaults.
    pub fn start(url: &str, role: &str, dir: &Path, name: &str, env: &[(&str, &str)]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let data = dir.join(format!("{name}-data"));
        let child = Command::new(env!("CARGO_BIN_EXE_ragd"))
            .args([
                "serve",
                "--role",
                role,
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "1",
            ])
            .env("RAGD_DATABASE_URL", url)
            .env("RAGD_DATA_DIR", &data)
            .env("RAGD_JWT_SECRET", SECRET)
            .env("RAGD_MODEL_DIR", model_dir())
            .env("RAGD_MODEL_AUTO_FETCH", "false")
            .env("RAGD_MODEL_THREADS", "1")
            .env("RAGD_LOG_FORMAT", "json")
            .env("RAGD_LOG", "info,sqlx=warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the ragd binary starts");
        Proc { child, log }
    }

    /// The address it listens on, from its "ragd is listening" log line.
    pub async fn address(&self) -> String {
        for _ in 0..600 {
            for line in std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .lines()
            {
                if let Ok(v) = serde_json::from_str::<Value>(line)
                    && v["fields"]["message"] == "ragd is listening"
                {
                    return format!("http://{}", v["fields"]["address"].as_str().unwrap());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} did not start: {}",
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// `kill -9`: no shutdown, leases left to expire.
    pub fn kill(&mut self) -> SystemTime {
        self.child.kill().unwrap();
        let at = SystemTime::now();
        self.child.wait().unwrap();
        at
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Api {
    pub base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    pub fn new(base: String) -> Api {
        let token = ragd::token::mint(
            SECRET.as_bytes(),
            "acme",
            "assets:read assets:write",
            Duration::from_secs(3600),
            "t",
        )
        .unwrap();
        Api {
            base,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            token,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/v1/tenants/acme{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Creates a TEXT asset of `(name, text)` documents; `embedding` as the API takes it, or
    /// null for the default (local) model. Returns (asset id, operation id).
    pub async fn create(
        &self,
        name: &str,
        docs: &[(String, String)],
        embedding: Value,
    ) -> (String, String) {
        let documents: Vec<Value> = docs
            .iter()
            .map(|(n, t)| json!({"name": n, "text": t}))
            .collect();
        let mut body = json!({"name": name, "config": {"sourceType": "TEXT", "parameters": {"documents": documents}}});
        if !embedding.is_null() {
            body["embedding"] = embedding;
        }
        let (status, v) = self
            .call(reqwest::Method::POST, "/assets", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        (
            v["asset"]["id"].as_str().unwrap().to_owned(),
            v["operation"]["id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn operation(&self, asset: &str, op: &str) -> Value {
        let (status, v) = self
            .call(
                reqwest::Method::GET,
                &format!("/assets/{asset}/operations/{op}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    /// Long-polls the operation through the API until it is done.
    pub async fn wait_done(&self, asset: &str, op: &str) -> Value {
        loop {
            let (status, v) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/assets/{asset}/operations/{op}:wait?timeout=30"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{v}");
            if v["done"] == true {
                return v;
            }
        }
    }
}

/// Real text for `assets` assets of `docs` documents each: the system's license files, in order,
/// cut into equal slices of words. The same on every run.
pub fn corpus(assets: usize, docs: usize) -> Vec<Vec<(String, String)>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir("/usr/share/common-licenses")
        .expect("/usr/share/common-licenses (Debian base-files)")
        .map(|e| e.unwrap().path())
        .filter(|p| !p.is_symlink())
        .collect();
    names.sort();
    let text: String = names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("\n\n");
    let words: Vec<&str> = text.split_whitespace().collect();
    let per_doc = words.len() / (assets * docs);
    (0..assets)
        .map(|a| {
            (0..docs)
                .map(|d| {
                    let start = (a * docs + d) * per_doc;
                    (
                        format!("part-{d}.txt"),
                        words[start..start + per_doc].join(" "),
                    )
                })
                .collect()
        })
        .collect()
}
