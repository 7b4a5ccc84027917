//! The OAuth seam: the providers configured per source type, implemented by the binary.

use crate::domain::SourceType;
use crate::error::Result;
use crate::time::Millis;

/// Tokens an OAuth provider issued (`:oauthCredentials` returns them; `auth` takes them back).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: String,
    /// Milliseconds since the epoch; `None` when the provider gives no lifetime.
    pub expires_at: Option<Millis>,
}

/// The start of an authorization: where to send the user, and what the callback needs back.
pub struct AuthorizeStart {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
}

/// The OAuth providers configured per source type.
#[async_trait::async_trait]
pub trait OAuthClients: Send + Sync {
    fn configured(&self, source_type: SourceType) -> bool;
    /// An authorization URL with a fresh state and PKCE (S256) challenge.
    async fn authorize(&self, source_type: SourceType) -> Result<AuthorizeStart>;
    /// Exchanges an authorization code (with its PKCE verifier) at the token endpoint.
    async fn exchange(
        &self,
        source_type: SourceType,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<OAuthTokens>;
    /// Uses a refresh token; `Upstream` with the provider's reason when it refuses.
    async fn refresh(&self, source_type: SourceType, refresh_token: &str) -> Result<OAuthTokens>;
}
