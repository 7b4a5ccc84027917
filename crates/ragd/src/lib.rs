//! The ragd binary's library half: configuration, the `Application` that wires the layers, and the
//! client commands that talk to a running ragd over its API. `main.rs` is only the command line.
//!
//! # Layout
//! - [`app`]: `Application::build` (store → domain services → engine and HTTP API, shared by
//!   `main`, the tests and the benchmarks) and the scheduler loop.
//! - [`config`]: defaults ← file ← `RAGD_*` ← flags.
//! - [`embedders`]: the embedders of the model registry (the local model, OpenAI-compatible clients)
//!   and `ragd model fetch`.
//! - [`oauth`]: the configured OAuth providers (presets, OIDC discovery, PKCE, exchange, refresh).
//! - [`token`]: `ragd token`, signed development tokens.
//! - [`cli`] over [`client`]: the commands a person uses against a running server, over the public
//!   HTTP API.

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod embedders;
pub mod oauth;
pub mod token;

pub use app::Application;
pub use config::Config;
