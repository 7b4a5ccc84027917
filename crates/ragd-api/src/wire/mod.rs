//! Wire types: the JSON shapes of the contract, and their explicit conversions to and from the
//! domain. Nothing outside this crate sees them. Enum-valued fields are strings on the wire
//! whose allowed values are listed in the OpenAPI schema from the domain enums themselves.
//!
//! # Layout
//! One file per resource, mirroring `routes/`: `assets`, `asset_config` (the per-source-type
//! schema of an asset's `config`), `operations`, `documents`, `files`, `search`, `catalog`,
//! `oauth`, `llm_configs`, `generations` (ragd: an asset's index generations and `:estimate`).
//! Each type is re-exported here: one address, `crate::wire::<Type>`.
//! This file holds what they share (enum schemas, pages, problem details).

mod asset_config;
mod assets;
mod catalog;
mod documents;
mod files;
mod generations;
mod llm_configs;
mod oauth;
mod operations;
mod search;

pub use asset_config::AssetConfig;
use asset_config::{
    day_of_month_schema, hour_schema, minute_schema, nullable_frequency_schema,
    nullable_weekday_schema,
};
pub use assets::{
    Asset, AssetBudget, AssetUsage, AssetWebhook, AssetWithOperation, AuthInput, AutoUpdate,
    BudgetInput, CreateAssetRequest, CurrencyBudgetInput, Embedding, EmbeddingInput,
    PatchAssetRequest, PatchAssetResponse, RefreshRequest,
};
pub use catalog::{EmbeddingModel, PropertyDescriptor, SourceTypeDescriptor, SupportedType};
pub use documents::{ChunkItem, ChunkPage, Document, PatchDocumentRequest};
pub use files::{FilePayload, ImportRequest, StoredFileResponse, storage_link};
pub use generations::{AssetEstimate, EstimateRequest, IndexGeneration};
pub use llm_configs::{LlmConfig, LlmConfigRequest};
pub use oauth::{AuthorizeRequest, AuthorizeResponse, OAuthCredentials};
pub use operations::{AssetOperation, ExcludedItem};
pub use search::{
    DuplicateChunk, MetadataFilterSchema, SearchFilter, SearchRequestBody, SearchResponse,
    SearchResult,
};

use ragd_core::domain::*;
use ragd_core::embedding::{self, EmbeddingRequest};
use ragd_core::error::Violations;
use ragd_core::services::{CreateAsset, PatchAsset};
use ragd_core::sources;
use ragd_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, SchemaType, Type,
};
use uuid::Uuid;

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// `string_enum` that also allows `null` (an optional field).
fn nullable_enum(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    let values: Vec<Value> = values
        .into_iter()
        .map(Value::from)
        .chain([Value::Null])
        .collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
}

macro_rules! enum_schema {
    ($($fn_name:ident => $ty:ty),+ $(,)?) => {
        $(pub fn $fn_name() -> ObjectBuilder { string_enum(<$ty>::ALL.iter().map(|v| v.as_str())) })+
    };
}
enum_schema!(
    source_type_schema => SourceType,
    operation_type_schema => OperationType,
    operation_status_schema => OperationStatus,
    asset_status_schema => AssetStatus,
    auth_method_schema => AuthMethod,
    strategy_schema => UpdateStrategy,
    frequency_schema => PollFrequency,
    weekday_schema => Weekday,
);

/// Pages of every list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Opaque cursor of the next page; `null` on the last page.
    pub next_page_token: Option<String>,
    /// Exact number of items in the whole list.
    pub total_count: i64,
}

/// Non-paginated lists (`assets:sourceTypes` and friends).
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}

fn cost(tokens: i64, price: f64) -> f64 {
    tokens as f64 * price / 1e6
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// RFC 7807 problem details, as every error is answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// A stable code such as `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path.
    pub instance: String,
    pub request_id: Option<String>,
    /// Validation errors by field.
    pub errors: Option<Vec<FieldProblem>>,
    pub operation_id: Option<Uuid>,
    pub retry_after_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// A field that may be absent (keep), `null` (clear) or a value.
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
