//! Row decoding shared by the backends. Both schemas use the same column names and encodings
//! (text ids, epoch-millisecond integers, JSON as text), so one set of decoders serves SQLite and
//! PostgreSQL rows; each backend instantiates it for its row type and supplies `embedding_col`.

/// Defines `uuid_col`, `tenant_col`, `json_col`, `asset_from_row`, `asset_view_from_row`,
/// `operation_from_row`, `webhook_from_row`, `document_from_row`, `file_from_row` and `chunk_from_row` for `$row`.
/// The invoking module provides `db`, `corrupt` and `embedding_col(&$row) -> Result<Vec<f32>>`.
macro_rules! row_decoders {
    ($row:ty) => {
        fn uuid_col(row: &$row, col: &str) -> Result<Uuid> {
            let s: String = row.try_get(col).map_err(db)?;
            Uuid::parse_str(&s).map_err(|_| corrupt(col))
        }

        fn tenant_col(row: &$row) -> Result<TenantId> {
            let s: String = row.try_get("tenant_id").map_err(db)?;
            TenantId::parse(&s).map_err(|_| corrupt("tenant_id"))
        }

        fn json_col<T: serde::de::DeserializeOwned>(row: &$row, col: &str) -> Result<T> {
            let s: String = row.try_get(col).map_err(db)?;
            serde_json::from_str(&s).map_err(|_| corrupt(col))
        }

        fn asset_from_row(row: &$row) -> Result<Asset> {
            let source_type: String = row.try_get("source_type").map_err(db)?;
            let auth_method: Option<String> = row.try_get("auth_method").map_err(db)?;
            let auto_update: Option<String> = row.try_get("auto_update").map_err(db)?;
            Ok(Asset {
                id: uuid_col(row, "id")?,
                tenant: tenant_col(row)?,
                display_name: row.try_get("display_name").map_err(db)?,
                source_type: SourceType::parse(&source_type).ok_or_else(|| corrupt("source_type"))?,
                parameters: json_col(row, "parameters")?,
                auth_method: auth_method.map(|m| AuthMethod::parse(&m).ok_or_else(|| corrupt("auth_method"))).transpose()?,
                vectorized: row.try_get("vectorized").map_err(db)?,
                integration_id: row.try_get("integration_id").map_err(db)?,
                embedding: EmbeddingSpec {
                    provider: row.try_get("embedding_provider").map_err(db)?,
                    model: row.try_get("embedding_model").map_err(db)?,
                    chunk_size: row.try_get::<i64, _>("chunk_size").map_err(db)? as u32,
                    chunk_overlap: row.try_get::<i64, _>("chunk_overlap").map_err(db)? as u32,
                },
                budget: json_col(row, "budget")?,
                auto_update: auto_update.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("auto_update"))).transpose()?,
                embedding_llm_config_id: row.try_get("embedding_llm_config_id").map_err(db)?,
                created_by: row.try_get("created_by").map_err(db)?,
                created_at: row.try_get("created_at").map_err(db)?,
                modified_at: row.try_get("modified_at").map_err(db)?,
                last_polled_at: row.try_get("last_polled_at").map_err(db)?,
                next_poll_at: row.try_get("next_poll_at").map_err(db)?,
                auth_sealed: row.try_get("auth_sealed").map_err(db)?,
                auth_error: row.try_get("auth_error").map_err(db)?,
            })
        }

        fn webhook_from_row(row: &$row) -> Result<Webhook> {
            Ok(Webhook {
                id: uuid_col(row, "id")?,
                tenant: tenant_col(row)?,
                asset_id: uuid_col(row, "asset_id")?,
                secret_sealed: row.try_get("secret_sealed").map_err(db)?,
                created_at: row.try_get("created_at").map_err(db)?,
                modified_at: row.try_get("modified_at").map_err(db)?,
            })
        }

        fn llm_config_from_row(row: &$row) -> Result<LlmConfig> {
            Ok(LlmConfig {
                id: uuid_col(row, "id")?,
                tenant: tenant_col(row)?,
                display_name: row.try_get("display_name").map_err(db)?,
                provider: row.try_get("provider").map_err(db)?,
                base_url: row.try_get("base_url").map_err(db)?,
                api_key_sealed: row.try_get("api_key_sealed").map_err(db)?,
                requests_per_minute: row.try_get("requests_per_minute").map_err(db)?,
                tokens_per_minute: row.try_get("tokens_per_minute").map_err(db)?,
                max_concurrency: row.try_get("max_concurrency").map_err(db)?,
                created_by: row.try_get("created_by").map_err(db)?,
                created_at: row.try_get("created_at").map_err(db)?,
                modified_at: row.try_get("modified_at").map_err(db)?,
            })
        }

        fn asset_view_from_row(row: &$row) -> Result<AssetView> {
            let latest: Option<String> = row.try_get("latest_status").map_err(db)?;
            let latest_operation = match latest {
                Some(s) => Some((
                    OperationStatus::parse(&s).ok_or_else(|| corrupt("status"))?,
                    row.try_get::<i64, _>("latest_failed").map_err(db)?,
                )),
                None => None,
            };
            Ok(AssetView {
                asset: asset_from_row(row)?,
                stats: AssetStats {
                    document_count: row.try_get("document_count").map_err(db)?,
                    chunk_count: row.try_get("doc_chunk_count").map_err(db)?,
                    latest_operation,
                    total_tokens: row.try_get("total_tokens").map_err(db)?,
                    monthly_tokens: row.try_get("monthly_tokens").map_err(db)?,
                    daily_tokens: row.try_get("daily_tokens").map_err(db)?,
                    operation_count: row.try_get("operation_count").map_err(db)?,
                },
            })
        }

        fn operation_from_row(row: &$row) -> Result<Operation> {
            let t: String = row.try_get("type").map_err(db)?;
            let s: String = row.try_get("status").map_err(db)?;
            Ok(Operation {
                id: uuid_col(row, "id")?,
                tenant: tenant_col(row)?,
                asset_id: uuid_col(row, "asset_id")?,
                op_type: OperationType::parse(&t).ok_or_else(|| corrupt("type"))?,
                status: OperationStatus::parse(&s).ok_or_else(|| corrupt("status"))?,
                cancel_requested: row.try_get("cancel_requested").map_err(db)?,
                created_by: row.try_get("created_by").map_err(db)?,
                created_at: row.try_get("created_at").map_err(db)?,
                started_at: row.try_get("started_at").map_err(db)?,
                completed_at: row.try_get("completed_at").map_err(db)?,
                counters: Counters {
                    items_total: row.try_get("items_total").map_err(db)?,
                    items_processed: row.try_get("items_processed").map_err(db)?,
                    items_failed: row.try_get("items_failed").map_err(db)?,
                    items_skipped: row.try_get("items_skipped").map_err(db)?,
                    items_excluded: row.try_get("items_excluded").map_err(db)?,
                    token_count: row.try_get("token_count").map_err(db)?,
                    tokens_saved: row.try_get("tokens_saved").map_err(db)?,
                    chunk_count: row.try_get("chunk_count").map_err(db)?,
                },
                error_message: row.try_get("error_message").map_err(db)?,
                document_ids: json_col(row, "document_ids")?,
                excluded: json_col(row, "excluded")?,
                force: row.try_get("force").map_err(db)?,
                attempts: row.try_get("attempts").map_err(db)?,
                provider: row.try_get("embedding_provider").map_err(db)?,
                model: row.try_get("embedding_model").map_err(db)?,
            })
        }

        fn document_from_row(row: &$row) -> Result<Document> {
            let s: String = row.try_get("status").map_err(db)?;
            Ok(Document {
                id: uuid_col(row, "id")?,
                asset_id: uuid_col(row, "asset_id")?,
                source_key: row.try_get("source_key").map_err(db)?,
                file_name: row.try_get("file_name").map_err(db)?,
                content_type: row.try_get("content_type").map_err(db)?,
                source_url: row.try_get("source_url").map_err(db)?,
                file_size: row.try_get("file_size").map_err(db)?,
                content_hash: row.try_get("content_hash").map_err(db)?,
                chunk_count: row.try_get("chunk_count").map_err(db)?,
                token_count: row.try_get("token_count").map_err(db)?,
                status: DocumentStatus::parse(&s).ok_or_else(|| corrupt("document status"))?,
                error_message: row.try_get("error_message").map_err(db)?,
                operation_id: uuid_col(row, "operation_id")?,
                created_at: row.try_get("created_at").map_err(db)?,
                modified_at: row.try_get("modified_at").map_err(db)?,
                processed_at: row.try_get("processed_at").map_err(db)?,
                source_meta: json_col(row, "source_meta")?,
            })
        }

        fn file_from_row(row: &$row) -> Result<StoredFile> {
            Ok(StoredFile {
                id: uuid_col(row, "id")?,
                tenant: tenant_col(row)?,
                file_name: row.try_get("file_name").map_err(db)?,
                content_type: row.try_get("content_type").map_err(db)?,
                size: row.try_get("size").map_err(db)?,
                sha256: row.try_get("sha256").map_err(db)?,
                temporary: row.try_get("temporary").map_err(db)?,
                created_at: row.try_get("created_at").map_err(db)?,
            })
        }

        fn chunk_from_row(row: &$row) -> Result<Chunk> {
            Ok(Chunk {
                id: uuid_col(row, "id")?,
                document_id: uuid_col(row, "document_id")?,
                chunk_index: row.try_get("chunk_index").map_err(db)?,
                content: row.try_get("content").map_err(db)?,
                context_text: row.try_get("context_text").map_err(db)?,
                heading_path: row.try_get("heading_path").map_err(db)?,
                page_number: row.try_get("page_number").map_err(db)?,
                start_char: row.try_get("start_char").map_err(db)?,
                end_char: row.try_get("end_char").map_err(db)?,
                start_line: row.try_get("start_line").map_err(db)?,
                end_line: row.try_get("end_line").map_err(db)?,
                token_count: row.try_get("token_count").map_err(db)?,
                text_hash: row.try_get("text_hash").map_err(db)?,
                embedding: embedding_col(row)?,
            })
        }
    };
}
pub(crate) use row_decoders;
