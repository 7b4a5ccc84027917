//! The scheduler's tick: fires due poll schedules and starts deferred webhook updates.

use super::*;
use crate::domain::*;
use crate::error::Result;
use crate::ports::store::Store;
use crate::time::Millis;

/// Who queued operations that no user asked for.
pub const SCHEDULER: &str = "scheduler";

impl Services {
    /// One pass of the scheduler at `now`; returns the operations it queued.
    pub async fn schedule_tick(&self, now: Millis) -> Result<Vec<Operation>> {
        let started = schedule_tick(self.store.as_ref(), now).await?;
        if !started.is_empty() {
            self.events.work_added();
        }
        self.generation_sweep(now).await?;
        Ok(started)
    }
}

/// Fires every due poll schedule once (one catch-up run however many slots were missed; the next
/// run is the first slot after `now`) and starts deferred webhook updates of assets now free.
/// Safe to run in every process at once: each firing is a compare-and-set on `next_poll_at`.
pub async fn schedule_tick(store: &dyn Store, now: Millis) -> Result<Vec<Operation>> {
    let mut started = Vec::new();
    for due in store.schedule_due(now, 500).await? {
        let a = &due.asset;
        if let Some(expected) = a.next_poll_at.filter(|t| *t <= now) {
            let next = a
                .auto_update
                .as_ref()
                .and_then(|c| crate::schedule::next_fire(c, now));
            let op = NewOperation::new(a.id, OperationType::ScheduledRefresh, SCHEDULER, now);
            started.extend(store.poll_fire(&a.tenant, expected, next, now, &op).await?);
        }
        if due.backlog {
            let op = NewOperation::new(a.id, OperationType::WebhookUpdate, WEBHOOK, now);
            started.extend(store.backlog_start(&a.tenant, &op).await?);
        }
    }
    Ok(started)
}
