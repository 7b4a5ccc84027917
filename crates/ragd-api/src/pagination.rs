//! List query parameters and opaque, signed keyset cursors.
//!
//! A cursor is `base64url(scope|created_at|id).base64url(hmac)`: the HMAC makes a tampered cursor
//! detectable, and the scope (list kind, tenant, parent, search) makes one list's cursor invalid
//! for another. Both are a 400.

use crate::problem::ApiError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use ragd_core::Error;
use ragd_core::page::{PageRequest, PageSize, SortKey};
use serde::Deserialize;
use sha2::Sha256;

/// Query parameters of every list (`PageSize`, `PageToken.Cursor`, `PageToken.Skip`, `search`),
/// with the camelCase aliases the contract allows.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page: default 50, values above 1000 are clamped, 0 or negative is a 400.
    #[serde(rename = "PageSize", alias = "pageSize")]
    #[param(rename = "PageSize", value_type = Option<i64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Opaque cursor from a previous page's `nextPageToken`.
    #[serde(rename = "PageToken.Cursor", alias = "pageToken")]
    #[param(rename = "PageToken.Cursor")]
    pub cursor: Option<String>,
    /// Offset, accepted for compatibility; applied after the cursor.
    #[serde(rename = "PageToken.Skip")]
    #[param(rename = "PageToken.Skip", value_type = Option<i32>, minimum = 0)]
    pub skip: Option<String>,
    /// Case-insensitive substring of the name (assets) or file name (documents).
    pub search: Option<String>,
}

#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

impl CursorCodec {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    pub fn encode(&self, scope: &str, key: SortKey) -> String {
        let payload = format!("{scope}|{}|{}", key.created_at, key.id);
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!("{}.{}", B64.encode(payload), B64.encode(&tag[..16]))
    }

    pub fn decode(&self, scope: &str, cursor: &str) -> Result<SortKey, ApiError> {
        let bad = || {
            ApiError(Error::invalid(
                "PageToken.Cursor",
                "is not a page token of this list",
            ))
        };
        let (payload, tag) = cursor.split_once('.').ok_or_else(bad)?;
        let payload = B64.decode(payload).map_err(|_| bad())?;
        let tag = B64.decode(tag).map_err(|_| bad())?;
        self.mac(&payload)
            .verify_truncated_left(&tag)
            .map_err(|_| bad())?;
        let payload = String::from_utf8(payload).map_err(|_| bad())?;
        let mut parts = payload.rsplitn(3, '|');
        let (id, at, s) = (parts.next(), parts.next(), parts.next());
        if s != Some(scope) {
            return Err(bad());
        }
        Ok(SortKey {
            created_at: at.and_then(|t| t.parse().ok()).ok_or_else(bad)?,
            id: id
                .and_then(|i| uuid::Uuid::parse_str(i).ok())
                .ok_or_else(bad)?,
        })
    }

    /// Turns list query parameters into a page request for the list identified by `scope`.
    pub fn page_request(&self, scope: &str, q: &ListQuery) -> Result<PageRequest, ApiError> {
        let size = match &q.page_size {
            None => None,
            Some(s) => Some(
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError(Error::invalid("PageSize", "must be an integer")))?,
            ),
        };
        let skip = match &q.skip {
            None => 0,
            Some(s) => s
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError(Error::invalid(
                        "PageToken.Skip",
                        "must be a non-negative 32-bit integer",
                    ))
                })? as u32,
        };
        let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(self.decode(scope, c)?),
        };
        Ok(PageRequest {
            size: PageSize::parse(size)?,
            after,
            skip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering_and_foreign_scopes() {
        let codec = CursorCodec::new(b"secret");
        let key = SortKey {
            created_at: 1_700_000_000_123,
            id: uuid::Uuid::now_v7(),
        };
        let c = codec.encode("ops|t|a", key);
        assert_eq!(codec.decode("ops|t|a", &c).unwrap(), key);
        assert!(codec.decode("ops|t|b", &c).is_err());
        assert!(CursorCodec::new(b"other").decode("ops|t|a", &c).is_err());
        let mut tampered = c.clone().into_bytes();
        tampered[3] ^= 1;
        assert!(
            codec
                .decode("ops|t|a", std::str::from_utf8(&tampered).unwrap())
                .is_err()
        );
        assert!(codec.decode("ops|t|a", "garbage").is_err());
    }
}
