//! Storage backends behind `ragd_core::store::Store`.
//!
//! - [`sqlite`]: the embedded default, one database file in the data directory.
//!
//! Each backend owns its storage encoding (column types, JSON columns) and converts to the
//! domain types at its boundary; nothing outside this crate sees a row.

pub mod sqlite;

pub use sqlite::SqliteStore;
