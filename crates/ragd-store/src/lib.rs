//! Storage backends behind `ragd_core::store::Store`.
//!
//! - [`sqlite`]: the embedded default, one database file in the data directory.
//! - [`vectors`]: the embedded backend's HNSW graphs, one per asset, synced from a change log.
//! - [`text`]: the embedded backend's full-text index (Tantivy, BM25), synced from the same log.
//! - [`blobs`]: uploaded files' bytes, in a local directory (or any `object_store` backend).
//!
//! Each backend owns its storage encoding (column types, JSON columns) and converts to the
//! domain types at its boundary; nothing outside this crate sees a row.

pub mod blobs;
mod connected;
mod inline;
pub mod pg;
mod rows;
pub mod sqlite;
pub mod text;
pub mod vectors;

pub use blobs::ObjectBlobs;
pub use sqlite::SqliteStore;
