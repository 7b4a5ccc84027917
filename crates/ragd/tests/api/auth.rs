//! JWT verification and scopes: every way a token can be wrong, and JWKS mode.

use crate::helpers::*;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

const ASSETS: &str = "/v1/tenants/acme/assets";

fn claims(exp_offset: i64) -> serde_json::Value {
    json!({"sub": "u", "tenants": ["acme"], "scope": "assets:read assets:write", "exp": (now_secs() as i64 + exp_offset)})
}

#[tokio::test]
async fn missing_or_malformed_tokens_are_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let r = app.request(Method::GET, ASSETS, None, None).await;
    r.problem(401, "/problems/unauthenticated");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    app.get(ASSETS, "not-a-jwt")
        .await
        .problem(401, "/problems/unauthenticated");
    let r = app
        .client
        .get(format!("{}{ASSETS}", app.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_future_and_exp_less_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    let r = app.get(ASSETS, &sign(&claims(-3600))).await;
    assert!(
        r.problem(401, "/problems/unauthenticated")["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let mut nbf = claims(3600);
    nbf["nbf"] = json!(now_secs() + 3600);
    app.get(ASSETS, &sign(&nbf))
        .await
        .problem(401, "/problems/unauthenticated");
    let mut no_exp = claims(0);
    no_exp.as_object_mut().unwrap().remove("exp");
    app.get(ASSETS, &sign(&no_exp))
        .await
        .problem(401, "/problems/unauthenticated");
    assert_eq!(
        app.get(ASSETS, &sign(&claims(3600))).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_signatures_alg_none_and_algorithm_switching_are_rejected() {
    let app = TestApp::spawn().await;
    let other = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(3600),
        &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-entirely"),
    )
    .unwrap();
    let r = app.get(ASSETS, &other).await;
    assert!(
        r.problem(401, "/problems/unauthenticated")["detail"]
            .as_str()
            .unwrap()
            .contains("signature")
    );

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims(3600).to_string())
    );
    app.get(ASSETS, &none)
        .await
        .problem(401, "/problems/unauthenticated");

    // Same secret, another HMAC algorithm: the algorithm is pinned, so this must not verify.
    let hs384 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &claims(3600),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    app.get(ASSETS, &hs384)
        .await
        .problem(401, "/problems/unauthenticated");
}

#[tokio::test]
async fn scopes_gate_reads_and_writes() {
    let app = TestApp::spawn().await;
    let read = token_for("acme", "assets:read");
    let write = token_for("acme", "assets:write");
    let none = token_for("acme", "");
    assert_eq!(app.get(ASSETS, &read).await.status, StatusCode::OK);
    let r = app.post(ASSETS, &read, text_asset(&[("a", "b")])).await;
    assert!(
        r.problem(403, "/problems/forbidden")["detail"]
            .as_str()
            .unwrap()
            .contains("assets:write")
    );
    app.get(ASSETS, &write)
        .await
        .problem(403, "/problems/forbidden");
    app.get(ASSETS, &none)
        .await
        .problem(403, "/problems/forbidden");
    assert_eq!(
        app.post(ASSETS, &write, text_asset(&[("a", "b")]))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn tenants_claim_limits_the_tenants_and_star_is_an_operator() {
    let app = TestApp::spawn().await;
    app.get(ASSETS, &token_for("other", "assets:read"))
        .await
        .problem(404, "/problems/not-found");
    assert_eq!(
        app.get(ASSETS, &token_for("*", "assets:read")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/tenants/anyone/assets", &token_for("*", "assets:read"))
            .await
            .status,
        StatusCode::OK
    );
    let multi =
        sign(&json!({"tenants": ["x", "acme"], "scope": "assets:read", "exp": now_secs() + 60}));
    assert_eq!(app.get(ASSETS, &multi).await.status, StatusCode::OK);
    app.get(
        "/v1/tenants/bad%20tenant/assets",
        &token_for("*", "assets:read"),
    )
    .await
    .problem(400, "/problems/validation");
}

/// Serves the test key set on a port of its own, as an identity provider would.
async fn jwks_server() -> String {
    let jwks: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/es256-jwks.json")).unwrap();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || async move { axum::Json(jwks.clone()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/jwks")
}

fn es256(kid: &str, claims: &serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(include_bytes!("fixtures/es256-private.pem"))
        .unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

#[tokio::test]
async fn jwks_mode_accepts_the_providers_es256_tokens_only() {
    let url = jwks_server().await;
    let app = TestApp::spawn_with(
        |c| {
            c.jwks_url = Some(url);
            c.jwt_issuer = Some("https://issuer.test".into());
            c.jwt_audience = Some("ragd".into());
        },
        None,
    )
    .await;
    let mut good = claims(3600);
    good["iss"] = json!("https://issuer.test");
    good["aud"] = json!("ragd");
    assert_eq!(
        app.get(ASSETS, &es256("test-key-1", &good)).await.status,
        StatusCode::OK
    );
    app.get(ASSETS, &es256("unknown-kid", &good))
        .await
        .problem(401, "/problems/unauthenticated");
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.test");
    app.get(ASSETS, &es256("test-key-1", &wrong_iss))
        .await
        .problem(401, "/problems/unauthenticated");
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    app.get(ASSETS, &es256("test-key-1", &wrong_aud))
        .await
        .problem(401, "/problems/unauthenticated");
    // An HS256 token, even with the right claims, is an algorithm switch in JWKS mode.
    app.get(ASSETS, &sign(&good))
        .await
        .problem(401, "/problems/unauthenticated");
}
