//! Operations: read, list, cancel, and wait for one to change or end.

use super::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::time::now_ms;
use std::time::Duration;
use uuid::Uuid;

impl Services {
    pub async fn operation_get(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Operation> {
        self.store
            .operation_get(&caller.tenant, asset_id, id)
            .await?
            .ok_or(Error::NotFound("operation"))
    }

    pub async fn operation_list(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Operation>> {
        self.asset_found(&caller.tenant, asset_id).await?;
        self.store
            .operation_list(&caller.tenant, asset_id, &page)
            .await
    }

    pub async fn operation_cancel(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Operation> {
        let op = self
            .store
            .operation_cancel(&caller.tenant, asset_id, id, now_ms())
            .await?
            .ok_or(Error::NotFound("operation"))?;
        if op.op_type == OperationType::Reindex && op.started_at.is_none() {
            // Cancelled before it started: its generation was never built (a running one is
            // discarded by its worker).
            self.discard_building(&caller.tenant, asset_id).await?;
        }
        self.events.operation_changed();
        Ok(op)
    }

    /// Returns as soon as the operation is done, or as it stands when `timeout` passes.
    pub async fn operation_wait(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Operation> {
        let deadline = tokio::time::Instant::now() + timeout.min(MAX_WAIT);
        let mut changes = self.events.watch_operations();
        loop {
            changes.borrow_and_update();
            let op = self.operation_get(caller, asset_id, id).await?;
            if op.status.is_terminal() || tokio::time::Instant::now() >= deadline {
                return Ok(op);
            }
            let recheck = (tokio::time::Instant::now() + WAIT_RECHECK).min(deadline);
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(recheck) => {}
            }
        }
    }

    /// Waits until the operation differs from `seen` (or is done), for `:watch` streams.
    pub async fn operation_next_change(
        &self,
        caller: &Caller,
        asset_id: Uuid,
        seen: &Operation,
    ) -> Result<Operation> {
        let mut changes = self.events.watch_operations();
        loop {
            changes.borrow_and_update();
            let op = self.operation_get(caller, asset_id, seen.id).await?;
            if op.status != seen.status
                || op.counters != seen.counters
                || op.cancel_requested != seen.cancel_requested
            {
                return Ok(op);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(WAIT_RECHECK) => {}
            }
        }
    }
}
