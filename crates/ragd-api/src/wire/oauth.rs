//! The OAuth flow on the wire: `:authorize` and the tokens returned once.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeRequest {
    #[schema(schema_with = source_type_schema)]
    pub source_type: String,
    /// Where the browser goes after the callback, with `?credentialKey=…` (default: the
    /// configured success page).
    pub redirect_uri: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    pub authorization_url: String,
}

/// OAuth tokens, returned once per credential key; pass them back as
/// `auth: {method: "OAUTH2", parameters: {accessToken, refreshToken, expiresAt}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthCredentials {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: String,
    pub expires_at: Option<i64>,
}

impl OAuthCredentials {
    pub fn from_domain(t: ragd_core::ports::oauth::OAuthTokens) -> Self {
        OAuthCredentials {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: t.token_type,
            expires_at: t.expires_at,
        }
    }
}
