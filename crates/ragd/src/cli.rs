//! The command line's client commands (`ragd assets|ops|search|docs`): arguments, what each asks
//! of the server, and how the answer is shown — aligned tables (colour only on a terminal), a live
//! progress bar for a watched operation, or the server's JSON with `--json`.

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

fn strip_ansi(s: &str) -> String {
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

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn when(ms: &Value) -> String {
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

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// The files of a folder, recursively, in name order; hidden files and folders are left out.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let t = e.file_type()?;
        if t.is_dir() {
            out.extend(files_under(&e.path())?);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    Ok(out)
}

/// `--param key=value` pairs, typed by the source type's descriptor (lists from repeats).
fn typed_params(
    descriptor: &Value,
    pairs: &[String],
    params: &mut Map<String, Value>,
) -> anyhow::Result<()> {
    let source = descriptor["sourceType"].as_str().unwrap_or_default();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--param {pair}: write it as key=value"))?;
        let props = descriptor["properties"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(prop) = props.iter().find(|p| p["name"] == key) else {
            let names: Vec<&str> = props.iter().filter_map(|p| p["name"].as_str()).collect();
            bail!(
                "--param {key}: {source} has no such parameter; it has {}",
                names.join(", ")
            );
        };
        let typed = match prop["type"].as_str().unwrap_or_default() {
            "BOOLEAN" => Value::Bool(
                value
                    .parse()
                    .with_context(|| format!("--param {key}: true or false"))?,
            ),
            "INTEGER" => Value::from(
                value
                    .parse::<i64>()
                    .with_context(|| format!("--param {key}: a whole number"))?,
            ),
            "OBJECT_LIST" => serde_json::from_str(value)
                .with_context(|| format!("--param {key}: a JSON list"))?,
            "STRING_LIST" => {
                let list = params.entry(key).or_insert_with(|| json!([]));
                list.as_array_mut()
                    .context("a list")?
                    .push(Value::from(value));
                continue;
            }
            _ => Value::from(value),
        };
        params.insert(key.to_owned(), typed);
    }
    Ok(())
}

/// Runs `ragd assets …`; the exit status is non-zero when a watched operation does not complete.
pub async fn assets(
    client: &Client,
    remote: &Remote,
    command: AssetsCommand,
) -> anyhow::Result<i32> {
    let out = Out::new();
    match command {
        AssetsCommand::Create(args) => create(client, remote, *args).await,
        AssetsCommand::Ls => {
            let items = client.all("/assets").await?;
            if remote.json {
                print_json(&Value::from(items));
                return Ok(0);
            }
            let rows = items
                .iter()
                .map(|a| {
                    vec![
                        text(&a["id"]),
                        text(&a["displayName"]),
                        text(&a["type"]),
                        out.status(a["status"].as_str().unwrap_or("-")),
                        text(&a["documentCount"]),
                        text(&a["chunkCount"]),
                        when(&a["modifiedAt"]),
                    ]
                })
                .collect::<Vec<_>>();
            out.table(
                &["ID", "NAME", "TYPE", "STATUS", "DOCS", "CHUNKS", "MODIFIED"],
                &rows,
            );
            Ok(0)
        }
        AssetsCommand::Show { asset } => {
            let a = client.get(&format!("/assets/{asset}")).await?;
            let ops = client
                .get(&format!("/assets/{asset}/operations?PageSize=1"))
                .await?;
            let usage = client.get(&format!("/assets/{asset}/usage")).await?;
            if remote.json {
                print_json(
                    &json!({"asset": a, "latestOperation": ops["items"][0], "usage": usage}),
                );
                return Ok(0);
            }
            let op = &ops["items"][0];
            let rows = [
                ("id", text(&a["id"])),
                ("name", text(&a["displayName"])),
                ("type", text(&a["type"])),
                ("status", out.status(a["status"].as_str().unwrap_or("-"))),
                ("documents", text(&a["documentCount"])),
                ("chunks", text(&a["chunkCount"])),
                ("tokens", text(&usage["totalTokenCount"])),
                (
                    "model",
                    format!(
                        "{}/{}",
                        text(&a["embedding"]["provider"]),
                        text(&a["embedding"]["model"])
                    ),
                ),
                ("parameters", a["config"]["parameters"].to_string()),
                ("created", when(&a["createdAt"])),
                (
                    "last operation",
                    match op.is_object() {
                        true => format!(
                            "{} {} {}",
                            text(&op["type"]),
                            out.status(op["status"].as_str().unwrap_or("-")),
                            text(&op["id"])
                        ),
                        false => "-".to_owned(),
                    },
                ),
            ];
            for (k, v) in rows {
                println!("{}  {v}", out.dim(&format!("{k:<14}")));
            }
            if let Some(e) = op["errorMessage"].as_str() {
                println!("{}  {e}", out.dim(&format!("{:<14}", "error")));
            }
            Ok(0)
        }
        AssetsCommand::Rm { asset } => {
            client
                .call(reqwest::Method::DELETE, &format!("/assets/{asset}"), None)
                .await?;
            if !remote.json {
                println!("deleted asset {asset}");
            }
            Ok(0)
        }
        AssetsCommand::Refresh {
            asset,
            force,
            watch,
        } => {
            let body = if force {
                json!({"force": true})
            } else {
                json!({})
            };
            let r = client
                .post(&format!("/assets/{asset}:refresh"), &body)
                .await?;
            started(client, remote, &asset, &r["operation"], watch).await
        }
    }
}

async fn create(client: &Client, remote: &Remote, args: CreateArgs) -> anyhow::Result<i32> {
    let files = match &args.dir {
        Some(dir) => files_under(dir)?,
        None => args.file.clone(),
    };
    if args.dir.is_some() && files.is_empty() {
        bail!(
            "{} holds no files",
            args.dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        );
    }
    let (source_type, mut params) = if !files.is_empty() {
        let bar = if remote.json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(files.len() as u64)
        };
        bar.set_style(ProgressStyle::with_template(
            "uploading {bar:30} {pos}/{len} {wide_msg}",
        )?);
        let mut ids = Vec::new();
        let mut skipped = Vec::new();
        for f in &files {
            bar.set_message(f.display().to_string());
            match client.upload(f).await {
                Ok(id) => ids.push(Value::from(id)),
                // In a folder, what ragd cannot read (an image, an empty file) is left out, said below.
                Err(e)
                    if args.dir.is_some()
                        && e.downcast_ref::<Problem>().is_some_and(Problem::unreadable) =>
                {
                    skipped.push(f)
                }
                Err(e) => return Err(e),
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        if !skipped.is_empty() {
            let names: Vec<String> = skipped
                .iter()
                .take(5)
                .map(|f| f.display().to_string())
                .collect();
            let more = if skipped.len() > 5 {
                format!(" and {} more", skipped.len() - 5)
            } else {
                String::new()
            };
            eprintln!(
                "left out {} files ragd cannot read (empty or of an unsupported type): {}{more}",
                skipped.len(),
                names.join(", ")
            );
        }
        if ids.is_empty() {
            bail!(
                "{} holds no file ragd can read",
                args.dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            );
        }
        (
            "FILE",
            Map::from_iter([("fileIds".to_owned(), Value::from(ids))]),
        )
    } else if let Some(url) = &args.web {
        ("WEB", Map::from_iter([("urls".to_owned(), json!([url]))]))
    } else if let Some(url) = &args.git {
        let mut p = Map::from_iter([("url".to_owned(), json!(url))]);
        if let Some(b) = &args.branch {
            p.insert("branch".into(), json!(b));
        }
        ("GIT", p)
    } else if let Some(bucket) = &args.s3 {
        let mut p = Map::from_iter([("bucket".to_owned(), json!(bucket))]);
        if let Some(prefix) = &args.prefix {
            p.insert("prefix".into(), json!(prefix));
        }
        ("S3", p)
    } else if let Some(t) = &args.source_type {
        (t.as_str(), Map::new())
    } else {
        bail!("say what to index: --file, --dir, --url, --git, --s3 or --type");
    };
    let source_type = args
        .source_type
        .as_deref()
        .unwrap_or(source_type)
        .to_uppercase();
    if !args.params.is_empty() {
        let types = client.get("/assets:sourceTypes").await?;
        let descriptor = types["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["sourceType"] == source_type.as_str());
        let descriptor =
            descriptor.with_context(|| format!("the server has no source type {source_type}"))?;
        typed_params(descriptor, &args.params, &mut params)?;
    }
    let body =
        json!({"name": args.name, "config": {"sourceType": source_type, "parameters": params}});
    let r = client.post("/assets", &body).await?;
    let asset = r["asset"]["id"]
        .as_str()
        .context("the server's answer had no asset id")?
        .to_owned();
    if !remote.json {
        println!(
            "created asset {asset} ({source_type}, {})",
            text(&r["asset"]["displayName"])
        );
    }
    started(client, remote, &asset, &r["operation"], args.watch).await
}

/// After an operation was queued: watch it, or say how to.
async fn started(
    client: &Client,
    remote: &Remote,
    asset: &str,
    op: &Value,
    watch: bool,
) -> anyhow::Result<i32> {
    let id = op["id"]
        .as_str()
        .context("the server's answer had no operation")?;
    if watch {
        return follow(client, remote, asset, id).await;
    }
    if remote.json {
        print_json(op);
    } else {
        println!(
            "queued {} operation {id}; follow it with: ragd ops watch {asset} {id}",
            text(&op["type"])
        );
    }
    Ok(0)
}

/// One line for an ended operation, e.g. "COMPLETED in 4.2 s: 12 processed, 3 skipped, 4,210 tokens".
fn summary(out: &Out, op: &Value) -> String {
    let n = |k: &str| op[k].as_i64().unwrap_or(0);
    let secs = match (op["startedAt"].as_i64(), op["completedAt"].as_i64()) {
        (Some(s), Some(e)) => format!(" in {:.1} s", (e - s) as f64 / 1000.0),
        _ => String::new(),
    };
    let mut parts = vec![format!(
        "{} processed",
        n("itemsProcessed") - n("itemsFailed")
    )];
    for (k, label) in [
        ("itemsSkipped", "unchanged"),
        ("itemsFailed", "failed"),
        ("itemsExcluded", "excluded"),
    ] {
        if n(k) > 0 {
            parts.push(format!("{} {label}", n(k)));
        }
    }
    parts.push(format!("{} tokens", n("tokenCount")));
    parts.push(format!("${:.4}", op["cost"].as_f64().unwrap_or(0.0)));
    let mut line = format!(
        "{}{secs}: {}",
        out.status(op["status"].as_str().unwrap_or("?")),
        parts.join(", ")
    );
    if let Some(e) = op["errorMessage"].as_str() {
        line.push_str(&format!("\n{e}"));
    }
    line
}

/// Follows an operation over `:watch` with a progress bar; Ctrl-C stops watching, not the operation.
async fn follow(client: &Client, remote: &Remote, asset: &str, op: &str) -> anyhow::Result<i32> {
    let out = Out::new();
    let bar = if remote.json || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(ProgressStyle::with_template(
        "{spinner} {bar:30} {pos}/{len} items  {msg}  {elapsed} (ETA {eta})",
    )?);
    bar.enable_steady_tick(Duration::from_millis(200));
    let watch = client.watch(asset, op, |s| {
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        bar.set_length(n("itemsTotal"));
        bar.set_position(n("itemsProcessed") + n("itemsSkipped") + n("itemsExcluded"));
        bar.set_message(format!(
            "{} {} tokens ${:.4}",
            text(&s["status"]),
            n("tokenCount"),
            s["cost"].as_f64().unwrap_or(0.0)
        ));
    });
    let last = tokio::select! {
        last = watch => last?,
        _ = tokio::signal::ctrl_c() => {
            bar.finish_and_clear();
            eprintln!("stopped watching; operation {op} goes on (ragd ops cancel {asset} {op} cancels it)");
            return Ok(130);
        }
    };
    bar.finish_and_clear();
    if remote.json {
        print_json(&last);
    } else {
        println!("{}", summary(&out, &last));
    }
    Ok(if last["status"] == "COMPLETED" { 0 } else { 1 })
}

pub async fn ops(client: &Client, remote: &Remote, command: OpsCommand) -> anyhow::Result<i32> {
    let out = Out::new();
    match command {
        OpsCommand::Ls { asset } => {
            let page = client
                .get(&format!("/assets/{asset}/operations?PageSize=50"))
                .await?;
            if remote.json {
                print_json(&page["items"]);
                return Ok(0);
            }
            let rows = page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| {
                    vec![
                        text(&o["id"]),
                        text(&o["type"]),
                        out.status(o["status"].as_str().unwrap_or("-")),
                        format!("{}/{}", text(&o["itemsProcessed"]), text(&o["itemsTotal"])),
                        text(&o["tokenCount"]),
                        format!("${:.4}", o["cost"].as_f64().unwrap_or(0.0)),
                        when(&o["createdAt"]),
                        o["errorMessage"]
                            .as_str()
                            .map(|e| {
                                e.lines()
                                    .next()
                                    .unwrap_or_default()
                                    .chars()
                                    .take(80)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ]
                })
                .collect::<Vec<_>>();
            out.table(
                &[
                    "ID", "TYPE", "STATUS", "ITEMS", "TOKENS", "COST", "CREATED", "ERROR",
                ],
                &rows,
            );
            Ok(0)
        }
        OpsCommand::Watch { asset, operation } => follow(client, remote, &asset, &operation).await,
        OpsCommand::Cancel { asset, operation } => {
            let o = client
                .post(
                    &format!("/assets/{asset}/operations/{operation}:cancel"),
                    &json!({}),
                )
                .await?;
            if remote.json {
                print_json(&o);
            } else {
                println!(
                    "operation {operation} is {}",
                    out.status(o["status"].as_str().unwrap_or("?"))
                );
            }
            Ok(0)
        }
    }
}

pub async fn docs(client: &Client, remote: &Remote, command: DocsCommand) -> anyhow::Result<i32> {
    let out = Out::new();
    let DocsCommand::Ls { asset, status } = command;
    let mut items = client.all(&format!("/assets/{asset}/documents")).await?;
    if let Some(s) = &status {
        items.retain(|d| {
            d["status"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(s))
        });
    }
    if remote.json {
        print_json(&Value::from(items));
        return Ok(0);
    }
    let rows = items
        .iter()
        .map(|d| {
            vec![
                text(&d["fileName"]),
                out.status(d["status"].as_str().unwrap_or("-")),
                text(&d["chunkCount"]),
                text(&d["tokenCount"]),
                d["errorMessage"].as_str().unwrap_or_default().to_owned(),
            ]
        })
        .collect::<Vec<_>>();
    out.table(&["NAME", "STATUS", "CHUNKS", "TOKENS", "REASON"], &rows);
    Ok(0)
}

pub async fn search(client: &Client, remote: &Remote, args: SearchArgs) -> anyhow::Result<i32> {
    let out = Out::new();
    let mode = match args.mode.as_str() {
        "vector" => "VECTOR",
        "full-text" => "FULL_TEXT",
        _ => "HYBRID",
    };
    let mut body = json!({"query": args.query, "searchMode": mode, "topK": args.top_k});
    if !args.assets.is_empty() {
        body["assetIds"] = json!(args.assets);
    }
    let r = client.post("/search", &body).await?;
    if remote.json {
        print_json(&r);
        return Ok(0);
    }
    let results = r["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, hit) in results.iter().enumerate() {
        let place = hit["sourceUrl"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| text(&hit["source"]));
        let heading = hit["headingPath"]
            .as_str()
            .filter(|h| !h.is_empty())
            .map(|h| format!(" › {h}"))
            .unwrap_or_default();
        println!(
            "{}. {:.3}  {place}{heading}  {}",
            i + 1,
            hit["score"].as_f64().unwrap_or(0.0),
            out.dim(&format!(
                "lines {}-{}",
                text(&hit["startLine"]),
                text(&hit["endLine"])
            ))
        );
        let snippet: String = hit["content"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let cut: String = snippet.chars().take(240).collect();
        println!(
            "   {cut}{}",
            if snippet.chars().count() > 240 {
                "…"
            } else {
                ""
            }
        );
    }
    if results.is_empty() {
        println!("{}", out.dim("no results"));
    } else {
        println!(
            "{}",
            out.dim(&format!(
                "{} results in {} ms",
                results.len(),
                text(&r["tookMs"])
            ))
        );
    }
    Ok(0)
}
