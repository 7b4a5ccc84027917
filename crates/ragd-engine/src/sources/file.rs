//! `FILE`: uploaded files (`fileId`, or `fileIds`), read from the blob store.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use ragd_core::domain::StoredFile;
use ragd_core::ports::store::Blobs;
use serde_json::Value;
use std::sync::Arc;

pub struct FileSource {
    pub blobs: Arc<dyn Blobs>,
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(FileSource {
        blobs: s.blobs.clone(),
    })
}

#[async_trait::async_trait]
impl Source for FileSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let tenant = &cx.job.claim.lease.tenant;
        let mut collected = Collected {
            complete: true,
            ..Default::default()
        };
        let params: ragd_core::sources::FileParams = cx.params()?;
        for id in params.ids() {
            let doc = match cx.job.store.file_get(tenant, id).await? {
                Some(file) => SourceDoc {
                    metadata: super::text::given(
                        super::path_metadata(&file.file_name),
                        file.metadata.clone(),
                    ),
                    key: file.id.to_string(),
                    file_name: file.file_name.clone(),
                    source_url: None,
                    content_type: file.content_type.clone(),
                    body: Body::Pending(Value::Null),
                },
                None => {
                    // The upload is gone: its document fails, and what is indexed stays.
                    collected.complete = false;
                    let body = Body::Failed("the uploaded file no longer exists".to_owned());
                    SourceDoc {
                        file_name: id.to_string(),
                        key: id.to_string(),
                        source_url: None,
                        content_type: String::new(),
                        body,
                        metadata: Default::default(),
                    }
                }
            };
            collected.docs.push(doc);
        }
        Ok(collected)
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, _listed: Value) -> Body {
        let tenant = &cx.job.claim.lease.tenant;
        let Ok(id) = uuid::Uuid::parse_str(&doc.key) else {
            return Body::Failed("not an uploaded file".to_owned());
        };
        match self.blobs.get(&StoredFile::blob_key(tenant, id)).await {
            Ok(Some(bytes)) => Body::Bytes {
                bytes,
                meta: Value::Object(Default::default()),
            },
            Ok(None) => Body::Failed("the uploaded file is missing from the file store".to_owned()),
            Err(e) => {
                tracing::error!(error = %e, "reading an upload failed");
                Body::Failed("the uploaded file could not be read".to_owned())
            }
        }
    }
}
