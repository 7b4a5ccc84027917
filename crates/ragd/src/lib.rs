//! The ragd binary's library half: configuration and the `Application` that wires the layers
//! (store → domain services → engine and HTTP API). `main.rs` is only the command line.

pub mod app;
pub mod config;
pub mod model;
pub mod oauth;
pub mod token;

pub use app::Application;
pub use config::Config;
