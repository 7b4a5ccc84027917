//! Source types ragd ingests: each one's descriptor (parameters, auth methods, what it supports)
//! and validation. The HTTP layer lists these; the services validate requests against them.
//!
//! # Layout
//! One file per source type, of the same name as its collector in `ragd-engine`: `text`, `file`,
//! `web`, `git`, `s3`, `github`, `gdrive`, `notion`. Each holds its `DESCRIPTOR`, its `validate`
//! and `link`, and its typed parameters (`WebParams`, …: what ingestion reads, see [`Parameters`]);
//! this file lists them in [`source_types!`](crate::source_types) and holds what they share.

/// The registry of source types, the one list a new source type joins: a line each with its
/// `SourceType` variant, its module (`sources/<module>.rs` here and in `ragd-engine`) and its
/// contract spelling. `source_types!(m)` hands the list to the macro `m`, which declares what its
/// crate keeps per source type: the `SourceType` enum and the descriptors (here), the collectors
/// (`ragd_engine::sources::collectors`). So a new source type is three files: its two modules and
/// this line.
#[macro_export]
macro_rules! source_types {
    ($m:ident) => {
        $m! {
            Text text "TEXT",
            File file "FILE",
            Web web "WEB",
            Git git "GIT",
            S3 s3 "S3",
            Github github "GITHUB",
            GoogleDrive gdrive "GOOGLE_DRIVE",
            Notion notion "NOTION",
        }
    };
}

/// Each source type's module, and [`SOURCE_TYPES`]: their descriptors in the registry's order.
macro_rules! descriptors {
    ($($variant:ident $module:ident $text:literal,)+) => {
        $(pub mod $module;)+

        /// Source types ragd ingests, with their parameters; any other `sourceType` is a 400.
        pub static SOURCE_TYPES: &[SourceTypeDescriptor] = &[$($module::DESCRIPTOR),+];
    };
}
crate::source_types!(descriptors);

pub use file::{DEFAULT_UPLOAD_LIMIT_BYTES, FileParams, MAX_FILES};
pub use gdrive::DriveParams;
pub use git::GitParams;
pub use github::GitHubParams;
pub use notion::NotionParams;
pub use s3::S3Params;
pub use text::{
    InlineDocument, MAX_INLINE_DOCUMENT_BYTES, MAX_INLINE_DOCUMENTS, TEXT_CONTENT_TYPES, TextParams,
};
pub use web::{MAX_START_URLS, Scope, WebParams};

use crate::domain::{AuthMethod, Credentials, SourceType};
use crate::error::{Result, Violations};
use serde_json::{Map, Value};

/// The types a source parameter can have. `OBJECT_LIST` is ragd's addition for inline documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    String,
    Integer,
    Boolean,
    StringList,
    Secret,
    ObjectList,
}

impl PropertyType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "STRING",
            Self::Integer => "INTEGER",
            Self::Boolean => "BOOLEAN",
            Self::StringList => "STRING_LIST",
            Self::Secret => "SECRET",
            Self::ObjectList => "OBJECT_LIST",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Property {
    pub name: &'static str,
    pub kind: PropertyType,
    pub required: bool,
    pub default_value: Option<&'static str>,
    pub description: &'static str,
    pub options: &'static [&'static str],
}

impl Property {
    pub fn secret(&self) -> bool {
        self.kind == PropertyType::Secret
    }
}

#[derive(Debug, Clone)]
pub struct SourceTypeDescriptor {
    pub source_type: SourceType,
    pub display_name: &'static str,
    pub description: &'static str,
    pub supports_oauth: bool,
    pub supports_auto_update: bool,
    pub supports_webhook_registration: bool,
    pub supports_poll_schedule: bool,
    pub properties: &'static [Property],
    /// `auth.method`s the source accepts besides `NONE`.
    pub auth_methods: &'static [AuthMethod],
    /// The source type's own checks of `parameters`, after their names and types passed
    /// (`at`: the JSON path of the parameters, for the errors).
    pub validate: fn(params: &Map<String, Value>, at: &str) -> Result<()>,
    /// Decodes the parameters into the source type's [`Parameters`] (`decodes::<WebParams>`):
    /// the last check at create and patch, so that what is saved is what ingestion can read.
    pub decode: fn(params: &Map<String, Value>, at: &str) -> Result<()>,
    /// The asset's canonical source link, from its parameters as given.
    pub link: fn(params: &Map<String, Value>) -> Option<Link>,
}

/// Where an asset's source is: a URL, or an upload (whose download link the HTTP layer knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Url(String),
    /// The `fileId` of an upload.
    Upload(String),
}

/// The asset's canonical source link (the first start URL of a crawl, the upload of a `FILE`).
pub fn link(source_type: SourceType, params: &Map<String, Value>) -> Option<Link> {
    (self::source_type(source_type)?.link)(params)
}

/// The integer parameters of source types with a range, `(source type, name, range)`; the
/// OpenAPI document states them too.
pub const PARAMETER_RANGES: &[(SourceType, &str, std::ops::RangeInclusive<i64>)] = &[
    (SourceType::Web, "maxPages", 1..=10_000),
    (SourceType::Web, "maxDepth", 0..=20),
];

const fn prop(
    name: &'static str,
    kind: PropertyType,
    required: bool,
    default_value: Option<&'static str>,
    description: &'static str,
) -> Property {
    Property {
        name,
        kind,
        required,
        default_value,
        description,
        options: &[],
    }
}

/// The parameters each `auth.method` needs (`required`, `optional`), all strings.
pub fn auth_parameters(method: AuthMethod) -> (&'static [&'static str], &'static [&'static str]) {
    match method {
        AuthMethod::None => (&[], &[]),
        AuthMethod::Basic => (&["username", "password"], &[]),
        AuthMethod::ApiKey => (&["apiKey"], &["username"]),
        AuthMethod::Aws => (&["accessKeyId", "secretAccessKey"], &["sessionToken"]),
        AuthMethod::OAuth2 => (
            &["accessToken"],
            &[
                "refreshToken",
                "tokenType",
                "expiresAt",
                "scope",
                "username",
            ],
        ),
    }
}

/// Checks an `auth` block against the source type: a method it accepts, the method's parameters
/// present and strings (`expiresAt` may be a number), nothing unknown.
pub fn validate_auth(desc: &SourceTypeDescriptor, auth: &Credentials) -> Result<()> {
    if auth.method != AuthMethod::None && !desc.auth_methods.contains(&auth.method) {
        let accepted: Vec<&str> = std::iter::once("NONE")
            .chain(desc.auth_methods.iter().map(|m| m.as_str()))
            .collect();
        return Err(crate::Error::invalid(
            "auth.method",
            format!(
                "source type {} accepts {}",
                desc.source_type,
                accepted.join(", ")
            ),
        ));
    }
    let (required, optional) = auth_parameters(auth.method);
    let mut v = Violations::default();
    for name in required {
        if auth
            .parameters
            .get(*name)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            v.add(
                format!("auth.parameters.{name}"),
                format!("is required for {}", auth.method),
            );
        }
    }
    for (name, value) in &auth.parameters {
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            v.add(
                format!("auth.parameters.{name}"),
                format!("is not a parameter of {}", auth.method),
            );
        } else if !(value.is_string() || (name == "expiresAt" && value.is_i64())) {
            v.add(format!("auth.parameters.{name}"), "must be a string");
        }
    }
    v.into_result()
}

pub fn source_type(t: SourceType) -> Option<&'static SourceTypeDescriptor> {
    SOURCE_TYPES.iter().find(|d| d.source_type == t)
}

/// The default a descriptor declares for a parameter, typed by the parameter's kind.
fn default_value(p: &Property) -> Option<Value> {
    let text = p.default_value?;
    match p.kind {
        PropertyType::Integer => text.parse::<i64>().ok().map(Value::from),
        PropertyType::Boolean => text.parse::<bool>().ok().map(Value::from),
        _ => Some(Value::from(text)),
    }
}

/// One source type's parameters, typed: what ingestion reads. The asset keeps its parameters as
/// the client gave them (and shows them back so); [`Parameters::parse`] decodes them with the
/// descriptor's defaults filled in, so that every default has one home, the descriptor.
pub trait Parameters: serde::de::DeserializeOwned {
    const SOURCE_TYPE: SourceType;

    /// Decodes an asset's parameters (checked by [`validate_parameters`] when it was saved).
    fn parse(params: &Map<String, Value>) -> Result<Self> {
        Self::parse_at(params, "parameters")
    }

    /// [`Parameters::parse`], naming `at` in the error.
    fn parse_at(params: &Map<String, Value>, at: &str) -> Result<Self> {
        let desc = source_type(Self::SOURCE_TYPE).expect("every source type has a descriptor");
        let mut full = params.clone();
        full.retain(|_, v| !v.is_null());
        for p in desc.properties {
            if let (false, Some(d)) = (full.contains_key(p.name), default_value(p)) {
                full.insert(p.name.to_owned(), d);
            }
        }
        serde_json::from_value(Value::Object(full))
            .map_err(|e| crate::Error::invalid(at, e.to_string()))
    }
}

/// A descriptor's `decode`: whether `params` decode as `P`.
fn decodes<P: Parameters>(params: &Map<String, Value>, at: &str) -> Result<()> {
    P::parse_at(params, at).map(drop)
}

/// Checks `parameters` against the descriptor: no unknown property, none missing, types right.
/// Reports every problem at once, each named by its JSON path under `at` (e.g. `config.parameters`).
pub fn validate_parameters(
    desc: &SourceTypeDescriptor,
    params: &Map<String, Value>,
    at: &str,
) -> Result<()> {
    let mut v = Violations::default();
    for key in params.keys() {
        if !desc.properties.iter().any(|p| p.name == key) {
            v.add(
                format!("{at}.{key}"),
                format!("unknown property for source type {}", desc.source_type),
            );
        }
    }
    for p in desc.properties {
        let field = format!("{at}.{}", p.name);
        match params.get(p.name) {
            None | Some(Value::Null) if p.required => v.add(field, "is required"),
            None | Some(Value::Null) => {}
            Some(value) => {
                let ok = match p.kind {
                    PropertyType::String | PropertyType::Secret => value.is_string(),
                    PropertyType::Integer => value.is_i64(),
                    PropertyType::Boolean => value.is_boolean(),
                    PropertyType::StringList => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_string)),
                    PropertyType::ObjectList => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_object)),
                };
                if !ok {
                    v.add(field, format!("must be of type {}", p.kind.as_str()));
                } else if !p.options.is_empty()
                    && !value.as_str().is_some_and(|s| p.options.contains(&s))
                {
                    v.add(field, format!("must be one of {}", p.options.join(", ")));
                }
            }
        }
    }
    v.into_result()?;
    (desc.validate)(params, at)?;
    (desc.decode)(params, at)
}

/// A violation if the URL parameter `name`, when given, is not an absolute http(s) URL.
fn http_url(params: &Map<String, Value>, name: &str, at: &str, v: &mut Violations) {
    if let Some(e) = params.get(name).and_then(Value::as_str) {
        check_url(e, false, &format!("{at}.{name}"), v);
    }
}

/// A violation at `field` unless `u` is an absolute http(s) URL (or a `file` URL, if allowed)
/// without credentials: a password in a URL would be stored and shown in clear with the asset.
fn check_url(u: &str, file: bool, field: &str, v: &mut Violations) {
    let expected = if file {
        "must be an absolute https, http or file URL"
    } else {
        "must be an absolute http or https URL"
    };
    match url::Url::parse(u) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => v.add(
            field,
            "must not hold credentials (user:password@): they would be stored and shown in clear; give them in `auth`, which is sealed",
        ),
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(u) if file && u.scheme() == "file" => {}
        _ => v.add(field, expected),
    }
}

/// A violation if the `branch` parameter is not a plausible branch name.
fn branch_name(params: &Map<String, Value>, at: &str, v: &mut Violations) {
    if let Some(b) = params.get("branch").and_then(Value::as_str)
        && (b.is_empty()
            || b.starts_with('-')
            || b.contains("..")
            || b.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        v.add(format!("{at}.branch"), "is not a valid branch name");
    }
}

/// Adds a violation for each invalid glob in the string list `name`.
fn globs(params: &Map<String, Value>, name: &str, at: &str, v: &mut Violations) {
    for (i, g) in params
        .get(name)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Err(e) = globset::Glob::new(g.as_str().unwrap_or_default()) {
            v.add(
                format!("{at}.{name}[{i}]"),
                format!("is not a valid glob: {e}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn typed_parameters_take_the_descriptors_defaults() {
        let web = WebParams::parse(&params(json!({"urls": ["https://a.example/"]}))).unwrap();
        assert_eq!((web.max_pages, web.max_depth), (500, 3));
        assert_eq!(
            (web.scope, web.use_sitemap, web.render),
            (Scope::Host, true, false)
        );
        let given = params(
            json!({"urls": ["https://a.example/"], "maxPages": 7, "scope": "PREFIX", "render": null}),
        );
        let web = WebParams::parse(&given).unwrap();
        assert_eq!(
            (web.max_pages, web.scope, web.render),
            (7, Scope::Prefix, false)
        );
        let gh = GitHubParams::parse(&params(json!({"repository": "o/n"}))).unwrap();
        assert_eq!(gh.api_url, "https://api.github.com");
        let text = TextParams::parse(&params(json!({"documents": [{"name": "a", "text": "x"}]})));
        assert_eq!(text.unwrap().documents[0].content_type, "text/plain");
        for d in SOURCE_TYPES {
            for p in d.properties.iter().filter(|p| p.default_value.is_some()) {
                assert!(
                    default_value(p).is_some(),
                    "{}.{}'s default",
                    d.source_type,
                    p.name
                );
            }
        }
    }

    #[test]
    fn text_parameters_name_every_problem() {
        let d = source_type(SourceType::Text).unwrap();
        assert!(
            validate_parameters(
                d,
                &params(json!({"documents": [{"name": "a", "text": "x"}]})),
                "config.parameters"
            )
            .is_ok()
        );
        let err = validate_parameters(
            d,
            &params(json!({"documents": [{"name": "a", "text": 3, "contentType": "image/png"}, {"name": "a", "text": ""}]})),
            "config.parameters",
        )
        .unwrap_err();
        let crate::Error::Validation { errors, .. } = err else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "config.parameters.documents[0].text",
                "config.parameters.documents[0].contentType",
                "config.parameters.documents[1].name"
            ]
        );
        let err =
            validate_parameters(d, &params(json!({"extra": 1})), "config.parameters").unwrap_err();
        let crate::Error::Validation { errors, .. } = err else {
            panic!()
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
