//! Extractors that turn malformed input into problem+json instead of axum's plain-text rejections.

use crate::problem::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use ragd_core::Error;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// A JSON body whose errors name the offending field (`unknown field`, wrong type, missing).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        RawJson::from_request(req, state).await?.parse().map(JsonBody)
    }
}

/// A JSON body read but not parsed yet: for handlers that look at the path first (a custom
/// method that does not exist is a 404 whatever the body holds).
pub struct RawJson {
    is_json: bool,
    bytes: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(Error::PayloadTooLarge { limit_bytes: crate::MAX_JSON_BODY_BYTES as u64 })
            } else {
                ApiError(Error::bad_request(format!("could not read the request body: {rejection}")))
            }
        })?;
        Ok(RawJson { is_json, bytes })
    }
}

impl RawJson {
    /// The body as `T` (an empty body is `{}`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if !self.is_json && !self.bytes.is_empty() {
            return Err(ApiError(Error::UnsupportedMediaType("the request body must be application/json".into())));
        }
        if self.bytes.is_empty() { parse_json(b"{}") } else { parse_json(&self.bytes) }
    }
}

/// Parses JSON, reporting the path of the first problem as the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde_path_to_error's path already ends with an unknown field's name; at the top level a
        // missing field or a syntax error has the path "." and is reported against the body.
        let field = if path == "." { "body".to_owned() } else { path };
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        ApiError(Error::invalid(field, plain_words(message)))
    })
}

/// serde's message without Rust's type names: an object field given anything else (serde also
/// reads a struct from an array, and then counts its "elements") must be a JSON object.
fn plain_words(message: String) -> String {
    if !message.contains("expected struct ") {
        return message;
    }
    if message.starts_with("invalid length") || message.contains("sequence") {
        "must be a JSON object, not an array".to_owned()
    } else {
        "must be a JSON object".to_owned()
    }
}

/// The raw query string parsed as `application/x-www-form-urlencoded` into `T`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(q).map(Query).map_err(|e| ApiError(Error::bad_request(format!("invalid query string: {e}"))))
    }
}

/// Parses a path id; a malformed UUID is a 400 naming the parameter.
pub fn parse_id(field: &str, s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError(Error::invalid(field, "must be a UUID")))
}

/// Splits a path segment into its id and custom method: `"…uuid…:cancel"` → (uuid, Some("cancel")).
pub fn split_method<'a>(field: &str, segment: &'a str) -> Result<(Uuid, Option<&'a str>), ApiError> {
    match segment.split_once(':') {
        Some((id, method)) => Ok((parse_id(field, id)?, Some(method))),
        None => Ok((parse_id(field, segment)?, None)),
    }
}
