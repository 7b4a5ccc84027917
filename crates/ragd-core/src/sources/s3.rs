//! `S3`: objects of an S3(-compatible) bucket under a prefix.

use super::*;

/// `S3`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Params {
    pub bucket: String,
    pub prefix: Option<String>,
    /// AWS when `None`.
    pub endpoint_url: Option<String>,
    pub region: String,
}

impl Parameters for S3Params {
    const SOURCE_TYPE: SourceType = SourceType::S3;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::S3,
    display_name: "S3 bucket",
    description: "Objects under a prefix of a bucket on AWS S3 or any S3-compatible store (MinIO, Ceph, R2, …). \
        A refresh lists the prefix and reads only objects whose ETag changed.",
    supports_oauth: false,
    supports_auto_update: true,
    supports_webhook_registration: true,
    supports_poll_schedule: true,
    auth_methods: &[AuthMethod::Aws],
    validate,
    decode: decodes::<S3Params>,
    link,
    properties: &[
        prop("bucket", PropertyType::String, true, None, "Bucket name."),
        prop(
            "prefix",
            PropertyType::String,
            false,
            None,
            "Only objects whose key starts with this prefix (e.g. docs/).",
        ),
        prop(
            "endpointUrl",
            PropertyType::String,
            false,
            None,
            "Endpoint of an S3-compatible store (default: AWS).",
        ),
        prop(
            "region",
            PropertyType::String,
            false,
            Some("us-east-1"),
            "Region of the bucket.",
        ),
    ],
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let bucket = params
        .get("bucket")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.as_bytes()[0].is_ascii_alphanumeric();
    if !valid {
        v.add(
            format!("{at}.bucket"),
            "must be 3-63 characters of a-z, 0-9, '.' and '-'",
        );
    }
    http_url(params, "endpointUrl", at, &mut v);
    v.into_result()
}

/// The bucket, at its endpoint when it has one.
fn link(params: &Map<String, Value>) -> Option<Link> {
    let bucket = params.get("bucket")?.as_str()?;
    Some(Link::Url(
        match params.get("endpointUrl").and_then(|e| e.as_str()) {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("s3://{bucket}"),
        },
    ))
}
