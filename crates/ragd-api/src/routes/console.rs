//! The web console (ragd): a page, a script and a style sheet embedded in the binary and served at
//! `/console`; the page talks to the public API with the bearer token the person signs in with.
//! `POST /console/token` is the one-click local sign-in, offered only to a browser on this machine.

use crate::AppState;
use crate::problem::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use ragd_core::Error;
use ragd_core::domain::TenantId;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

const PAGE: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLE: &str = include_str!("../../console/console.css");

/// How long a one-click local token lasts.
const LOCAL_TOKEN_TTL: Duration = Duration::from_secs(8 * 3600);

/// Everything the page loads comes from this server; nothing runs inline; no framing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                      form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn asset(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    let mut res = ([(header::CONTENT_TYPE, content_type)], body.into()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// `GET /`: a person who opens the server's address lands on the console.
pub async fn root() -> Redirect {
    Redirect::to("/console")
}

/// `GET /console`: the page; it says whether the one-click local sign-in is offered to this browser.
pub async fn page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let local = s.local_token_secret.is_some() && local_browser(&headers);
    asset(
        "text/html; charset=utf-8",
        PAGE.replace("{{local-token}}", if local { "on" } else { "off" }),
    )
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

#[derive(Deserialize)]
pub struct LocalTokenRequest {
    tenant: String,
}

/// `POST /console/token`: a read-write token for `tenant`, for a browser on this machine of a
/// server listening on loopback. The `Host` must be a loopback name (a page of another site that
/// rebinds its DNS name to 127.0.0.1 sends its own name) and the request must come from the
/// console's own origin (`Origin` / `Sec-Fetch-Site`, which browsers set and pages cannot forge).
pub async fn local_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<LocalTokenRequest>,
) -> ApiResult<Json<Value>> {
    let Some(secret) = &s.local_token_secret else {
        return Err(ApiError(Error::Forbidden(
            "the local sign-in is off: this server does not listen on loopback, verifies tokens with a JWKS, or has console_local_token = false; paste a token".into(),
        )));
    };
    if !local_browser(&headers) {
        return Err(ApiError(Error::Forbidden(
            "the local sign-in is only for the console opened at a loopback address of this server"
                .into(),
        )));
    }
    let tenant = TenantId::parse(body.tenant.trim())?;
    let token = crate::auth::mint(
        secret,
        tenant.as_str(),
        "assets:read assets:write",
        LOCAL_TOKEN_TTL,
        "console",
    )
    .map_err(|e| Error::internal(format!("minting a token: {e}")))?;
    let expires_at = ragd_core::time::now_ms() + LOCAL_TOKEN_TTL.as_millis() as i64;
    Ok(Json(
        json!({"token": token, "tenant": tenant.as_str(), "expiresAt": expires_at}),
    ))
}

/// Is this request from a page of the console at a loopback address (not a cross-site one)?
fn local_browser(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let loopback = crate::auth::is_loopback_name(name);
    let same_origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_none_or(|o| o == format!("http://{host}"))
        && headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v == "same-origin" || v == "none");
    loopback && same_origin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    axum::http::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn only_a_same_origin_page_at_a_loopback_name_is_local() {
        assert!(local_browser(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(local_browser(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(local_browser(&headers(&[("host", "[::1]:8080")])));
        // DNS rebinding: the browser sends the attacker's name.
        assert!(!local_browser(&headers(&[("host", "evil.example:8080")])));
        // A cross-site page posting to the console.
        assert!(!local_browser(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!local_browser(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!local_browser(&headers(&[("host", "10.0.0.5:8080")])));
        assert!(!local_browser(&HeaderMap::new()));
    }
}
