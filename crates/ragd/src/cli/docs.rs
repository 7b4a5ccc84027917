//! `ragd docs ls` and `ragd search`.

use super::*;

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
