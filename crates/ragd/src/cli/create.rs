//! `ragd assets create`: uploads a file or a folder, or names a site, repository or bucket;
//! `--param key=value` typed by the source type's descriptor.

use super::ops::started;
use super::*;

pub(super) async fn create(
    client: &Client,
    remote: &Remote,
    args: CreateArgs,
) -> anyhow::Result<i32> {
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
        let ids = upload(client, remote, &args, &files).await?;
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

/// Uploads the files, with a progress bar; in a folder, what ragd cannot read is left out and
/// said.
async fn upload(
    client: &Client,
    remote: &Remote,
    args: &CreateArgs,
    files: &[PathBuf],
) -> anyhow::Result<Vec<Value>> {
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
    for f in files {
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
    Ok(ids)
}
