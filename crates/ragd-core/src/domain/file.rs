//! Uploaded files and how long a temporary one waits.

use super::*;

/// A file uploaded to `/storage` (or with `:file`); its bytes are in the blob store under
/// [`StoredFile::blob_key`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub id: Uuid,
    pub tenant: TenantId,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Not yet imported into an asset; swept after [`TEMPORARY_FILE_TTL_MS`].
    pub temporary: bool,
    pub created_at: Millis,
    /// What the client gave with the upload (`Payload.metadata`, `:import`'s `metadata`): the
    /// metadata of the document ingestion makes of it.
    pub metadata: Metadata,
}

/// How long a temporary upload waits to be imported before it is swept.
pub const TEMPORARY_FILE_TTL_MS: i64 = 24 * 3600 * 1000;

impl StoredFile {
    pub fn blob_key(tenant: &TenantId, id: Uuid) -> String {
        format!("{}/{id}", tenant.as_str())
    }
}
