//! Search on the wire: the request, its filter and mode, results and usage.

use super::*;

/// **(ragd)** Narrows a search.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchFilter {
    #[serde(default)]
    pub document_ids: Vec<Uuid>,
    #[serde(default)]
    pub content_types: Vec<String>,
    pub source_url_prefix: Option<String>,
    /// **(ragd)** Only chunks of documents whose metadata passes this filter, in the shape of
    /// OpenAI's vector-store search filters: a comparison `{type: eq|ne|gt|gte|lt|lte|in|nin,
    /// key, value}` or a compound `{type: and|or, filters: […]}`, and `{type: not, filter}`
    /// (ragd), nested up to 8 deep with at most 64 parts. A missing key matches no comparison
    /// but `ne` and `nin`; against a string list, `eq` and `in` hold when an item does. Applied
    /// before the nearest-neighbour search, so `topK` results come back when that many match.
    #[schema(value_type = Option<MetadataFilterSchema>)]
    pub metadata: Option<Value>,
}

/// The OpenAPI schema of a metadata filter (recursive, so written by hand).
pub struct MetadataFilterSchema;

impl utoipa::ToSchema for MetadataFilterSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "MetadataFilter".into()
    }
}

impl utoipa::PartialSchema for MetadataFilterSchema {
    fn schema() -> RefOr<Schema> {
        use ragd_core::domain::{MAX_FILTER_VALUES, MAX_METADATA_KEY_BYTES};
        let itself = || RefOr::Ref(utoipa::openapi::Ref::from_schema_name("MetadataFilter"));
        let kind = |kinds: &[&str]| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(kinds.iter().copied()))
        };
        let scalar = |types: &[Type]| {
            types.iter().fold(OneOfBuilder::new(), |o, t| {
                o.item(ObjectBuilder::new().schema_type(t.clone()))
            })
        };
        let comparison = |kinds: &[&str], value: RefOr<Schema>| {
            ObjectBuilder::new()
                .property("type", kind(kinds))
                .property(
                    "key",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(MAX_METADATA_KEY_BYTES)),
                )
                .property("value", value)
                .required("type")
                .required("key")
                .required("value")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        let any = [Type::String, Type::Number, Type::Boolean];
        OneOfBuilder::new()
            .item(comparison(&["eq", "ne"], scalar(&any).into()))
            .item(comparison(
                &["gt", "gte", "lt", "lte"],
                scalar(&[Type::String, Type::Number]).into(),
            ))
            .item(comparison(
                &["in", "nin"],
                ArrayBuilder::new()
                    .items(scalar(&any))
                    .min_items(Some(1))
                    .max_items(Some(MAX_FILTER_VALUES))
                    .into(),
            ))
            .item(
                ObjectBuilder::new()
                    .property("type", kind(&["and", "or"]))
                    .property(
                        "filters",
                        ArrayBuilder::new().items(itself()).min_items(Some(1)),
                    )
                    .required("type")
                    .required("filters")
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
            )
            .item(
                ObjectBuilder::new()
                    .property("type", kind(&["not"]))
                    .property("filter", itself())
                    .required("type")
                    .required("filter")
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
            )
            .into()
    }
}

fn fusion_schema() -> ObjectBuilder {
    nullable_enum(["RELATIVE_SCORE", "RRF"])
}

fn search_mode_schema() -> ObjectBuilder {
    nullable_enum(["UNSPECIFIED", "VECTOR", "FULL_TEXT", "HYBRID"])
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequestBody {
    /// Not blank.
    #[schema(min_length = 1, max_length = 100_000, pattern = "\\S")]
    pub query: String,
    /// Default 10, at most 100.
    #[schema(minimum = 1, maximum = 100)]
    pub top_k: Option<i64>,
    /// Results scoring below this are dropped (after ranking, in the mode's own score).
    pub score_threshold: Option<f64>,
    /// `UNSPECIFIED` (= `HYBRID`), `VECTOR`, `FULL_TEXT` or `HYBRID`.
    #[schema(schema_with = search_mode_schema)]
    pub search_mode: Option<String>,
    #[schema(minimum = 0)]
    pub vector_weight: Option<f64>,
    #[schema(minimum = 0)]
    pub fts_weight: Option<f64>,
    /// Reciprocal rank fusion constant, default 60. Giving it chooses `fusion` `RRF`.
    #[schema(exclusive_minimum = 0)]
    pub rrf_k: Option<f64>,
    /// **(ragd)** How `HYBRID` fuses its two rankings: `RELATIVE_SCORE` (each side's scores
    /// scaled to 0..1 over its candidates, then summed with `vectorWeight` and `ftsWeight`; the
    /// default) or `RRF` (reciprocal rank fusion with `rrfK`; the default when `rrfK` is given).
    #[schema(schema_with = fusion_schema)]
    pub fusion: Option<String>,
    pub filter: Option<SearchFilter>,
    /// **(ragd)** At most this many results of one document (diversity across documents).
    #[schema(minimum = 1, maximum = 100)]
    pub max_chunks_per_document: Option<i64>,
    /// **(ragd)** One result per chunk text: where the same text is in several documents (a page
    /// and its print version), the best-ranked is kept and the others are listed in its
    /// `duplicates`. Default false.
    pub merge_duplicates: Option<bool>,
    /// `POST /search` only: the assets to search (default: all of the tenant's).
    pub asset_ids: Option<Vec<Uuid>>,
    /// **(ragd)** Re-score the best fused candidates with a cross-encoder and return the best
    /// `topK` of them in its order, its relevance as each result's `score`.
    pub rerank: Option<RerankBody>,
}

/// **(ragd)** A search's re-ranking. The first `topN` candidates (after fusion and
/// `scoreThreshold`) go to the re-ranker, through the tenant's LLM config of a re-ranking
/// provider (`cohere` or `jina`, or any service speaking their `POST /rerank`) or else the
/// server's re-ranker. When it fails or does not answer in time, the results keep the fused order
/// and the response's `rerank.fallback` says why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankBody {
    /// The re-ranking model, as its provider names it (for example `rerank-v3.5`).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub model: String,
    /// Candidates re-scored: default the larger of 50 and `topK`, at most 200.
    #[schema(minimum = 1, maximum = 200)]
    pub top_n: Option<i64>,
    /// An LLM config of the tenant for a re-ranking provider; absent: the server's re-ranker.
    pub llm_config_id: Option<Uuid>,
}

impl SearchRequestBody {
    pub fn into_domain(self) -> Result<ragd_core::search::SearchRequest> {
        use ragd_core::search::{Fusion, SearchMode};
        let mode = match self.search_mode.as_deref() {
            None | Some("UNSPECIFIED") | Some("HYBRID") => SearchMode::Hybrid,
            Some("VECTOR") => SearchMode::Vector,
            Some("FULL_TEXT") => SearchMode::FullText,
            Some(_) => {
                return Err(Error::invalid(
                    "searchMode",
                    "must be UNSPECIFIED, VECTOR, FULL_TEXT or HYBRID",
                ));
            }
        };
        let fusion = match self.fusion.as_deref() {
            None => None,
            Some("RRF") => Some(Fusion::Rrf),
            Some("RELATIVE_SCORE") => Some(Fusion::RelativeScore),
            Some(_) => return Err(Error::invalid("fusion", "must be RELATIVE_SCORE or RRF")),
        };
        let filter = self.filter.unwrap_or_default();
        Ok(ragd_core::search::SearchRequest {
            query: self.query,
            top_k: self.top_k,
            score_threshold: self.score_threshold,
            mode,
            vector_weight: self.vector_weight,
            fts_weight: self.fts_weight,
            rrf_k: self.rrf_k,
            fusion,
            document_ids: filter.document_ids,
            content_types: filter.content_types,
            source_url_prefix: filter.source_url_prefix,
            metadata: filter
                .metadata
                .map(|m| MetadataFilter::parse(&m, "filter.metadata"))
                .transpose()?,
            asset_ids: self.asset_ids.unwrap_or_default(),
            max_chunks_per_document: self.max_chunks_per_document,
            merge_duplicates: self.merge_duplicates.unwrap_or(false),
            rerank: self.rerank.map(|r| ragd_core::search::Rerank {
                model: r.model,
                top_n: r.top_n,
                llm_config_id: r.llm_config_id,
            }),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub content: String,
    /// **(ragd)** With `mergeDuplicates`: the other documents holding the same chunk text,
    /// best-ranked first (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<DuplicateChunk>,
    pub asset_id: Uuid,
    pub source_type: String,
    pub chunk_id: Uuid,
    pub chunk_index: i64,
    /// The document's name (file name or page title).
    pub source: String,
    pub source_url: Option<String>,
    pub score: f64,
    pub start_char_idx: i64,
    pub end_char_idx: i64,
    pub page_number: Option<String>,
    pub start_line: i64,
    pub end_line: i64,
    pub document_id: Uuid,
    pub heading_path: String,
    pub context_text: String,
    /// **(ragd)** The document's metadata: what ragd derived from the source (`path`,
    /// `extension`, `title`, `url`, `urlPath`, `modifiedTime`, `encoding`, `ocrPages`,
    /// `ocrProblem`), overlaid by what the client gave at create or upload, overlaid by what a
    /// PATCH of the document set.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

/// **(ragd)** A chunk of the same text as a result's, in another document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateChunk {
    pub asset_id: Uuid,
    pub document_id: Uuid,
    pub chunk_id: Uuid,
    /// The document's name (file name or page title).
    pub source: String,
    pub source_url: Option<String>,
}

impl From<ragd_core::search::Scored> for SearchResult {
    fn from(s: ragd_core::search::Scored) -> Self {
        let (h, score) = (s.hit, s.score);
        let c = h.chunk;
        let duplicates = s
            .duplicates
            .into_iter()
            .map(|d| DuplicateChunk {
                asset_id: d.asset_id,
                document_id: d.chunk.document_id,
                chunk_id: d.chunk.id,
                source: d.file_name,
                source_url: d.source_url,
            })
            .collect();
        SearchResult {
            duplicates,
            content: c.content,
            asset_id: h.asset_id,
            source_type: h.source_type.as_str().to_owned(),
            chunk_id: c.id,
            chunk_index: c.chunk_index,
            source: h.file_name,
            source_url: h.source_url,
            score,
            start_char_idx: c.start_char,
            end_char_idx: c.end_char,
            page_number: c.page_number,
            start_line: c.start_line,
            end_line: c.end_line,
            document_id: c.document_id,
            heading_path: c.heading_path,
            context_text: c.context_text,
            metadata: h.metadata,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
    pub took_ms: u64,
    /// **(ragd)** With `rerank` in the request: what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<RerankOutcome>,
}

/// **(ragd)** What became of a search's re-ranking.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RerankOutcome {
    pub model: String,
    /// True when the results are in the re-ranker's order, scored by it.
    pub applied: bool,
    /// Why the fused order stands (the re-ranker failed, or outlasted the server's timeout).
    pub fallback: Option<String>,
    /// Candidates sent to the re-ranker.
    pub candidates: usize,
    /// Time the re-ranking took (or waited before falling back).
    pub took_ms: u64,
}

impl SearchResponse {
    pub fn new(searched: ragd_core::search::Searched, start: std::time::Instant) -> Self {
        SearchResponse {
            results: searched.results.into_iter().map(Into::into).collect(),
            took_ms: start.elapsed().as_millis() as u64,
            rerank: searched.rerank.map(|r| RerankOutcome {
                model: r.model,
                applied: r.fallback.is_none(),
                fallback: r.fallback,
                candidates: r.candidates,
                took_ms: r.took_ms,
            }),
        }
    }
}
