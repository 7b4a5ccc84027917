//! ragd's domain: the types, rules and seams that every other layer builds on.
//!
//! # Layout
//! - [`domain`]: the nouns (tenants, assets, operations, documents, files, …) and their enums.
//! - [`error`]: the one domain error enum; the HTTP layer maps it to problem+json in one place.
//! - [`sources`]: the source types ragd ingests, one file each: descriptor and validation.
//! - [`embedding`]: the embedding models ragd knows (providers, limits, prices).
//! - [`content_types`]: the content types ragd parses and how a file's type is detected.
//! - [`ports`]: the seams other crates implement: the `Store` (the sum of its role traits
//!   `AssetStore`, `OperationStore`, `DocumentStore`, …) and `Blobs`, the `Embedder` and its
//!   registry, the OAuth providers.
//! - [`services`]: the use cases the HTTP layer calls, one file per resource.
//! - [`page`]: keyset pagination requests and pages.
//! - [`events`]: in-process wake-ups (new work for workers, changed operations for waiters).
//! - [`search`]: search requests, the full-text query's terms and rank fusion (pure rules).
//! - [`time`]: epoch milliseconds and the usage windows (day, month).
//! - [`secrets`]: AES-256-GCM sealing of credentials and webhook secrets; webhook signatures.
//! - [`schedule`]: when a poll schedule fires next, in its time zone.
//!
//! This crate does no IO of its own: it talks to the world only through its [`ports`].

pub mod content_types;
pub mod domain;
pub mod embedding;
pub mod error;
pub mod events;
pub mod page;
pub mod ports;
pub mod schedule;
pub mod search;
pub mod secrets;
pub mod services;
pub mod sources;
pub mod time;

pub use error::{Error, FieldError, Result};
