//! Secrets never reach the logs: a real `ragd serve` process at debug level ingests a GIT asset
//! with a password and a webhook, receives signed deliveries, rotates the webhook, fails a fetch
//! with credentials, and embeds through a tenant's LLM config (and fails with a refused key); then
//! its whole log is searched for every secret and its encodings.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/openai.rs"]
mod openai;

use base64::Engine;
use cluster::{Api, Proc};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn credentials_and_signing_secrets_stay_out_of_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(
        repo.join("notes.md"),
        "# Notes\n\nThe harbour opens at six.\n",
    )
    .unwrap();
    git(&repo, &["add", "--all"]);
    git(&repo, &["commit", "--quiet", "-m", "first"]);

    let db = format!("sqlite://{}", tmp.path().join("ragd.db").display());
    let env = [
        ("RAGD_GIT_ALLOW_FILE_URLS", "true"),
        ("RAGD_WEB_ALLOW_HOSTS", "127.0.0.1"),
        (
            "RAGD_LOG",
            "debug,sqlx=warn,hyper=info,h2=info,tantivy=info",
        ),
    ];
    let server = Proc::start(&db, "all", tmp.path(), "ragd", &env);
    let api = Api::new(server.address().await);
    let (user, password) = ("reader-7f3a", "pw-9c2e-correct-horse");
    let body = json!({"name": "Repo", "config": {"sourceType": "GIT", "parameters": {"url": format!("file://{}", repo.display())}},
        "auth": {"method": "BASIC", "parameters": {"username": user, "password": password}},
        "autoUpdate": {"strategy": "WEBHOOK"}});
    let (status, created) = api.call(Method::POST, "/assets", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let asset = created["asset"]["id"].as_str().unwrap().to_owned();
    let mut secrets = vec![
        created["webhook"]["signingSecret"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    assert_eq!(
        api.wait_done(&asset, created["operation"]["id"].as_str().unwrap())
            .await["status"],
        "COMPLETED"
    );

    // A signed delivery and a forged one.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = created["webhook"]["webhookUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let payload = br#"{"paths": ["notes.md"]}"#;
    for key in [secrets[0].as_bytes(), b"whsec_forged".as_slice()] {
        let sig = ragd_core::secrets::sign(key, payload);
        http.post(&url)
            .header("x-hub-signature-256", sig)
            .body(payload.to_vec())
            .send()
            .await
            .unwrap();
    }
    let (_, rotated) = api
        .call(
            Method::POST,
            &format!("/assets/{asset}:regenerateWebhook"),
            None,
        )
        .await;
    secrets.push(rotated["signingSecret"].as_str().unwrap().to_owned());
    // A fetch that fails, with the credentials on (an unreachable https remote).
    let mut failing = body.clone();
    failing["config"]["parameters"]["url"] = json!("https://127.0.0.1:9/nope.git");
    let (_, created) = api.call(Method::POST, "/assets", Some(failing)).await;
    let failed = api
        .wait_done(
            created["asset"]["id"].as_str().unwrap(),
            created["operation"]["id"].as_str().unwrap(),
        )
        .await;
    assert_eq!(failed["status"], "FAILED");
    secrets.push(
        created["webhook"]["signingSecret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    // An LLM config's key, used (the stand-in accepts it) and refused (another key).
    let (llm, _fake) =
        openai::FakeOpenAi::start("sk-llm-good-4411", std::time::Duration::ZERO).await;
    for (key, outcome) in [
        ("sk-llm-good-4411", "COMPLETED"),
        ("sk-llm-refused-8832", "FAILED"),
    ] {
        let (status, config) = api
            .call(
                Method::POST,
                "/llmConfigs",
                Some(json!({"provider": "openai", "baseUrl": llm, "apiKey": key})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{config}");
        let body = json!({"name": "Remote", "embedding": {"provider": "openai", "model": "text-embedding-3-small"},
            "embeddingLlmConfigId": config["id"], "config": {"sourceType": "TEXT", "parameters": {"documents": [{"name": "a.md", "text": format!("# Tides\n\nHigh water at noon ({outcome}).")}]}}});
        let (_, created) = api.call(Method::POST, "/assets", Some(body)).await;
        let done = api
            .wait_done(
                created["asset"]["id"].as_str().unwrap(),
                created["operation"]["id"].as_str().unwrap(),
            )
            .await;
        assert_eq!(done["status"], outcome, "{done}");
        secrets.push(key.to_owned());
    }

    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.lines().count() > 20 && log.contains("\"level\":\"DEBUG\""),
        "a debug-level log"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    for s in secrets
        .iter()
        .map(String::as_str)
        .chain([password, basic.as_str()])
    {
        assert!(!log.contains(s), "{s} appears in the log");
    }
}
