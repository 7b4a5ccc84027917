//! What connected sources keep: sealed credentials, inbound webhooks, OAuth grants, deliveries and due assets.

use super::*;

/// Credentials for a source (`auth` in the contract), as sealed in the store. Never logged.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub method: AuthMethod,
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.method)
    }
}

impl Credentials {
    /// A string parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.parameters
            .get(name)
            .and_then(serde_json::Value::as_str)
    }
}

/// An asset's inbound webhook: its id is in the URL, its signing secret sealed under the id.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: Uuid,
    pub tenant: TenantId,
    pub asset_id: Uuid,
    pub secret_sealed: Vec<u8>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

/// A short-lived OAuth record: an authorization's state (`kind` STATE, `id` = the state) or the
/// tokens behind a credential key (`kind` CREDENTIAL, `id` = SHA-256 of the key). Taken once.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub tenant: TenantId,
    pub kind: GrantKind,
    pub sealed: Vec<u8>,
    pub expires_at: Millis,
}

/// What became of a webhook delivery.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A new `WEBHOOK_UPDATE` operation (this id) was queued.
    Started(Uuid),
    /// It joined the asset's `WEBHOOK_UPDATE` that is still pending.
    Joined(Uuid),
    /// Another operation is active: the delivery waits in the asset's backlog, which the scheduler
    /// turns into one `WEBHOOK_UPDATE` when the asset is free.
    Deferred,
}

/// An asset the scheduler has to look at: its poll time has come, or a webhook backlog waits.
#[derive(Debug, Clone)]
pub struct Due {
    pub asset: Asset,
    pub backlog: bool,
}
