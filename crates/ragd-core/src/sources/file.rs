//! `FILE`: files uploaded to `/storage`.

use super::*;

/// Most uploads one `FILE` asset holds (`fileIds`, ragd).
pub const MAX_FILES: usize = 10_000;
/// Default upload limit (`POST /storage`, `POST /assets:file`); configurable.
pub const DEFAULT_UPLOAD_LIMIT_BYTES: u64 = 50 * 1024 * 1024;

/// `FILE`'s parameters: one upload, or several (ragd).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileParams {
    pub file_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub file_ids: Vec<uuid::Uuid>,
}

impl FileParams {
    /// The uploads the asset names: `fileId`, or the list `fileIds`, in order.
    pub fn ids(&self) -> Vec<uuid::Uuid> {
        self.file_id
            .into_iter()
            .chain(self.file_ids.iter().copied())
            .collect()
    }
}

impl Parameters for FileParams {
    const SOURCE_TYPE: SourceType = SourceType::File;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::File,
    display_name: "Uploaded file",
    description: "Files uploaded to /storage (or one with assets:file): PDF, DOCX, HTML, Markdown, text, CSV or JSON.",
    supports_oauth: false,
    supports_auto_update: false,
    supports_webhook_registration: false,
    supports_poll_schedule: false,
    auth_methods: &[],
    validate,
    decode: decodes::<FileParams>,
    link,
    properties: &[
        prop(
            "fileId",
            PropertyType::String,
            false,
            None,
            "The fileId returned by POST /storage (this or fileIds).",
        ),
        prop(
            "fileIds",
            PropertyType::StringList,
            false,
            None,
            "(ragd) Several fileIds returned by POST /storage, one document each (this or fileId).",
        ),
    ],
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
    let uuid = |v: &Value| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok());
    match (
        params.get("fileId").filter(|v| !v.is_null()),
        params.get("fileIds").filter(|v| !v.is_null()),
    ) {
        (Some(id), None) if uuid(id).is_some() => Ok(()),
        (Some(_), None) => Err(crate::Error::invalid(
            format!("{at}.fileId"),
            "must be a fileId returned by POST /storage",
        )),
        (None, Some(Value::Array(ids))) => {
            let mut v = Violations::default();
            if ids.is_empty() || ids.len() > MAX_FILES {
                v.add(
                    format!("{at}.fileIds"),
                    format!("must hold 1 to {MAX_FILES} fileIds"),
                );
            }
            let mut seen = std::collections::HashSet::new();
            for (i, id) in ids.iter().enumerate() {
                match uuid(id) {
                    None => v.add(
                        format!("{at}.fileIds[{i}]"),
                        "must be a fileId returned by POST /storage",
                    ),
                    Some(id) if !seen.insert(id) => v.add(
                        format!("{at}.fileIds[{i}]"),
                        "names a file already in the list",
                    ),
                    Some(_) => {}
                }
            }
            v.into_result()
        }
        _ => Err(crate::Error::invalid(
            format!("{at}.fileId"),
            "name the upload: fileId, or several as fileIds (not both)",
        )),
    }
}

/// The download link of the upload (`fileId`; a `fileIds` asset has none).
fn link(params: &Map<String, Value>) -> Option<Link> {
    let id = params.get("fileId")?.as_str()?;
    Some(Link::Upload(id.to_owned()))
}
