//! The catalog on the wire: source types with their parameters, supported types, models.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDescriptor {
    pub name: String,
    /// STRING, INTEGER, BOOLEAN, STRING_LIST, SECRET, or OBJECT_LIST (ragd).
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
    pub secret: bool,
    pub default_value: Option<String>,
    pub description: String,
    pub options: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceTypeDescriptor {
    #[schema(schema_with = source_type_schema)]
    pub source_type: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "supportsOAuth")]
    pub supports_oauth: bool,
    pub supports_auto_update: bool,
    pub supports_webhook_registration: bool,
    pub supports_poll_schedule: bool,
    pub properties: Vec<PropertyDescriptor>,
}

impl From<&sources::SourceTypeDescriptor> for SourceTypeDescriptor {
    fn from(d: &sources::SourceTypeDescriptor) -> Self {
        SourceTypeDescriptor {
            source_type: d.source_type.as_str().to_owned(),
            display_name: d.display_name.to_owned(),
            description: d.description.to_owned(),
            supports_oauth: d.supports_oauth,
            supports_auto_update: d.supports_auto_update,
            supports_webhook_registration: d.supports_webhook_registration,
            supports_poll_schedule: d.supports_poll_schedule,
            properties: d
                .properties
                .iter()
                .map(|p| PropertyDescriptor {
                    name: p.name.to_owned(),
                    kind: p.kind.as_str().to_owned(),
                    required: p.required,
                    secret: p.secret(),
                    default_value: p.default_value.map(str::to_owned),
                    description: p.description.to_owned(),
                    options: p.options.iter().map(|o| (*o).to_owned()).collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportedType {
    pub content_type: String,
    pub extensions: Vec<String>,
    pub max_bytes: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingModel {
    pub provider: String,
    pub model: String,
    pub dimensions: u32,
    pub max_input_tokens: u32,
    pub price_per_million_tokens: f64,
    pub local: bool,
    pub default_chunk_size: u32,
    pub default_chunk_overlap: u32,
}

impl From<&embedding::EmbeddingModel> for EmbeddingModel {
    fn from(m: &embedding::EmbeddingModel) -> Self {
        EmbeddingModel {
            provider: m.provider.to_owned(),
            model: m.model.to_owned(),
            dimensions: m.dimensions,
            max_input_tokens: m.max_input_tokens,
            price_per_million_tokens: m.price_per_million_tokens,
            local: m.local,
            default_chunk_size: m.default_chunk_size,
            default_chunk_overlap: m.default_chunk_overlap,
        }
    }
}
