//! `TEXT`: documents given inline in the asset's parameters.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use ragd_core::domain::Metadata;
use ragd_core::sources::TextParams;
use serde_json::Value;

pub struct TextSource;

pub fn collector(_: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(TextSource)
}

/// What ragd derived, overlaid by what the client gave.
pub(crate) fn given(mut derived: Metadata, given: Metadata) -> Metadata {
    derived.extend(given);
    derived
}

#[async_trait::async_trait]
impl Source for TextSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params: TextParams = cx.params()?;
        let docs = params
            .documents
            .into_iter()
            .map(|d| SourceDoc {
                metadata: given(super::path_metadata(&d.name), d.metadata),
                key: d.name.clone(),
                file_name: d.name,
                source_url: None,
                content_type: d.content_type,
                body: Body::Bytes {
                    bytes: bytes::Bytes::from(d.text),
                    meta: Value::Object(Default::default()),
                },
            })
            .collect();
        Ok(Collected {
            docs,
            complete: true,
            ..Default::default()
        })
    }
}
