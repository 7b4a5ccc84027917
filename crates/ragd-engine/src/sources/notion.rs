//! `NOTION`: pages, and the pages of databases, of a Notion workspace through its REST API
//! (`Notion-Version: 2022-06-28`), with an OAuth token or an internal integration's secret.
//!
//! A run lists the databases' pages (`POST /v1/databases/{id}/query`, paged) and reads the named
//! pages (`GET /v1/pages/{id}`); a page whose `last_edited_time` equals the one stored for its
//! document is not read again. A changed page's blocks are read (`GET /v1/blocks/{id}/children`,
//! paged, nested blocks too, up to [`MAX_DEPTH`] levels and [`MAX_BLOCKS`] blocks) and rendered as
//! Markdown: headings, paragraphs, lists, to-dos, quotes, callouts, code, toggles, tables and
//! dividers; a sub-page appears as its title (sub-pages are documents only when listed or in a
//! listed database).

use super::{Body, Collected, Context, Metadata, Source, SourceDoc};
use crate::worker::JobError;
use serde_json::{Value, json};

pub const NOTION_VERSION: &str = "2022-06-28";
const MAX_DEPTH: usize = 6;
const MAX_BLOCKS: usize = 5_000;

pub struct NotionSource {
    config: super::RemoteConfig,
    http: reqwest::Client,
}

/// Plain text of a rich-text array.
fn plain(rich: &Value) -> String {
    rich.as_array()
        .map(|a| a.iter().filter_map(|t| t["plain_text"].as_str()).collect())
        .unwrap_or_default()
}

/// A page's title: the property of type `title`.
fn title(page: &Value) -> String {
    let t = page["properties"]
        .as_object()
        .and_then(|p| p.values().find(|v| v["type"] == "title"))
        .map(|v| plain(&v["title"]));
    t.filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "Untitled".to_owned())
}

/// Markdown for one block (without its children), indented for nesting.
fn render(block: &Value, indent: &str, out: &mut String) {
    let kind = block["type"].as_str().unwrap_or_default();
    let body = &block[kind];
    let text = plain(&body["rich_text"]);
    let line = match kind {
        "paragraph" => text,
        "heading_1" => format!("# {text}"),
        "heading_2" => format!("## {text}"),
        "heading_3" => format!("### {text}"),
        "bulleted_list_item" | "toggle" => format!("- {text}"),
        "numbered_list_item" => format!("1. {text}"),
        "to_do" => format!(
            "- [{}] {text}",
            if body["checked"] == true { "x" } else { " " }
        ),
        "quote" | "callout" => format!("> {text}"),
        "code" => format!(
            "```{}\n{text}\n```",
            body["language"].as_str().unwrap_or("")
        ),
        "divider" => "---".to_owned(),
        "child_page" => format!(
            "**{}** (sub-page)",
            body["title"].as_str().unwrap_or("Untitled")
        ),
        "child_database" => format!(
            "**{}** (database)",
            body["title"].as_str().unwrap_or("Untitled")
        ),
        "table_row" => {
            let cells: Vec<String> = body["cells"]
                .as_array()
                .map(|c| c.iter().map(plain).collect())
                .unwrap_or_default();
            format!("| {} |", cells.join(" | "))
        }
        "equation" => format!("$${}$$", body["expression"].as_str().unwrap_or("")),
        "bookmark" | "embed" | "link_preview" => body["url"].as_str().unwrap_or("").to_owned(),
        _ => return,
    };
    if line.trim().is_empty() {
        return;
    }
    for l in line.lines() {
        out.push_str(indent);
        out.push_str(l);
        out.push('\n');
    }
    if kind != "table_row" {
        out.push('\n');
    }
}

pub fn collector(s: &super::SourceSettings) -> Box<dyn Source> {
    Box::new(NotionSource::new(s.remote.clone()))
}

impl NotionSource {
    pub fn new(config: super::RemoteConfig) -> Self {
        Self {
            config,
            http: super::api_client(60),
        }
    }

    async fn call(
        &self,
        cx: &Context<'_>,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method, url)
            .header("notion-version", NOTION_VERSION);
        if let Some(t) = super::bearer_token(cx.credentials) {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .map_err(|e| super::unreachable("Notion", &e))?;
        if !r.status().is_success() {
            return Err(super::api_refusal("Notion", r).await);
        }
        r.json()
            .await
            .map_err(|e| format!("unexpected answer from Notion ({e})"))
    }

    /// The page's blocks as Markdown, nested blocks indented under their parents.
    async fn markdown(
        &self,
        cx: &Context<'_>,
        api: &str,
        page: &str,
        title: &str,
    ) -> Result<String, String> {
        let mut out = format!("# {title}\n\n");
        let mut seen = 0usize;
        self.children(cx, api, page, 0, &mut out, &mut seen).await?;
        Ok(out)
    }

    /// Renders the children of `id` in order, each followed by its own children (depth first).
    fn children<'a>(
        &'a self,
        cx: &'a Context<'_>,
        api: &'a str,
        id: &'a str,
        depth: usize,
        out: &'a mut String,
        seen: &'a mut usize,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut cursor: Option<String> = None;
            loop {
                let mut url = format!("{api}/v1/blocks/{id}/children?page_size=100");
                if let Some(c) = &cursor {
                    url.push_str(&format!("&start_cursor={c}"));
                }
                let list = self.call(cx, reqwest::Method::GET, &url, None).await?;
                for b in list["results"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    *seen += 1;
                    if *seen > MAX_BLOCKS {
                        return Ok(());
                    }
                    render(b, &"  ".repeat(depth), out);
                    let nested = b["has_children"] == true
                        && b["type"] != "child_page"
                        && b["type"] != "child_database";
                    if nested && depth + 1 < MAX_DEPTH {
                        self.children(
                            cx,
                            api,
                            b["id"].as_str().unwrap_or_default(),
                            depth + 1,
                            out,
                            seen,
                        )
                        .await?;
                    }
                }
                match (list["has_more"].as_bool(), list["next_cursor"].as_str()) {
                    (Some(true), Some(c)) => cursor = Some(c.to_owned()),
                    _ => return Ok(()),
                }
            }
        })
    }
}

/// What ragd derives for a page: when it was last edited, and its URL.
fn page_metadata(last_edited: &str, url: Option<&str>) -> Metadata {
    let mut metadata = Metadata::new();
    if let Some(t) = super::metadata_time(last_edited) {
        metadata.insert("modifiedTime".into(), t);
    }
    if let Some(u) = url {
        metadata.insert("url".into(), u.into());
    }
    metadata
}

#[async_trait::async_trait]
impl Source for NotionSource {
    async fn collect(&self, cx: &Context<'_>) -> Result<Collected, JobError> {
        let params: ragd_core::sources::NotionParams = cx.params()?;
        let api = super::checked_api(&params.api_url, &self.config.allow_hosts).await?;
        let mut pages: Vec<Value> = Vec::new();
        for db in &params.database_ids {
            let mut cursor: Option<String> = None;
            loop {
                let mut body = json!({"page_size": 100});
                if let Some(c) = &cursor {
                    body["start_cursor"] = json!(c);
                }
                let url = format!("{api}/v1/databases/{db}/query");
                let list = cx
                    .stages
                    .time(
                        "fetch",
                        self.call(cx, reqwest::Method::POST, &url, Some(body)),
                    )
                    .await
                    .map_err(|e| JobError::Source(format!("querying database {db}: {e}")))?;
                pages.extend(list["results"].as_array().cloned().unwrap_or_default());
                match (list["has_more"].as_bool(), list["next_cursor"].as_str()) {
                    (Some(true), Some(c)) => cursor = Some(c.to_owned()),
                    _ => break,
                }
            }
        }
        for id in &params.page_ids {
            let url = format!("{api}/v1/pages/{id}");
            let page = cx
                .stages
                .time("fetch", self.call(cx, reqwest::Method::GET, &url, None))
                .await
                .map_err(|e| JobError::Source(format!("reading page {id}: {e}")))?;
            pages.push(page);
        }
        let mut seen = std::collections::HashSet::new();
        let mut docs = Vec::new();
        for page in pages
            .into_iter()
            .filter(|p| p["object"] == "page" && p["archived"] != true && p["in_trash"] != true)
        {
            let Some(id) = page["id"].as_str().map(str::to_owned) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                continue;
            }
            let version = page["last_edited_time"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let name = title(&page);
            let body = super::listed_body(
                cx,
                &id,
                "version",
                &version,
                0,
                u64::MAX,
                json!({ "api": api, "version": version }),
            );
            let source_url = page["url"].as_str().map(str::to_owned);
            docs.push(SourceDoc {
                metadata: page_metadata(&version, source_url.as_deref()),
                key: id,
                file_name: name,
                source_url,
                content_type: "text/markdown".to_owned(),
                body,
            });
        }
        Ok(Collected {
            docs,
            complete: true,
            ..Default::default()
        })
    }

    async fn fetch(&self, cx: &Context<'_>, doc: &SourceDoc, listed: Value) -> Body {
        let api = listed["api"].as_str().unwrap_or_default();
        match self.markdown(cx, api, &doc.key, &doc.file_name).await {
            Ok(md) => Body::Bytes {
                bytes: md.into(),
                meta: json!({ "version": listed["version"] }),
            },
            Err(e) => Body::Failed(format!("reading the page's blocks: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_render_as_markdown() {
        let rt = |s: &str| json!([{"type": "text", "plain_text": s}]);
        let mut out = String::new();
        for b in [
            json!({"type": "heading_2", "heading_2": {"rich_text": rt("Install")}}),
            json!({"type": "to_do", "to_do": {"rich_text": rt("Check the tide"), "checked": true}}),
            json!({"type": "code", "code": {"rich_text": rt("cargo run"), "language": "sh"}}),
            json!({"type": "image", "image": {}}),
            json!({"type": "table_row", "table_row": {"cells": [rt("north"), rt("12")]}}),
        ] {
            render(&b, "", &mut out);
        }
        assert_eq!(
            out,
            "## Install\n\n- [x] Check the tide\n\n```sh\ncargo run\n```\n\n| north | 12 |\n"
        );
        assert_eq!(
            title(&json!({"properties": {"Name": {"type": "title", "title": rt("Ferry guide")}}})),
            "Ferry guide"
        );
    }
}
