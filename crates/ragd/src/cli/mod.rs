//! The command line's client commands (`ragd assets|ops|search|docs`): arguments, what each asks
//! of the server, and how the answer is shown — aligned tables (colour only on a terminal), a live
//! progress bar for a watched operation, or the server's JSON with `--json`.
//!
//! # Layout
//! - `assets`: `ragd assets ls|show|rm|refresh`; `create`: `ragd assets create` (uploads a
//!   file or a folder, or names a site, repository or bucket; `--param` typed by the descriptor).
//! - `ops`: `ragd ops …`, and following an operation with a progress bar.
//! - `docs`: `ragd docs ls` and `ragd search`.
//!
//! This file holds the arguments and the output helpers they share.

mod assets;
mod create;
mod docs;
mod ops;

pub use assets::assets;
pub use docs::{docs, search};
pub use ops::ops;

use crate::client::{Client, Problem};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the server is and who is asking; shared by every client command.
#[derive(Args, Clone)]
pub struct Remote {
    /// The server [env RAGD_URL] (`--url` names a web site in `assets create`).
    #[arg(
        long,
        global = true,
        env = "RAGD_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// Bearer token [env RAGD_TOKEN; default: one minted from the local data dir's secret].
    #[arg(long, global = true, env = "RAGD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Tenant [env RAGD_TENANT].
    #[arg(long, global = true, env = "RAGD_TENANT", default_value = "default")]
    pub tenant: String,
    /// Print the server's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum AssetsCommand {
    /// Create an asset from files, a folder, a web site, a git repository or an S3 bucket.
    Create(Box<CreateArgs>),
    /// List the tenant's assets.
    Ls,
    /// One asset, with its latest operation.
    Show { asset: String },
    /// Delete an asset with its documents.
    Rm { asset: String },
    /// Queue a refresh (changed documents only, or all with --force).
    Refresh {
        asset: String,
        #[arg(long)]
        force: bool,
        /// Follow the operation with a progress bar until it ends.
        #[arg(long)]
        watch: bool,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// The asset's display name.
    pub name: String,
    /// Files to upload (one document each).
    #[arg(long, num_args = 1.., conflicts_with_all = ["dir", "web", "git", "s3"])]
    pub file: Vec<PathBuf>,
    /// A folder whose files (recursively; hidden ones skipped) are uploaded.
    #[arg(long, conflicts_with_all = ["web", "git", "s3"])]
    pub dir: Option<PathBuf>,
    /// A web site's start URL.
    #[arg(long = "url", id = "web", value_name = "URL")]
    pub web: Option<String>,
    /// A git repository's clone URL.
    #[arg(long, conflicts_with = "s3")]
    pub git: Option<String>,
    /// The git branch (with --git).
    #[arg(long, requires = "git")]
    pub branch: Option<String>,
    /// An S3 bucket.
    #[arg(long)]
    pub s3: Option<String>,
    /// Only keys with this prefix (with --s3).
    #[arg(long, requires = "s3")]
    pub prefix: Option<String>,
    /// Any other source type of `GET …/assets:sourceTypes` (GITHUB, NOTION, …).
    #[arg(long = "type", value_name = "SOURCE_TYPE")]
    pub source_type: Option<String>,
    /// A parameter the source type's descriptor lists, as key=value (repeat for lists).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Follow the ingestion with a progress bar until it ends.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Subcommand)]
pub enum OpsCommand {
    /// An asset's operations, newest first.
    Ls { asset: String },
    /// Follow an operation with a progress bar until it ends (Ctrl-C stops watching only).
    Watch { asset: String, operation: String },
    /// Cancel a pending or running operation.
    Cancel { asset: String, operation: String },
}

#[derive(Subcommand)]
pub enum DocsCommand {
    /// An asset's documents, with each failure's reason.
    Ls {
        asset: String,
        /// Only documents with this status (e.g. FAILED).
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Args)]
pub struct SearchArgs {
    pub query: String,
    /// Search only these assets (repeatable; default: all of the tenant's).
    #[arg(long = "asset")]
    pub assets: Vec<String>,
    #[arg(long, value_parser = ["hybrid", "vector", "full-text"], default_value = "hybrid")]
    pub mode: String,
    #[arg(long, default_value_t = 5)]
    pub top_k: u32,
}

/// Colours and tables for a terminal; plain text elsewhere (or with NO_COLOR).
struct Out {
    colour: bool,
}

impl Out {
    fn new() -> Self {
        Self {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn status(&self, s: &str) -> String {
        let code = match s {
            "COMPLETED" | "READY" | "INDEXED" => "32",
            "FAILED" | "CANCELLED" => "31",
            "RUNNING" | "PENDING" | "PROCESSING" => "33",
            _ => return s.to_owned(),
        };
        if self.colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    fn dim(&self, s: &str) -> String {
        if self.colour {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    /// Prints rows under a header, each column as wide as its widest cell (colour codes aside).
    fn table(&self, header: &[&str], rows: &[Vec<String>]) {
        let visible = |s: &str| strip_ansi(s).chars().count();
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(visible(cell));
            }
        }
        let line = |cells: Vec<String>| {
            let mut s = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                s.push_str(cell);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(w - visible(cell) + 2));
                }
            }
            println!("{}", s.trim_end());
        };
        line(header.iter().map(|h| self.dim(h)).collect());
        for row in rows {
            line(row.clone());
        }
        if rows.is_empty() {
            println!("{}", self.dim("(none)"));
        }
    }
}

pub(super) fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

pub(super) fn when(ms: &Value) -> String {
    match ms
        .as_i64()
        .and_then(|ms| std::time::UNIX_EPOCH.checked_add(Duration::from_millis(ms as u64)))
    {
        Some(t) => humantime::format_rfc3339_seconds(t)
            .to_string()
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_owned(),
        None => "-".to_owned(),
    }
}

pub(super) fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}
