//! The OAuth flow (authorize, callback, the single-use credential exchange) and keeping an asset's
//! tokens fresh before ingestion uses them.

use super::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::ports::oauth::{OAuthClients, OAuthTokens};
use crate::ports::store::Store;
use crate::secrets::random_token;
use crate::time::{Millis, now_ms};
use serde_json::Value;

/// How long an authorization may take, and how long its credential key stays valid.
pub const GRANT_TTL_MS: Millis = 10 * 60 * 1000;
/// Tokens that expire sooner than this are refreshed before ingestion uses them.
pub const REFRESH_MARGIN_MS: Millis = 5 * 60 * 1000;

/// What the state of a pending authorization remembers (sealed in its grant).
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingAuthorization {
    source_type: SourceType,
    pkce_verifier: String,
    return_to: String,
}

fn credential_id(key: &str) -> String {
    crate::domain::content_hash(key.as_bytes())
}

/// The credentials `auth` stores for OAuth tokens.
pub fn oauth_credentials(t: &OAuthTokens) -> Credentials {
    let mut parameters = serde_json::Map::new();
    parameters.insert("accessToken".into(), Value::String(t.access_token.clone()));
    parameters.insert("tokenType".into(), Value::String(t.token_type.clone()));
    if let Some(r) = &t.refresh_token {
        parameters.insert("refreshToken".into(), Value::String(r.clone()));
    }
    if let Some(e) = t.expires_at {
        parameters.insert("expiresAt".into(), Value::from(e));
    }
    Credentials {
        method: AuthMethod::OAuth2,
        parameters,
    }
}

impl Services {
    fn oauth_for(&self, source_type: SourceType) -> Option<&dyn OAuthClients> {
        self.oauth.as_deref().filter(|o| o.configured(source_type))
    }

    /// `:authorize`: a state-bound PKCE authorization URL for a source type with a configured
    /// provider. `return_to` is where the browser goes after the callback (default: the configured
    /// success page), with `?credentialKey=…`.
    pub async fn oauth_authorize(
        &self,
        caller: &Caller,
        source_type: &str,
        return_to: Option<String>,
        default_return: &str,
    ) -> Result<String> {
        let desc = super::assets::source_descriptor(source_type, "sourceType")?;
        if !desc.supports_oauth {
            return Err(Error::invalid(
                "sourceType",
                format!("source type {} does not use OAuth", desc.source_type),
            ));
        }
        let Some(oauth) = self.oauth_for(desc.source_type) else {
            return Err(Error::invalid(
                "sourceType",
                format!(
                    "no OAuth provider is configured for {} (see oauth in the configuration)",
                    desc.source_type
                ),
            ));
        };
        let return_to = match return_to {
            Some(u) => match url::Url::parse(&u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => u,
                _ => {
                    return Err(Error::invalid(
                        "redirectUri",
                        "must be an absolute http or https URL",
                    ));
                }
            },
            None => default_return.to_owned(),
        };
        let start = oauth.authorize(desc.source_type).await?;
        let pending = PendingAuthorization {
            source_type: desc.source_type,
            pkce_verifier: start.pkce_verifier,
            return_to,
        };
        let now = now_ms();
        let grant = Grant {
            id: start.state.clone(),
            tenant: caller.tenant.clone(),
            kind: GrantKind::State,
            sealed: self.secrets.seal_json(&pending, start.state.as_bytes()),
            expires_at: now + GRANT_TTL_MS,
        };
        self.store.grant_put(&grant, now).await?;
        Ok(start.url)
    }

    /// `/v1/oauth/callback`: checks the state (single use, 10 minutes), exchanges the code, keeps
    /// the tokens sealed behind a new credential key, and returns where to send the browser.
    pub async fn oauth_callback(
        &self,
        state: &str,
        code: Option<&str>,
        provider_error: Option<&str>,
    ) -> Result<String> {
        let unknown = || Error::bad_request("unknown, used or expired authorization state");
        let grant = self
            .store
            .grant_take(GrantKind::State, state)
            .await?
            .ok_or_else(unknown)?;
        if grant.expires_at < now_ms() {
            return Err(unknown());
        }
        let pending: PendingAuthorization =
            self.secrets.open_json(&grant.sealed, state.as_bytes())?;
        let separator = if pending.return_to.contains('?') {
            '&'
        } else {
            '?'
        };
        if let Some(e) = provider_error {
            let e: String = url::form_urlencoded::byte_serialize(e.as_bytes()).collect();
            return Ok(format!("{}{separator}error={e}", pending.return_to));
        }
        let code =
            code.ok_or_else(|| Error::invalid("code", "the provider sent no authorization code"))?;
        let oauth = self.oauth_for(pending.source_type).ok_or_else(|| {
            Error::Unavailable("the OAuth provider is no longer configured".into())
        })?;
        let tokens = oauth
            .exchange(pending.source_type, code, &pending.pkce_verifier)
            .await?;
        let key = random_token("ck_");
        let id = credential_id(&key);
        let now = now_ms();
        let grant = Grant {
            sealed: self.secrets.seal_json(&tokens, id.as_bytes()),
            id,
            tenant: grant.tenant,
            kind: GrantKind::Credential,
            expires_at: now + GRANT_TTL_MS,
        };
        self.store.grant_put(&grant, now).await?;
        Ok(format!(
            "{}{separator}credentialKey={key}",
            pending.return_to
        ))
    }

    /// `:oauthCredentials`: the tokens behind a credential key, once.
    pub async fn oauth_credentials(&self, tenant: &TenantId, key: &str) -> Result<OAuthTokens> {
        let invalid = || Error::invalid("credentialKey", "unknown, already used or expired");
        let id = credential_id(key);
        let grant = self
            .store
            .grant_take(GrantKind::Credential, &id)
            .await?
            .ok_or_else(invalid)?;
        if grant.expires_at < now_ms() || &grant.tenant != tenant {
            return Err(invalid());
        }
        self.secrets.open_json(&grant.sealed, id.as_bytes())
    }
}

/// The asset's OAuth credentials, refreshed first when they expire within [`REFRESH_MARGIN_MS`]
/// (and stored again, sealed). A refresh the provider refuses marks the asset as needing
/// re-authorisation; the error says so and is the operation's message.
pub async fn fresh_credentials(
    store: &dyn Store,
    secrets: &crate::secrets::SecretBox,
    oauth: Option<&dyn OAuthClients>,
    asset: &Asset,
    credentials: Credentials,
    now: Millis,
) -> std::result::Result<Credentials, String> {
    let expires_at = credentials
        .parameters
        .get("expiresAt")
        .and_then(Value::as_i64);
    if credentials.method != AuthMethod::OAuth2
        || expires_at.is_none_or(|t| t - now > REFRESH_MARGIN_MS)
    {
        return Ok(credentials);
    }
    let reauthorise = |why: String| async move {
        let message = format!("re-authorisation needed: {why}");
        if let Err(e) = store
            .asset_auth_set(&asset.tenant, asset.id, None, Some(&message))
            .await
        {
            tracing::warn!(error = %e, "could not mark the asset as needing re-authorisation");
        }
        message
    };
    let Some(refresh_token) = credentials.get("refreshToken").map(str::to_owned) else {
        return Err(
            reauthorise("the access token expired and there is no refresh token".into()).await,
        );
    };
    let Some(oauth) = oauth.filter(|o| o.configured(asset.source_type)) else {
        return Err(reauthorise(format!(
            "the access token expired and no OAuth provider is configured for {}",
            asset.source_type
        ))
        .await);
    };
    match oauth.refresh(asset.source_type, &refresh_token).await {
        Ok(mut tokens) => {
            tokens.refresh_token = tokens.refresh_token.or(Some(refresh_token));
            let fresh = oauth_credentials(&tokens);
            let sealed = secrets.seal_json(&fresh, asset.id.as_bytes());
            store
                .asset_auth_set(&asset.tenant, asset.id, Some(&sealed), None)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(asset = %asset.id, "OAuth token refreshed");
            Ok(fresh)
        }
        Err(Error::Upstream(reason)) => Err(reauthorise(format!(
            "the provider refused to refresh the token: {reason}"
        ))
        .await),
        Err(e) => Err(format!("refreshing the OAuth token failed: {e}")),
    }
}
