//! `NOTION`: Notion pages and databases.

use super::*;

/// `NOTION`'s parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotionParams {
    #[serde(default)]
    pub page_ids: Vec<String>,
    #[serde(default)]
    pub database_ids: Vec<String>,
    pub api_url: String,
}

impl Parameters for NotionParams {
    const SOURCE_TYPE: SourceType = SourceType::Notion;
}

pub(super) const DESCRIPTOR: SourceTypeDescriptor = SourceTypeDescriptor {
    source_type: SourceType::Notion,
    display_name: "Notion pages",
    description: "Notion pages and the pages of Notion databases through the Notion API, rendered as Markdown, with an OAuth token \
        or an internal integration's secret (API_KEY). A refresh reads only pages whose last_edited_time changed.",
    supports_oauth: true,
    supports_auto_update: true,
    supports_webhook_registration: true,
    supports_poll_schedule: true,
    auth_methods: &[AuthMethod::OAuth2, AuthMethod::ApiKey],
    validate,
    decode: decodes::<NotionParams>,
    link,
    properties: &[
        prop(
            "pageIds",
            PropertyType::StringList,
            false,
            None,
            "Pages to index.",
        ),
        prop(
            "databaseIds",
            PropertyType::StringList,
            false,
            None,
            "Databases whose pages to index.",
        ),
        prop(
            "apiUrl",
            PropertyType::String,
            false,
            Some("https://api.notion.com"),
            "API base (for tests and proxies).",
        ),
    ],
};

fn validate(params: &Map<String, Value>, at: &str) -> Result<()> {
    let mut v = Violations::default();
    let count = |n: &str| params.get(n).and_then(Value::as_array).map_or(0, Vec::len);
    if count("pageIds") + count("databaseIds") == 0 {
        v.add(
            format!("{at}.pageIds"),
            "name at least one page (pageIds) or database (databaseIds)",
        );
    }
    for name in ["pageIds", "databaseIds"] {
        for (i, id) in params
            .get(name)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let id = id.as_str().unwrap_or_default().replace('-', "");
            if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                v.add(
                    format!("{at}.{name}[{i}]"),
                    "must be a Notion id (32 hex digits, dashes allowed)",
                );
            }
        }
    }
    http_url(params, "apiUrl", at, &mut v);
    v.into_result()
}

/// The first page (or database) named.
fn link(params: &Map<String, Value>) -> Option<Link> {
    let first = params
        .get("pageIds")
        .or(params.get("databaseIds"))?
        .get(0)?
        .as_str()?;
    Some(Link::Url(format!(
        "https://www.notion.so/{}",
        first.replace('-', "")
    )))
}
