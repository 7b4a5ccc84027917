//! Storage behind `ragd_core::ports::store::Store`, on two backends with one schema design.
//!
//! # Layout
//! - [`sql`]: the store written once — `SqlStore`, one file per resource implementing its role
//!   trait (`assets`, `operations`, `documents`, `files`, `connected`, `llm_configs`, `search`,
//!   `generations`),
//!   the row decoders (`rows`), and the `Backend` trait for what the engines do differently.
//! - [`db`]: the seam to the drivers — statements with `$N` placeholders run on either pool or a
//!   transaction, rows read by column, the dialect's few differences.
//! - [`sqlite`]: the embedded default, one database file, with its HNSW graphs (`vectors`), its
//!   Tantivy full-text index (`text`) and its inline reads (`inline`).
//! - [`postgres`]: scale-out on PostgreSQL with pgvector (`throwaway` databases for tests behind
//!   the `test-support` feature).
//! - [`blobs`]: uploaded files' bytes, in a local directory (or any `object_store` backend).
//!
//! Nothing outside this crate sees a row.

pub mod blobs;
mod db;
pub mod postgres;
pub mod sql;
pub mod sqlite;

pub use blobs::ObjectBlobs;
pub use postgres::PgStore;
pub use sql::SqlStore;
pub use sqlite::SqliteStore;
