//! `assets:sourceTypes`, `assets:supportedTypes`, `assets:embeddingModels`: what this build can do.

use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::problem::ApiResult;
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use ragd_core::{content_types, sources};

/// Source types this build can ingest, with their parameters.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets:sourceTypes", tag = "catalog",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Items<SourceTypeDescriptor>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn source_types(
    Authed(claims): Authed,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Items<SourceTypeDescriptor>>> {
    claims.caller(&tenant, Scope::Read)?;
    Ok(Json(Items {
        items: sources::SOURCE_TYPES.iter().map(Into::into).collect(),
    }))
}

/// Content types ragd accepts, with their extensions and size limits. The image types (ragd)
/// are read by OCR and accepted from uploads only.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets:supportedTypes", tag = "catalog",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Items<SupportedType>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn supported_types(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Items<SupportedType>>> {
    claims.caller(&tenant, Scope::Read)?;
    let items = content_types::CONTENT_TYPES
        .iter()
        .chain(content_types::IMAGE_TYPES)
        .map(|(ct, exts)| SupportedType {
            content_type: (*ct).to_owned(),
            extensions: exts.iter().map(|e| (*e).to_owned()).collect(),
            max_bytes: s.services.upload_limit,
        })
        .collect();
    Ok(Json(Items { items }))
}

/// Embedding models with their dimensions, limits, prices and chunking defaults.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets:embeddingModels", tag = "catalog",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Items<EmbeddingModel>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn embedding_models(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Items<EmbeddingModel>>> {
    claims.caller(&tenant, Scope::Read)?;
    Ok(Json(Items {
        items: s.services.models.models().iter().map(Into::into).collect(),
    }))
}
