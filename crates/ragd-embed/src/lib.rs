//! Embedding engines behind `ragd_core::ports::embed::Embedder`.
//!
//! # Layout
//! - [`local`]: all-MiniLM-L6-v2 computed in-process on OpenVINO (loaded at run time from the
//!   libraries that `ragd model fetch` puts beside the model), with the model's own WordPiece
//!   tokenizer. No Python and no GPU at run time.
//! - [`remote`]: any OpenAI-compatible `/v1/embeddings` API, with token-aware batching, rate
//!   limits and retries.
//! - [`rerank`]: a re-ranking provider's Cohere/Jina-style `/rerank` API (ragd).

pub mod local;
pub mod remote;
pub mod rerank;

pub use local::{LocalEmbedder, LocalModel, ModelFiles};
