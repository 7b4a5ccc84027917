//! Which HTTP methods each path accepts, read from the OpenAPI document: a request with a method
//! its path does not have is a 405 whose `Allow` lists exactly the documented methods — custom
//! methods (`…/{asset}:refresh`) included, which share a route with their resource in the router.

use crate::problem::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ragd_core::Error;
use std::sync::Arc;

/// One segment of a path template.
#[derive(Debug)]
enum Segment {
    Literal(String),
    /// `{name}`: any segment without a custom-method suffix.
    Param,
    /// `{name}:method`: a segment ending in `:method`.
    Method(String),
}

/// The documented paths with their methods.
#[derive(Debug, Default)]
pub struct MethodTable {
    paths: Vec<(Vec<Segment>, Vec<Method>)>,
}

impl MethodTable {
    /// The table of the served document; `api` false keeps only the operational paths (a
    /// worker-only process serves nothing under `/v1`).
    pub fn new(api: bool) -> Self {
        let doc: serde_json::Value = serde_json::from_str(&crate::openapi::document())
            .expect("the OpenAPI document is JSON");
        let mut paths = Vec::new();
        for (template, item) in doc["paths"].as_object().into_iter().flatten() {
            if !api && template.starts_with("/v1/") {
                continue;
            }
            let segments = template
                .trim_start_matches('/')
                .split('/')
                .map(parse_segment)
                .collect();
            let methods = item
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(m, _)| m.to_uppercase().parse::<Method>().ok())
                .collect();
            paths.push((segments, methods));
        }
        MethodTable { paths }
    }

    /// The methods of the documented path `path` matches, if any.
    /// (Every request passes here: the path is split lazily, nothing is allocated.)
    fn allowed(&self, path: &str) -> Option<&[Method]> {
        let parts = path.trim_start_matches('/').split('/');
        let count = parts.clone().count();
        self.paths
            .iter()
            .find(|(segments, _)| segments.len() == count && matches(segments, parts.clone()))
            .map(|(_, m)| m.as_slice())
    }
}

fn parse_segment(s: &str) -> Segment {
    match s.strip_prefix('{').and_then(|r| r.split_once('}')) {
        Some((_, "")) => Segment::Param,
        Some((_, rest)) if rest.starts_with(':') => Segment::Method(rest[1..].to_owned()),
        _ => Segment::Literal(s.to_owned()),
    }
}

fn matches<'a>(template: &[Segment], parts: impl Iterator<Item = &'a str>) -> bool {
    template.iter().zip(parts).all(|(t, p)| match t {
        Segment::Literal(l) => l == p,
        Segment::Param => !p.is_empty() && !p.contains(':'),
        Segment::Method(m) => p
            .strip_suffix(m.as_str())
            .and_then(|r| r.strip_suffix(':'))
            .is_some_and(|r| !r.is_empty() && !r.contains(':')),
    })
}

/// Middleware: a documented path with an undocumented method is a 405 with `Allow`, before
/// routing (HEAD goes with GET). Paths that match no template go on to the router (404s).
pub async fn check_method(
    State(table): State<Arc<MethodTable>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(methods) = table.allowed(req.uri().path()) else {
        return next.run(req).await;
    };
    let method = req.method();
    if methods.contains(method) || (method == Method::HEAD && methods.contains(&Method::GET)) {
        return next.run(req).await;
    }
    let mut allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
    if methods.contains(&Method::GET) {
        allow.push("HEAD");
    }
    let mut res = ApiError(Error::MethodNotAllowed).into_response();
    res.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_str(&allow.join(", ")).expect("method names are header-safe"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_methods_match_only_their_own_suffix() {
        let t = MethodTable::new(true);
        let post = [Method::POST];
        assert_eq!(
            t.allowed("/v1/tenants/acme/assets/0190:refresh"),
            Some(&post[..])
        );
        assert_eq!(t.allowed("/v1/tenants/acme/assets/0190:nope"), None);
        assert!(
            t.allowed("/v1/tenants/acme/assets/0190")
                .is_some_and(|m| m.contains(&Method::PATCH) && !m.contains(&Method::POST))
        );
        assert_eq!(t.allowed("/v1/tenants/acme/assets:file"), Some(&post[..]));
        assert!(
            MethodTable::new(false)
                .allowed("/v1/tenants/acme/assets")
                .is_none()
        );
    }
}
