//! The one place where errors become HTTP: `ragd_core::Error` → RFC 7807 problem+json.
//!
//! Handlers return [`ApiError`]; its response carries a [`Problem`] extension, and the
//! [`render_problems`] middleware writes the body with `instance` (the request path) and the request
//! id, which only the middleware knows.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ragd_core::Error;
use serde_json::{Map, Value, json};

/// Seconds a client is told to wait before retrying a change of a busy asset.
const OPERATION_ACTIVE_RETRY_SECONDS: u64 = 5;

/// A problem waiting to be rendered by [`render_problems`].
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub extensions: Map<String, Value>,
}

/// The error type of every handler.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Every problem `type` ragd answers with, documented in the OpenAPI description.
pub const PROBLEM_TYPES: &[(&str, &str)] = &[
    (
        "/problems/validation",
        "The request is malformed or breaks a rule; `errors` names the fields.",
    ),
    (
        "/problems/not-found",
        "No such resource for this tenant (other tenants' resources are not found either).",
    ),
    (
        "/problems/unauthenticated",
        "The bearer token is missing, malformed, expired or not signed by a trusted key.",
    ),
    (
        "/problems/forbidden",
        "The token is valid but lacks the scope the endpoint needs.",
    ),
    (
        "/problems/operation-active",
        "Another operation of the asset is PENDING or RUNNING; see `operationId` and `retryAfterSeconds`.",
    ),
    (
        "/problems/payload-too-large",
        "The request body exceeds the configured limit.",
    ),
    (
        "/problems/unsupported-media-type",
        "The content type of the request or the file is not supported.",
    ),
    (
        "/problems/method-not-allowed",
        "The path exists but not with this method; `Allow` lists the methods it has.",
    ),
    (
        "/problems/rate-limited",
        "A limit is reached (the tenant's request rate or concurrent operations, the server's concurrent uploads); `detail` names it; retry after `Retry-After` seconds.",
    ),
    (
        "/problems/unavailable",
        "A dependency (the database, the embedding model) is not available right now; `detail` says which and what to do.",
    ),
    (
        "/problems/upstream",
        "An external provider (an embedding API) refused the request or kept failing; `detail` has its reason.",
    ),
    (
        "/problems/internal",
        "An unexpected error; details are in the server log under the request id.",
    ),
];

impl ApiError {
    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.kind();
        Problem {
            status,
            kind,
            title,
            detail: self.detail(),
            extensions: self.extensions(),
        }
    }

    /// Every error kind's status, problem type and title.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match &self.0 {
            Error::Validation { .. } => (S::BAD_REQUEST, "/problems/validation", "Invalid request"),
            Error::NotFound(_) => (S::NOT_FOUND, "/problems/not-found", "Not found"),
            Error::Unauthenticated(_) => (
                S::UNAUTHORIZED,
                "/problems/unauthenticated",
                "Unauthenticated",
            ),
            Error::Forbidden(_) => (S::FORBIDDEN, "/problems/forbidden", "Forbidden"),
            Error::OperationActive { .. } => (
                S::TOO_MANY_REQUESTS,
                "/problems/operation-active",
                "Operation in progress",
            ),
            Error::PayloadTooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                "/problems/payload-too-large",
                "Payload too large",
            ),
            Error::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "/problems/method-not-allowed",
                "Method not allowed",
            ),
            Error::RateLimited { .. } => (
                S::TOO_MANY_REQUESTS,
                "/problems/rate-limited",
                "Too many requests",
            ),
            Error::UnsupportedMediaType(_) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "/problems/unsupported-media-type",
                "Unsupported media type",
            ),
            Error::Upstream(_) => (S::BAD_GATEWAY, "/problems/upstream", "Provider error"),
            Error::Unavailable(_) => (
                S::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Service unavailable",
            ),
            Error::Internal(_) => (
                S::INTERNAL_SERVER_ERROR,
                "/problems/internal",
                "Internal error",
            ),
        }
    }

    /// The problem's `detail`, for the client.
    fn detail(&self) -> String {
        match &self.0 {
            Error::Validation { detail, .. } | Error::RateLimited { detail, .. } => detail.clone(),
            Error::NotFound(what) => format!("{what} not found"),
            // Written for the client by whoever raised it (for `Unavailable`: what is unavailable
            // and what to do).
            Error::Unauthenticated(d)
            | Error::Forbidden(d)
            | Error::UnsupportedMediaType(d)
            | Error::Upstream(d)
            | Error::Unavailable(d) => d.clone(),
            Error::OperationActive { .. }
            | Error::PayloadTooLarge { .. }
            | Error::MethodNotAllowed => self.0.to_string(),
            Error::Internal(_) => {
                "an unexpected error occurred; the server log has details under this request id"
                    .to_owned()
            }
        }
    }

    /// The problem's extension members: the field errors, the operation in the way, a limit.
    fn extensions(&self) -> Map<String, Value> {
        let members = match &self.0 {
            Error::Validation { errors, .. } => vec![(
                "errors",
                errors
                    .iter()
                    .map(|e| json!({"field": e.field, "message": e.message}))
                    .collect(),
            )],
            Error::OperationActive { operation_id } => vec![
                ("operationId", json!(operation_id)),
                ("retryAfterSeconds", json!(OPERATION_ACTIVE_RETRY_SECONDS)),
            ],
            Error::PayloadTooLarge { limit_bytes } => vec![("limitBytes", json!(limit_bytes))],
            Error::RateLimited {
                retry_after_seconds,
                ..
            } => vec![("retryAfterSeconds", json!(retry_after_seconds))],
            _ => Vec::new(),
        };
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.0 {
            // Logged once, here at the edge; the client gets only the generic text.
            Error::Internal(e) => {
                tracing::error!(error = %e, source = ?e.source(), "internal error")
            }
            Error::Unavailable(d) => tracing::warn!(detail = %d, "unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let mut res = problem.status.into_response();
        let retry_after = match &self.0 {
            Error::OperationActive { .. } => Some(OPERATION_ACTIVE_RETRY_SECONDS),
            Error::RateLimited {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if problem.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res.extensions_mut().insert(problem);
        res
    }
}

/// Middleware: renders any [`Problem`] a handler produced as `application/problem+json`.
pub async fn render_problems(req: Request, next: Next) -> Response {
    let instance = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut res = next.run(req).await;
    let p = match res.extensions_mut().remove::<Problem>() {
        Some(p) => p,
        None if is_plain_error(&res) => {
            // An error answered outside ragd's handlers (an extractor's rejection: a multipart
            // body without a boundary, …) is a problem too, with the rejection's words.
            let (parts, body) = res.into_parts();
            let text = axum::body::to_bytes(body, 4096)
                .await
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
                .unwrap_or_default();
            res = Response::from_parts(parts, axum::body::Body::empty());
            plain_problem(res.status(), text)
        }
        None => return res,
    };
    let mut body = Map::new();
    body.insert("type".into(), json!(p.kind));
    body.insert("title".into(), json!(p.title));
    body.insert("status".into(), json!(p.status.as_u16()));
    body.insert("detail".into(), json!(p.detail));
    body.insert("instance".into(), json!(instance));
    if let Some(id) = request_id {
        body.insert("requestId".into(), json!(id));
    }
    body.extend(p.extensions);
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        axum::body::Body::from(Value::Object(body).to_string()),
    )
}

/// An error response that is not JSON: what a framework layer answered on its own.
fn is_plain_error(res: &Response) -> bool {
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    (res.status().is_client_error() || res.status().is_server_error()) && !json
}

/// The problem for a plain error response of `status` whose body said `text`: the domain error
/// it stands for, mapped as every other (framework 413s come from the JSON body limit).
fn plain_problem(status: StatusCode, text: String) -> Problem {
    let error = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Error::bad_request(text),
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge {
            limit_bytes: crate::MAX_JSON_BODY_BYTES as u64,
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(text),
        StatusCode::NOT_FOUND => Error::NotFound("route"),
        s if s.is_server_error() => Error::internal(text),
        _ => {
            let title = status.canonical_reason().unwrap_or("Error");
            let detail = if text.is_empty() {
                title.to_owned()
            } else {
                text.chars().take(500).collect()
            };
            return Problem {
                status,
                kind: "about:blank",
                title,
                detail,
                extensions: Map::new(),
            };
        }
    };
    ApiError(error).problem()
}

/// Fallback for unknown paths.
pub async fn route_not_found() -> ApiError {
    ApiError(Error::NotFound("route"))
}

/// Fallback for known paths with the wrong method (documented paths are answered before
/// routing, with `Allow`, by [`crate::allow::check_method`]).
pub async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}
