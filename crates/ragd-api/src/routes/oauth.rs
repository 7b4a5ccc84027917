//! OAuth: `:authorize` (a PKCE authorization URL), the provider's redirect target
//! `/v1/oauth/callback`, the single-use credential exchange `:oauthCredentials` (anonymous), and
//! a plain default success page.

use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::extract::{JsonBody, Query};
use crate::problem::{ApiError, ApiResult};
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ragd_core::Error;
use ragd_core::domain::TenantId;
use serde::Deserialize;

/// Starts an authorization for a source type with a configured OAuth provider: send the user's
/// browser to `authorizationUrl`. A source type without OAuth (or without a provider): 400.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets:authorize", tag = "oauth",
    params(("tenant" = String, Path)), request_body = AuthorizeRequest,
    responses((status = 200, body = AuthorizeResponse), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn authorize(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    JsonBody(req): JsonBody<AuthorizeRequest>,
) -> ApiResult<Json<AuthorizeResponse>> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let url = s
        .services
        .oauth_authorize(
            &caller,
            &req.source_type,
            req.redirect_uri,
            &s.oauth_success_url,
        )
        .await?;
    Ok(Json(AuthorizeResponse {
        authorization_url: url,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsQuery {
    #[param(required = true, min_length = 1)]
    pub credential_key: Option<String>,
}

/// The tokens behind a credential key from the callback, once (anonymous: the key is the
/// capability). A used, expired or unknown key: 400.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets:oauthCredentials", tag = "oauth",
    params(("tenant" = String, Path), CredentialsQuery),
    responses((status = 200, body = OAuthCredentials), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")))]
pub async fn credentials(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<CredentialsQuery>,
) -> ApiResult<Json<OAuthCredentials>> {
    let tenant = TenantId::parse(&tenant)?;
    let key = q
        .credential_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError(Error::invalid("credentialKey", "is required")))?;
    Ok(Json(OAuthCredentials::from_domain(
        s.services.oauth_credentials(&tenant, &key).await?,
    )))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    #[param(required = true, min_length = 1)]
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// Where the provider sends the browser: checks the state, exchanges the code, and redirects
/// (303) to the success page with `?credentialKey=…` (or `?error=…` when the user declined).
#[utoipa::path(get, path = "/v1/oauth/callback", tag = "oauth", params(CallbackQuery),
    responses((status = 303, description = "to the success page"), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")))]
pub async fn callback(
    State(s): State<AppState>,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<Response> {
    let state = q
        .state
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError(Error::invalid("state", "is required")))?;
    let location = s
        .services
        .oauth_callback(&state, q.code.as_deref(), q.error.as_deref())
        .await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// The default success page: shows the credential key to copy into the client.
#[utoipa::path(get, path = "/v1/oauth/done", tag = "oauth", params(CredentialsQuery),
    responses((status = 200, description = "a plain page with the credential key", content_type = "text/plain")))]
pub async fn done(Query(q): Query<CredentialsQuery>) -> Response {
    let body = match q.credential_key {
        Some(k) => {
            format!(
                "Authorised. Exchange this credential key within 10 minutes (GET …/assets:oauthCredentials?credentialKey=…):\n\n{k}\n"
            )
        }
        None => "The authorization did not complete.\n".to_owned(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
