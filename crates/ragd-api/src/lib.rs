//! ragd's HTTP layer: the routes of the contract (`shared/spec/api.md`), their wire types,
//! authentication, problem+json errors and the OpenAPI description.
//!
//! # Layout
//! - [`routes`]: handlers, one module per resource: `assets`, `operations`, `documents`, `files`,
//!   `search`, `webhooks`, `oauth`, `llm_configs`, `embeddings`, `catalog`, `system` (health, metrics,
//!   OpenAPI) and `console` (the web console).
//! - [`wire`]: JSON shapes and their conversions to and from `ragd_core` types.
//! - [`auth`]: JWT verification (HS256 or JWKS) and the tenant/scope decision; [`limits`]: request
//!   rates, concurrent uploads and timeouts.
//! - [`problem`]: the single mapping from `ragd_core::Error` to problem+json.
//! - [`extract`], [`pagination`]: input parsing that fails with problems, and signed cursors.
//! - [`openapi`]: the generated OpenAPI document; [`allow`]: the methods of each path, read from it.
//!
//! This crate holds no rules of its own: every decision about assets and operations is made by
//! `ragd_core::services::Services`.

pub mod allow;
pub mod auth;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod routes;
pub mod wire;

use crate::auth::Authenticator;
use crate::pagination::CursorCodec;
use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use ragd_core::services::Services;
use routes::{
    assets, catalog, console, documents, embeddings, files, llm_configs, oauth, operations, search,
    system, webhooks,
};
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Largest JSON request body: room for an inline document of 5 MiB; bigger texts are uploads.
pub const MAX_JSON_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub auth: Arc<Authenticator>,
    pub limits: Arc<limits::Limits>,
    pub cursors: Arc<CursorCodec>,
    pub metrics: Option<PrometheusHandle>,
    /// The local embedding model served at `/v1/embeddings` (`None` in a worker-only process).
    pub embedder: Option<Arc<dyn ragd_core::ports::embed::Embedder>>,
    /// The URL clients reach this service at (webhook URLs start with it).
    pub public_url: String,
    /// Where the OAuth callback sends the browser by default (with `?credentialKey=…`).
    pub oauth_success_url: String,
    /// The HS256 secret the console's one-click local sign-in signs with; `None` turns it off
    /// (a listener off loopback, JWKS-verified tokens, or `console_local_token = false`).
    pub local_token_secret: Option<Arc<[u8]>>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(s: &AppState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<AppState> for Arc<limits::Limits> {
    fn from_ref(s: &AppState) -> Self {
        s.limits.clone()
    }
}

/// Counts requests and their latency by route template and status.
async fn track_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("ragd_http_requests_total", &labels).increment(1);
    metrics::histogram!("ragd_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}

/// The HTTP router. With `serve_api` false (a worker-only process) only the operational
/// endpoints are served: health, readiness, metrics and the OpenAPI document.
pub fn router(state: AppState, serve_api: bool) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let methods = Arc::new(allow::MethodTable::new(serve_api));
    let root = if serve_api {
        api_routes(&state)
    } else {
        Router::new()
    };
    root.route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .fallback(problem::route_not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .route_layer(middleware::from_fn(track_metrics))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(middleware::from_fn(problem::render_problems))
                .layer(middleware::from_fn_with_state(methods, allow::check_method))
                .layer(CatchPanicLayer::custom(|_| {
                    axum::response::IntoResponse::into_response(problem::ApiError(ragd_core::Error::internal("a handler panicked")))
                }))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY_BYTES)),
        )
        .with_state(state)
}

/// Every endpoint under `/v1`: the tenant's resources, the OpenAI-compatible embeddings, the OAuth
/// callback, inbound webhooks and the console.
fn api_routes(state: &AppState) -> Router<AppState> {
    let deliveries = post(webhooks::receive).layer(axum::extract::DefaultBodyLimit::max(
        webhooks::MAX_DELIVERY_BYTES,
    ));
    Router::new()
        .nest("/v1/tenants/{tenant}", tenant_routes(state))
        .route("/v1/embeddings", post(embeddings::create_embeddings))
        .route("/v1/oauth/callback", get(oauth::callback))
        .route("/v1/oauth/done", get(oauth::done))
        .route("/v1/webhooks/{webhook}", deliveries)
        .route("/", get(console::root))
        .route("/console", get(console::page))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .route("/console/token", post(console::local_token))
}

/// The endpoints under `/v1/tenants/{tenant}`. Custom methods (`…/{asset}:refresh`) share their
/// resource's route: each resource's `post_*_method` dispatches them (the router cannot match a
/// parameter with a suffix), and the OpenAPI document lists every one.
fn tenant_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/assets",
            get(assets::list_assets).post(assets::create_asset),
        )
        .route("/assets:sourceTypes", get(catalog::source_types))
        .route("/assets:supportedTypes", get(catalog::supported_types))
        .route("/assets:embeddingModels", get(catalog::embedding_models))
        .route("/assets:authorize", post(oauth::authorize))
        .route("/assets:oauthCredentials", get(oauth::credentials))
        .route("/assets:import", post(files::import))
        .route("/storage/{file}", get(files::download))
        .route(
            "/assets/{asset}",
            get(assets::get_asset)
                .patch(assets::patch_asset)
                .delete(assets::delete_asset)
                .post(assets::post_asset_method),
        )
        .route(
            "/assets/{asset}/operations",
            get(operations::list_operations),
        )
        .route("/assets/{asset}/usage", get(search::usage))
        .route("/search", post(search::search_tenant))
        .route(
            "/llmConfigs",
            get(llm_configs::list).post(llm_configs::create),
        )
        .route(
            "/llmConfigs/{config}",
            get(llm_configs::get)
                .patch(llm_configs::patch)
                .delete(llm_configs::delete),
        )
        .route("/assets/{asset}/documents", get(documents::list_documents))
        .route(
            "/assets/{asset}/documents/{document}",
            get(documents::get_document)
                .patch(documents::patch_document)
                .delete(documents::delete_document),
        )
        .route(
            "/assets/{asset}/documents/{document}/chunks",
            get(documents::list_chunks),
        )
        .route(
            "/assets/{asset}/operations/{operation}",
            get(operations::get_operation_or_method).post(operations::post_operation_method),
        )
        // The timeout ends the wait for a response's head (a `:watch` stream runs on after it);
        // uploads, added after it, are bounded by their size and the concurrent-upload cap.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.limits.config.request_timeout,
        ))
        // Uploads are limited by the configured upload limit while streaming, not by the body limit.
        .route(
            "/assets:file",
            post(files::upload_asset).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/storage",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}
