//! `/v1/tenants/{tenant}/assets/{asset}/documents…`: the documents of an asset and their chunks.

use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::extract::{JsonBody, Query, parse_id};
use crate::pagination::ListQuery;
use crate::problem::ApiResult;
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ragd_core::page::SortKey;

/// Lists an asset's documents, newest first; 404 until the asset has completed one ingestion.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/documents", tag = "documents",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path), ListQuery),
    responses((status = 200, body = Page<Document>), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn list_documents(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<Document>>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let asset = parse_id("asset", &asset)?;
    let scope = format!(
        "documents|{tenant}|{asset}|{}",
        q.search.as_deref().unwrap_or_default().trim()
    );
    let page = s
        .services
        .document_list(
            &caller,
            asset,
            s.cursors.page_request(&scope, &q)?,
            q.search.clone(),
        )
        .await?;
    Ok(Json(Page {
        next_page_token: page.next.map(|k| s.cursors.encode(&scope, k)),
        total_count: page.total,
        items: page.items.iter().map(Into::into).collect(),
    }))
}

/// Reads one document.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/documents/{document}", tag = "documents",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path), ("document" = uuid::Uuid, Path)),
    responses((status = 200, body = Document), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn get_document(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset, document)): Path<(String, String, String)>,
) -> ApiResult<Json<Document>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let doc = s
        .services
        .document_get(
            &caller,
            parse_id("asset", &asset)?,
            parse_id("document", &document)?,
        )
        .await?;
    Ok(Json((&doc).into()))
}

/// **(ragd)** Changes a document's metadata without re-embedding it: each key given is set, a
/// `null` removes the key. Later refreshes keep it.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/assets/{asset}/documents/{document}", tag = "documents",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path), ("document" = uuid::Uuid, Path)),
    request_body = PatchDocumentRequest,
    responses((status = 200, body = Document), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn patch_document(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset, document)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<PatchDocumentRequest>,
) -> ApiResult<Json<Document>> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let doc = s
        .services
        .document_patch(
            &caller,
            parse_id("asset", &asset)?,
            parse_id("document", &document)?,
            req.metadata,
        )
        .await?;
    Ok(Json((&doc).into()))
}

/// Deletes a document: its chunks leave the index at once. A full refresh brings it back.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/assets/{asset}/documents/{document}", tag = "documents",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path), ("document" = uuid::Uuid, Path)),
    responses((status = 204), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn delete_document(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset, document)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    s.services
        .document_delete(
            &caller,
            parse_id("asset", &asset)?,
            parse_id("document", &document)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a document's chunks, in `chunkIndex` order.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/assets/{asset}/documents/{document}/chunks", tag = "documents",
    params(("tenant" = String, Path), ("asset" = uuid::Uuid, Path), ("document" = uuid::Uuid, Path), ListQuery),
    responses((status = 200, body = ChunkPage), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn list_chunks(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, asset, document)): Path<(String, String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ChunkPage>> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let (asset, document) = (parse_id("asset", &asset)?, parse_id("document", &document)?);
    // The cursor carries the last chunk index shown (in the sort key's first field).
    let scope = format!("chunks|{tenant}|{asset}|{document}");
    let page = s.cursors.page_request(&scope, &q)?;
    let after = page
        .after
        .map(|k| k.created_at)
        .or(page.skip.checked_sub(1).map(i64::from));
    let size = page.size.get();
    let (chunks, total) = s
        .services
        .chunk_page(&caller, asset, document, after, size + 1)
        .await?;
    let more = chunks.len() > size as usize;
    let chunks: Vec<_> = chunks.into_iter().take(size as usize).collect();
    let next = if more {
        chunks.last().map(|c| {
            s.cursors.encode(
                &scope,
                SortKey {
                    created_at: c.chunk_index,
                    id: document,
                },
            )
        })
    } else {
        None
    };
    Ok(Json(ChunkPage {
        document_id: document,
        chunks: chunks.iter().map(Into::into).collect(),
        total_chunks: total,
        next_page_token: next,
    }))
}
