//! `/v1/tenants/{tenant}/assets/{asset}/operations…`: list, read, wait on, watch and cancel.

use super::unknown_method;
use crate::AppState;
use crate::auth::{Authed, Claims, Scope};
use crate::extract::{Query, parse_id, split_method};
use crate::pagination::ListQuery;
use crate::problem::{ApiError, ApiResult};
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use ragd_core::Error;
use ragd_core::domain::Operation;
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

/// Lists an asset's operations, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/operations", tag = "operations",
    params(("tenant" = String, Path), ("asset" = Uuid, Path), ListQuery),
    responses((status = 200, body = Page<AssetOperation>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn list_operations(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<AssetOperation>>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let asset = parse_id("asset", &asset)?;
    let scope = format!("operations|{tenant}|{asset}");
    let page = s
        .services
        .operation_list(&caller, asset, s.cursors.page_request(&scope, &q)?)
        .await?;
    Ok(Json(Page {
        next_page_token: page.next.map(|k| s.cursors.encode(&scope, k)),
        total_count: page.total,
        items: page.items.iter().map(|o| s.operation_dto(o)).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Seconds to wait at most (0–60, default 30).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 60)]
    pub timeout: Option<String>,
}

/// `GET /operations/{operation}` and its `:wait` and `:watch` forms.
pub async fn get_operation_or_method(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset, segment)): Path<(String, String, String)>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<Response> {
    let asset = parse_id("asset", &asset)?;
    let (id, method) = split_method("operation", &segment)?;
    match method {
        None => Ok(get_operation(s, claims, tenant, asset, id)
            .await?
            .into_response()),
        Some("wait") => Ok(wait_operation(s, claims, tenant, asset, id, q)
            .await?
            .into_response()),
        Some("watch") => Ok(watch_operation(s, claims, tenant, asset, id)
            .await?
            .into_response()),
        Some(m) => Err(unknown_method(m)),
    }
}

/// `POST /operations/{operation}:cancel`.
pub async fn post_operation_method(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset, segment)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let asset = parse_id("asset", &asset)?;
    let (id, method) = split_method("operation", &segment)?;
    match method {
        Some("cancel") => Ok(cancel_operation(s, claims, tenant, asset, id)
            .await?
            .into_response()),
        Some(m) => Err(unknown_method(m)),
        None => Err(crate::problem::ApiError(ragd_core::Error::MethodNotAllowed)),
    }
}

/// Reads one operation.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/operations/{operation}", tag = "operations",
    params(("tenant" = String, Path), ("asset" = Uuid, Path), ("operation" = Uuid, Path)),
    responses((status = 200, body = AssetOperation), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn get_operation(
    s: AppState,
    claims: Claims,
    tenant: String,
    asset: Uuid,
    id: Uuid,
) -> ApiResult<Json<AssetOperation>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let op = s.services.operation_get(&caller, asset, id).await?;
    Ok(Json(s.operation_dto(&op).with_excluded(&op)))
}

/// Long-poll: answers as soon as the operation is done, or as it stands when `timeout` passes.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/operations/{operation}:wait", tag = "operations",
    params(("tenant" = String, Path), ("asset" = Uuid, Path), ("operation" = Uuid, Path), WaitQuery),
    responses((status = 200, body = AssetOperation), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn wait_operation(
    s: AppState,
    claims: Claims,
    tenant: String,
    asset: Uuid,
    id: Uuid,
    q: WaitQuery,
) -> ApiResult<Json<AssetOperation>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let timeout = match q.timeout.as_deref() {
        None => 30.0,
        Some(t) => t
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|t| (0.0..=60.0).contains(t))
            .ok_or_else(|| {
                ApiError(Error::invalid(
                    "timeout",
                    "must be a number of seconds from 0 to 60",
                ))
            })?,
    };
    let op = s
        .services
        .operation_wait(&caller, asset, id, Duration::from_secs_f64(timeout))
        .await?;
    Ok(Json(s.operation_dto(&op)))
}

/// Server-sent events: one `operation` event per change, ending after the terminal snapshot.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/operations/{operation}:watch", tag = "operations",
    params(("tenant" = String, Path), ("asset" = Uuid, Path), ("operation" = Uuid, Path)),
    responses((status = 200, description = "`text/event-stream` of AssetOperation snapshots", content_type = "text/event-stream", body = AssetOperation),
        (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn watch_operation(
    s: AppState,
    claims: Claims,
    tenant: String,
    asset: Uuid,
    id: Uuid,
) -> ApiResult<Response> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let first = s.services.operation_get(&caller, asset, id).await?;
    struct Watch {
        s: AppState,
        caller: ragd_core::domain::Caller,
        asset: Uuid,
        last: Option<Operation>,
        pending: Option<Operation>,
    }
    let start = Watch {
        s,
        caller,
        asset,
        last: None,
        pending: Some(first),
    };
    let stream = futures::stream::unfold(start, |mut w| async move {
        if w.last.as_ref().is_some_and(|op| op.status.is_terminal()) {
            return None;
        }
        let op = match w.pending.take() {
            Some(op) => op,
            None => {
                w.s.services
                    .operation_next_change(&w.caller, w.asset, w.last.as_ref()?)
                    .await
                    .ok()?
            }
        };
        let event = Event::default()
            .event("operation")
            .json_data(w.s.operation_dto(&op))
            .ok()?;
        w.last = Some(op);
        Some((Ok::<_, std::convert::Infallible>(event), w))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Requests cancellation: `PENDING` ends `CANCELLED` at once, `RUNNING` at its next checkpoint
/// (within 2 s); a terminal operation is returned unchanged.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets/{asset}/operations/{operation}:cancel", tag = "operations",
    params(("tenant" = String, Path), ("asset" = Uuid, Path), ("operation" = Uuid, Path)),
    responses((status = 200, body = AssetOperation), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn cancel_operation(
    s: AppState,
    claims: Claims,
    tenant: String,
    asset: Uuid,
    id: Uuid,
) -> ApiResult<Json<AssetOperation>> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    Ok(Json(s.operation_dto(
        &s.services.operation_cancel(&caller, asset, id).await?,
    )))
}
