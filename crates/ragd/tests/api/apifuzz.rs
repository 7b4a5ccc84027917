//! API fuzzing: schemathesis (PyPI; `scripts/apifuzz/install.sh`) against the real app's
//! `/openapi.json`, with a valid token, seeded real ids, every check and the stateful phase, for
//! a bounded time (`RAGD_APIFUZZ_SECONDS`, default 90). Any server error or conformance failure
//! fails the test; its report is printed. Configuration: `scripts/apifuzz/schemathesis.toml`. One
//! worker: with two, one scenario can delete (through a list it read) the asset another just made.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_no_conformance_failure() {
    let st = std::env::var_os("RAGD_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".cache/schemathesis/bin/st"));
    assert!(
        st.exists(),
        "schemathesis is not installed: run scripts/apifuzz/install.sh (scripts/test does)"
    );
    // A deployment with a remote provider too (the OpenAI stand-in): assets the fuzzer makes with
    // `openai` embed and are searched like the local ones.
    let (base, _openai) =
        crate::openai::FakeOpenAi::start("sk-fuzz", std::time::Duration::ZERO).await;
    let app = TestApp::spawn_with(
        |c| {
            c.openai_base_url = Some(base.clone());
            c.openai_api_key = Some("sk-fuzz".into());
        },
        None,
    )
    .await;
    let token = app.token("acme");
    let (asset, operation) = app
        .create_text_asset(
            "acme",
            &[
                ("guide.md", "# Guide\n\nBorrowing rules."),
                ("notes.txt", "Lifetimes."),
            ],
        )
        .await;
    app.wait_done("acme", &asset, &operation).await;
    let docs = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/documents"),
            &token,
        )
        .await;
    let document = docs.body["items"][0]["id"]
        .as_str()
        .expect("a document")
        .to_owned();
    let config = app
        .post(
            "/v1/tenants/acme/llmConfigs",
            &token,
            json!({"provider": "openai", "apiKey": "sk-test"}),
        )
        .await;
    assert_eq!(config.status, StatusCode::CREATED, "{}", config.body);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text("Some text.").file_name("seed.txt"),
    );
    let file: serde_json::Value = app
        .client
        .post(format!("{}/v1/tenants/acme/storage", app.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seconds = std::env::var("RAGD_APIFUZZ_SECONDS").unwrap_or_else(|_| "90".into());
    let report = tempfile::tempdir().unwrap();
    let config_file = root().join("scripts/apifuzz/schemathesis.toml");
    // Its cache of failures found (replayed first on the next run) lives in `.cache/.schemathesis`.
    let cache = root().join(".cache");
    std::fs::create_dir_all(&cache).unwrap();
    let out = tokio::process::Command::new(&st)
        .current_dir(&cache)
        .arg("--config-file")
        .arg(&config_file)
        .args([
            "--no-color",
            "run",
            &format!("{}/openapi.json", app.base),
            "--max-time",
            &seconds,
            "--workers",
            "1",
        ])
        .args([
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--report-dir",
        ])
        .arg(report.path())
        .env("RAGD_ST_ASSET", &asset)
        .env("RAGD_ST_OPERATION", &operation)
        .env("RAGD_ST_DOCUMENT", &document)
        .env("RAGD_ST_CONFIG", config.body["id"].as_str().unwrap())
        .env(
            "RAGD_ST_FILE",
            file["fileId"].as_str().expect("a stored file"),
        )
        .output()
        .await
        .expect("schemathesis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .lines()
        .rev()
        .find(|l| l.contains(" in ") && l.starts_with('='))
        .unwrap_or("(no summary)")
        .to_owned();
    eprintln!("schemathesis: {summary}");
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
