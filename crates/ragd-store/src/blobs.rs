//! Uploaded files' bytes, behind `ragd_core::ports::store::Blobs`, on `object_store`: a local directory
//! by default; the same code writes to any store `object_store` speaks (S3, GCS, Azure).
//!
//! Uploads are streamed as multipart writes (the local store stages them in a temporary file and
//! renames on completion), so an aborted or oversized upload never leaves a visible object.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use ragd_core::ports::store::{BlobStream, Blobs};
use ragd_core::{Error, Result};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
}

fn internal(e: object_store::Error) -> Error {
    Error::internal(format!("blob store: {e}"))
}

impl ObjectBlobs {
    /// Files under `dir`, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("creating {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(internal)?;
        Ok(Self {
            store: Arc::new(store),
        })
    }
}

#[async_trait]
impl Blobs for ObjectBlobs {
    async fn put(&self, key: &str, mut body: BlobStream, limit: u64) -> Result<(u64, String)> {
        let path = Path::from(key);
        let mut upload =
            WriteMultipart::new(self.store.put_multipart(&path).await.map_err(internal)?);
        let (mut size, mut hash) = (0u64, Sha256::new());
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = upload.abort().await;
                    return Err(e);
                }
            };
            size += chunk.len() as u64;
            if size > limit {
                let _ = upload.abort().await;
                return Err(Error::PayloadTooLarge { limit_bytes: limit });
            }
            hash.update(&chunk);
            upload.wait_for_capacity(4).await.map_err(internal)?;
            upload.write(&chunk);
        }
        upload.finish().await.map_err(internal)?;
        Ok((size, hex::encode(hash.finalize())))
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.store.get(&Path::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(internal)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static [u8]]) -> BlobStream {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
        .boxed()
    }

    #[tokio::test]
    async fn put_get_delete_and_the_limit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = ObjectBlobs::local(dir.path()).unwrap();
        let (size, sha) = blobs
            .put("acme/a", body(&[b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(size, 11);
        assert_eq!(sha, hex::encode(Sha256::digest(b"hello world")));
        assert_eq!(
            blobs.get("acme/a").await.unwrap().unwrap().as_ref(),
            b"hello world"
        );
        let err = blobs
            .put("acme/b", body(&[b"0123456789", b"0123456789"]), 15)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::PayloadTooLarge { limit_bytes: 15 }),
            "{err:?}"
        );
        assert!(blobs.get("acme/b").await.unwrap().is_none());
        let files: Vec<_> = walk(dir.path());
        assert_eq!(files.len(), 1, "no staged leftovers: {files:?}");
        blobs.delete("acme/a").await.unwrap();
        blobs.delete("acme/a").await.unwrap();
        assert!(blobs.get("acme/a").await.unwrap().is_none());
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()))
            } else {
                out.push(e.path())
            }
        }
        out
    }
}
