//! Uploaded files: streamed to the blob store, downloaded by their link, swept when temporary.

use super::*;
use crate::content_types;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::ports::store::BlobStream;
use crate::time::now_ms;
use uuid::Uuid;

impl Services {
    /// Streams an upload to the blob store. The content type comes from the file's name, its
    /// first bytes and the declared type; one ragd cannot parse is a 415, a body over the upload
    /// limit a 413, and neither leaves anything stored.
    pub async fn file_store(
        &self,
        caller: &Caller,
        file_name: &str,
        declared: Option<&str>,
        mut body: BlobStream,
        temporary: bool,
    ) -> Result<StoredFile> {
        use futures::StreamExt;
        let file_name = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .trim();
        if file_name.is_empty()
            || file_name.chars().count() > 1024
            || file_name.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "file",
                "the file part needs a file name of 1-1024 characters, none a control character",
            ));
        }
        let mut head = Vec::new();
        while head.len() < 8 {
            match body.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => break,
            }
        }
        let content_type = content_types::detect_upload_content_type(file_name, declared, &head)
            .ok_or_else(|| {
                let supported: Vec<&str> = content_types::CONTENT_TYPES
                    .iter()
                    .chain(content_types::IMAGE_TYPES)
                    .flat_map(|(_, exts)| exts.iter().copied())
                    .collect();
                Error::UnsupportedMediaType(format!(
                    "{file_name} ({}) is not a supported type; ragd ingests {}",
                    declared.unwrap_or("no content type"),
                    supported.join(" ")
                ))
            })?;
        if head.is_empty() {
            return Err(Error::invalid("file", "the file is empty"));
        }
        let id = Uuid::now_v7();
        let key = StoredFile::blob_key(&caller.tenant, id);
        let body = futures::stream::once(async move { Ok(bytes::Bytes::from(head)) })
            .chain(body)
            .boxed();
        let (size, sha256) = self.blobs.put(&key, body, self.upload_limit).await?;
        let file = StoredFile {
            id,
            tenant: caller.tenant.clone(),
            file_name: file_name.to_owned(),
            content_type: content_type.to_owned(),
            size: size as i64,
            sha256,
            temporary,
            created_at: now_ms(),
            metadata: Metadata::new(),
        };
        if let Err(e) = self.store.file_create(&file).await {
            let _ = self.blobs.delete(&key).await;
            return Err(e);
        }
        Ok(file)
    }

    /// The bytes of an uploaded file, for its download link.
    pub async fn file_get(&self, caller: &Caller, id: Uuid) -> Result<(StoredFile, bytes::Bytes)> {
        let file = self
            .store
            .file_get(&caller.tenant, id)
            .await?
            .ok_or(Error::NotFound("file"))?;
        let bytes = self
            .blobs
            .get(&StoredFile::blob_key(&caller.tenant, id))
            .await?
            .ok_or(Error::NotFound("file"))?;
        Ok((file, bytes))
    }

    /// Removes an upload, its bytes and its record (its asset was deleted or could not be
    /// created, or it expired).
    pub async fn file_discard(&self, tenant: &TenantId, id: Uuid) -> Result<()> {
        self.blobs.delete(&StoredFile::blob_key(tenant, id)).await?;
        self.store.file_delete(tenant, id).await?;
        Ok(())
    }

    /// Deletes temporary uploads older than a day that no asset imported. Returns how many.
    pub async fn files_sweep(&self, now: crate::time::Millis) -> Result<usize> {
        let expired = self
            .store
            .files_expired(now - TEMPORARY_FILE_TTL_MS, 1000)
            .await?;
        for f in &expired {
            self.file_discard(&f.tenant, f.id).await?;
        }
        Ok(expired.len())
    }
}
