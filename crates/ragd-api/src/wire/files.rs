//! Uploads on the wire: `POST /storage`'s answer, `:import`, and `:file`'s `Payload`.

use super::*;

/// Where an uploaded file is downloaded.
pub fn storage_link(tenant: &str, file_id: &str) -> String {
    format!("/v1/tenants/{tenant}/storage/{file_id}")
}

/// `POST /storage` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredFileResponse {
    pub file_id: Uuid,
    /// The detected content type.
    pub file_type: String,
    /// Where the file can be downloaded (with a token of the tenant).
    pub prompt_link: String,
}

/// `POST /assets:import`: an asset from an uploaded file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportRequest {
    pub file_id: Uuid,
    /// Embed the chunks (default true); false makes a full-text-only asset.
    pub vectorize: Option<bool>,
    pub embedding_config: Option<EmbeddingInput>,
    #[serde(alias = "embeddingLLMConfigId")]
    #[schema(format = Uuid)]
    pub embedding_llm_config_id: Option<String>,
    /// **(ragd)** Display name; defaults to the file name.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub display_name: Option<String>,
    /// **(ragd)** The document's metadata (a flat object of strings, numbers, booleans and
    /// string lists); it wins over what ragd derives.
    #[schema(schema_with = super::documents::metadata_schema)]
    pub metadata: Option<Map<String, Value>>,
    /// **(ragd)** Read PDF pages without a text layer (scans) and images by OCR
    /// (default true). Off, such pages are left out and said in the document's `ocrProblem`.
    pub ocr: Option<bool>,
}

/// The `Payload` part of `POST /assets:file` (keys case-insensitive).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilePayload {
    pub vectorize: Option<bool>,
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub display_name: Option<String>,
    pub embedding: Option<EmbeddingInput>,
    pub budget: Option<BudgetInput>,
    pub currency_budget: Option<CurrencyBudgetInput>,
    #[schema(format = Uuid)]
    pub embedding_llm_config_id: Option<String>,
    /// **(ragd)** The document's metadata, as on `:import`.
    #[schema(schema_with = super::documents::metadata_schema)]
    pub metadata: Option<Map<String, Value>>,
    /// **(ragd)** OCR on or off, as on `:import`.
    pub ocr: Option<bool>,
}

impl FilePayload {
    /// The canonical spelling of a case-insensitive payload key.
    pub fn canonical_key(key: &str) -> Option<&'static str> {
        const KEYS: &[&str] = &[
            "vectorize",
            "displayName",
            "embedding",
            "budget",
            "currencyBudget",
            "embeddingLlmConfigId",
            "metadata",
            "ocr",
        ];
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "embeddingconfig" => Some("embedding"),
            "name" => Some("displayName"),
            _ => KEYS
                .iter()
                .copied()
                .find(|k| k.to_ascii_lowercase() == lower),
        }
    }

    pub fn into_domain(self, file_id: Uuid) -> CreateAsset {
        CreateAsset {
            display_name: self.display_name,
            source_type: "FILE".to_owned(),
            parameters: Map::from_iter([("fileId".to_owned(), Value::String(file_id.to_string()))]),
            auth: None,
            embedding: self.embedding.map(Into::into).unwrap_or_default(),
            token_budget: self.budget.map(Into::into),
            cost_budget: self.currency_budget.map(Into::into),
            auto_update: None,
            embedding_llm_config_id: self.embedding_llm_config_id,
            vectorize: self.vectorize,
            ocr: self.ocr,
            file_metadata: self.metadata,
        }
    }
}

impl ImportRequest {
    pub fn into_domain(self) -> CreateAsset {
        FilePayload {
            vectorize: self.vectorize,
            display_name: self.display_name,
            embedding: self.embedding_config,
            embedding_llm_config_id: self.embedding_llm_config_id,
            metadata: self.metadata,
            ocr: self.ocr,
            ..Default::default()
        }
        .into_domain(self.file_id)
    }
}
