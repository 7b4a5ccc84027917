//! **(ragd)** `/v1/tenants/{tenant}/llmConfigs…`: a tenant's endpoints and keys for remote
//! embedding providers, named by assets' `embeddingLlmConfigId`.

use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::extract::{JsonBody, Query, parse_id};
use crate::pagination::ListQuery;
use crate::problem::ApiResult;
use crate::wire::{LlmConfig, LlmConfigRequest, Page, ProblemDetails};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

/// Lists the tenant's LLM configs, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/llmConfigs", tag = "llmConfigs",
    params(("tenant" = String, Path), ListQuery),
    responses((status = 200, body = Page<LlmConfig>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn list(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<LlmConfig>>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let scope = format!("llmConfigs|{tenant}");
    let page = s
        .services
        .llm_config_list(&caller, s.cursors.page_request(&scope, &q)?)
        .await?;
    Ok(Json(Page {
        next_page_token: page.next.map(|k| s.cursors.encode(&scope, k)),
        total_count: page.total,
        items: page.items.iter().map(LlmConfig::from_domain).collect(),
    }))
}

/// Creates an LLM config; its key is sealed and never returned.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/llmConfigs", tag = "llmConfigs",
    params(("tenant" = String, Path)), request_body = LlmConfigRequest,
    responses((status = 201, body = LlmConfig), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn create(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    JsonBody(req): JsonBody<LlmConfigRequest>,
) -> ApiResult<(StatusCode, Json<LlmConfig>)> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let config = s
        .services
        .llm_config_create(&caller, req.into_domain())
        .await?;
    Ok((StatusCode::CREATED, Json(LlmConfig::from_domain(&config))))
}

/// Reads an LLM config.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/llmConfigs/{config}", tag = "llmConfigs",
    params(("tenant" = String, Path), ("config" = uuid::Uuid, Path)),
    responses((status = 200, body = LlmConfig), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn get(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<LlmConfig>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let config = s
        .services
        .llm_config_get(&caller, parse_id("config", &id)?)
        .await?;
    Ok(Json(LlmConfig::from_domain(&config)))
}

/// Changes an LLM config (rotates its key, moves its endpoint, sets its limits). Assets that
/// name it use the new settings from their next request.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/llmConfigs/{config}", tag = "llmConfigs",
    params(("tenant" = String, Path), ("config" = uuid::Uuid, Path)), request_body = LlmConfigRequest,
    responses((status = 200, body = LlmConfig), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn patch(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<LlmConfigRequest>,
) -> ApiResult<Json<LlmConfig>> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let config = s
        .services
        .llm_config_patch(&caller, parse_id("config", &id)?, req.into_domain())
        .await?;
    Ok(Json(LlmConfig::from_domain(&config)))
}

/// Deletes an LLM config that no asset names (400 otherwise).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/llmConfigs/{config}", tag = "llmConfigs",
    params(("tenant" = String, Path), ("config" = uuid::Uuid, Path)),
    responses((status = 204), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn delete(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    s.services
        .llm_config_delete(&caller, parse_id("config", &id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
