//! `TEXT`: documents given inline in the asset's parameters.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use serde_json::Value;

pub struct TextSource;

#[async_trait::async_trait]
impl Source for TextSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params = &cx.job.claim.asset.parameters;
        let docs = params
            .get("documents")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| {
                let name = d.get("name")?.as_str()?;
                let text = d.get("text")?.as_str()?;
                Some(SourceDoc {
                    key: name.to_owned(),
                    file_name: name.to_owned(),
                    source_url: None,
                    content_type: d
                        .get("contentType")
                        .and_then(Value::as_str)
                        .unwrap_or("text/plain")
                        .to_owned(),
                    body: Body::Bytes {
                        bytes: bytes::Bytes::copy_from_slice(text.as_bytes()),
                        meta: Value::Object(Default::default()),
                    },
                })
            })
            .collect();
        Ok(Collected {
            docs,
            complete: true,
            ..Default::default()
        })
    }
}
