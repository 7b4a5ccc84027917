//! ragd's domain: the types, rules and storage seam that every other layer builds on.
//!
//! # Layout
//! - [`error`]: the one domain error enum; the HTTP layer maps it to problem+json in one place.
//! - [`model`]: assets, operations, documents and their enums, as the domain sees them.
//! - [`embed`]: the embedding seam (`Embedder`), implemented by `ragd-embed`.
//! - [`catalog`]: what ragd knows how to do: source types (with parameter validation), embedding
//!   models (with prices) and content types.
//! - [`page`]: keyset pagination requests and pages.
//! - [`store`]: the storage seam, `Store` as the sum of its role traits (`AssetStore`,
//!   `OperationStore`, `DocumentStore`, …), implemented by `ragd-store` on SQLite and PostgreSQL.
//! - [`service`]: the use cases the HTTP layer calls (create an asset, refresh, cancel, ...).
//! - [`events`]: in-process wake-ups (new work for workers, changed operations for waiters).
//! - [`connect`]: connected sources: the OAuth flow, token refresh, webhooks (issue, rotate,
//!   receive) and the scheduler's tick.
//! - [`llm`]: LLM configs (a tenant's endpoint and sealed key) and the endpoint an asset uses.
//! - [`search`]: search requests, the full-text query, rank fusion and usage.
//! - [`time`]: epoch milliseconds and the usage windows (day, month).
//! - [`secrets`]: AES-256-GCM sealing of credentials and webhook secrets; webhook signatures.
//! - [`schedule`]: when a poll schedule fires next, in its time zone.
//!
//! This crate does no IO of its own: it talks to the world only through the `Store` trait.

pub mod catalog;
pub mod connect;
pub mod embed;
pub mod error;
pub mod events;
pub mod llm;
pub mod model;
pub mod page;
pub mod schedule;
pub mod search;
pub mod secrets;
pub mod service;
pub mod store;
pub mod time;

pub use error::{Error, FieldError, Result};
