//! `S3` assets against a real S3-compatible server: moto (PyPI), started here. Listing by
//! prefix, refresh by ETag (only changed objects are read), deleted objects removed, credentials
//! sealed, a bucket that cannot be listed failing the operation clearly, and endpoint checks.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `python3 -m moto.server` on a free port, killed when dropped.
struct Moto {
    child: std::process::Child,
    base: String,
    http: reqwest::Client,
}

impl Moto {
    async fn start() -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::var_os("RAGD_MOTO_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join(".cache/moto"));
        assert!(
            dir.join(".installed").exists(),
            "moto is not installed: run scripts/s3/install.sh (scripts/test does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("PYTHONPATH", &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        let moto = Moto {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        // The server takes a moment to import; wait until it answers (an external process's start-up).
        for _ in 0..300 {
            if moto
                .http
                .get(format!("{}/moto-api/", moto.base))
                .send()
                .await
                .is_ok()
            {
                return moto;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("moto did not start on port {port}");
    }

    async fn create_bucket(&self, bucket: &str) {
        let r = self
            .http
            .put(format!("{}/{bucket}", self.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "PUT {bucket}: {}", r.status());
    }

    /// A signed client of the bucket (moto takes any key; it refuses some unsigned writes).
    fn bucket(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(&self.base)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("AKIDEXAMPLE")
            .with_secret_access_key("test")
            .build()
            .unwrap()
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        use object_store::ObjectStoreExt;
        self.bucket(bucket)
            .put(&key.into(), body.to_vec().into())
            .await
            .unwrap();
    }

    async fn delete(&self, bucket: &str, key: &str) {
        use object_store::ObjectStoreExt;
        self.bucket(bucket).delete(&key.into()).await.unwrap();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3_asset(moto: &Moto, bucket: &str, prefix: &str) -> Value {
    json!({"name": "Bucket", "config": {"sourceType": "S3", "parameters": {"bucket": bucket, "prefix": prefix, "endpointUrl": moto.base}},
           "auth": {"method": "AWS", "parameters": {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "s3-secret-key-do-not-leak"}}})
}

async fn spawn_s3_app() -> TestApp {
    TestApp::spawn_with(|c| c.web_allow_hosts = "127.0.0.1".into(), None).await
}

async fn names(app: &TestApp, asset: &str) -> Vec<String> {
    let r = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/documents"),
            &app.token("acme"),
        )
        .await;
    let mut n: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["fileName"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn buckets_are_listed_by_prefix_and_refreshed_by_etag() {
    let moto = Moto::start().await;
    moto.create_bucket("handbook").await;
    moto.put(
        "handbook",
        "docs/intro.md",
        b"# Intro\n\nThe ferry leaves the north pier at dawn.\n",
    )
    .await;
    moto.put(
        "handbook",
        "docs/faq.txt",
        b"Tickets are sold on board, cash only.\n",
    )
    .await;
    moto.put("handbook", "docs/photo.jpg", b"\xff\xd8\xff binary")
        .await;
    moto.put("handbook", "other/notes.txt", b"Outside the prefix.\n")
        .await;
    let app = spawn_s3_app().await;
    let t = app.token("acme");

    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            s3_asset(&moto, "handbook", "docs/"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["asset"]["assetLink"],
        format!("{}/handbook", moto.base)
    );
    assert!(!r.body.to_string().contains("s3-secret-key-do-not-leak"));
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!(
        (first["status"].as_str(), first["itemsTotal"].as_i64()),
        (Some("COMPLETED"), Some(2)),
        "{first}"
    );
    assert_eq!(names(&app, &a).await, ["docs/faq.txt", "docs/intro.md"]);
    let hits = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "when does the ferry leave", "topK": 1}),
        )
        .await;
    assert_eq!(
        hits.body["results"][0]["sourceUrl"], "s3://handbook/docs/intro.md",
        "{}",
        hits.body
    );

    // One object changes, one is added, one is deleted: only the new ETags are read.
    moto.put(
        "handbook",
        "docs/faq.txt",
        b"Tickets are sold on board; cards are accepted now.\n",
    )
    .await;
    moto.put(
        "handbook",
        "docs/timetable.md",
        b"# Timetable\n\nDeparts 06:10 and 18:40 daily.\n",
    )
    .await;
    moto.delete("handbook", "docs/intro.md").await;
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let second = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            second["itemsTotal"].as_i64(),
            second["itemsSkipped"].as_i64()
        ),
        (Some(2), Some(0)),
        "{second}"
    );
    assert_eq!(names(&app, &a).await, ["docs/faq.txt", "docs/timetable.md"]);
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &t,
            json!({}),
        )
        .await;
    let third = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (third["itemsSkipped"].as_i64(), third["tokenCount"].as_i64()),
        (Some(2), Some(0)),
        "unchanged ETags: {third}"
    );

    // A missing bucket fails the operation, saying which.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            s3_asset(&moto, "no-such-bucket", ""),
        )
        .await;
    let (b, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let failed = app.wait_done("acme", &b, &op).await;
    assert_eq!(failed["status"], "FAILED");
    let message = failed["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("listing bucket no-such-bucket"),
        "{message}"
    );
    assert!(!message.contains("s3-secret-key-do-not-leak"));
}

#[tokio::test]
async fn bucket_settings_are_validated_and_private_endpoints_need_allowing() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    for (params, field) in [
        (json!({"bucket": "Bad_Bucket"}), "config.parameters.bucket"),
        (
            json!({"bucket": "ok-bucket", "endpointUrl": "ftp://x"}),
            "config.parameters.endpointUrl",
        ),
        (
            json!({"bucket": "ok-bucket", "acl": "x"}),
            "config.parameters.acl",
        ),
    ] {
        let r = app
            .post(
                "/v1/tenants/acme/assets",
                &t,
                json!({"config": {"sourceType": "S3", "parameters": params}}),
            )
            .await;
        let p = r.problem(400, "/problems/validation");
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {p}"
        );
    }
    let r = app
        .post("/v1/tenants/acme/assets", &t, json!({"config": {"sourceType": "S3", "parameters": {"bucket": "ok-bucket"}}, "auth": {"method": "AWS", "parameters": {"accessKeyId": "a"}}}))
        .await;
    r.problem(400, "/problems/validation");
    // 127.0.0.1 is private: refused unless the server allows it (RAGD_WEB_ALLOW_HOSTS).
    let body = json!({"config": {"sourceType": "S3", "parameters": {"bucket": "ok-bucket", "endpointUrl": "http://127.0.0.1:9"}}});
    let r = app.post("/v1/tenants/acme/assets", &t, body).await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let failed = app.wait_done("acme", &a, &op).await;
    assert_eq!(failed["status"], "FAILED");
    assert!(
        failed["errorMessage"]
            .as_str()
            .unwrap()
            .contains("private, loopback or link-local"),
        "{failed}"
    );
}
