//! The domain error enum. Every layer returns it; `ragd-api` maps it to HTTP exactly once.

use uuid::Uuid;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid input field, named the way the client spelled it (camelCase JSON path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or breaks a rule; `detail` is safe to show to the client.
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The resource does not exist *for this tenant* (other tenants' resources are also "not found").
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// Another operation of the asset is `PENDING` or `RUNNING`.
    #[error("operation {operation_id} is still active for this asset")]
    OperationActive { operation_id: Uuid },
    /// The path exists, but not with this method (HTTP only; `Allow` says which it has).
    #[error("this path does not accept this method")]
    MethodNotAllowed,
    /// A limit of the tenant or the server (requests per second, concurrent operations, concurrent
    /// uploads) is reached; `detail` names it. Retry after the given time.
    #[error("{detail}")]
    RateLimited {
        detail: String,
        retry_after_seconds: u64,
    },
    #[error("the request body exceeds the limit of {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A dependency (the database, the embedding model) is not usable right now. The text is shown
    /// to the client, so it says what is missing and what to do, never internal detail.
    #[error("{0}")]
    Unavailable(String),
    /// An external provider (an embedding API) refused or kept failing; the text is the
    /// provider's own reason, never a credential.
    #[error("{0}")]
    Upstream(String),
    /// Anything unexpected. The source is logged at the edge and never sent to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A validation error about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        Error::Validation {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError { field, message }],
        }
    }

    /// A validation error that is not about one field (a bad cursor, a rule across fields).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Error::Validation {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(e.into())
    }
}

/// Collects field errors so that a request reports all its problems at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let detail = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Validation {
            detail,
            errors: self.0,
        })
    }
}
