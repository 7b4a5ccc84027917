//! The ragd binary's library half: configuration and the `Application` that wires the layers
//! (store → domain services → engine and HTTP API), and the client commands that talk to a
//! running ragd over its API (`cli`, `client`). `main.rs` is only the command line.

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod model;
pub mod oauth;
pub mod token;

pub use app::Application;
pub use config::Config;
