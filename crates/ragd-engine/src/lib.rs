//! The operation engine: a pool of workers that claim operations from the store with a lease,
//! run them through an [`Executor`], and record how they end.
//!
//! # Layout
//! - [`worker`]: the claim loop, the lease heartbeat, and the [`Job`] handed to executors.
//! - [`ingest`]: the ingestion executor (diff, parse, chunk, embed, write), the same for every source.
//! - [`sources`]: where documents come from, one module per source type: `text` (inline),
//!   `file` (uploads), `web` (the crawler, with `render`: headless Chromium), `git`, `s3`,
//!   `github`, `gdrive` and `notion`.
//! - [`net`]: the address guard of every outbound connection a tenant can point ragd at.
//! - [`models`]: the embedders and tokenizers of the assets' models, provided by the binary.
//!
//! Invariants: a worker writes nothing after losing its lease (every store write is fenced by the
//! lease token); an operation killed mid-way is redone from the start by the next claimant, and
//! every step is idempotent, so redoing is safe and counters come out exact.

pub mod ingest;
pub mod models;
pub mod net;
pub mod sources;
pub mod worker;

pub use worker::{Engine, EngineConfig, Executor, Job, JobError, Step, StepHook};
