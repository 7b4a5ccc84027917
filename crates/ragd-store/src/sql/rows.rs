//! Rows to domain values, for both backends (and the embedded backend's inline reads): the
//! schemas share column names and encodings, so one decoder per resource reads either.

use crate::db::{Columns, corrupt};
use ragd_core::Result;
use ragd_core::domain::*;
use uuid::Uuid;

pub(crate) fn uuid_col(row: &impl Columns, col: &str) -> Result<Uuid> {
    Uuid::parse_str(&row.text(col)?).map_err(|_| corrupt(col))
}

pub(crate) fn tenant_col(row: &impl Columns) -> Result<TenantId> {
    TenantId::parse(&row.text("tenant_id")?).map_err(|_| corrupt("tenant_id"))
}

pub(crate) fn json_col<T: serde::de::DeserializeOwned>(row: &impl Columns, col: &str) -> Result<T> {
    serde_json::from_str(&row.text(col)?).map_err(|_| corrupt(col))
}

fn opt_json<T: serde::de::DeserializeOwned>(row: &impl Columns, col: &str) -> Result<Option<T>> {
    match row.opt_text(col)? {
        Some(s) => Ok(Some(serde_json::from_str(&s).map_err(|_| corrupt(col))?)),
        None => Ok(None),
    }
}

pub(crate) fn asset(row: &impl Columns) -> Result<Asset> {
    let source_type = row.text("source_type")?;
    let id = uuid_col(row, "id")?;
    let embedding = EmbeddingSpec {
        provider: row.text("embedding_provider")?,
        model: row.text("embedding_model")?,
        chunk_size: row.int("chunk_size")? as u32,
        chunk_overlap: row.int("chunk_overlap")? as u32,
    };
    Ok(Asset {
        id,
        tenant: tenant_col(row)?,
        display_name: row.text("display_name")?,
        source_type: SourceType::parse(&source_type).ok_or_else(|| corrupt("source_type"))?,
        parameters: json_col(row, "parameters")?,
        auth_method: match row.opt_text("auth_method")? {
            Some(m) => Some(AuthMethod::parse(&m).ok_or_else(|| corrupt("auth_method"))?),
            None => None,
        },
        vectorized: row.flag("vectorized")?,
        ocr: row.flag("ocr")?,
        integration_id: row.opt_text("integration_id")?,
        serving: match row.opt_text("serving")? {
            Some(s) => serde_json::from_str(&s).map_err(|_| corrupt("serving"))?,
            None => Generation::first(id, embedding.clone()),
        },
        embedding,
        building: opt_json(row, "building")?,
        previous: opt_json(row, "previous")?,
        budget: json_col(row, "budget")?,
        auto_update: match row.opt_text("auto_update")? {
            Some(s) => Some(serde_json::from_str(&s).map_err(|_| corrupt("auto_update"))?),
            None => None,
        },
        embedding_llm_config_id: row.opt_text("embedding_llm_config_id")?,
        created_by: row.text("created_by")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
        last_polled_at: row.opt_int("last_polled_at")?,
        next_poll_at: row.opt_int("next_poll_at")?,
        auth_sealed: row.opt_bytes("auth_sealed")?,
        auth_error: row.opt_text("auth_error")?,
    })
}

/// An asset with the aggregates of `assets::COLUMNS`.
pub(crate) fn asset_view(row: &impl Columns) -> Result<AssetView> {
    let latest_operation = match row.opt_text("latest_status")? {
        Some(s) => Some((
            OperationStatus::parse(&s).ok_or_else(|| corrupt("status"))?,
            row.int("latest_failed")?,
        )),
        None => None,
    };
    Ok(AssetView {
        asset: asset(row)?,
        stats: AssetStats {
            document_count: row.int("document_count")?,
            chunk_count: row.int("doc_chunk_count")?,
            latest_operation,
            latest_items: (
                row.opt_int("latest_processed")?.unwrap_or(0),
                row.opt_int("latest_total")?.unwrap_or(0),
            ),
            total_tokens: row.int("total_tokens")?,
            monthly_tokens: row.int("monthly_tokens")?,
            daily_tokens: row.int("daily_tokens")?,
            operation_count: row.int("operation_count")?,
        },
    })
}

pub(crate) fn webhook(row: &impl Columns) -> Result<Webhook> {
    Ok(Webhook {
        id: uuid_col(row, "id")?,
        tenant: tenant_col(row)?,
        asset_id: uuid_col(row, "asset_id")?,
        secret_sealed: row.bytes("secret_sealed")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
    })
}

pub(crate) fn llm_config(row: &impl Columns) -> Result<LlmConfig> {
    Ok(LlmConfig {
        id: uuid_col(row, "id")?,
        tenant: tenant_col(row)?,
        display_name: row.text("display_name")?,
        provider: row.text("provider")?,
        base_url: row.opt_text("base_url")?,
        api_key_sealed: row.opt_bytes("api_key_sealed")?,
        requests_per_minute: row.opt_int("requests_per_minute")?,
        tokens_per_minute: row.opt_int("tokens_per_minute")?,
        max_concurrency: row.opt_int("max_concurrency")?,
        created_by: row.text("created_by")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
    })
}

/// An operation with its asset's model, as `operations::COLUMNS` selects it.
pub(crate) fn operation(row: &impl Columns) -> Result<Operation> {
    let (t, s) = (row.text("type")?, row.text("status")?);
    Ok(Operation {
        id: uuid_col(row, "id")?,
        tenant: tenant_col(row)?,
        asset_id: uuid_col(row, "asset_id")?,
        op_type: OperationType::parse(&t).ok_or_else(|| corrupt("type"))?,
        status: OperationStatus::parse(&s).ok_or_else(|| corrupt("status"))?,
        cancel_requested: row.flag("cancel_requested")?,
        created_by: row.text("created_by")?,
        created_at: row.int("created_at")?,
        started_at: row.opt_int("started_at")?,
        completed_at: row.opt_int("completed_at")?,
        counters: Counters {
            items_total: row.int("items_total")?,
            items_processed: row.int("items_processed")?,
            items_failed: row.int("items_failed")?,
            items_skipped: row.int("items_skipped")?,
            items_excluded: row.int("items_excluded")?,
            token_count: row.int("token_count")?,
            tokens_saved: row.int("tokens_saved")?,
            chunk_count: row.int("chunk_count")?,
            ocr_pages: row.int("ocr_pages")?,
            ocr_pages_total: row.int("ocr_pages_total")?,
            partial_ppm: row.int("partial_ppm")?,
            estimate: match row.opt_int("estimate_tokens")? {
                Some(token_count) => Some(IndexEstimate {
                    documents: row.int("estimate_documents")?,
                    chunks: row.int("estimate_chunks")?,
                    token_count,
                }),
                None => None,
            },
        },
        error_message: row.opt_text("error_message")?,
        document_ids: json_col(row, "document_ids")?,
        excluded: json_col(row, "excluded")?,
        force: row.flag("force")?,
        attempts: row.int("attempts")?,
        provider: row.text("embedding_provider")?,
        model: row.text("embedding_model")?,
    })
}

pub(crate) fn document(row: &impl Columns) -> Result<Document> {
    let s = row.text("status")?;
    Ok(Document {
        id: uuid_col(row, "id")?,
        asset_id: uuid_col(row, "asset_id")?,
        source_key: row.text("source_key")?,
        file_name: row.text("file_name")?,
        content_type: row.text("content_type")?,
        source_url: row.opt_text("source_url")?,
        file_size: row.int("file_size")?,
        content_hash: row.text("content_hash")?,
        chunk_count: row.int("chunk_count")?,
        token_count: row.int("token_count")?,
        status: DocumentStatus::parse(&s).ok_or_else(|| corrupt("document status"))?,
        error_message: row.opt_text("error_message")?,
        operation_id: uuid_col(row, "operation_id")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
        processed_at: row.opt_int("processed_at")?,
        source_meta: json_col(row, "source_meta")?,
        metadata: json_col(row, "metadata")?,
        metadata_patch: json_col(row, "metadata_patch")?,
    })
}

pub(crate) fn file(row: &impl Columns) -> Result<StoredFile> {
    Ok(StoredFile {
        id: uuid_col(row, "id")?,
        tenant: tenant_col(row)?,
        file_name: row.text("file_name")?,
        content_type: row.text("content_type")?,
        size: row.int("size")?,
        sha256: row.text("sha256")?,
        temporary: row.flag("temporary")?,
        created_at: row.int("created_at")?,
        metadata: json_col(row, "metadata")?,
    })
}

pub(crate) fn chunk(row: &impl Columns) -> Result<Chunk> {
    Ok(Chunk {
        id: uuid_col(row, "id")?,
        document_id: uuid_col(row, "document_id")?,
        chunk_index: row.int("chunk_index")?,
        content: row.text("content")?,
        context_text: row.text("context_text")?,
        heading_path: row.text("heading_path")?,
        page_number: row.opt_text("page_number")?,
        start_char: row.int("start_char")?,
        end_char: row.int("end_char")?,
        start_line: row.int("start_line")?,
        end_line: row.int("end_line")?,
        token_count: row.int("token_count")?,
        text_hash: row.text("text_hash")?,
        embedding: row.vector("embedding")?,
        ocr: row.flag("ocr")?,
    })
}
