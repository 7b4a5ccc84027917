//! Bearer-token authentication and tenancy: verify the JWT, then decide per request whether its
//! claims may act for the path's tenant with the needed scope.
//!
//! Algorithms are pinned by configuration: HS256 with a shared secret (the embedded default), or
//! RS256/ES256 with keys from a JWKS URL. `alg: none` and algorithm switching never verify.

use crate::problem::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use ragd_core::Error;
use ragd_core::domain::{Caller, TenantId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// The scopes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "assets:read",
            Scope::Write => "assets:write",
        }
    }
}

/// `tenants` is a list of tenant ids, or `"*"` for an operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TenantsClaim {
    All(String),
    Some(Vec<String>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub tenants: TenantsClaim,
    #[serde(default)]
    pub scope: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    /// Does the token name `tenant` (or every tenant)?
    pub fn names(&self, tenant: &str) -> bool {
        match &self.tenants {
            TenantsClaim::All(s) => s == "*" || s == tenant,
            TenantsClaim::Some(list) => list.iter().any(|t| t == "*" || t == tenant),
        }
    }

    /// May these claims act for `tenant` with `scope`? A tenant the token does not name is
    /// "not found" (no existence leak); a missing scope is "forbidden".
    pub fn caller(&self, tenant: &str, scope: Scope) -> Result<Caller, ApiError> {
        let tenant = TenantId::parse(tenant)?;
        if !self.names(tenant.as_str()) {
            return Err(ApiError(Error::NotFound("tenant")));
        }
        if !self.scope.split_whitespace().any(|s| s == scope.as_str()) {
            return Err(ApiError(Error::Forbidden(format!(
                "the token lacks the scope {}",
                scope.as_str()
            ))));
        }
        Ok(Caller {
            tenant,
            subject: self.sub.clone().unwrap_or_default(),
        })
    }
}

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub enum KeyConfig {
    Hs256 { secret: Vec<u8> },
    Jwks { url: String },
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub keys: KeyConfig,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

/// Minimum time between two JWKS downloads triggered by unknown key ids.
const JWKS_REFRESH_MIN: Duration = Duration::from_secs(10);

struct JwksCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
}

pub struct Authenticator {
    config: AuthConfig,
    hs256: Option<DecodingKey>,
    jwks: RwLock<JwksCache>,
    http: reqwest::Client,
}

fn unauthenticated(msg: &str) -> ApiError {
    ApiError(Error::Unauthenticated(msg.to_owned()))
}

impl Authenticator {
    pub fn new(config: AuthConfig) -> Self {
        let hs256 = match &config.keys {
            KeyConfig::Hs256 { secret } => Some(DecodingKey::from_secret(secret)),
            KeyConfig::Jwks { .. } => None,
        };
        Self {
            config,
            hs256,
            jwks: RwLock::new(JwksCache {
                keys: HashMap::new(),
                fetched: None,
            }),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.set_required_spec_claims(&["exp"]);
        v.validate_nbf = true;
        v.leeway = 30;
        match &self.config.issuer {
            Some(iss) => v.set_issuer(&[iss]),
            None => v.iss = None,
        }
        match &self.config.audience {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        v
    }

    /// Verifies a bearer token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = decode_header(token)
            .map_err(|_| unauthenticated("the bearer token is not a valid JWT"))?;
        let key = match (&self.config.keys, &self.hs256) {
            (KeyConfig::Hs256 { .. }, Some(key)) => {
                if header.alg != Algorithm::HS256 {
                    return Err(unauthenticated("the token's algorithm is not accepted"));
                }
                key.clone()
            }
            _ => {
                if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                    return Err(unauthenticated("the token's algorithm is not accepted"));
                }
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| unauthenticated("the token has no key id (kid)"))?;
                let (key, alg) = self.jwks_key(kid).await?;
                if alg != header.alg {
                    return Err(unauthenticated(
                        "the token's algorithm does not match its key",
                    ));
                }
                key
            }
        };
        let data = decode::<Claims>(token, &key, &self.validation(header.alg)).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind::*;
            match e.kind() {
                ExpiredSignature => unauthenticated("the token has expired"),
                ImmatureSignature => unauthenticated("the token is not valid yet"),
                InvalidSignature => unauthenticated("the token's signature does not verify"),
                InvalidIssuer => unauthenticated("the token's issuer is not accepted"),
                InvalidAudience => unauthenticated("the token's audience is not accepted"),
                MissingRequiredClaim(c) => {
                    unauthenticated(&format!("the token lacks the {c} claim"))
                }
                _ => unauthenticated("the token could not be verified"),
            }
        })?;
        Ok(data.claims)
    }

    async fn jwks_key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), ApiError> {
        if let Some(k) = self.jwks.read().await.keys.get(kid) {
            return Ok(k.clone());
        }
        let mut cache = self.jwks.write().await;
        if let Some(k) = cache.keys.get(kid) {
            return Ok(k.clone());
        }
        let recently = cache
            .fetched
            .is_some_and(|t| t.elapsed() < JWKS_REFRESH_MIN);
        if !recently {
            let KeyConfig::Jwks { url } = &self.config.keys else {
                unreachable!("JWKS mode")
            };
            let set: JwkSet = async {
                self.http
                    .get(url)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await
            }
            .await
            .map_err(|e: reqwest::Error| {
                tracing::warn!(error = %e, "fetching the JWKS failed");
                ApiError(Error::Unavailable(
                    "the identity provider's keys could not be fetched".into(),
                ))
            })?;
            cache.fetched = Some(Instant::now());
            cache.keys = set
                .keys
                .iter()
                .filter_map(|jwk| {
                    let kid = jwk.common.key_id.clone()?;
                    let alg = match &jwk.algorithm {
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => {
                            Algorithm::ES256
                        }
                        _ => return None,
                    };
                    Some((kid, (DecodingKey::from_jwk(jwk).ok()?, alg)))
                })
                .collect();
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| unauthenticated("the token's key id is unknown"))
    }
}

/// The verified claims of the request's bearer token.
pub struct Authed(pub Claims);

impl<S: Send + Sync> FromRequestParts<S> for Authed
where
    Arc<Authenticator>: axum::extract::FromRef<S>,
    Arc<crate::limits::Limits>: axum::extract::FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let auth: Arc<Authenticator> = axum::extract::FromRef::from_ref(state);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthenticated("a bearer token is required"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("the Authorization header must be 'Bearer <token>'"))?;
        let claims = auth.verify(token).await?;
        // The request counts against the tenant of its path when the token may act for it (an
        // anonymous caller cannot spend a tenant's rate), else against the token's subject.
        // (`nest` strips its prefix from the URI; the original is kept as an extension.)
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |u| u.0.path());
        let tenant = path
            .strip_prefix("/v1/tenants/")
            .and_then(|p| p.split('/').next())
            .map(|t| t.split(':').next().unwrap_or(t));
        let key = match tenant {
            Some(t) if claims.names(t) => t.to_owned(),
            _ => format!("sub:{}", claims.sub.as_deref().unwrap_or("")),
        };
        let limits: Arc<crate::limits::Limits> = axum::extract::FromRef::from_ref(state);
        limits.admit(&key)?;
        Ok(Authed(claims))
    }
}

/// Mints an HS256 token for `tenant` (`*`: every tenant) with `scope`, valid for `ttl` — the
/// embedded default's development tokens (`ragd token`, the CLI and the console's local sign-in).
pub fn mint(
    secret: &[u8],
    tenant: &str,
    scope: &str,
    ttl: Duration,
    subject: &str,
) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let tenants = if tenant == "*" {
        TenantsClaim::All("*".into())
    } else {
        TenantsClaim::Some(vec![tenant.to_owned()])
    };
    let claims = Claims {
        sub: Some(subject.to_owned()),
        tenants,
        scope: scope.to_owned(),
        exp: now + ttl.as_secs(),
        iat: Some(now),
        nbf: None,
        iss: None,
        aud: None,
    };
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )?)
}

/// Is `host` (a URL's host or a `Host` header's name, without the port) this machine's loopback:
/// `localhost`, `127.0.0.0/8` or `[::1]`? The CLI mints a local token only for such a server, and
/// the console offers its local sign-in only to a page opened at such a name.
pub fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
