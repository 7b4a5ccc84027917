//! `GOOGLE_DRIVE`: the files of a Drive folder (and, by default, its subfolders) through the
//! Drive API v3, with an OAuth token.
//!
//! A run lists each folder (`GET /drive/v3/files?q='<id>' in parents and trashed=false`, paged,
//! shared drives included) with every file's `modifiedTime` and `md5Checksum`; a file whose
//! version equals the one stored for its document is not downloaded. Google Docs are exported as
//! HTML, Sheets as CSV and Slides as text (`/files/{id}/export`); other files of types ragd parses
//! are downloaded (`/files/{id}?alt=media`). Document keys are Drive file ids, so renames and moves
//! keep their documents.

use super::{Body, Collected, Context, Source, SourceDoc};
use crate::worker::JobError;
use serde::Deserialize;
use serde_json::{Value, json};

const FOLDER: &str = "application/vnd.google-apps.folder";
/// Most files one asset lists.
const MAX_FILES: usize = 10_000;

pub struct DriveSource {
    config: super::RemoteConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileList {
    next_page_token: Option<String>,
    #[serde(default)]
    files: Vec<DriveFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DriveFile {
    id: String,
    name: String,
    mime_type: String,
    modified_time: Option<String>,
    md5_checksum: Option<String>,
    size: Option<String>,
    web_view_link: Option<String>,
}

/// How a file becomes bytes ragd parses: its content type and the path after `/drive/v3/files/{id}`.
fn reading(f: &DriveFile) -> Option<(&'static str, String)> {
    let export = |mime: &str| {
        format!(
            "/export?mimeType={}",
            url::form_urlencoded::byte_serialize(mime.as_bytes()).collect::<String>()
        )
    };
    Some(match f.mime_type.as_str() {
        "application/vnd.google-apps.document" => ("text/html", export("text/html")),
        "application/vnd.google-apps.spreadsheet" => ("text/csv", export("text/csv")),
        "application/vnd.google-apps.presentation" => ("text/plain", export("text/plain")),
        m if m.starts_with("application/vnd.google-apps.") => return None,
        m => {
            let ct = super::file_content_type(&f.name)
                .or_else(|| ragd_core::content_types::normalise_content_type(m))?;
            (ct, "?alt=media&supportsAllDrives=true".to_owned())
        }
    })
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(DriveSource::new(s.remote.clone()))
}

impl DriveSource {
    pub fn new(config: super::RemoteConfig) -> Self {
        Self {
            config,
            http: super::api_client(120),
        }
    }

    fn get(&self, cx: &Context<'_>, url: &str) -> reqwest::RequestBuilder {
        let req = self.http.get(url);
        match super::bearer_token(cx.credentials) {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn list(
        &self,
        cx: &Context<'_>,
        api: &str,
        folder: &str,
        page: Option<&str>,
    ) -> Result<FileList, JobError> {
        let q = format!(
            "'{}' in parents and trashed = false",
            folder.replace('\'', "\\'")
        );
        let mut query = vec![
            ("q", q.as_str()),
            (
                "fields",
                "nextPageToken,files(id,name,mimeType,modifiedTime,md5Checksum,size,webViewLink)",
            ),
            ("pageSize", "1000"),
            ("supportsAllDrives", "true"),
            ("includeItemsFromAllDrives", "true"),
        ];
        if let Some(p) = page {
            query.push(("pageToken", p));
        }
        let what = format!("listing folder {folder}");
        let r = self
            .get(cx, &format!("{api}/drive/v3/files"))
            .query(&query)
            .send()
            .await
            .map_err(|e| {
                JobError::Source(format!(
                    "{what}: {}",
                    super::unreachable("Google Drive", &e)
                ))
            })?;
        if !r.status().is_success() {
            return Err(JobError::Source(format!(
                "{what}: {}",
                super::api_refusal("Google Drive", r).await
            )));
        }
        r.json().await.map_err(|e| {
            JobError::Source(format!("{what}: unexpected answer from Google Drive ({e})"))
        })
    }
}

impl DriveSource {
    /// A listed file as a document, read when the index needs it (its version: the modified
    /// time and MD5 checksum Drive reports).
    fn listed(
        &self,
        cx: &Context<'_>,
        api: &str,
        f: DriveFile,
        name: String,
        content_type: &str,
        how: &str,
    ) -> SourceDoc {
        let mut metadata = super::path_metadata(&name);
        if let Some(t) = f.modified_time.as_deref().and_then(super::metadata_time) {
            metadata.insert("modifiedTime".into(), t);
        }
        let version = format!(
            "{}|{}",
            f.modified_time.unwrap_or_default(),
            f.md5_checksum.unwrap_or_default()
        );
        let size: u64 = f.size.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
        let listed =
            json!({ "url": format!("{api}/drive/v3/files/{}{how}", f.id), "version": version });
        let body = super::listed_body(
            cx,
            &f.id,
            "version",
            &version,
            size,
            self.config.max_file_bytes,
            listed,
        );
        SourceDoc {
            metadata,
            key: f.id,
            file_name: name,
            source_url: f.web_view_link,
            content_type: content_type.to_owned(),
            body,
        }
    }
}

#[async_trait::async_trait]
impl Source for DriveSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params: ragd_core::sources::DriveParams = cx.params()?;
        let api = super::checked_api(&params.api_url, &self.config.allow_hosts).await?;
        let (root, recursive) = (params.folder_id, params.include_subfolders);
        let (mut docs, mut complete) = (Vec::new(), true);
        let mut folders = vec![(root, String::new())];
        let mut seen = std::collections::HashSet::new();
        while let Some((folder, path)) = folders.pop() {
            if !seen.insert(folder.clone()) {
                continue;
            }
            let mut page: Option<String> = None;
            loop {
                let list = cx
                    .stages
                    .time("fetch", self.list(cx, &api, &folder, page.as_deref()))
                    .await?;
                for f in list.files {
                    let name = if path.is_empty() {
                        f.name.clone()
                    } else {
                        format!("{path}/{}", f.name)
                    };
                    if f.mime_type == FOLDER {
                        if recursive {
                            folders.push((f.id, name));
                        }
                        continue;
                    }
                    let Some((content_type, how)) = reading(&f) else {
                        continue;
                    };
                    if docs.len() >= MAX_FILES {
                        complete = false;
                        continue;
                    }
                    docs.push(self.listed(cx, &api, f, name, content_type, &how));
                }
                match list.next_page_token {
                    Some(t) if !t.is_empty() => page = Some(t),
                    _ => break,
                }
            }
        }
        Ok(Collected {
            docs,
            complete,
            ..Default::default()
        })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, listed: Value) -> Body {
        let read = super::download(
            "Google Drive",
            self.get(cx, listed["url"].as_str().unwrap_or_default()),
        );
        match read.await {
            Ok(bytes) => Body::Bytes {
                bytes,
                meta: json!({ "version": listed["version"] }),
            },
            Err(e) => Body::Failed(format!("downloading {}: {e}", doc.file_name)),
        }
    }
}
