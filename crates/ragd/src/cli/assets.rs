//! `ragd assets ls|show|rm|refresh`.

use super::create::create;
use super::ops::started;
use super::*;

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
        AssetsCommand::Show { asset } => show(client, remote, &out, &asset).await,
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

/// `ragd assets show`: the asset, its usage and its latest operation.
async fn show(client: &Client, remote: &Remote, out: &Out, asset: &str) -> anyhow::Result<i32> {
    let a = client.get(&format!("/assets/{asset}")).await?;
    let ops = client
        .get(&format!("/assets/{asset}/operations?PageSize=1"))
        .await?;
    let usage = client.get(&format!("/assets/{asset}/usage")).await?;
    if remote.json {
        print_json(&json!({"asset": a, "latestOperation": ops["items"][0], "usage": usage}));
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
