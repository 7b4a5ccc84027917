//! The HTTP client behind the command line's `assets`, `ops`, `search` and `docs`: ragd's public
//! API only (never the database), with problem+json answers turned into one-line errors.

use anyhow::{Context, bail};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::Path;

/// A server, a tenant and the token that may act for it.
pub struct Client {
    http: reqwest::Client,
    /// `http://host:port/v1/tenants/{tenant}`.
    api: String,
    token: String,
}

/// What went wrong, as the server said it (`title: detail`, then each field's problem).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub line: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Problem {}

impl Problem {
    /// An upload refused for what the file is (a type ragd cannot parse, an empty file), not for
    /// anything a retry or another request could change.
    pub fn unreadable(&self) -> bool {
        self.status == StatusCode::UNSUPPORTED_MEDIA_TYPE
            || (self.status == StatusCode::BAD_REQUEST && self.line.contains("the file is empty"))
    }
}

/// The one line a person reads for a failed request.
fn problem_line(status: StatusCode, body: &str) -> Problem {
    let Ok(p) = serde_json::from_str::<Value>(body) else {
        return Problem {
            status,
            line: format!(
                "the server answered {status}: {}",
                body.trim().chars().take(200).collect::<String>()
            ),
        };
    };
    let title = p["title"]
        .as_str()
        .unwrap_or(status.canonical_reason().unwrap_or("error"));
    let mut line = match p["detail"].as_str().filter(|d| !d.is_empty()) {
        Some(detail) => format!("{title}: {detail}"),
        None => title.to_owned(),
    };
    for e in p["errors"].as_array().into_iter().flatten() {
        line.push_str(&format!(
            "\n  {}: {}",
            e["field"].as_str().unwrap_or("?"),
            e["message"].as_str().unwrap_or("?")
        ));
    }
    if let Some(s) = p["retryAfterSeconds"].as_i64() {
        line.push_str(&format!(" (retry in {s} s)"));
    }
    Problem { status, line }
}

impl Client {
    pub fn new(base_url: &str, tenant: &str, token: String) -> anyhow::Result<Self> {
        let base = url::Url::parse(base_url)
            .with_context(|| format!("--server {base_url} is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!("--server must be an http(s) URL");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("ragd-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            api: format!(
                "{}/v1/tenants/{tenant}",
                base.as_str().trim_end_matches('/')
            ),
            token,
        })
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let res = req.bearer_auth(&self.token).send().await.map_err(|e| {
            let cause = if e.is_connect() {
                "could not connect; is `ragd serve` running there?".to_owned()
            } else {
                e.to_string()
            };
            anyhow::anyhow!(
                "{what}: {} ({cause})",
                self.api.split("/v1/").next().unwrap_or_default()
            )
        })?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        Err(problem_line(status, &body).into())
    }

    /// A JSON request to `path` (below the tenant) and its JSON answer (`null` for a 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = self.send(req, "could not reach ragd at").await?;
        if res.status() == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        Ok(res.json().await?)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Every item of a paged list, following `nextPageToken`.
    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .get(&format!("{path}{sep}PageSize=100&PageToken={token}"))
                .await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => token = url::form_urlencoded::byte_serialize(t.as_bytes()).collect(),
                None => return Ok(items),
            }
        }
    }

    /// Streams a file to `/storage` as a temporary upload (swept unless an asset takes it).
    pub async fn upload(&self, path: &Path) -> anyhow::Result<String> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("a file name must be UTF-8")?
            .to_owned();
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata().await?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let part = reqwest::multipart::Part::stream_with_length(body, len).file_name(name);
        let req = self
            .http
            .post(format!("{}/storage?temporary=true", self.api))
            .multipart(reqwest::multipart::Form::new().part("file", part));
        let res = self
            .send(req, "could not reach ragd at")
            .await
            .with_context(|| format!("uploading {}", path.display()))?;
        let stored: Value = res.json().await?;
        stored["fileId"]
            .as_str()
            .map(str::to_owned)
            .context("the server's answer had no fileId")
    }

    /// Follows an operation's `:watch` events, calling `seen` with each snapshot; returns the
    /// last one (the terminal snapshot, unless the stream broke off).
    pub async fn watch(
        &self,
        asset: &str,
        op: &str,
        mut seen: impl FnMut(&Value),
    ) -> anyhow::Result<Value> {
        let req = self
            .http
            .get(format!("{}/assets/{asset}/operations/{op}:watch", self.api))
            .header("accept", "text/event-stream");
        let res = self.send(req, "could not reach ragd at").await?;
        let mut stream = res.bytes_stream();
        let (mut buffer, mut data, mut last) = (Vec::<u8>::new(), String::new(), Value::Null);
        while let Some(chunk) = stream.next().await {
            buffer.extend_from_slice(&chunk.context("the event stream broke off")?);
            while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches(['\r', '\n']);
                if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                } else if line.is_empty() && !data.is_empty() {
                    if let Ok(snapshot) = serde_json::from_str::<Value>(&data) {
                        seen(&snapshot);
                        last = snapshot;
                    }
                    data.clear();
                }
            }
        }
        if last["done"] != true {
            last = self
                .get(&format!("/assets/{asset}/operations/{op}"))
                .await?;
            seen(&last);
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_one_line_with_its_fields() {
        let body = r#"{"type":"/problems/validation","title":"Invalid request","status":400,"detail":"2 fields","errors":[{"field":"name","message":"must not be blank"},{"field":"topK","message":"at most 100"}]}"#;
        assert_eq!(
            problem_line(StatusCode::BAD_REQUEST, body).line,
            "Invalid request: 2 fields\n  name: must not be blank\n  topK: at most 100"
        );
        assert_eq!(
            problem_line(StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").line,
            "the server answered 502 Bad Gateway: <html>bad gateway</html>"
        );
    }
}
