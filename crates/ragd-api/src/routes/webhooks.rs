//! `POST /v1/webhooks/{webhook}`: inbound deliveries (anonymous; verified by their signature).

use crate::AppState;
use crate::problem::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use ragd_core::Error;
use ragd_core::services::DeliveryHeaders;

/// Largest delivery body accepted (GitHub caps its payloads at 25 MB).
pub const MAX_DELIVERY_BYTES: usize = 25 * 1024 * 1024;

/// Receives a delivery: 401 unless the body's HMAC-SHA256 with the webhook's signing secret
/// matches `X-Hub-Signature-256` (or `X-Ragd-Signature`); otherwise 204, having queued a
/// `WEBHOOK_UPDATE` of the documents the payload names (GitHub push: changed paths; otherwise
/// `{"documentIds": [...]}` or `{"paths": [...]}`; nothing named: everything), or joined the
/// update still pending.
#[utoipa::path(post, path = "/v1/webhooks/{webhook}", tag = "webhooks",
    params(("webhook" = uuid::Uuid, Path),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "sha256=<hex HMAC-SHA256 of the raw body>")),
    request_body(content = Object, description = "The sender's payload", content_type = "application/json"),
    responses((status = 204), (status = "4XX", body = crate::wire::ProblemDetails, content_type = "application/problem+json")))]
pub async fn receive(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let rejected = || {
        ApiError(Error::Unauthenticated(
            "the webhook does not exist or the delivery's signature does not verify".into(),
        ))
    };
    let id = uuid::Uuid::parse_str(&id).map_err(|_| rejected())?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let delivery = DeliveryHeaders {
        signature: header("x-hub-signature-256").or_else(|| header("x-ragd-signature")),
        github_event: header("x-github-event"),
    };
    let outcome = s.services.webhook_receive(id, delivery, &body).await?;
    tracing::info!(webhook = %id, outcome = ?outcome.as_ref().map(|d| match d {
        ragd_core::domain::Delivery::Started(op) => format!("started {op}"),
        ragd_core::domain::Delivery::Joined(op) => format!("joined {op}"),
        ragd_core::domain::Delivery::Deferred => "deferred".to_owned(),
    }), "webhook delivery accepted");
    Ok(StatusCode::NO_CONTENT)
}
