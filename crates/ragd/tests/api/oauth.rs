//! The OAuth flow against a real OAuth 2.0 / OIDC server (`oauth2-mock-server`, npm, started
//! here): authorization URL with state and PKCE, the provider's redirect to the callback, the
//! code exchange, the single-use credential key, and tokens refreshed before ingestion uses them
//! (or the asset marked as needing re-authorisation when the provider refuses).

use crate::connected::Repo;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::BufRead;

/// `oauth2-mock-server` in a node process, stopped when dropped (its stdin closes).
struct MockProvider {
    child: std::process::Child,
    base: String,
}

impl MockProvider {
    fn start() -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let package = std::env::var_os("RAGD_OAUTH_MOCK_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join(".cache/node/node_modules/oauth2-mock-server"));
        assert!(
            package.join("package.json").exists(),
            "oauth2-mock-server is not installed: run scripts/oauth/install.sh (scripts/test does)"
        );
        let mut child = std::process::Command::new("node")
            .arg(root.join("scripts/oauth/mock-server.mjs"))
            .arg(&package)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the mock server printed {line:?}"));
        MockProvider {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn_with_provider(provider: &MockProvider) -> TestApp {
    let discovery = format!("{}/.well-known/openid-configuration", provider.base);
    TestApp::spawn_with(
        |c| {
            c.git_allow_file_urls = true;
            c.oauth.insert(
                "GIT".into(),
                ragd::oauth::OAuthProviderConfig {
                    discovery_url: Some(discovery),
                    client_id: "ragd-test".into(),
                    client_secret: Some("client-secret-1".into()),
                    scopes: vec!["openid".into(), "repo".into()],
                    ..Default::default()
                },
            );
        },
        None,
    )
    .await
}

/// Follows one redirect by hand: the `Location` of a 30x answer to GET `url`.
async fn location(url: &str) -> (StatusCode, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let r = client.get(url).send().await.unwrap();
    let status = r.status();
    (
        status,
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default(),
    )
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn the_authorization_code_flow_ends_in_single_use_credentials() {
    let provider = MockProvider::start();
    let app = spawn_with_provider(&provider).await;
    let t = app.token("acme");

    let r = app
        .post(
            "/v1/tenants/acme/assets:authorize",
            &t,
            json!({"sourceType": "GIT"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let auth_url = r.body["authorizationUrl"].as_str().unwrap().to_owned();
    assert!(
        auth_url.starts_with(&format!("{}/authorize?", provider.base)),
        "{auth_url}"
    );
    assert_eq!(
        query(&auth_url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(query(&auth_url, "client_id").as_deref(), Some("ragd-test"));
    assert_eq!(
        query(&auth_url, "redirect_uri"),
        Some(format!("{}/v1/oauth/callback", app.base))
    );
    assert_eq!(query(&auth_url, "scope").as_deref(), Some("openid repo"));
    assert!(query(&auth_url, "code_challenge").is_some_and(|c| c.len() == 43));

    // The provider sends the browser to the callback with a code and the state.
    let (status, callback) = location(&auth_url).await;
    assert!(
        status.is_redirection()
            && callback.starts_with(&format!("{}/v1/oauth/callback?", app.base)),
        "{status} {callback}"
    );
    let (status, done) = location(&callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        done.starts_with(&format!("{}/v1/oauth/done?credentialKey=ck_", app.base)),
        "{done}"
    );
    let key = query(&done, "credentialKey").unwrap();
    let page = app
        .client
        .get(&done)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&key));
    // The state is single use.
    let (replayed, _) = location(&callback).await;
    assert_eq!(replayed, StatusCode::BAD_REQUEST);

    let exchange = |key: String| {
        let app = &app;
        async move {
            app.request(
                reqwest::Method::GET,
                &format!("/v1/tenants/acme/assets:oauthCredentials?credentialKey={key}"),
                None,
                None,
            )
            .await
        }
    };
    let creds = exchange(key.clone()).await;
    assert_eq!(creds.status, StatusCode::OK, "{}", creds.body);
    assert_eq!(
        creds.body["accessToken"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3,
        "the mock issues JWTs: {}",
        creds.body
    );
    assert!(creds.body["refreshToken"].is_string() && creds.body["tokenType"] == "Bearer");
    assert!(creds.body["expiresAt"].as_i64().unwrap() > now_secs() as i64 * 1000);
    exchange(key).await.problem(400, "/problems/validation");
    exchange("ck_unknown".into())
        .await
        .problem(400, "/problems/validation");

    // A client's own return page keeps its query; a bogus state or a declined consent.
    let r = app
        .post(
            "/v1/tenants/acme/assets:authorize",
            &t,
            json!({"sourceType": "GIT", "redirectUri": "https://app.example.com/done?x=1"}),
        )
        .await;
    let (_, callback) = location(r.body["authorizationUrl"].as_str().unwrap()).await;
    let (_, done) = location(&callback).await;
    assert!(
        done.starts_with("https://app.example.com/done?x=1&credentialKey=ck_"),
        "{done}"
    );
    assert_eq!(
        location(&format!(
            "{}/v1/oauth/callback?state=forged&code=x",
            app.base
        ))
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let r = app
        .post(
            "/v1/tenants/acme/assets:authorize",
            &t,
            json!({"sourceType": "GIT"}),
        )
        .await;
    let state = query(r.body["authorizationUrl"].as_str().unwrap(), "state").unwrap();
    let (status, declined) = location(&format!(
        "{}/v1/oauth/callback?state={state}&error=access_denied",
        app.base
    ))
    .await;
    assert_eq!(
        (status, declined),
        (
            StatusCode::SEE_OTHER,
            format!("{}/v1/oauth/done?error=access_denied", app.base)
        )
    );

    // Source types without OAuth, bad input, and the other tenant's credential key.
    for (body, field) in [
        (json!({"sourceType": "TEXT"}), "sourceType"),
        (
            json!({"sourceType": "GIT", "redirectUri": "javascript:alert(1)"}),
            "redirectUri",
        ),
        (json!({"sourceType": "GIT", "extra": 1}), "extra"),
    ] {
        let r = app
            .post("/v1/tenants/acme/assets:authorize", &t, body)
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
        .post(
            "/v1/tenants/acme/assets:authorize",
            &t,
            json!({"sourceType": "GIT"}),
        )
        .await;
    let (_, callback) = location(r.body["authorizationUrl"].as_str().unwrap()).await;
    let key = query(&location(&callback).await.1, "credentialKey").unwrap();
    let r = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/tenants/other/assets:oauthCredentials?credentialKey={key}"),
            None,
            None,
        )
        .await;
    r.problem(400, "/problems/validation");
}

#[tokio::test]
async fn a_server_without_a_provider_refuses_to_authorize() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/v1/tenants/acme/assets:authorize",
            &app.token("acme"),
            json!({"sourceType": "GIT"}),
        )
        .await;
    let p = r.problem(400, "/problems/validation");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("no OAuth provider is configured"),
        "{p}"
    );
}

fn oauth_asset(url: &str, refresh_token: &str, expires_at: i64) -> Value {
    json!({"name": "Repo", "config": {"sourceType": "GIT", "parameters": {"url": url}},
           "auth": {"method": "OAUTH2", "parameters": {"accessToken": "old-access", "refreshToken": refresh_token, "expiresAt": expires_at}}})
}

async fn stored_credentials(app: &TestApp, asset: &str) -> ragd_core::domain::Credentials {
    let tenant = ragd_core::domain::TenantId::parse("acme").unwrap();
    let id: uuid::Uuid = asset.parse().unwrap();
    let a = app
        .store()
        .await
        .assets(&tenant, Some(&[id]))
        .await
        .unwrap()
        .pop()
        .unwrap();
    app.config
        .secret_box()
        .unwrap()
        .open_json(&a.auth_sealed.unwrap(), id.as_bytes())
        .unwrap()
}

#[tokio::test]
async fn expiring_tokens_are_refreshed_and_a_refused_refresh_asks_for_reauthorisation() {
    let provider = MockProvider::start();
    let app = spawn_with_provider(&provider).await;
    let t = app.token("acme");
    let repo = Repo::new(&[(
        "README.md",
        b"# Tide tables\n\nPrinted every Monday at the harbour office.\n",
    )]);
    let now = now_secs() as i64 * 1000;

    // Still valid for an hour: used as is.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            oauth_asset(&repo.url(), "refresh-1", now + 3_600_000),
        )
        .await;
    let (a, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(app.wait_done("acme", &a, &op).await["status"], "COMPLETED");
    assert_eq!(
        stored_credentials(&app, &a).await.get("accessToken"),
        Some("old-access")
    );

    // Expired: refreshed at the provider first, and stored sealed again.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            oauth_asset(&repo.url(), "refresh-2", now - 1000),
        )
        .await;
    let (b, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let done = app.wait_done("acme", &b, &op).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let fresh = stored_credentials(&app, &b).await;
    assert_ne!(fresh.get("accessToken"), Some("old-access"));
    assert!(
        fresh.parameters["expiresAt"].as_i64().unwrap() > now + 60_000,
        "{:?}",
        fresh.parameters.get("expiresAt")
    );
    assert!(fresh.get("refreshToken").is_some());
    let asset = app
        .get(&format!("/v1/tenants/acme/assets/{b}"), &t)
        .await
        .body;
    assert_eq!(asset["needsReauthorization"], false);
    assert!(
        !asset
            .to_string()
            .contains(fresh.get("accessToken").unwrap())
    );

    // The provider refuses the refresh (the user revoked the app): the operation fails saying
    // why, the asset shows it needs re-authorisation, and the old tokens stay as they were.
    let r = app
        .post(
            "/v1/tenants/acme/assets",
            &t,
            oauth_asset(&repo.url(), "revoked", now - 1000),
        )
        .await;
    let (c, op) = (
        r.body["asset"]["id"].as_str().unwrap().to_owned(),
        r.body["operation"]["id"].as_str().unwrap().to_owned(),
    );
    let failed = app.wait_done("acme", &c, &op).await;
    assert_eq!(failed["status"], "FAILED");
    let message = failed["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("re-authorisation needed") && message.contains("revoked"),
        "{message}"
    );
    assert!(!message.contains("client-secret-1"));
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/assets/{c}"), &t)
            .await
            .body["needsReauthorization"],
        true
    );
    assert_eq!(
        stored_credentials(&app, &c).await.get("accessToken"),
        Some("old-access")
    );

    // The user authorises again; the asset gets the new tokens by PATCH, which clears the flag
    // and refreshes it with them. Bad credentials are refused and change nothing.
    let bad = app
        .patch(
            &format!("/v1/tenants/acme/assets/{c}"),
            &t,
            json!({"auth": {"method": "OAUTH2", "parameters": {}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/assets/{c}"), &t)
            .await
            .body["needsReauthorization"],
        true
    );
    let renewed = json!({"method": "OAUTH2", "parameters": {"accessToken": "new-access", "expiresAt": now + 3_600_000}});
    let r = app
        .patch(
            &format!("/v1/tenants/acme/assets/{c}"),
            &t,
            json!({"auth": renewed}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["asset"]["needsReauthorization"], false, "{}", r.body);
    assert!(
        !r.body.to_string().contains("new-access"),
        "credentials are never returned"
    );
    let done = app
        .wait_done("acme", &c, r.body["operation"]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        (done["type"].as_str(), done["status"].as_str()),
        (Some("REFRESH"), Some("COMPLETED")),
        "{done}"
    );
    assert_eq!(
        stored_credentials(&app, &c).await.get("accessToken"),
        Some("new-access")
    );
}

#[tokio::test]
async fn a_credential_key_past_its_ten_minutes_is_refused() {
    let app = TestApp::spawn().await;
    let store = app.store().await;
    let secrets = app.config.secret_box().unwrap();
    let now = now_secs() as i64 * 1000;
    let tokens = ragd_core::ports::oauth::OAuthTokens {
        access_token: "at".into(),
        refresh_token: None,
        token_type: "Bearer".into(),
        expires_at: None,
    };
    for (key, expires_at) in [("ck_fresh", now + 60_000), ("ck_stale", now - 1)] {
        let id = ragd_core::domain::content_hash(key.as_bytes());
        let grant = ragd_core::domain::Grant {
            sealed: secrets.seal_json(&tokens, id.as_bytes()),
            id,
            tenant: ragd_core::domain::TenantId::parse("acme").unwrap(),
            kind: ragd_core::domain::GrantKind::Credential,
            expires_at,
        };
        // Stored as if 11 minutes ago, so that storing does not already sweep the stale one.
        store.grant_put(&grant, now - 660_000).await.unwrap();
    }
    let path = |key: &str| format!("/v1/tenants/acme/assets:oauthCredentials?credentialKey={key}");
    let fresh = app
        .request(reqwest::Method::GET, &path("ck_fresh"), None, None)
        .await;
    assert_eq!(
        (fresh.status, fresh.body["accessToken"].as_str()),
        (StatusCode::OK, Some("at"))
    );
    app.request(reqwest::Method::GET, &path("ck_stale"), None, None)
        .await
        .problem(400, "/problems/validation");
}
