//! `GOOGLE_DRIVE`: files of Google Drive folders.

use super::*;

/// `GOOGLE_DRIVE`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveParams {
    pub folder_id: String,
    pub include_subfolders: bool,
    pub api_url: String,
}

impl Parameters for DriveParams {
    const SOURCE_TYPE: SourceType = SourceType::GoogleDrive;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::GoogleDrive,
    display_name: "Google Drive folder",
    description: "Files of a Drive folder and its subfolders through the Drive API, with an OAuth token: Docs as HTML, \
        Sheets as CSV, Slides as text, and uploaded files of the types ragd parses. A refresh downloads only files whose version changed.",
    supports_oauth: true,
    supports_auto_update: true,
    supports_webhook_registration: true,
    supports_poll_schedule: true,
    auth_methods: &[AuthMethod::OAuth2],
    validate,
    decode: decodes::<DriveParams>,
    link,
    properties: &[
        prop(
            "folderId",
            PropertyType::String,
            false,
            Some("root"),
            "The folder's id (from its URL); default: My Drive.",
        ),
        prop(
            "includeSubfolders",
            PropertyType::Boolean,
            false,
            Some("true"),
            "Also index the folder's subfolders.",
        ),
        prop(
            "apiUrl",
            PropertyType::String,
            false,
            Some("https://www.googleapis.com"),
            "API base (for tests and proxies).",
        ),
    ],
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    http_url(params, "apiUrl", at, &mut v);
    v.into_result()
}

/// The Drive folder.
fn link(params: &Map<String, Value>) -> Option<Link> {
    let folder = params
        .get("folderId")
        .and_then(|f| f.as_str())
        .unwrap_or("root");
    Some(Link::Url(format!(
        "https://drive.google.com/drive/folders/{folder}"
    )))
}
