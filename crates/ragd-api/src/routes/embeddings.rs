//! `POST /v1/embeddings`: the local model in the OpenAI embeddings wire format, so that other
//! tools (and ragd's own OpenAI-compatible client) can use it.

use crate::AppState;
use crate::auth::{Authed, Scope};
use crate::extract::JsonBody;
use crate::problem::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use ragd_core::Error;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};

/// Most inputs in one request (OpenAI's limit too).
pub const MAX_INPUTS: usize = 2048;

/// One string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingsInput {
    One(String),
    Many(Vec<String>),
}

impl utoipa::PartialSchema for EmbeddingsInput {
    fn schema() -> RefOr<Schema> {
        let text = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
        };
        OneOfBuilder::new()
            .description(Some(format!(
                "One string or a list of 1 to {MAX_INPUTS} strings, none empty."
            )))
            .item(text())
            .item(
                ArrayBuilder::new()
                    .items(text())
                    .min_items(Some(1))
                    .max_items(Some(MAX_INPUTS)),
            )
            .into()
    }
}

impl ToSchema for EmbeddingsInput {}

/// The names the local model answers to.
fn model_schema() -> ObjectBuilder {
    use ragd_core::embedding::{LOCAL_MODEL, LOCAL_PROVIDER};
    let names = [
        LOCAL_MODEL.to_owned(),
        format!("sentence-transformers/{LOCAL_MODEL}"),
        LOCAL_PROVIDER.to_owned(),
    ];
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
}

fn encoding_schema() -> ObjectBuilder {
    let values = [
        serde_json::json!("float"),
        serde_json::json!("base64"),
        serde_json::Value::Null,
    ];
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsRequest {
    pub input: EmbeddingsInput,
    /// `all-MiniLM-L6-v2` (also accepted with its `sentence-transformers/` prefix or as `local`).
    #[schema(schema_with = model_schema)]
    pub model: String,
    /// `float` (default) or `base64` (little-endian f32).
    #[schema(schema_with = encoding_schema)]
    pub encoding_format: Option<String>,
    /// Must be 384 when given: the local model has no other size.
    #[schema(minimum = 384, maximum = 384)]
    pub dimensions: Option<u32>,
    pub user: Option<String>,
}

fn vector_schema() -> OneOfBuilder {
    OneOfBuilder::new()
        .description(Some(
            "Floats, or a base64 string of little-endian f32 with `encoding_format: base64`.",
        ))
        .item(
            ArrayBuilder::new().items(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Float))),
            ),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .content_encoding("base64"),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmbeddingData {
    pub object: &'static str,
    pub index: usize,
    #[schema(schema_with = vector_schema)]
    pub embedding: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub total_tokens: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmbeddingsResponse {
    pub object: &'static str,
    pub data: Vec<EmbeddingData>,
    pub model: String,
    pub usage: Usage,
}

/// The model asked for must be the local one, at its own dimensions.
fn check_model(req: &EmbeddingsRequest, name: &str, dimensions: usize) -> ApiResult<()> {
    let wanted = req.model.trim_start_matches("sentence-transformers/");
    if wanted != name && wanted != "local" {
        return Err(ApiError(Error::invalid(
            "model",
            format!(
                "unknown model {:?}; this server embeds with {name}",
                req.model
            ),
        )));
    }
    if req.dimensions.is_some_and(|d| d as usize != dimensions) {
        return Err(ApiError(Error::invalid(
            "dimensions",
            format!("{name} has {dimensions} dimensions only"),
        )));
    }
    Ok(())
}

/// The texts to embed: one to [`MAX_INPUTS`], none empty.
fn inputs_of(input: EmbeddingsInput) -> ApiResult<Vec<String>> {
    let inputs = match input {
        EmbeddingsInput::One(s) => vec![s],
        EmbeddingsInput::Many(v) => v,
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS {
        return Err(ApiError(Error::invalid(
            "input",
            format!("must hold 1 to {MAX_INPUTS} strings"),
        )));
    }
    if let Some(i) = inputs.iter().position(|t| t.is_empty()) {
        return Err(ApiError(Error::invalid(
            format!("input[{i}]"),
            "must not be empty",
        )));
    }
    Ok(inputs)
}

/// Embeds text with the local model. Inputs longer than the model's 256 tokens are truncated,
/// as sentence-transformers does; `usage` counts the tokens the model read.
#[utoipa::path(post, path = "/v1/embeddings", tag = "embeddings", request_body = EmbeddingsRequest,
    responses((status = 200, body = EmbeddingsResponse), (status = "4XX", body = crate::wire::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, body = crate::wire::ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = ["assets:read"])))]
pub async fn create_embeddings(
    State(s): State<AppState>,
    Authed(claims): Authed,
    JsonBody(req): JsonBody<EmbeddingsRequest>,
) -> ApiResult<Json<EmbeddingsResponse>> {
    if !claims
        .scope
        .split_whitespace()
        .any(|sc| sc == Scope::Read.as_str())
    {
        return Err(ApiError(Error::Forbidden(format!(
            "the token lacks the scope {}",
            Scope::Read.as_str()
        ))));
    }
    let embedder = s.embedder.clone().ok_or_else(|| {
        ApiError(Error::Unavailable(
            "this process has no local embedding model".into(),
        ))
    })?;
    let name = embedder.model_name();
    check_model(&req, name, embedder.dimensions())?;
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(ApiError(Error::invalid(
                "encoding_format",
                "must be float or base64",
            )));
        }
    };
    let inputs = inputs_of(req.input)?;
    let out = embedder.embed(inputs).await?;
    let tokens = out.total_tokens();
    let data = out
        .vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                serde_json::json!(v)
            };
            EmbeddingData {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();
    metrics::counter!("ragd_embedding_tokens_total", "model" => name.to_owned())
        .increment(tokens as u64);
    Ok(Json(EmbeddingsResponse {
        object: "list",
        data,
        model: name.to_owned(),
        usage: Usage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    }))
}
