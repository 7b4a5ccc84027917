//! In-process wake-ups: workers wait for new work, `:wait`/`:watch` wait for changed operations.
//!
//! These only make things prompt. Correctness never depends on them: waiters also re-check the
//! store on a short interval, which is what makes other processes' changes visible.

use tokio::sync::watch;

#[derive(Debug)]
pub struct Events {
    work: watch::Sender<u64>,
    operations: watch::Sender<u64>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            work: watch::Sender::new(0),
            operations: watch::Sender::new(0),
        }
    }
}

impl Events {
    /// An operation became claimable.
    pub fn work_added(&self) {
        self.work.send_modify(|v| *v += 1);
        self.operation_changed();
    }

    /// Some operation changed state or counters.
    pub fn operation_changed(&self) {
        self.operations.send_modify(|v| *v += 1);
    }

    pub fn watch_work(&self) -> watch::Receiver<u64> {
        self.work.subscribe()
    }

    pub fn watch_operations(&self) -> watch::Receiver<u64> {
        self.operations.subscribe()
    }
}
