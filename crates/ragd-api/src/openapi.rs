//! The OpenAPI description, generated from the handlers and wire types. The committed copy at
//! the repository root (`openapi.json`) is checked against it by a test.

use crate::routes::*;
use crate::wire::*;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "ragd", description = "Self-hostable RAG asset service. Errors are RFC 7807 `application/problem+json`; see the `x-problem-types` extension for every `type`."),
    paths(
        assets::list_assets, assets::create_asset, assets::get_asset, assets::patch_asset, assets::delete_asset,
        assets::refresh_asset, assets::estimate_asset, assets::rollback_asset, assets::regenerate_webhook, webhooks::receive, oauth::authorize, oauth::credentials, oauth::callback, oauth::done, files::upload, files::download, files::import, files::upload_asset,
        operations::list_operations, operations::get_operation, operations::wait_operation,
        operations::watch_operation, operations::cancel_operation,
        documents::list_documents, documents::get_document, documents::patch_document, documents::delete_document, documents::list_chunks,
        catalog::source_types, catalog::supported_types, catalog::embedding_models,
        llm_configs::list, llm_configs::create, llm_configs::get, llm_configs::patch, llm_configs::delete,
        embeddings::create_embeddings, search::search_asset, search::search_tenant, search::usage,
        system::healthz, system::readyz, system::metrics, system::openapi,
    ),
    components(schemas(ProblemDetails, FieldProblem, crate::wire::MetadataFilterSchema)),
    modifiers(&Security),
    tags((name = "assets"), (name = "operations"), (name = "documents"), (name = "catalog"), (name = "files"), (name = "search"), (name = "embeddings"), (name = "llmConfigs"), (name = "webhooks"), (name = "oauth"), (name = "system")),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// What the derive cannot say: request bodies that differ from the Rust type they are read
/// into only by a rule of their path, and the events of the `:watch` stream.
fn refine(doc: &mut Value) {
    derived_bodies(doc);
    optional_bodies(doc);
    string_rules(doc);
    event_stream(doc);
}

/// Request bodies that are another body narrowed: an asset's search (no `assetIds`), an LLM
/// config's creation (its provider required) and change (no provider).
fn derived_bodies(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    // `POST /assets/{asset}:search` names its asset in the path: `assetIds` is refused there.
    let mut asset_search = schemas["SearchRequestBody"].clone();
    asset_search["properties"]
        .as_object_mut()
        .expect("properties")
        .remove("assetIds");
    schemas["AssetSearchRequestBody"] = asset_search;
    // Creating an LLM config needs its provider; a change may not name another.
    let mut create = schemas["LlmConfigRequest"].clone();
    create["required"] = json!(["provider"]);
    create["properties"]["provider"]["type"] = json!("string");
    create["properties"]["provider"]["enum"]
        .as_array_mut()
        .expect("enum")
        .retain(|v| !v.is_null());
    create["description"] = json!("**(ragd)** Creates an LLM config.");
    schemas["LlmConfigCreateRequest"] = create;
    // A change cannot move a config to another provider (create another config instead): its
    // body leaves `provider` out (one equal to the config's own is still accepted and ignored).
    let mut change = schemas["LlmConfigRequest"].clone();
    change["properties"]
        .as_object_mut()
        .expect("properties")
        .remove("provider");
    change["description"] = json!(
        "**(ragd)** Changes an LLM config: every field optional; `null` clears `baseUrl` and the limits."
    );
    schemas["LlmConfigChangeRequest"] = change;
    let paths = &mut doc["paths"];
    let body = |op: &mut Value, name: &str| {
        op["requestBody"]["content"]["application/json"]["schema"] =
            json!({"$ref": format!("#/components/schemas/{name}")})
    };
    body(
        &mut paths["/v1/tenants/{tenant}/assets/{asset}:search"]["post"],
        "AssetSearchRequestBody",
    );
    body(
        &mut paths["/v1/tenants/{tenant}/llmConfigs"]["post"],
        "LlmConfigCreateRequest",
    );
    body(
        &mut paths["/v1/tenants/{tenant}/llmConfigs/{config}"]["patch"],
        "LlmConfigChangeRequest",
    );
}

/// An empty JSON body is read as `{}`: where that is a valid request, the body is optional.
fn optional_bodies(doc: &mut Value) {
    let components = doc["components"]["schemas"].clone();
    for item in doc["paths"].as_object_mut().expect("paths").values_mut() {
        for op in item.as_object_mut().expect("path item").values_mut() {
            let Some(schema) = op
                .pointer("/requestBody/content/application~1json/schema/$ref")
                .and_then(Value::as_str)
            else {
                continue;
            };
            let name = schema.rsplit('/').next().unwrap_or_default();
            if components[name]["required"]
                .as_array()
                .is_none_or(Vec::is_empty)
            {
                op["requestBody"]["required"] = json!(false);
            }
        }
    }
}

/// What the server refuses in every string: U+0000 anywhere, a tenant id of other characters.
fn string_rules(doc: &mut Value) {
    for (name, schema) in doc["components"]["schemas"]
        .as_object_mut()
        .expect("schemas")
    {
        // Problems describe the request, whatever it held.
        if !matches!(name.as_str(), "ProblemDetails" | "FieldProblem") {
            no_nul(schema);
        }
    }
    no_nul(&mut doc["paths"]);
    for item in doc["paths"].as_object_mut().expect("paths").values_mut() {
        for op in item.as_object_mut().expect("path item").values_mut() {
            let parameters = op.get_mut("parameters").and_then(Value::as_array_mut);
            for p in parameters
                .into_iter()
                .flatten()
                .filter(|p| p["name"] == "tenant")
            {
                p["schema"]["pattern"] = json!("^[A-Za-z0-9_-]{1,64}$");
            }
        }
    }
}

/// Each server-sent event of `:watch` is `event: operation` with a JSON AssetOperation as its data.
fn event_stream(doc: &mut Value) {
    let watch = &mut doc["paths"]["/v1/tenants/{tenant}/assets/{asset}/operations/{operation}:watch"]
        ["get"]["responses"]["200"]["content"];
    watch["text/event-stream"]["schema"] = json!({
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["operation"]},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"$ref": "#/components/schemas/AssetOperation"}},
        },
    });
}

/// No string ragd accepts holds U+0000 (`extract::parse_json` refuses it): every free string
/// schema says so in its pattern (those with an anchored pattern, an enum or a format exclude it).
fn no_nul(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            if string && !map.contains_key("enum") && !map.contains_key("format") {
                let pattern = match map.get("pattern").and_then(Value::as_str) {
                    None => Some("^[^\\u0000]*$"),
                    Some("\\S") => Some("^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"),
                    Some(_) => None,
                };
                if let Some(p) = pattern {
                    map.insert("pattern".into(), json!(p));
                }
            }
            map.values_mut().for_each(no_nul);
        }
        Value::Array(items) => items.iter_mut().for_each(no_nul),
        _ => {}
    }
}

/// The document as pretty JSON, with the list of problem types as an extension.
pub fn document() -> String {
    let mut value = serde_json::to_value(ApiDoc::openapi()).expect("OpenAPI serialises");
    let problems: serde_json::Map<_, _> = crate::problem::PROBLEM_TYPES
        .iter()
        .map(|(t, d)| ((*t).to_owned(), serde_json::Value::String((*d).to_owned())))
        .collect();
    value["info"]["version"] = serde_json::Value::String("v1".into());
    refine(&mut value);
    value["x-problem-types"] = serde_json::Value::Object(problems);
    let mut s = serde_json::to_string_pretty(&value).expect("OpenAPI serialises");
    s.push('\n');
    s
}
