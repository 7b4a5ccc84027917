//! `/v1/tenants/{tenant}/assets…`: create, read, update, delete and refresh assets.

use super::unknown_method;
use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::extract::{JsonBody, Query, split_method};
use crate::pagination::ListQuery;
use crate::problem::ApiResult;
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ragd_core::domain::AssetView;
use ragd_core::services::Refresh;

impl AppState {
    pub(crate) fn asset_dto(&self, view: &AssetView) -> Asset {
        let e = &view.asset.embedding;
        Asset::from_domain(view, self.services.models.price(&e.provider, &e.model))
    }

    pub(crate) fn operation_dto(&self, op: &ragd_core::domain::Operation) -> AssetOperation {
        AssetOperation::from_domain(op, self.services.operation_price(op))
    }

    pub(crate) fn webhook_dto(
        &self,
        view: &AssetView,
        issued: &ragd_core::services::WebhookIssued,
    ) -> AssetWebhook {
        let provider = view
            .asset
            .auto_update
            .as_ref()
            .and_then(|c| c.provider.as_deref());
        AssetWebhook::from_domain(issued, provider, &self.public_url)
    }
}

/// Lists the tenant's assets, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets", tag = "assets",
    params(("tenant" = String, Path), ListQuery),
    responses((status = 200, body = Page<Asset>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn list_assets(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<Asset>>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let search = q.search.clone().unwrap_or_default();
    let scope = format!("assets|{tenant}|{}", search.trim());
    let page = s
        .services
        .asset_list(
            &caller,
            s.cursors.page_request(&scope, &q)?,
            q.search.clone(),
        )
        .await?;
    Ok(Json(Page {
        next_page_token: page.next.map(|k| s.cursors.encode(&scope, k)),
        total_count: page.total,
        items: page.items.iter().map(|v| s.asset_dto(v)).collect(),
    }))
}

/// Creates an asset and starts its `INGEST` operation.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets", tag = "assets",
    params(("tenant" = String, Path)), request_body = CreateAssetRequest,
    responses((status = 201, body = AssetWithOperation), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn create_asset(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    JsonBody(req): JsonBody<CreateAssetRequest>,
) -> ApiResult<(StatusCode, Json<AssetWithOperation>)> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let (view, op, webhook) = s.services.asset_create(&caller, req.into_domain()?).await?;
    let webhook = webhook.map(|w| s.webhook_dto(&view, &w));
    Ok((
        StatusCode::CREATED,
        Json(AssetWithOperation {
            asset: s.asset_dto(&view),
            operation: s.operation_dto(&op),
            webhook,
        }),
    ))
}

/// Reads one asset.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)),
    responses((status = 200, body = Asset), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn get_asset(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, segment)): Path<(String, String)>,
) -> ApiResult<Json<Asset>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let (id, method) = split_method("asset", &segment)?;
    if let Some(m) = method {
        return Err(unknown_method(m));
    }
    Ok(Json(s.asset_dto(&s.services.asset_get(&caller, id).await?)))
}

/// Updates an asset. Changing embedding or chunking starts a `REINDEX`, changing the source's
/// parameters a `REFRESH`; names, budgets and auto-update start nothing.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/assets/{asset}", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)), request_body = PatchAssetRequest,
    responses((status = 200, body = PatchAssetResponse), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn patch_asset(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, segment)): Path<(String, String)>,
    body: crate::extract::RawJson,
) -> ApiResult<Json<PatchAssetResponse>> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let (id, method) = split_method("asset", &segment)?;
    if let Some(m) = method {
        return Err(unknown_method(m));
    }
    let req: PatchAssetRequest = body.parse()?;
    let (view, op, webhook) = s
        .services
        .asset_patch(&caller, id, req.into_domain()?)
        .await?;
    let webhook = webhook.map(|w| s.webhook_dto(&view, &w));
    Ok(Json(PatchAssetResponse {
        asset: s.asset_dto(&view),
        operation: op.as_ref().map(|o| s.operation_dto(o)),
        webhook,
    }))
}

/// Deletes an asset with its documents; its running operations end `FAILED` ("asset deleted").
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/assets/{asset}", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)),
    responses((status = 204), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn delete_asset(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, segment)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let (id, method) = split_method("asset", &segment)?;
    if let Some(m) = method {
        return Err(unknown_method(m));
    }
    s.services.asset_delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /assets/{asset}:method`: dispatches the custom methods of an asset.
pub async fn post_asset_method(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, segment)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let (id, method) = split_method("asset", &segment)?;
    match method {
        Some("refresh") => {
            let req: RefreshRequest = if body.is_empty() {
                RefreshRequest::default()
            } else {
                crate::extract::parse_json(&body)?
            };
            Ok(refresh_asset(s, claims, tenant, id, req)
                .await?
                .into_response())
        }
        Some("estimate") => {
            let req: EstimateRequest =
                crate::extract::parse_json(if body.is_empty() { b"{}" } else { &body })?;
            Ok(estimate_asset(s, claims, tenant, id, req)
                .await?
                .into_response())
        }
        Some("rollback") => Ok(rollback_asset(s, claims, tenant, id).await?.into_response()),
        Some("regenerateWebhook") => Ok(regenerate_webhook(s, claims, tenant, id)
            .await?
            .into_response()),
        Some("search") => {
            let req: SearchRequestBody =
                crate::extract::parse_json(if body.is_empty() { b"{}" } else { &body })?;
            Ok(super::search::search_asset(s, claims, tenant, id, req)
                .await?
                .into_response())
        }
        Some(m) => Err(unknown_method(m)),
        None => Err(crate::problem::ApiError(ragd_core::Error::MethodNotAllowed)),
    }
}

/// Re-ingests what changed in the source: new and changed documents are processed, vanished ones
/// removed, unchanged ones skipped. While another operation is active: 429.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets/{asset}:refresh", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)), request_body = RefreshRequest,
    responses((status = 202, body = AssetWithOperation),
        (status = 429, body = ProblemDetails, content_type = "application/problem+json", headers(("Retry-After" = u64))),
        (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn refresh_asset(
    s: AppState,
    claims: crate::auth::Claims,
    tenant: String,
    id: uuid::Uuid,
    req: RefreshRequest,
) -> ApiResult<(StatusCode, Json<AssetWithOperation>)> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let (view, op) = s
        .services
        .asset_refresh(
            &caller,
            id,
            Refresh {
                document_ids: req.document_ids,
                force: req.force,
            },
        )
        .await?;
    Ok(accepted(&s, &view, &op))
}

/// 202 with the asset and the operation a custom method started.
fn accepted(
    s: &AppState,
    view: &ragd_core::domain::AssetView,
    op: &ragd_core::domain::Operation,
) -> (StatusCode, Json<AssetWithOperation>) {
    (
        StatusCode::ACCEPTED,
        Json(AssetWithOperation {
            asset: s.asset_dto(view),
            operation: s.operation_dto(op),
            webhook: None,
        }),
    )
}

/// **(ragd)** Makes the generation the last re-index replaced serve again (while it is kept,
/// see `previousGeneration`), and starts a forced `REFRESH` that brings it up to date with the
/// source. Without one: 400; while another operation is active: 429.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets/{asset}:rollback", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)),
    responses((status = 202, body = AssetWithOperation),
        (status = 429, body = ProblemDetails, content_type = "application/problem+json", headers(("Retry-After" = u64))),
        (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn rollback_asset(
    s: AppState,
    claims: crate::auth::Claims,
    tenant: String,
    id: uuid::Uuid,
) -> ApiResult<(StatusCode, Json<AssetWithOperation>)> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let (view, op) = s.services.asset_rollback(&caller, id).await?;
    Ok(accepted(&s, &view, &op))
}

/// **(ragd)** Prices a change of the embedding model or chunking before it is made: the
/// documents, chunks and tokens a `REINDEX` with these settings would embed, and its cost,
/// counted from the stored texts without calling the embedding provider.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets/{asset}:estimate", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)), request_body = EstimateRequest,
    responses((status = 200, body = AssetEstimate), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn estimate_asset(
    s: AppState,
    claims: crate::auth::Claims,
    tenant: String,
    id: uuid::Uuid,
    req: EstimateRequest,
) -> ApiResult<Json<AssetEstimate>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let proposal = req.embedding.into();
    let estimate = s.services.asset_estimate(&caller, id, &proposal).await?;
    Ok(Json(estimate.into()))
}

/// Gives the asset's webhook a new URL and signing secret; the old ones stop working at once.
/// An asset without a WEBHOOK auto-update: 400.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets/{asset}:regenerateWebhook", tag = "assets",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path)),
    responses((status = 200, body = AssetWebhook), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn regenerate_webhook(
    s: AppState,
    claims: crate::auth::Claims,
    tenant: String,
    id: uuid::Uuid,
) -> ApiResult<Json<AssetWebhook>> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let issued = s.services.webhook_regenerate(&caller, id).await?;
    let view = s.services.asset_get(&caller, id).await?;
    Ok(Json(s.webhook_dto(&view, &issued)))
}
