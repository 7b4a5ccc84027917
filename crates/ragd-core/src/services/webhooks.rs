//! An asset's inbound webhook: issued with the asset, rotated on request, and deliveries verified
//! and mapped to the documents they name.

use super::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::secrets::{random_token, verify_signature};
use crate::time::now_ms;
use serde_json::Value;
use uuid::Uuid;

/// Who queued the updates that inbound deliveries asked for.
pub const WEBHOOK: &str = "webhook";

/// A webhook just created or rotated, with its signing secret: shown to the caller this once.
#[derive(Debug, Clone)]
pub struct WebhookIssued {
    pub webhook: Webhook,
    pub secret: String,
}

#[derive(Debug, Default)]
pub struct DeliveryHeaders<'a> {
    /// `X-Hub-Signature-256` (GitHub) or `X-Ragd-Signature`: `sha256=<hex HMAC of the body>`.
    pub signature: Option<&'a str>,
    /// `X-GitHub-Event`, when GitHub sends it.
    pub github_event: Option<&'a str>,
}

impl Services {
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
        // A push to another branch than the asset's indexes nothing (GIT and GITHUB name one).
        use crate::sources::{GitHubParams, GitParams, Parameters};
        let branch = match asset.source_type {
            SourceType::Git => GitParams::parse(&asset.parameters)?.branch,
            SourceType::Github => GitHubParams::parse(&asset.parameters)?.branch,
            _ => None,
        };
        let targets = delivery_targets(asset.id, branch.as_deref(), headers.github_event, body)?;
        let Some(document_ids) = targets else {
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
