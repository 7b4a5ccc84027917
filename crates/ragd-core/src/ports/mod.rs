//! The seams between the domain and the world, each implemented outside this crate.
//!
//! # Layout
//! - `store`: `Store`, the sum of the role traits (`AssetStore`, `OperationStore`,
//!   `DocumentStore`, `SearchStore`, `FileStore`, `ConnectedStore`, `LlmConfigStore`), and
//!   `Blobs` for uploaded bytes; implemented by `ragd-store`.
//! - `embed`: `Embedder` and `EmbedderRegistry`; implemented by `ragd-embed` and the binary.
//! - `oauth`: `OAuthClients`, the providers configured per source type; implemented by the binary.
//! - `rerank`: `Rerankers`, the re-ranking providers (ragd); implemented by `ragd-embed` and the
//!   binary.

pub mod embed;
pub mod oauth;
pub mod rerank;
pub mod store;
