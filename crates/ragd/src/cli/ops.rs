//! `ragd ops …`, and following an operation over `:watch` with a progress bar.

use super::*;

/// After an operation was queued: watch it, or say how to.
pub(super) async fn started(
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
