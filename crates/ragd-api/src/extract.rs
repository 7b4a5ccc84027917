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
        RawJson::from_request(req, state)
            .await?
            .parse()
            .map(JsonBody)
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
                ApiError(Error::PayloadTooLarge {
                    limit_bytes: crate::MAX_JSON_BODY_BYTES as u64,
                })
            } else {
                ApiError(Error::bad_request(format!(
                    "could not read the request body: {rejection}"
                )))
            }
        })?;
        Ok(RawJson { is_json, bytes })
    }
}

impl RawJson {
    /// The body as `T` (an empty body is `{}`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if !self.is_json && !self.bytes.is_empty() {
            return Err(ApiError(Error::UnsupportedMediaType(
                "the request body must be application/json".into(),
            )));
        }
        if self.bytes.is_empty() {
            parse_json(b"{}")
        } else {
            parse_json(&self.bytes)
        }
    }
}

/// Parses a JSON object, reporting the path of the first problem as the field. A number with
/// no fraction is an integer whatever its spelling (`5.0` is `5`), as in JSON Schema. No string
/// may hold U+0000: no text of a document, a name or a parameter has one, and PostgreSQL cannot
/// store it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let message = e.to_string();
        ApiError(Error::invalid(
            "body",
            message.split(" at line ").next().unwrap_or(&message),
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError(Error::invalid("body", "must be a JSON object")));
    }
    if let Some(at) = nul_at(&value, "body") {
        return Err(ApiError(Error::invalid(
            at,
            "must not contain the NUL character (U+0000)",
        )));
    }
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde_path_to_error's path already ends with an unknown field's name; at the top level a
        // missing field or a syntax error has the path "." and is reported against the body.
        let field = if path == "." { "body".to_owned() } else { path };
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ApiError(Error::invalid(field, plain_words(message)))
    })
}

/// The JSON path of the first string (or key) holding U+0000, if any.
fn nul_at(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_at(v, &format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            // The path is shown to the client: a NUL in a key is written out, not sent raw.
            let shown = k.replace('\0', "\\u0000");
            let field = if at == "body" {
                shown
            } else {
                format!("{at}.{shown}")
            };
            if k.contains('\0') {
                Some(field)
            } else {
                nul_at(v, &field)
            }
        }),
        _ => None,
    }
}

/// Turns every number without a fractional part (and within `i64`) into an integer.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().expect("f64");
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
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
        if q.to_ascii_lowercase().contains("%00") {
            return Err(ApiError(Error::bad_request(
                "the query string must not contain the NUL character (%00)",
            )));
        }
        serde_urlencoded::from_str(q)
            .map(Query)
            .map_err(|e| ApiError(Error::bad_request(format!("invalid query string: {e}"))))
    }
}

/// Parses a path id; a malformed UUID is a 400 naming the parameter.
pub fn parse_id(field: &str, s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError(Error::invalid(field, "must be a UUID")))
}

/// Splits a path segment into its id and custom method: `"…uuid…:cancel"` → (uuid, Some("cancel")).
pub fn split_method<'a>(
    field: &str,
    segment: &'a str,
) -> Result<(Uuid, Option<&'a str>), ApiError> {
    match segment.split_once(':') {
        Some((id, method)) => Ok((parse_id(field, id)?, Some(method))),
        None => Ok((parse_id(field, segment)?, None)),
    }
}
