//! `FILE`: one uploaded file, read from the blob store.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use ragd_core::model::StoredFile;
use ragd_core::store::Blobs;
use serde_json::Value;
use std::sync::Arc;

pub struct FileSource {
    pub blobs: Arc<dyn Blobs>,
}

#[async_trait::async_trait]
impl Source for FileSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let (asset, tenant) = (&cx.job.claim.asset, &cx.job.claim.lease.tenant);
        let id = asset.parameters.get("fileId").and_then(Value::as_str).and_then(|s| uuid::Uuid::parse_str(s).ok());
        let Some(file) = (match id {
            Some(id) => cx.job.store.file_get(tenant, id).await?,
            None => None,
        }) else {
            // The upload is gone: the document fails, and what is indexed stays.
            let key = id.map(|i| i.to_string()).unwrap_or_default();
            let body = Body::Failed("the uploaded file no longer exists".to_owned());
            let doc = SourceDoc { file_name: key.clone(), key, source_url: None, content_type: String::new(), body };
            return Ok(Collected { docs: vec![doc], complete: false, ..Default::default() });
        };
        let doc = SourceDoc {
            key: file.id.to_string(),
            file_name: file.file_name.clone(),
            source_url: None,
            content_type: file.content_type.clone(),
            body: Body::Pending(Value::Null),
        };
        Ok(Collected { docs: vec![doc], complete: true, ..Default::default() })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, _listed: Value) -> Body {
        let tenant = &cx.job.claim.lease.tenant;
        let Ok(id) = uuid::Uuid::parse_str(&doc.key) else { return Body::Failed("not an uploaded file".to_owned()) };
        match self.blobs.get(&StoredFile::blob_key(tenant, id)).await {
            Ok(Some(bytes)) => Body::Bytes { bytes, meta: Value::Object(Default::default()) },
            Ok(None) => Body::Failed("the uploaded file is missing from the file store".to_owned()),
            Err(e) => {
                tracing::error!(error = %e, "reading an upload failed");
                Body::Failed("the uploaded file could not be read".to_owned())
            }
        }
    }
}
