//! The OpenAPI description, generated from the handlers and wire types. The committed copy at
//! the repository root (`openapi.json`) is checked against it by a test.

use crate::routes::*;
use crate::wire::*;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "ragd", description = "Self-hostable RAG asset service. Errors are RFC 7807 `application/problem+json`; see the `x-problem-types` extension for every `type`."),
    paths(
        assets::list_assets, assets::create_asset, assets::get_asset, assets::patch_asset, assets::delete_asset,
        assets::refresh_asset, assets::regenerate_webhook, webhooks::receive, oauth::authorize, oauth::credentials, oauth::callback, oauth::done, files::upload, files::download, files::import, files::upload_asset,
        operations::list_operations, operations::get_operation, operations::wait_operation,
        operations::watch_operation, operations::cancel_operation,
        documents::list_documents, documents::get_document, documents::delete_document, documents::list_chunks,
        catalog::source_types, catalog::supported_types, catalog::embedding_models,
        llm_configs::list, llm_configs::create, llm_configs::get, llm_configs::patch, llm_configs::delete,
        embeddings::create_embeddings, search::search_asset, search::search_tenant, search::usage,
        system::healthz, system::readyz, system::metrics, system::openapi,
    ),
    components(schemas(ProblemDetails, FieldProblem)),
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
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document as pretty JSON, with the list of problem types as an extension.
pub fn document() -> String {
    let mut value = serde_json::to_value(ApiDoc::openapi()).expect("OpenAPI serialises");
    let problems: serde_json::Map<_, _> =
        crate::problem::PROBLEM_TYPES.iter().map(|(t, d)| ((*t).to_owned(), serde_json::Value::String((*d).to_owned()))).collect();
    value["info"]["version"] = serde_json::Value::String("v1".into());
    value["x-problem-types"] = serde_json::Value::Object(problems);
    let mut s = serde_json::to_string_pretty(&value).expect("OpenAPI serialises");
    s.push('\n');
    s
}
