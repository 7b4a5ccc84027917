//! The domain's nouns: tenants, assets, operations and documents, with the rules that belong to them.
//!
//! # Layout
//! - `asset`: an asset, its embedding spec, budgets, auto-update settings and read aggregates.
//! - `operation`: operations, counters, exclusions and the queue's leases, claims and outcomes.
//! - `document`: documents, chunks, their metadata and the content hash.
//! - `filter`: filters on document metadata (OpenAI's vector-store filter shape), parsed and
//!   evaluated.
//! - `file`: uploaded files.
//! - `connected`: credentials, inbound webhooks, OAuth grants, deliveries, due assets.
//! - `llm_config`: a tenant's remote embedding endpoint.
//! - `search`: a search's scope and its hits.
//!
//! Each is re-exported here, so every noun has one address: `ragd_core::domain::<Noun>`.

mod asset;
mod connected;
mod document;
mod file;
mod filter;
mod llm_config;
mod operation;
mod search;

pub use asset::*;
pub use connected::*;
pub use document::*;
pub use file::*;
pub use filter::*;
pub use llm_config::*;
pub use operation::*;
pub use search::*;

use crate::error::{Error, Result};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a closed enum with its contract spelling (UPPER_SNAKE on the wire and in the database).
macro_rules! spelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact contract spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// `SourceType`, from the registry of source types ([`crate::source_types!`]).
macro_rules! source_type_enum {
    ($($variant:ident $module:ident $text:literal,)+) => {
        spelled_enum!(
            /// Where an asset's documents come from.
            SourceType { $($variant => $text),+ }
        );
    };
}
crate::source_types!(source_type_enum);
spelled_enum!(OperationType {
    Ingest => "INGEST", Refresh => "REFRESH", WebhookUpdate => "WEBHOOK_UPDATE",
    ScheduledRefresh => "SCHEDULED_REFRESH", Reindex => "REINDEX",
});
spelled_enum!(OperationStatus {
    Pending => "PENDING", Running => "RUNNING", Completed => "COMPLETED",
    Failed => "FAILED", Cancelled => "CANCELLED",
});
spelled_enum!(AssetStatus {
    Pending => "PENDING", Processing => "PROCESSING", Ready => "READY", Partial => "PARTIAL", Failed => "FAILED",
});
spelled_enum!(DocumentStatus {
    Pending => "PENDING", Processing => "PROCESSING", Indexed => "INDEXED", Failed => "FAILED",
});
spelled_enum!(AuthMethod { None => "NONE", ApiKey => "API_KEY", Basic => "BASIC", OAuth2 => "OAUTH2", Aws => "AWS" });
spelled_enum!(UpdateStrategy { Webhook => "WEBHOOK", Poll => "POLL" });
spelled_enum!(
    /// What an OAuth grant holds: a pending authorization's state, or tokens behind a credential key.
    GrantKind { State => "STATE", Credential => "CREDENTIAL" }
);
spelled_enum!(PollFrequency { Hourly => "HOURLY", Daily => "DAILY", Weekly => "WEEKLY", Monthly => "MONTHLY" });
spelled_enum!(Weekday {
    Monday => "MONDAY", Tuesday => "TUESDAY", Wednesday => "WEDNESDAY", Thursday => "THURSDAY",
    Friday => "FRIDAY", Saturday => "SATURDAY", Sunday => "SUNDAY",
});

impl OperationStatus {
    /// `done` in the contract: the three terminal states, which never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A tenant id: 1–64 characters of `[A-Za-z0-9_-]`, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "tenant",
                "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is calling: the tenant the request acts for and the token's subject.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub subject: String,
}
