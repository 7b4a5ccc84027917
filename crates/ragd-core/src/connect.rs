//! Use cases of assets that connect to systems their users own: the OAuth flow (authorize,
//! callback, the single-use credential exchange) and keeping tokens fresh; webhooks (issue,
//! rotate, receive); and the scheduler's tick, which fires due poll schedules and starts deferred
//! webhook updates. Talking to providers is behind [`OAuthClients`], implemented by the binary.

use crate::error::{Error, Result};
use crate::model::*;
use crate::secrets::{random_token, verify_signature};
use crate::service::{Services, WebhookIssued};
use crate::store::Store;
use crate::time::{Millis, now_ms};
use serde_json::Value;
use uuid::Uuid;

/// Who queued operations that no user asked for.
pub const SCHEDULER: &str = "scheduler";
pub const WEBHOOK: &str = "webhook";

/// How long an authorization may take, and how long its credential key stays valid.
pub const GRANT_TTL_MS: Millis = 10 * 60 * 1000;
/// Tokens that expire sooner than this are refreshed before ingestion uses them.
pub const REFRESH_MARGIN_MS: Millis = 5 * 60 * 1000;

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

/// What the state of a pending authorization remembers (sealed in its grant).
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingAuthorization {
    source_type: SourceType,
    pkce_verifier: String,
    return_to: String,
}

fn credential_id(key: &str) -> String {
    crate::model::content_hash(key.as_bytes())
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

/// What an inbound delivery carries besides its body.
#[derive(Debug, Default)]
pub struct DeliveryHeaders<'a> {
    /// `X-Hub-Signature-256` (GitHub) or `X-Ragd-Signature`: `sha256=<hex HMAC of the body>`.
    pub signature: Option<&'a str>,
    /// `X-GitHub-Event`, when GitHub sends it.
    pub github_event: Option<&'a str>,
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
        let desc = crate::service::source_descriptor(source_type, "sourceType")?;
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

    /// Creates (or replaces) the asset's webhook with a fresh id and signing secret.
    pub(crate) async fn webhook_issue(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
    ) -> Result<WebhookIssued> {
        let (id, secret, now) = (Uuid::new_v4(), random_token("whsec_"), now_ms());
        let webhook = Webhook {
            id,
            tenant: tenant.clone(),
            asset_id,
            secret_sealed: self.secrets.seal(secret.as_bytes(), id.as_bytes()),
            created_at: now,
            modified_at: now,
        };
        self.store
            .webhook_set(tenant, asset_id, Some(&webhook))
            .await?;
        Ok(WebhookIssued { webhook, secret })
    }

    /// `:regenerateWebhook`: a new URL and secret; the old ones stop working at once.
    pub async fn webhook_regenerate(
        &self,
        caller: &Caller,
        asset_id: Uuid,
    ) -> Result<WebhookIssued> {
        let asset = self.asset_get(caller, asset_id).await?.asset;
        if !asset
            .auto_update
            .as_ref()
            .is_some_and(|c| c.strategy == UpdateStrategy::Webhook)
        {
            return Err(Error::bad_request(
                "the asset has no WEBHOOK auto-update; enable one with PATCH autoUpdate first",
            ));
        }
        self.webhook_issue(&caller.tenant, asset_id).await
    }

    /// An inbound delivery: verified by the HMAC-SHA256 of the raw body, mapped to the documents
    /// it names, and queued as (or joined to) a `WEBHOOK_UPDATE`. `None`: verified but nothing to
    /// do (a ping, a push to another branch).
    pub async fn webhook_receive(
        &self,
        id: Uuid,
        headers: DeliveryHeaders<'_>,
        body: &[u8],
    ) -> Result<Option<Delivery>> {
        let rejected = || {
            Error::Unauthenticated(
                "the webhook does not exist or the delivery's signature does not verify".into(),
            )
        };
        let hook = self.store.webhook_get(id).await?.ok_or_else(rejected)?;
        let secret = self.secrets.open(&hook.secret_sealed, hook.id.as_bytes())?;
        if !headers
            .signature
            .is_some_and(|sig| verify_signature(&secret, body, sig))
        {
            return Err(rejected());
        }
        let Some(asset) = self
            .store
            .assets(&hook.tenant, Some(&[hook.asset_id]))
            .await?
            .pop()
        else {
            return Err(rejected());
        };
        if headers.github_event == Some("ping") {
            return Ok(None);
        }
        let branch = asset.parameters.get("branch").and_then(Value::as_str);
        let Some(document_ids) = delivery_targets(asset.id, branch, headers.github_event, body)?
        else {
            return Ok(None);
        };
        let mut op = NewOperation::new(asset.id, OperationType::WebhookUpdate, WEBHOOK, now_ms());
        op.document_ids = document_ids;
        let delivery = self.store.webhook_deliver(&hook.tenant, &op).await?;
        if matches!(delivery, Delivery::Started(_)) {
            self.events.work_added();
        }
        Ok(Some(delivery))
    }

    /// One pass of the scheduler at `now`; returns the operations it queued.
    pub async fn schedule_tick(&self, now: Millis) -> Result<Vec<Operation>> {
        let started = schedule_tick(self.store.as_ref(), now).await?;
        if !started.is_empty() {
            self.events.work_added();
        }
        Ok(started)
    }
}

/// Fires every due poll schedule once (one catch-up run however many slots were missed; the next
/// run is the first slot after `now`) and starts deferred webhook updates of assets now free.
/// Safe to run in every process at once: each firing is a compare-and-set on `next_poll_at`.
pub async fn schedule_tick(store: &dyn Store, now: Millis) -> Result<Vec<Operation>> {
    let mut started = Vec::new();
    for due in store.schedule_due(now, 500).await? {
        let a = &due.asset;
        if let Some(expected) = a.next_poll_at.filter(|t| *t <= now) {
            let next = a
                .auto_update
                .as_ref()
                .and_then(|c| crate::schedule::next_fire(c, now));
            let op = NewOperation::new(a.id, OperationType::ScheduledRefresh, SCHEDULER, now);
            started.extend(store.poll_fire(&a.tenant, expected, next, now, &op).await?);
        }
        if due.backlog {
            let op = NewOperation::new(a.id, OperationType::WebhookUpdate, WEBHOOK, now);
            started.extend(store.backlog_start(&a.tenant, &op).await?);
        }
    }
    Ok(started)
}

/// The documents a delivery names (empty = the whole source), or `None` to ignore it.
///
/// GitHub `push` events name the paths added, modified and removed by their commits (a push to
/// another branch than the asset's, or than the repository's default branch, is ignored); other senders may post `{"documentIds": [...]}`
/// or `{"paths": [...]}` (source keys: a repository path, a page URL); anything else, or an empty
/// body, refreshes everything. `branch` is the asset's `branch` parameter. (Public for the fuzz
/// target `webhook_payload`.)
pub fn delivery_targets(
    asset_id: Uuid,
    branch: Option<&str>,
    github_event: Option<&str>,
    body: &[u8],
) -> Result<Option<Vec<Uuid>>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Vec::new()));
    }
    let payload: Value = serde_json::from_slice(body)
        .map_err(|e| Error::bad_request(format!("the delivery is not JSON: {e}")))?;
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    if github_event == Some("push") || payload.get("commits").is_some_and(Value::is_array) {
        // The asset's branch, or (following the remote's HEAD) the repository's default branch,
        // which GitHub's push payload names.
        let branch = branch.or_else(|| {
            payload
                .pointer("/repository/default_branch")
                .and_then(Value::as_str)
        });
        if let (Some(r), Some(branch)) = (payload.get("ref").and_then(Value::as_str), branch)
            && r != format!("refs/heads/{branch}")
        {
            return Ok(None);
        }
        let commits = payload
            .get("commits")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut paths: Vec<String> = Vec::new();
        for c in commits {
            for kind in ["added", "modified", "removed"] {
                paths.extend(strings(c.get(kind)));
            }
        }
        // A push without commit details (a force push, a branch created) refreshes everything.
        return Ok(Some(ids_of(asset_id, paths)));
    }
    if let Some(ids) = payload.get("documentIds") {
        let ids = ids
            .as_array()
            .ok_or(())
            .and_then(|a| {
                a.iter()
                    .map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or(()))
                    .collect::<Result<Vec<_>, ()>>()
            })
            .map_err(|_| Error::invalid("documentIds", "must be an array of document ids"))?;
        return Ok(Some(ids));
    }
    Ok(Some(ids_of(asset_id, strings(payload.get("paths")))))
}

fn ids_of(asset_id: Uuid, keys: Vec<String>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = keys.iter().map(|k| Document::id_for(asset_id, k)).collect();
    ids.sort();
    ids.dedup();
    ids
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
