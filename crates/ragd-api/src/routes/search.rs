//! `POST /assets/{asset}:search`, `POST /search` **(ragd)** and `GET /assets/{asset}/usage`.

use crate::AppState;
use crate::auth::{Authed, Claims, Scope};
use crate::extract::{JsonBody, parse_id};
use crate::problem::ApiResult;
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use ragd_core::Error;

/// Searches one asset's chunks: full text (BM25), vector (cosine) or hybrid (both, fused).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets/{asset}:search", tag = "search",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)), request_body = SearchRequestBody,
    responses((status = 200, body = SearchResponse), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn search_asset(
    s: AppState,
    claims: Claims,
    tenant: String,
    asset: uuid::Uuid,
    req: SearchRequestBody,
) -> ApiResult<Json<SearchResponse>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    if req.asset_ids.is_some() {
        return Err(Error::invalid(
            "assetIds",
            "is for POST /v1/tenants/{tenant}/search; this path names its asset",
        )
        .into());
    }
    let start = std::time::Instant::now();
    let searched = s
        .services
        .search(&caller, Some(asset), req.into_domain()?)
        .await?;
    Ok(Json(SearchResponse::new(searched, start)))
}

/// **(ragd)** Searches several assets of the tenant at once (`assetIds`, default all).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/search", tag = "search",
    params(("tenant" = String, Path)), request_body = SearchRequestBody,
    responses((status = 200, body = SearchResponse), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn search_tenant(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    JsonBody(req): JsonBody<SearchRequestBody>,
) -> ApiResult<Json<SearchResponse>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let start = std::time::Instant::now();
    let searched = s.services.search(&caller, None, req.into_domain()?).await?;
    Ok(Json(SearchResponse::new(searched, start)))
}

/// Tokens and chunks of the asset's current index, and how many operations it has run.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/usage", tag = "search",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)),
    responses((status = 200, body = AssetUsage), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn usage(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset)): Path<(String, String)>,
) -> ApiResult<Json<AssetUsage>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let id = parse_id("asset", &asset)?;
    let (tokens, chunks, operations) = s.services.asset_usage(&caller, id).await?;
    Ok(Json(AssetUsage {
        asset_id: id,
        total_token_count: tokens,
        total_chunk_count: chunks,
        operation_count: operations,
    }))
}
