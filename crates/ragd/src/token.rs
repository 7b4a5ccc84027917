//! Minting development tokens (`ragd token`), signed with the embedded default's HS256 secret.

use ragd_api::auth::{Claims, TenantsClaim};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn mint(secret: &[u8], tenant: &str, scope: &str, ttl: Duration, subject: &str) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let tenants = if tenant == "*" { TenantsClaim::All("*".into()) } else { TenantsClaim::Some(vec![tenant.to_owned()]) };
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
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )?)
}
