//! Workers: claim → run with a renewed lease → finish. Cancellation and progress share one
//! mechanism, the heartbeat, which both writes counters and reads the cancel flag.

use futures::future::BoxFuture;
use ragd_core::domain::{Claim, Counters, LeaseState, Operation, Outcome};
use ragd_core::events::Events;
use ragd_core::ports::store::Store;
use ragd_core::time::now_ms;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{Instrument, error, info, info_span, warn};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Operations run at once by this process.
    pub workers: usize,
    /// How long a claim stays valid without a heartbeat; a dead worker's operation is reclaimed after it.
    pub lease: Duration,
    /// How often a running operation writes its counters and renews its lease (at most 1 s: the
    /// contract promises counters at least every second).
    pub heartbeat: Duration,
    /// How often idle workers look for work that in-process wake-ups cannot announce
    /// (other processes' operations, expired leases).
    pub poll: Duration,
    /// Attempts after which an operation whose workers keep dying is failed instead of retried.
    pub max_attempts: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            max_attempts: 5,
        }
    }
}

/// Why a job stopped before producing an outcome.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cancelled")]
    Cancelled,
    /// The lease expired and another attempt owns the operation, or it ended (asset deleted).
    #[error("lease lost")]
    LeaseLost,
    #[error(transparent)]
    Store(#[from] ragd_core::Error),
    /// The source cannot be read at all (a repository that cannot be fetched): the operation
    /// fails with this message, keeping what is indexed.
    #[error("{0}")]
    Source(String),
}

/// A point between units of work where a job can be observed, stopped or (in tests) held.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub operation_id: uuid::Uuid,
    /// 0 after discovery, then 1, 2, … after each unit of work.
    pub index: u64,
}

/// Called at every checkpoint before the heartbeat; tests use it as a breakpoint.
pub type StepHook = Arc<dyn Fn(Step) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs one kind of operation. Must be idempotent: a retried attempt starts over.
#[async_trait::async_trait]
pub trait Executor: Send + Sync + 'static {
    async fn run(&self, job: &Job) -> Result<Outcome, JobError>;
}

/// Pages read within documents as their parses go (OCR of long scans), counted off the async
/// runtime and written with the counters at the next heartbeat.
#[derive(Default)]
struct Pages {
    found: AtomicI64,
    read: AtomicI64,
    next: AtomicU64,
    /// Each document being read's pages found and read, and the most done ever reported (in
    /// millionths of a document, finished documents included): progress never goes back while
    /// a read document waits for its vectors.
    reading: Mutex<(HashMap<u64, FoundRead>, i64)>,
}

/// A document's pages found without a text layer, and read.
type FoundRead = (u32, u32);

/// One document's pages, as its parse reads them; dropped once the document is taken for
/// indexing (or its parse is done with, for a crawl).
pub struct DocumentPages {
    pages: Arc<Pages>,
    id: u64,
}

impl DocumentPages {
    fn with(&self, f: impl FnOnce(&mut (u32, u32))) {
        let mut reading = self.pages.reading.lock().expect("pages lock");
        f(reading.0.entry(self.id).or_default());
    }
}

impl ragd_pipeline::parse::ocr::PageProgress for DocumentPages {
    fn found(&self, n: u32) {
        self.pages.found.fetch_add(i64::from(n), Ordering::Relaxed);
        self.with(|p| p.0 += n);
    }

    fn read(&self) {
        self.pages.read.fetch_add(1, Ordering::Relaxed);
        self.with(|p| p.1 += 1);
    }
}

impl Drop for DocumentPages {
    fn drop(&mut self) {
        if let Ok(mut reading) = self.pages.reading.lock() {
            reading.0.remove(&self.id);
        }
    }
}

/// One attempt at an operation, as an executor sees it.
pub struct Job {
    pub claim: Claim,
    pub store: Arc<dyn Store>,
    counters: Mutex<Counters>,
    pages: Arc<Pages>,
    /// Serialises heartbeats: the background one and a checkpoint's could otherwise write their
    /// counter snapshots out of order, and progress would seem to go back.
    heartbeat_lock: tokio::sync::Mutex<()>,
    steps: AtomicU64,
    config: EngineConfig,
    events: Arc<Events>,
    hook: Option<StepHook>,
}

impl Job {
    pub fn operation(&self) -> &Operation {
        &self.claim.operation
    }

    pub fn update(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.lock().expect("counters lock"));
    }

    /// The counters, with the pages read so far and the share of the documents being read.
    pub fn counters(&self) -> Counters {
        let mut c = *self.counters.lock().expect("counters lock");
        c.ocr_pages = self.pages.read.load(Ordering::Relaxed);
        c.ocr_pages_total = self.pages.found.load(Ordering::Relaxed);
        if c.items_total > 0 {
            let (reading, best) = &mut *self.pages.reading.lock().expect("pages lock");
            let partial: i64 = reading
                .values()
                .filter(|(found, _)| *found > 0)
                .map(|(found, read)| i64::from(*read.min(found)) * 1_000_000 / i64::from(*found))
                .sum();
            let processed = c.items_processed * 1_000_000;
            *best = (*best).max(processed + partial);
            c.partial_ppm = *best - processed;
        }
        c
    }

    /// A tally of one document's pages, for its parse to report to.
    pub fn document_pages(&self) -> DocumentPages {
        DocumentPages {
            pages: self.pages.clone(),
            id: self.pages.next.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Between units of work: writes progress, renews the lease, and stops the job if it was
    /// cancelled or its lease was lost.
    pub async fn checkpoint(&self) -> Result<(), JobError> {
        let mut state = self.heartbeat().await?;
        if let Some(hook) = &self.hook {
            // Counters are written before the hook holds the job, and the cancel flag is read
            // again after it, so a test sees progress at the breakpoint and its cancel at once.
            if state
                == (LeaseState::Held {
                    cancel_requested: false,
                })
            {
                let index = self.steps.fetch_add(1, Ordering::SeqCst);
                hook(Step {
                    operation_id: self.claim.operation.id,
                    index,
                })
                .await;
                state = self.heartbeat().await?;
            }
        }
        match state {
            LeaseState::Held {
                cancel_requested: false,
            } => Ok(()),
            LeaseState::Held {
                cancel_requested: true,
            } => Err(JobError::Cancelled),
            LeaseState::Lost => Err(JobError::LeaseLost),
        }
    }

    async fn heartbeat(&self) -> Result<LeaseState, ragd_core::Error> {
        // The snapshot is taken under the lock, so a later write never carries older counters.
        let _serial = self.heartbeat_lock.lock().await;
        let state = self
            .store
            .operation_heartbeat(
                &self.claim.lease,
                &self.counters(),
                now_ms(),
                self.config.lease.as_millis() as i64,
            )
            .await?;
        self.events.operation_changed();
        Ok(state)
    }
}

/// The worker pool of one process.
pub struct Engine {
    store: Arc<dyn Store>,
    executor: Arc<dyn Executor>,
    events: Arc<Events>,
    config: EngineConfig,
    hook: Option<StepHook>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        executor: Arc<dyn Executor>,
        events: Arc<Events>,
        config: EngineConfig,
    ) -> Self {
        Self {
            store,
            executor,
            events,
            config,
            hook: None,
        }
    }

    pub fn with_step_hook(mut self, hook: StepHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Starts the workers. They stop claiming when `shutdown` turns true, and give back the lease
    /// of what they were running so that it is picked up again at once.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let engine = Arc::new(self);
        (0..engine.config.workers)
            .map(|i| {
                let engine = engine.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { engine.worker_loop(i, shutdown).await })
            })
            .collect()
    }

    async fn worker_loop(self: Arc<Self>, index: usize, mut shutdown: watch::Receiver<bool>) {
        let mut work = self.events.watch_work();
        while !*shutdown.borrow() {
            work.borrow_and_update();
            match self
                .store
                .operation_claim(now_ms(), self.config.lease.as_millis() as i64)
                .await
            {
                Ok(Some(claim)) => {
                    let span = info_span!("operation", worker = index, tenant_id = %claim.lease.tenant,
                        asset_id = %claim.lease.asset_id, operation_id = %claim.lease.operation_id,
                        op_type = %claim.operation.op_type, attempt = claim.operation.attempts);
                    self.clone()
                        .run(claim, shutdown.clone())
                        .instrument(span)
                        .await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = work.changed() => {}
                        _ = tokio::time::sleep(self.config.poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    error!(error = %e, source = ?std::error::Error::source(&e), "claiming an operation failed");
                    tokio::time::sleep(self.config.poll).await;
                }
            }
        }
    }

    /// How a claimed operation ends before it runs: cancelled while its worker was dead, or out of
    /// attempts.
    fn early_outcome(&self, claim: &Claim) -> Option<Outcome> {
        if claim.operation.cancel_requested {
            Some(Outcome::Cancelled)
        } else if claim.operation.attempts > self.config.max_attempts {
            Some(Outcome::Failed {
                error_message: format!(
                    "gave up after {} attempts: the workers running it kept stopping",
                    self.config.max_attempts
                ),
            })
        } else {
            None
        }
    }

    async fn run(self: Arc<Self>, claim: Claim, mut shutdown: watch::Receiver<bool>) {
        metrics::counter!("ragd_operations_claimed_total").increment(1);
        let started = std::time::Instant::now();
        let lease = claim.lease.clone();
        let early = self.early_outcome(&claim);
        if let Some(outcome) = early {
            self.finish(&lease, outcome, Counters::default()).await;
            return;
        }
        info!("operation started");
        let job = Arc::new(Job {
            claim,
            store: self.store.clone(),
            counters: Mutex::new(Counters::default()),
            pages: Arc::default(),
            heartbeat_lock: tokio::sync::Mutex::new(()),
            steps: AtomicU64::new(0),
            config: self.config.clone(),
            events: self.events.clone(),
            hook: self.hook.clone(),
        });
        let heartbeat = tokio::spawn(heartbeat_loop(job.clone()).in_current_span());
        let exec = {
            let (job, executor) = (job.clone(), self.executor.clone());
            tokio::spawn(async move { executor.run(&job).await }.in_current_span())
        };
        let abort = exec.abort_handle();
        let result = tokio::select! {
            r = exec => r,
            _ = async { drop(shutdown.wait_for(|stop| *stop).await) } => {
                abort.abort();
                heartbeat.abort();
                if let Err(e) = self.store.operation_release(&lease).await {
                    warn!(error = %e, "could not release the lease at shutdown; it will expire");
                }
                info!("operation released at shutdown");
                return;
            }
        };
        heartbeat.abort();
        let counters = job.counters();
        let outcome = match result {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(JobError::Cancelled)) => Outcome::Cancelled,
            Ok(Err(JobError::Source(message))) => Outcome::Failed {
                error_message: message,
            },
            Ok(Err(JobError::LeaseLost)) => {
                info!("lease lost; another attempt or a delete owns the operation now");
                self.events.operation_changed();
                return;
            }
            Ok(Err(JobError::Store(e))) => {
                // Storage trouble is usually passing: give the operation back to be retried
                // (bounded by max_attempts) rather than failing work the user cannot redo.
                error!(error = %e, source = ?std::error::Error::source(&e), "storage failed while running; releasing for retry");
                let _ = self.store.operation_release(&lease).await;
                return;
            }
            Err(join) => {
                error!(error = %join, "executor panicked");
                Outcome::Failed {
                    error_message: "internal error while processing the operation".to_owned(),
                }
            }
        };
        let status = match &outcome {
            Outcome::Completed { .. } => "COMPLETED",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Cancelled => "CANCELLED",
        };
        self.finish(&lease, outcome, counters).await;
        metrics::histogram!("ragd_operation_duration_seconds", "status" => status)
            .record(started.elapsed().as_secs_f64());
        info!(status, ?counters, "operation finished");
    }

    async fn finish(&self, lease: &ragd_core::domain::Lease, outcome: Outcome, counters: Counters) {
        let status = match &outcome {
            Outcome::Completed { .. } => "COMPLETED",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Cancelled => "CANCELLED",
        };
        match self
            .store
            .operation_finish(lease, &outcome, &counters, now_ms())
            .await
        {
            Ok(true) => {
                metrics::counter!("ragd_operations_finished_total", "status" => status).increment(1)
            }
            Ok(false) => info!("lease lost before the operation could be finished"),
            Err(e) => {
                error!(error = %e, "could not record the end of the operation; it will be retried")
            }
        }
        self.events.operation_changed();
    }
}

/// Keeps the lease and the counters fresh while a long unit of work runs between checkpoints.
async fn heartbeat_loop(job: Arc<Job>) {
    let mut tick = tokio::time::interval(job.config.heartbeat);
    tick.tick().await;
    loop {
        tick.tick().await;
        match job.heartbeat().await {
            Ok(LeaseState::Held { .. }) => {}
            Ok(LeaseState::Lost) => return,
            Err(e) => warn!(error = %e, "heartbeat failed"),
        }
    }
}
