//! `S3`: the objects under a prefix of a bucket on any S3-compatible store (AWS, MinIO, Ceph,
//! R2, …), through `object_store`. A refresh lists the prefix and reads only objects whose ETag
//! changed. Credentials come from the asset's `auth` (`AWS`); without, requests are unsigned
//! (public buckets). A custom `endpointUrl` must pass the crawler's address guard.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ObjectStore, ObjectStoreExt, path::Path as ObjectPath};
use ragd_core::domain::AuthMethod;
use ragd_core::sources::S3Params;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct S3Source {
    pub config: super::RemoteConfig,
    /// The client of each asset's latest run, so that fetches reuse its connections.
    clients: Mutex<HashMap<uuid::Uuid, Arc<AmazonS3>>>,
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(S3Source::new(s.remote.clone()))
}

impl S3Source {
    pub fn new(config: super::RemoteConfig) -> Self {
        Self {
            config,
            clients: Mutex::new(HashMap::new()),
        }
    }

    async fn client(&self, cx: &Context<'_>) -> Result<Arc<AmazonS3>, String> {
        let params: S3Params = cx.params().map_err(|e| e.to_string())?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&params.bucket)
            // Path-style requests work with every S3-compatible store.
            .with_virtual_hosted_style_request(false);
        // An empty region leaves object_store's default, us-east-1.
        if !params.region.is_empty() {
            builder = builder.with_region(&params.region);
        }
        if let Some(endpoint) = params.endpoint_url.as_deref().filter(|e| !e.is_empty()) {
            let url =
                url::Url::parse(endpoint).map_err(|_| format!("{endpoint:?} is not a URL"))?;
            crate::net::check_endpoint(&self.config.allow_hosts, &url).await?;
            builder = builder
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_allow_http(url.scheme() == "http");
        }
        match cx.credentials {
            Some(c) if c.method == AuthMethod::Aws => {
                builder = builder
                    .with_access_key_id(c.get("accessKeyId").unwrap_or_default())
                    .with_secret_access_key(c.get("secretAccessKey").unwrap_or_default());
                if let Some(token) = c.get("sessionToken") {
                    builder = builder.with_token(token);
                }
            }
            _ => builder = builder.with_skip_signature(true),
        }
        let client = Arc::new(
            builder
                .build()
                .map_err(|e| format!("the bucket settings are invalid: {e}"))?,
        );
        self.clients
            .lock()
            .expect("clients lock")
            .insert(cx.job.claim.asset.id, client.clone());
        Ok(client)
    }
}

/// A short, secret-free reason from an `object_store` error.
fn reason(e: &object_store::Error) -> String {
    match e {
        object_store::Error::NotFound { .. } => "not found".to_owned(),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or("the request failed")
            .to_owned(),
    }
}

#[async_trait::async_trait]
impl Source for S3Source {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params: S3Params = cx.params()?;
        let bucket = params.bucket;
        let prefix = params
            .prefix
            .filter(|p| !p.is_empty())
            .map(ObjectPath::from);
        let client = self
            .client(cx)
            .await
            .map_err(|e| JobError::Source(format!("bucket {bucket}: {e}")))?;
        let objects: Vec<object_store::ObjectMeta> = cx
            .stages
            .time("fetch", client.list(prefix.as_ref()).try_collect())
            .await
            .map_err(|e| JobError::Source(format!("listing bucket {bucket}: {}", reason(&e))))?;
        let mut docs = Vec::new();
        for o in objects {
            let key = o.location.to_string();
            let Some(content_type) = super::file_content_type(&key) else {
                continue;
            };
            let etag = o.e_tag.clone().unwrap_or_default();
            let body = super::listed_body(
                cx,
                &key,
                "etag",
                &etag,
                o.size,
                self.config.max_file_bytes,
                Value::Null,
            );
            let mut metadata = super::path_metadata(&key);
            let modified = o
                .last_modified
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            metadata.insert("modifiedTime".into(), modified.into());
            docs.push(SourceDoc {
                metadata,
                source_url: Some(format!("s3://{bucket}/{key}")),
                file_name: key.clone(),
                key,
                content_type: content_type.to_owned(),
                body,
            });
        }
        Ok(Collected {
            docs,
            complete: true,
            ..Default::default()
        })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, _listed: Value) -> Body {
        let cached = self
            .clients
            .lock()
            .expect("clients lock")
            .get(&cx.job.claim.asset.id)
            .cloned();
        let client = match cached {
            Some(c) => c,
            None => match self.client(cx).await {
                Ok(c) => c,
                Err(e) => return Body::Failed(e),
            },
        };
        let read = async {
            let got = client.get(&ObjectPath::from(doc.key.as_str())).await?;
            let etag = got.meta.e_tag.clone();
            Ok::<_, object_store::Error>((got.bytes().await?, etag))
        };
        match read.await {
            Ok((bytes, etag)) => Body::Bytes {
                bytes,
                meta: json!({ "etag": etag }),
            },
            Err(e) => Body::Failed(format!("reading {} failed: {}", doc.key, reason(&e))),
        }
    }
}
