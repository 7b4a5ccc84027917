//! Uploads: `POST /storage`, `GET /storage/{file}` **(ragd)**, `POST /assets:import` and
//! `POST /assets:file`. Multipart file parts are streamed to the blob store as they arrive.

use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::extract::{JsonBody, Query, parse_id, parse_json};
use crate::problem::{ApiError, ApiResult};
use crate::wire::*;
use axum::Json;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ragd_core::Error;
use ragd_core::domain::{Caller, StoredFile};
use serde::Deserialize;
use serde_json::{Map, Value};

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError(Error::PayloadTooLarge {
            limit_bytes: crate::MAX_JSON_BODY_BYTES as u64,
        })
    } else {
        ApiError(Error::bad_request(format!(
            "malformed multipart body: {}",
            e.body_text()
        )))
    }
}

/// Streams one multipart file part to the blob store: the part is pumped through a channel while
/// the service writes, so neither holds the whole file.
async fn store_part(
    s: &AppState,
    caller: &Caller,
    mut field: Field<'_>,
    temporary: bool,
) -> ApiResult<StoredFile> {
    let file_name = field.file_name().unwrap_or_default().to_owned();
    let declared = field.content_type().map(str::to_owned);
    let (tx, rx) = tokio::sync::mpsc::channel::<ragd_core::Result<bytes::Bytes>>(8);
    let pump = async move {
        loop {
            let item = match field.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(e) => Err(multipart_error(e).0),
            };
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    };
    let body = Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx));
    let (stored, ()) = tokio::join!(
        s.services
            .file_store(caller, &file_name, declared.as_deref(), body, temporary),
        pump
    );
    Ok(stored?)
}

/// Most bytes read and discarded after an oversized upload so that the client, still sending,
/// receives the 413 instead of a reset connection.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;

/// After a refused part: reads out the rest of the body (up to [`DRAIN_LIMIT`]), then gives back
/// the error to answer with.
async fn drain(multipart: &mut Multipart, error: ApiError) -> ApiError {
    let mut read = 0u64;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT {
                return error;
            }
        }
    }
    error
}

/// The caller of an upload and its upload slot. An upload refused for a limit (the tenant's rate,
/// all slots taken) is read out first, as an oversized one is, so that the client, still sending,
/// receives the 429 rather than a reset connection.
async fn admit_upload(
    s: &AppState,
    authed: Result<Authed, ApiError>,
    tenant: &str,
    multipart: &mut Multipart,
) -> ApiResult<(Caller, tokio::sync::OwnedSemaphorePermit)> {
    let admitted = authed
        .and_then(|Authed(claims)| claims.caller(tenant, Scope::Write))
        .and_then(|c| Ok((c, s.limits.upload()?)));
    match admitted {
        Err(e @ ApiError(Error::RateLimited { .. })) => Err(drain(multipart, e).await),
        other => other,
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct StorageQuery {
    /// Swept after 24 h unless imported into an asset.
    temporary: bool,
}

/// The multipart body of `POST /storage` (its schema; the handler streams the parts).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StorageForm {
    /// The file, with its file name (1-1024 characters).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The multipart body of `POST /assets:file` (its schema; part names are case-insensitive).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AssetFileForm {
    /// The file, with its file name (1-1024 characters).
    #[schema(rename = "File", value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The asset's settings (keys case-insensitive).
    #[schema(rename = "Payload")]
    payload: Option<FilePayload>,
}

fn stored_response(tenant: &str, f: &StoredFile) -> StoredFileResponse {
    StoredFileResponse {
        file_id: f.id,
        file_type: f.content_type.clone(),
        prompt_link: storage_link(tenant, &f.id.to_string()),
    }
}

/// Uploads a file (multipart part `file`) for a later `assets:import`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/storage", tag = "files",
    params(("tenant" = String, Path), StorageQuery),
    request_body(content = StorageForm, content_type = "multipart/form-data", description = "part `file`: the file"),
    responses((status = 201, body = StoredFileResponse), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn upload(
    State(s): State<AppState>,
    authed: Result<Authed, ApiError>,
    Path(tenant): Path<String>,
    Query(q): Query<StorageQuery>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<StoredFileResponse>)> {
    let (caller, _slot) = admit_upload(&s, authed, &tenant, &mut multipart).await?;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name().is_some_and(|n| n.eq_ignore_ascii_case("file")) {
            return match store_part(&s, &caller, field, q.temporary).await {
                Ok(stored) => Ok((StatusCode::CREATED, Json(stored_response(&tenant, &stored)))),
                Err(e) => Err(drain(&mut multipart, e).await),
            };
        }
    }
    Err(ApiError(Error::invalid(
        "file",
        "the multipart body has no `file` part",
    )))
}

/// **(ragd)** Downloads an uploaded file.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/storage/{file}", tag = "files",
    params(("tenant" = String, Path), ("file" = uuid::Uuid, Path)),
    responses((status = 200, description = "the file's bytes"), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn download(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path((tenant, file)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let caller = claims.caller(&tenant, Scope::Read)?;
    let (f, bytes) = s
        .services
        .file_get(&caller, parse_id("file", &file)?)
        .await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        f.file_name.replace(['"', '\\', '\r', '\n'], "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, f.content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

/// Creates a `FILE` asset from an uploaded file and starts its ingestion.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets:import", tag = "assets",
    params(("tenant" = String, Path)), request_body = ImportRequest,
    responses((status = 201, body = AssetWithOperation), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn import(
    State(s): State<AppState>,
    Authed(claims): Authed,
    Path(tenant): Path<String>,
    JsonBody(req): JsonBody<ImportRequest>,
) -> ApiResult<(StatusCode, Json<AssetWithOperation>)> {
    let caller = claims.caller(&tenant, Scope::Write)?;
    let (view, op, _) = s
        .services
        .asset_create(&caller, req.into_domain())
        .await
        .map_err(|e| match e {
            Error::Validation { errors, .. }
                if errors.iter().any(|f| f.field == "config.parameters.fileId") =>
            {
                Error::invalid(
                    "fileId",
                    "no such file was uploaded (POST /storage) for this tenant",
                )
            }
            other => other,
        })?;
    Ok((
        StatusCode::CREATED,
        Json(AssetWithOperation {
            asset: s.asset_dto(&view),
            operation: s.operation_dto(&op),
            webhook: None,
        }),
    ))
}

/// The `Payload` part, with its keys matched case-insensitively.
fn file_payload(text: &str) -> ApiResult<FilePayload> {
    let raw: Map<String, Value> =
        parse_json(text.as_bytes()).map_err(|e| rename_field(e, "Payload"))?;
    let mut canonical = Map::new();
    for (k, v) in raw {
        let key = FilePayload::canonical_key(&k)
            .ok_or_else(|| ApiError(Error::invalid(format!("Payload.{k}"), "unknown field")))?;
        canonical.insert(key.to_owned(), v);
    }
    parse_json(&serde_json::to_vec(&canonical).expect("JSON values serialise"))
        .map_err(|e| rename_field(e, "Payload"))
}

fn rename_field(e: ApiError, prefix: &str) -> ApiError {
    match e.0 {
        Error::Validation { errors, .. } if errors.len() == 1 => {
            let f = &errors[0];
            let field = if f.field == "body" {
                prefix.to_owned()
            } else {
                format!("{prefix}.{}", f.field)
            };
            ApiError(Error::invalid(field, f.message.clone()))
        }
        other => ApiError(other),
    }
}

/// Uploads a file and creates its `FILE` asset in one call (parts `File` and `Payload`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/assets:file", tag = "assets",
    params(("tenant" = String, Path)),
    request_body(content = AssetFileForm, content_type = "multipart/form-data",
        description = "part `File`: the file; part `Payload` (optional): JSON `{vectorize, displayName, embedding, budget, currencyBudget, embeddingLlmConfigId, metadata, ocr}`, keys case-insensitive",
        encoding(("Payload" = (content_type = "application/json")))),
    responses((status = 201, body = AssetWithOperation), (status = "4XX", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:write"])))]
pub async fn upload_asset(
    State(s): State<AppState>,
    authed: Result<Authed, ApiError>,
    Path(tenant): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<AssetWithOperation>)> {
    let (caller, _slot) = admit_upload(&s, authed, &tenant, &mut multipart).await?;
    let (mut stored, mut payload) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().map(str::to_ascii_lowercase).as_deref() {
            Some("file") if stored.is_none() => match store_part(&s, &caller, field, false).await {
                Ok(f) => stored = Some(f),
                Err(e) => return Err(drain(&mut multipart, e).await),
            },
            Some("payload") => {
                let text = field.text().await.map_err(multipart_error)?;
                match file_payload(&text) {
                    Ok(p) => payload = Some(p),
                    Err(e) => {
                        if let Some(f) = &stored {
                            s.services.file_discard(&caller.tenant, f.id).await?;
                        }
                        return Err(e);
                    }
                }
            }
            _ => {}
        }
    }
    let stored = stored.ok_or_else(|| {
        ApiError(Error::invalid(
            "File",
            "the multipart body has no `File` part",
        ))
    })?;
    match s
        .services
        .asset_create(&caller, payload.unwrap_or_default().into_domain(stored.id))
        .await
    {
        Ok((view, op, _)) => Ok((
            StatusCode::CREATED,
            Json(AssetWithOperation {
                asset: s.asset_dto(&view),
                operation: s.operation_dto(&op),
                webhook: None,
            }),
        )),
        Err(e) => {
            s.services.file_discard(&caller.tenant, stored.id).await?;
            Err(ApiError(e))
        }
    }
}
