//! The store methods of connected sources (webhooks, their backlog, poll schedules), written once
//! for both backends: the statements use `$N` placeholders, which SQLite binds by number too, and
//! each backend supplies how it opens a write transaction and how it locks an asset row.

/// Expands, for a backend type (and its connection type), inherent `do_*` methods behind the `Store` methods of the same
/// names (which delegate to them: `#[async_trait]` cannot see into a macro). `$begin` opens a
/// write transaction on `self.pool`; `$lock` is appended to the statement that reads the asset
/// row at the start of a transaction (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
/// already holds the database lock).
macro_rules! connected_methods {
    ($ty:ty, $conn:ty, begin = |$pool:ident| $begin:expr, lock = $lock:literal) => {
        impl $ty {
            /// Locks the asset row for this transaction and reads its webhook backlog: `None`
            /// when the asset does not exist, `Some(None)` when nothing waits.
            async fn lock_backlog(conn: &mut $conn, tenant: &TenantId, asset_id: Uuid) -> Result<Option<Option<String>>> {
                sqlx::query_scalar(concat!(
                    "SELECT webhook_backlog FROM assets WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
                    $lock
                ))
                .bind(tenant.as_str())
                .bind(asset_id.to_string())
                .fetch_optional(conn)
                .await
                .map_err(db)
            }

            /// Whether the asset has an operation `PENDING` or `RUNNING`.
            async fn busy(conn: &mut $conn, asset_id: Uuid) -> Result<bool> {
                let id: Option<String> =
                    sqlx::query_scalar("SELECT id FROM operations WHERE asset_id = $1 AND status IN ('PENDING', 'RUNNING')")
                        .bind(asset_id.to_string())
                        .fetch_optional(conn)
                        .await
                        .map_err(db)?;
                Ok(id.is_some())
            }

            pub(crate) async fn do_webhook_set(&self, tenant: &TenantId, asset_id: Uuid, hook: Option<&Webhook>) -> Result<()> {
                let $pool = &self.pool;
                let mut tx = $begin.await.map_err(db)?;
                sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND asset_id = $2")
                    .bind(tenant.as_str())
                    .bind(asset_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if let Some(h) = hook {
                    let done = sqlx::query(
                        "INSERT INTO webhooks (id, tenant_id, asset_id, secret_sealed, created_at, modified_at)
                     SELECT $1, $2, $3, $4, $5, $6
                     WHERE EXISTS (SELECT 1 FROM assets WHERE id = $3 AND tenant_id = $2 AND deleted_at IS NULL)",
                    )
                    .bind(h.id.to_string())
                    .bind(tenant.as_str())
                    .bind(asset_id.to_string())
                    .bind(&h.secret_sealed)
                    .bind(h.created_at)
                    .bind(h.modified_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                    if done.rows_affected() == 0 {
                        return Err(Error::NotFound("asset"));
                    }
                }
                tx.commit().await.map_err(db)
            }

            pub(crate) async fn do_webhook_get(&self, id: Uuid) -> Result<Option<Webhook>> {
                let row =
                    sqlx::query("SELECT w.* FROM webhooks w JOIN assets a ON a.id = w.asset_id AND a.deleted_at IS NULL WHERE w.id = $1")
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db)?;
                row.as_ref().map(webhook_from_row).transpose()
            }

            pub(crate) async fn do_webhook_deliver(&self, tenant: &TenantId, op: &NewOperation) -> Result<Delivery> {
                let $pool = &self.pool;
                let mut tx = $begin.await.map_err(db)?;
                let waiting = Self::lock_backlog(&mut *tx, tenant, op.asset_id).await?.ok_or(Error::NotFound("asset"))?;
                let active = sqlx::query(
                    "SELECT id, type, status, document_ids FROM operations
                 WHERE tenant_id = $1 AND asset_id = $2 AND status IN ('PENDING', 'RUNNING')",
                )
                .bind(tenant.as_str())
                .bind(op.asset_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let delivery = match active {
                    Some(row) => {
                        let (kind, status): (String, String) = (row.try_get("type").map_err(db)?, row.try_get("status").map_err(db)?);
                        if kind == OperationType::WebhookUpdate.as_str() && status == OperationStatus::Pending.as_str() {
                            let id = uuid_col(&row, "id")?;
                            let ids = merge_targets(&json_col::<Vec<Uuid>>(&row, "document_ids")?, &op.document_ids);
                            sqlx::query("UPDATE operations SET document_ids = $2 WHERE id = $1")
                                .bind(id.to_string())
                                .bind(json(&ids))
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                            Delivery::Joined(id)
                        } else {
                            let ids = match waiting {
                                Some(w) => merge_targets(
                                    &serde_json::from_str::<Vec<Uuid>>(&w).map_err(|_| corrupt("webhook_backlog"))?,
                                    &op.document_ids,
                                ),
                                None => op.document_ids.clone(),
                            };
                            sqlx::query("UPDATE assets SET webhook_backlog = $2 WHERE id = $1")
                                .bind(op.asset_id.to_string())
                                .bind(json(&ids))
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                            Delivery::Deferred
                        }
                    }
                    None => {
                        if !self.insert_operation(&mut tx, tenant, op).await? {
                            return Err(Error::NotFound("asset"));
                        }
                        Delivery::Started(op.id)
                    }
                };
                tx.commit().await.map_err(db)?;
                Ok(delivery)
            }

            pub(crate) async fn do_schedule_due(&self, now: Millis, limit: u32) -> Result<Vec<Due>> {
                // Two arms, each on its partial index (`assets_poll_due`, `assets_backlog`), so that
                // a tick reads only due assets however many there are.
                let rows = sqlx::query(
                    "SELECT * FROM (
                        SELECT a.*, (a.webhook_backlog IS NOT NULL AND NOT EXISTS (SELECT 1 FROM operations o
                            WHERE o.asset_id = a.id AND o.status IN ('PENDING', 'RUNNING'))) AS backlog_ready
                        FROM assets a WHERE a.next_poll_at IS NOT NULL AND a.deleted_at IS NULL AND a.next_poll_at <= $1
                        UNION ALL
                        SELECT a.*, TRUE AS backlog_ready
                        FROM assets a WHERE a.webhook_backlog IS NOT NULL AND a.deleted_at IS NULL
                            AND (a.next_poll_at IS NULL OR a.next_poll_at > $1)
                            AND NOT EXISTS (SELECT 1 FROM operations o WHERE o.asset_id = a.id AND o.status IN ('PENDING', 'RUNNING'))
                     ) due ORDER BY next_poll_at LIMIT $2",
                )
                .bind(now)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                rows.iter().map(|r| Ok(Due { asset: asset_from_row(r)?, backlog: r.try_get("backlog_ready").map_err(db)? })).collect()
            }

            pub(crate) async fn do_poll_fire(
                &self,
                tenant: &TenantId,
                expected: Millis,
                next: Option<Millis>,
                now: Millis,
                op: &NewOperation,
            ) -> Result<Option<Operation>> {
                let $pool = &self.pool;
                let mut tx = $begin.await.map_err(db)?;
                let moved = sqlx::query(
                    "UPDATE assets SET next_poll_at = $4, last_polled_at = $5
                 WHERE tenant_id = $1 AND id = $2 AND next_poll_at = $3 AND deleted_at IS NULL",
                )
                .bind(tenant.as_str())
                .bind(op.asset_id.to_string())
                .bind(expected)
                .bind(next)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                if moved.rows_affected() == 0 {
                    return Ok(None);
                }
                let created = if Self::busy(&mut *tx, op.asset_id).await? {
                    None
                } else {
                    self.insert_operation(&mut tx, tenant, op).await?;
                    read_operation(&mut *tx, tenant, op.asset_id, op.id).await?
                };
                tx.commit().await.map_err(db)?;
                Ok(created)
            }

            pub(crate) async fn do_backlog_start(&self, tenant: &TenantId, op: &NewOperation) -> Result<Option<Operation>> {
                let $pool = &self.pool;
                let mut tx = $begin.await.map_err(db)?;
                let Some(Some(waiting)) = Self::lock_backlog(&mut *tx, tenant, op.asset_id).await? else { return Ok(None) };
                if Self::busy(&mut *tx, op.asset_id).await? {
                    return Ok(None);
                }
                let mut op = op.clone();
                op.document_ids = serde_json::from_str(&waiting).map_err(|_| corrupt("webhook_backlog"))?;
                sqlx::query("UPDATE assets SET webhook_backlog = NULL WHERE id = $1")
                    .bind(op.asset_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.insert_operation(&mut tx, tenant, &op).await?;
                let created = read_operation(&mut *tx, tenant, op.asset_id, op.id).await?;
                tx.commit().await.map_err(db)?;
                Ok(created)
            }

            pub(crate) async fn do_grant_put(&self, g: &Grant, now: Millis) -> Result<()> {
                sqlx::query("DELETE FROM oauth_grants WHERE expires_at < $1").bind(now).execute(&self.pool).await.map_err(db)?;
                sqlx::query("INSERT INTO oauth_grants (id, tenant_id, kind, sealed, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&g.id)
                    .bind(g.tenant.as_str())
                    .bind(g.kind.as_str())
                    .bind(&g.sealed)
                    .bind(g.expires_at)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            pub(crate) async fn do_grant_take(&self, kind: GrantKind, id: &str) -> Result<Option<Grant>> {
                let row = sqlx::query("DELETE FROM oauth_grants WHERE id = $1 AND kind = $2 RETURNING tenant_id, sealed, expires_at")
                    .bind(id)
                    .bind(kind.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(Grant {
                    id: id.to_owned(),
                    tenant: tenant_col(&row)?,
                    kind,
                    sealed: row.try_get("sealed").map_err(db)?,
                    expires_at: row.try_get("expires_at").map_err(db)?,
                }))
            }

            pub(crate) async fn do_asset_auth_set(
                &self,
                tenant: &TenantId,
                asset_id: Uuid,
                sealed: Option<&[u8]>,
                error: Option<&str>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE assets SET auth_sealed = COALESCE($3, auth_sealed), auth_error = $4
                     WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
                )
                .bind(tenant.as_str())
                .bind(asset_id.to_string())
                .bind(sealed)
                .bind(error)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            pub(crate) async fn do_llm_config_put(&self, c: &LlmConfig) -> Result<()> {
                sqlx::query(
                    "INSERT INTO llm_configs (id, tenant_id, display_name, provider, base_url, api_key_sealed, requests_per_minute,
                        tokens_per_minute, max_concurrency, created_by, created_at, modified_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (id) DO UPDATE SET display_name = $3, base_url = $5, api_key_sealed = $6,
                        requests_per_minute = $7, tokens_per_minute = $8, max_concurrency = $9, modified_at = $12",
                )
                .bind(c.id.to_string())
                .bind(c.tenant.as_str())
                .bind(&c.display_name)
                .bind(&c.provider)
                .bind(&c.base_url)
                .bind(&c.api_key_sealed)
                .bind(c.requests_per_minute)
                .bind(c.tokens_per_minute)
                .bind(c.max_concurrency)
                .bind(&c.created_by)
                .bind(c.created_at)
                .bind(c.modified_at)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            pub(crate) async fn do_llm_config_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<LlmConfig>> {
                let row = sqlx::query("SELECT * FROM llm_configs WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                row.as_ref().map(llm_config_from_row).transpose()
            }

            pub(crate) async fn do_llm_config_list(&self, tenant: &TenantId) -> Result<Vec<LlmConfig>> {
                let rows = sqlx::query("SELECT * FROM llm_configs WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC")
                    .bind(tenant.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.iter().map(llm_config_from_row).collect()
            }

            pub(crate) async fn do_llm_config_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool> {
                let done = sqlx::query(
                    "DELETE FROM llm_configs WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS
                        (SELECT 1 FROM assets WHERE tenant_id = $1 AND embedding_llm_config_id = $2 AND deleted_at IS NULL)",
                )
                .bind(tenant.as_str())
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use connected_methods;
