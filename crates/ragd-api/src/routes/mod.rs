//! Handlers, one module per resource. Each parses wire input, calls one service method and
//! renders the result; rules live in `ragd_core::services`.

pub mod assets;
pub mod catalog;
pub mod console;
pub mod documents;
pub mod embeddings;
pub mod files;
pub mod llm_configs;
pub mod oauth;
pub mod operations;
pub mod search;
pub mod system;
pub mod webhooks;

use crate::problem::ApiError;
use ragd_core::Error;

/// A custom method (`:name`) the path does not have.
pub(crate) fn unknown_method(_method: &str) -> ApiError {
    ApiError(Error::NotFound("custom method"))
}
