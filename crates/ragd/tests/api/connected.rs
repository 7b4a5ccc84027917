//! Assets that connect to systems the user owns and keep themselves fresh: GIT repositories
//! (real `git`, local repositories by file URL), sealed credentials, webhooks (signatures,
//! targeted updates, rotation, coalescing) and poll schedules driven by a controlled clock.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A real git repository in a temporary directory, on branch `main`.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(files: &[(&str, &[u8])]) -> Self {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.commit(files, &[], "first");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    fn git(&self, args: &[&str]) {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args([
                "-c",
                "user.name=Tester",
                "-c",
                "user.email=tester@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Writes `files`, removes `removed`, and commits.
    pub fn commit(&self, files: &[(&str, &[u8])], removed: &[&str], message: &str) {
        for (name, content) in files {
            let p: PathBuf = self.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        for name in removed {
            std::fs::remove_file(self.path().join(name)).unwrap();
        }
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }
}

const GUIDE: &[u8] =
    b"# Guide\n\nThe lighthouse keeper logs every passing ship in a leather book.\n";
const NOTES: &[u8] = b"Notes: the tide tables are printed each Monday.\n";
const LIB: &[u8] = b"/// Adds two numbers.\npub fn add(a: i32, b: i32) -> i32 { a + b }\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR binary";

fn sample_repo() -> Repo {
    Repo::new(&[
        ("docs/guide.md", GUIDE),
        ("notes.txt", NOTES),
        ("src/lib.rs", LIB),
        ("logo.png", PNG),
    ])
}

fn git_asset(url: &str, extra: Value) -> Value {
    let mut body =
        json!({"name": "Repo", "config": {"sourceType": "GIT", "parameters": {"url": url}}});
    for (k, v) in extra.as_object().unwrap() {
        match k.as_str() {
            "parameters" => body["config"]["parameters"]
                .as_object_mut()
                .unwrap()
                .extend(v.as_object().unwrap().clone()),
            _ => body[k] = v.clone(),
        }
    }
    body
}

/// An app whose scheduler ticks once at start: the test drives the clock from then on.
async fn spawn_with_manual_clock(gate: &Gate) -> TestApp {
    let manual = |c: &mut ragd::Config| {
        c.git_allow_file_urls = true;
        c.schedule_tick_ms = 3_600_000;
    };
    TestApp::spawn_with(manual, Some(gate.hook())).await
}

async fn spawn_git_app() -> TestApp {
    TestApp::spawn_with(|c| c.git_allow_file_urls = true, None).await
}

async fn create(app: &TestApp, body: Value) -> (String, String, Value) {
    let r = app
        .post("/v1/tenants/acme/assets", &app.token("acme"), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
        r.body,
    )
}

async fn document_names(app: &TestApp, asset: &str) -> Vec<String> {
    let r = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/documents"),
            &app.token("acme"),
        )
        .await;
    let mut names: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["fileName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn latest_operation(app: &TestApp, asset: &str) -> Value {
    let r = app
        .get(
            &format!("/v1/tenants/acme/assets/{asset}/operations"),
            &app.token("acme"),
        )
        .await;
    r.body["items"][0].clone()
}

async fn operation_count(app: &TestApp, asset: &str) -> i64 {
    app.get(
        &format!("/v1/tenants/acme/assets/{asset}/operations"),
        &app.token("acme"),
    )
    .await
    .body["totalCount"]
        .as_i64()
        .unwrap()
}

fn doc_id(asset: &str, key: &str) -> String {
    ragd_core::domain::Document::id_for(asset.parse().unwrap(), key).to_string()
}

#[tokio::test]
async fn git_assets_index_text_files_and_refreshes_read_only_changed_blobs() {
    let app = spawn_git_app().await;
    let repo = sample_repo();
    let (a, op, _) = create(&app, git_asset(&repo.url(), json!({}))).await;
    let first = app.wait_done("acme", &a, &op).await;
    assert_eq!(first["status"], "COMPLETED", "{first}");
    assert_eq!(
        first["itemsTotal"], 3,
        "the PNG is not a text file: {first}"
    );
    assert_eq!(
        document_names(&app, &a).await,
        ["docs/guide.md", "notes.txt", "src/lib.rs"]
    );

    repo.commit(
        &[
            (
                "notes.txt",
                b"Notes: the tide tables are now printed each Friday.\n",
            ),
            ("docs/new.md", b"# New\n\nFog horns sound twice a minute.\n"),
        ],
        &["src/lib.rs"],
        "second",
    );
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:refresh"),
            &app.token("acme"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let second = app
        .wait_done("acme", &a, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(second["status"], "COMPLETED", "{second}");
    assert_eq!(
        (
            second["itemsTotal"].as_i64(),
            second["itemsSkipped"].as_i64()
        ),
        (Some(3), Some(1)),
        "{second}"
    );
    assert!(
        second["tokensSaved"].as_i64().unwrap() > 0 && second["tokenCount"].as_i64().unwrap() > 0,
        "{second}"
    );
    assert_eq!(
        document_names(&app, &a).await,
        ["docs/guide.md", "docs/new.md", "notes.txt"],
        "the deleted file is gone"
    );
    let hits = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &app.token("acme"),
            json!({"query": "fog horns", "topK": 1}),
        )
        .await;
    assert_eq!(
        hits.body["results"][0]["source"], "docs/new.md",
        "{}",
        hits.body
    );

    // Path globs choose files; an unchanged repository costs nothing.
    let (b, op, _) = create(
        &app,
        git_asset(
            &repo.url(),
            json!({"parameters": {"paths": ["docs/**"], "branch": "main"}}),
        ),
    )
    .await;
    let only_docs = app.wait_done("acme", &b, &op).await;
    assert_eq!(only_docs["itemsTotal"], 2, "{only_docs}");
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{b}:refresh"),
            &app.token("acme"),
            json!({}),
        )
        .await;
    let again = app
        .wait_done("acme", &b, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (again["itemsSkipped"].as_i64(), again["tokenCount"].as_i64()),
        (Some(2), Some(0)),
        "{again}"
    );

    // A deleted asset's mirror is swept (hourly, and when a worker process starts).
    let git_dir = app.config.git().dir;
    let mirror = |id: &str| git_dir.join("acme").join(format!("{id}.git"));
    assert!(mirror(&a).is_dir() && mirror(&b).is_dir());
    assert_eq!(
        app.delete(&format!("/v1/tenants/acme/assets/{b}"), &app.token("acme"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let config = app.config.clone();
    let _dir = app.kill();
    let _restarted = TestApp::spawn_on(config, None).await;
    assert!(
        mirror(&a).is_dir() && !mirror(&b).exists(),
        "only the deleted asset's mirror went"
    );
}

#[tokio::test]
async fn git_sources_fail_clearly_and_validate_their_input() {
    // file:// URLs read the server's disk: refused unless the server allows them.
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let repo = sample_repo();
    let (a, op, _) = create(&app, git_asset(&repo.url(), json!({}))).await;
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "FAILED");
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("file URLs are not allowed"),
        "{done}"
    );

    let app = spawn_git_app().await;
    let (a, op, _) = create(
        &app,
        git_asset(&format!("{}-missing", repo.url()), json!({})),
    )
    .await;
    let done = app.wait_done("acme", &a, &op).await;
    assert_eq!(done["status"], "FAILED");
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("fetching file://"),
        "{done}"
    );
    let (a, op, _) = create(
        &app,
        git_asset(&repo.url(), json!({"parameters": {"branch": "nope"}})),
    )
    .await;
    assert_eq!(app.wait_done("acme", &a, &op).await["status"], "FAILED");
    // An http(s) remote on a private address is refused like a crawl would be.
    let (a, op, _) = create(
        &app,
        git_asset("http://169.254.169.254/latest/meta-data.git", json!({})),
    )
    .await;
    let done = app.wait_done("acme", &a, &op).await;
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("private, loopback or link-local"),
        "{done}"
    );

    for (body, field) in [
        (
            git_asset("ftp://example.com/r.git", json!({})),
            "config.parameters.url",
        ),
        (
            git_asset(&repo.url(), json!({"parameters": {"paths": ["a/[b"]}})),
            "config.parameters.paths[0]",
        ),
        (
            git_asset(
                &repo.url(),
                json!({"parameters": {"branch": "--upload-pack=x"}}),
            ),
            "config.parameters.branch",
        ),
        (
            git_asset(
                &repo.url(),
                json!({"auth": {"method": "AWS", "parameters": {}}}),
            ),
            "auth.method",
        ),
        (
            git_asset(
                &repo.url(),
                json!({"auth": {"method": "BASIC", "parameters": {"username": "u"}}}),
            ),
            "auth.parameters.password",
        ),
        (
            git_asset(
                &repo.url(),
                json!({"auth": {"method": "API_KEY", "parameters": {"apiKey": "k", "extra": "x"}}}),
            ),
            "auth.parameters.extra",
        ),
        (
            git_asset(
                &repo.url(),
                json!({"autoUpdate": {"strategy": "POLL", "pollFrequency": "DAILY", "timezone": "Mars/Base"}}),
            ),
            "autoUpdate.timezone",
        ),
    ] {
        let r = app.post("/v1/tenants/acme/assets", &t, body).await;
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
}

/// The database's bytes (SQLite file and its WAL) or its rows as text (PostgreSQL).
async fn database_text(app: &TestApp) -> String {
    match app.config.database().unwrap() {
        ragd::config::Database::Sqlite(path) => {
            let mut all = Vec::new();
            for suffix in ["", "-wal"] {
                all.extend(
                    std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default(),
                );
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        ragd::config::Database::Postgres(_) => {
            let mut rows = app
                .db_column("SELECT CAST(t AS TEXT) FROM assets t WHERE $1 = $1", "")
                .await;
            rows.extend(
                app.db_column("SELECT CAST(t AS TEXT) FROM webhooks t WHERE $1 = $1", "")
                    .await,
            );
            rows.into_iter().flatten().collect::<Vec<_>>().join("\n")
        }
    }
}

#[tokio::test]
async fn credentials_and_signing_secrets_are_sealed_and_never_returned() {
    let app = spawn_git_app().await;
    let repo = sample_repo();
    let password = "pw-correct-horse-battery-staple";
    let body = git_asset(
        &repo.url(),
        json!({"auth": {"method": "BASIC", "parameters": {"username": "reader", "password": password}},
               "autoUpdate": {"strategy": "WEBHOOK", "provider": "GITHUB"}}),
    );
    let (a, op, created) = create(&app, body).await;
    let secret = created["webhook"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 60,
        "{created}"
    );
    assert!(!created.to_string().contains(password));
    assert_eq!(
        app.wait_done("acme", &a, &op).await["status"],
        "COMPLETED",
        "credentials go to git as a header; file URLs ignore it"
    );
    let shown = app
        .get(&format!("/v1/tenants/acme/assets/{a}"), &app.token("acme"))
        .await
        .body
        .to_string();
    assert!(
        !shown.contains(password) && !shown.contains(&secret),
        "{shown}"
    );
    let listed = app
        .get("/v1/tenants/acme/assets", &app.token("acme"))
        .await
        .body
        .to_string();
    assert!(!listed.contains(password) && !listed.contains(&secret));
    let stored = database_text(&app).await;
    assert!(stored.len() > 1000, "read the database");
    assert!(
        !stored.contains(password),
        "the password is not in the database in plaintext"
    );
    assert!(
        !stored.contains(&secret),
        "the signing secret is not in the database in plaintext"
    );
    assert!(!stored.contains("reader"), "nor the user name");
}

async fn deliver(
    app: &TestApp,
    url: &str,
    secret: &str,
    event: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let raw = serde_json::to_vec(body).unwrap();
    let mut req = app
        .client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            ragd_core::secrets::sign(secret.as_bytes(), &raw),
        );
    if let Some(e) = event {
        req = req.header("x-github-event", e);
    }
    req.body(raw).send().await.unwrap()
}

fn push(branch: &str, modified: &[&str]) -> Value {
    // As GitHub sends it (trimmed): the ref pushed, the repository's default branch, the commits' files.
    json!({"ref": format!("refs/heads/{branch}"), "repository": {"default_branch": "main"},
           "commits": [{"id": "abc", "added": [], "modified": modified, "removed": []}]})
}

#[tokio::test]
async fn webhooks_verify_signatures_update_named_files_and_rotate() {
    let app = spawn_git_app().await;
    let t = app.token("acme");
    let repo = sample_repo();
    let (a, op, created) = create(
        &app,
        git_asset(
            &repo.url(),
            json!({"autoUpdate": {"strategy": "WEBHOOK", "provider": "GITHUB"}}),
        ),
    )
    .await;
    let hook = created["webhook"].clone();
    let (url, secret) = (
        hook["webhookUrl"].as_str().unwrap().to_owned(),
        hook["signingSecret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        url,
        format!("{}/v1/webhooks/{}", app.base, hook["id"].as_str().unwrap())
    );
    assert_eq!(
        (
            hook["authMode"].as_str(),
            hook["provider"].as_str(),
            hook["status"].as_str()
        ),
        (Some("HMAC_SHA256"), Some("GITHUB"), Some("ACTIVE"))
    );
    app.wait_done("acme", &a, &op).await;
    repo.commit(
        &[("notes.txt", b"Notes: the keeper retired in the spring.\n")],
        &[],
        "edit",
    );

    // Unsigned, wrongly signed, or signed for another body: 401, and nothing starts.
    let raw = serde_json::to_vec(&push("main", &["notes.txt"])).unwrap();
    let unsigned = app
        .client
        .post(&url)
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        deliver(
            &app,
            &url,
            "whsec_wrong",
            Some("push"),
            &push("main", &["notes.txt"])
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    let forged = app
        .client
        .post(&url)
        .header(
            "x-hub-signature-256",
            ragd_core::secrets::sign(secret.as_bytes(), b"{}"),
        )
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let p = Resp::from_response(forged).await;
    assert_eq!(p.content_type(), "application/problem+json");
    assert_eq!(operation_count(&app, &a).await, 1);

    // A signed push names the changed file: only it is updated.
    let r = deliver(
        &app,
        &url,
        &secret,
        Some("push"),
        &push("main", &["notes.txt"]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let update = latest_operation(&app, &a).await;
    assert_eq!(update["type"], "WEBHOOK_UPDATE");
    assert_eq!(update["documentIds"], json!([doc_id(&a, "notes.txt")]));
    let done = app
        .wait_done("acme", &a, update["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["itemsTotal"].as_i64(),
            done["itemsSkipped"].as_i64()
        ),
        (Some("COMPLETED"), Some(1), Some(0)),
        "{done}"
    );
    let hits = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:search"),
            &t,
            json!({"query": "keeper retired spring", "topK": 1}),
        )
        .await;
    assert!(
        hits.body["results"][0]["content"]
            .as_str()
            .unwrap()
            .contains("retired"),
        "{}",
        hits.body
    );

    // A ping, or a push to another branch, is accepted and does nothing.
    assert_eq!(
        deliver(&app, &url, &secret, Some("ping"), &json!({"zen": "hi"}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        deliver(
            &app,
            &url,
            &secret,
            Some("push"),
            &push("other", &["notes.txt"])
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(operation_count(&app, &a).await, 2);

    // Rotation: the old URL and secret stop at once; the new ones work.
    let r = app
        .post(
            &format!("/v1/tenants/acme/assets/{a}:regenerateWebhook"),
            &t,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (new_url, new_secret) = (
        r.body["webhookUrl"].as_str().unwrap().to_owned(),
        r.body["signingSecret"].as_str().unwrap().to_owned(),
    );
    assert!(new_url != url && new_secret != secret);
    assert_eq!(
        deliver(&app, &url, &secret, None, &json!({"paths": ["notes.txt"]}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(
            &app,
            &new_url,
            &secret,
            None,
            &json!({"paths": ["notes.txt"]})
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(
            &app,
            &new_url,
            &new_secret,
            None,
            &json!({"paths": ["docs/guide.md"]})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let generic = latest_operation(&app, &a).await;
    assert_eq!(generic["documentIds"], json!([doc_id(&a, "docs/guide.md")]));
    app.wait_done("acme", &a, generic["id"].as_str().unwrap())
        .await;

    // Turning auto-update off deletes the webhook; regenerating then is a 400.
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{a}"),
            &t,
            json!({"disableAutoUpdate": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        deliver(&app, &new_url, &new_secret, None, &json!({}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.post(
        &format!("/v1/tenants/acme/assets/{a}:regenerateWebhook"),
        &t,
        json!({}),
    )
    .await
    .problem(400, "/problems/validation");
    // Enabling it by PATCH returns a new webhook once; another tenant cannot rotate it.
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{a}"),
            &t,
            json!({"autoUpdate": {"strategy": "WEBHOOK"}}),
        )
        .await;
    assert!(
        r.body["webhook"]["signingSecret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_"),
        "{}",
        r.body
    );
    assert_eq!(r.body["webhook"]["provider"], "GENERIC");
    let other = app
        .post(
            &format!("/v1/tenants/other/assets/{a}:regenerateWebhook"),
            &app.token("other"),
            json!({}),
        )
        .await;
    other.problem(404, "/problems/not-found");
    // Deleting the asset deletes its webhook.
    let url = r.body["webhook"]["webhookUrl"].as_str().unwrap().to_owned();
    let secret = r.body["webhook"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/v1/tenants/acme/assets/{a}"), &t)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        deliver(&app, &url, &secret, None, &json!({}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn deliveries_join_the_pending_update_or_wait_behind_a_running_operation() {
    // Joining: an API-only process runs nothing, so the first delivery's update stays pending.
    let app = TestApp::spawn_with(|c| c.role = ragd::config::Role::Api, None).await;
    let t = app.token("acme");
    let (a, op, created) = create(
        &app,
        git_asset(
            "https://git.example.com/r.git",
            json!({"autoUpdate": {"strategy": "WEBHOOK"}}),
        ),
    )
    .await;
    let (url, secret) = (
        created["webhook"]["webhookUrl"]
            .as_str()
            .unwrap()
            .to_owned(),
        created["webhook"]["signingSecret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    app.post(
        &format!("/v1/tenants/acme/assets/{a}/operations/{op}:cancel"),
        &t,
        json!({}),
    )
    .await;
    for path in ["a.md", "b.md", "a.md"] {
        assert_eq!(
            deliver(&app, &url, &secret, None, &json!({"paths": [path]}))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        operation_count(&app, &a).await,
        2,
        "three deliveries, one update"
    );
    let pending = latest_operation(&app, &a).await;
    let mut ids: Vec<String> = serde_json::from_value(pending["documentIds"].clone()).unwrap();
    ids.sort();
    let mut want = vec![doc_id(&a, "a.md"), doc_id(&a, "b.md")];
    want.sort();
    assert_eq!((pending["status"].as_str(), ids), (Some("PENDING"), want));
    // One that names nothing widens the pending update to everything.
    assert_eq!(
        deliver(&app, &url, &secret, None, &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(latest_operation(&app, &a).await["documentIds"], json!([]));
    drop(app);

    // Waiting: deliveries during a running ingestion become one update after it.
    let gate = Gate::new();
    let app = spawn_with_manual_clock(&gate).await;
    let repo = sample_repo();
    let (a, op, created) = create(
        &app,
        git_asset(&repo.url(), json!({"autoUpdate": {"strategy": "WEBHOOK"}})),
    )
    .await;
    let (url, secret) = (
        created["webhook"]["webhookUrl"]
            .as_str()
            .unwrap()
            .to_owned(),
        created["webhook"]["signingSecret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    gate.reached().await;
    for path in ["notes.txt", "src/lib.rs"] {
        assert_eq!(
            deliver(&app, &url, &secret, None, &json!({"paths": [path]}))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        operation_count(&app, &a).await,
        1,
        "nothing overlaps the running ingestion"
    );
    gate.open();
    app.wait_done("acme", &a, &op).await;
    // The scheduler's next tick starts the waiting update, now that the asset is free.
    let started =
        ragd_core::services::schedule_tick(app.store().await.as_ref(), ragd_core::time::now_ms())
            .await
            .unwrap();
    assert_eq!(started.len(), 1);
    let update = latest_operation(&app, &a).await;
    assert_eq!(update["type"], "WEBHOOK_UPDATE", "{update}");
    assert_eq!(
        update["documentIds"].as_array().unwrap().len(),
        2,
        "{update}"
    );
    let done = app
        .wait_done("acme", &a, update["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (done["itemsTotal"].as_i64(), done["itemsSkipped"].as_i64()),
        (Some(2), Some(2)),
        "unchanged files: {done}"
    );
    assert_eq!(operation_count(&app, &a).await, 2);
}

async fn next_poll_at(app: &TestApp, asset: &str) -> Option<i64> {
    app.db_column(
        "SELECT CAST(next_poll_at AS TEXT) FROM assets WHERE id = $1",
        asset,
    )
    .await[0]
        .as_ref()
        .map(|s| s.parse().unwrap())
}

#[tokio::test]
async fn poll_schedules_fire_once_per_slot_never_overlap_and_catch_up_once() {
    let gate = Gate::new();
    let app = spawn_with_manual_clock(&gate).await;
    let repo = sample_repo();
    let schedule = json!({"strategy": "POLL", "pollFrequency": "DAILY", "pollHour": "3", "pollMinute": "0", "timezone": "Europe/Berlin"});
    let (a, op, created) = create(
        &app,
        git_asset(&repo.url(), json!({"autoUpdate": schedule})),
    )
    .await;
    assert_eq!(
        created["asset"]["autoUpdateConfig"]["timezone"],
        "Europe/Berlin"
    );
    let first = next_poll_at(&app, &a).await.unwrap();
    let created_at = created["asset"]["createdAt"].as_i64().unwrap();
    assert!(first > created_at && first - created_at <= 25 * 3_600_000);
    assert!(
        [3_600_000, 7_200_000].contains(&(first % 86_400_000)),
        "03:00 in Berlin is 01:00 or 02:00 UTC: {first}"
    );
    let store = app.store().await;
    let tick = |now: i64| {
        let store = store.clone();
        async move {
            ragd_core::services::schedule_tick(store.as_ref(), now)
                .await
                .unwrap()
        }
    };

    assert!(tick(first - 1).await.is_empty(), "not before its time");
    // Due while the ingestion still runs: the slot passes without a run (no overlap).
    gate.reached().await;
    assert!(tick(first).await.is_empty());
    let second = next_poll_at(&app, &a).await.unwrap();
    assert!(
        (23..=25).contains(&((second - first) / 3_600_000)),
        "the next day's 03:00: {first} → {second}"
    );
    gate.open();
    app.wait_done("acme", &a, &op).await;

    // Three days of downtime: one catch-up run, then the first slot after now.
    let now = second + 3 * 86_400_000 + 60_000;
    let started = tick(now).await;
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].op_type,
        ragd_core::domain::OperationType::ScheduledRefresh
    );
    assert!(
        tick(now).await.is_empty() && tick(now + 1000).await.is_empty(),
        "fired once"
    );
    let next = next_poll_at(&app, &a).await.unwrap();
    assert!(next > now && next - now < 86_400_000, "{now} → {next}");
    let run = app.wait_done("acme", &a, &started[0].id.to_string()).await;
    assert_eq!(
        (run["type"].as_str(), run["createdBy"].as_str()),
        (Some("SCHEDULED_REFRESH"), Some("scheduler"))
    );
    assert_eq!(
        (run["itemsSkipped"].as_i64(), run["tokenCount"].as_i64()),
        (Some(3), Some(0)),
        "nothing changed: {run}"
    );
    let asset = app
        .get(&format!("/v1/tenants/acme/assets/{a}"), &app.token("acme"))
        .await
        .body;
    assert_eq!(asset["lastPolledAt"], now);

    // Turning the schedule off stops it.
    app.patch(
        &format!("/v1/tenants/acme/assets/{a}"),
        &app.token("acme"),
        json!({"disableAutoUpdate": true}),
    )
    .await;
    assert_eq!(next_poll_at(&app, &a).await, None);
    assert!(tick(next + 7 * 86_400_000).await.is_empty());
}
