//! The command line's client commands against the real app: create an asset from a folder and
//! watch it to the end, see why a broken file failed, search, cancel a running operation (and the
//! watch of it exits non-zero), and server problems as one line on stderr with a non-zero exit.

use crate::helpers::*;
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `program ARGS` with the environment that points the client at `app` for tenant acme.
fn client_command(app: &TestApp, program: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env("RAGD_URL", &app.base)
        .env("RAGD_TOKEN", app.token("acme"))
        .env("RAGD_TENANT", "acme");
    command
}

/// `ragd ARGS` as a person runs it, against `app` for tenant acme (stdout not a terminal).
async fn ragd(app: &TestApp, args: &[&str]) -> Run {
    let out = client_command(app, env!("CARGO_BIN_EXE_ragd"), args)
        .output()
        .await
        .expect("ragd runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stdout.contains('\x1b'),
        "{args:?}: {}{}",
        run.stdout,
        run.stderr
    );
    run
}

#[tokio::test]
async fn a_folder_becomes_an_asset_watched_to_the_end_searched_and_its_failure_explained() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("guide")).unwrap();
    std::fs::write(
        dir.path().join("guide/install.md"),
        "# Installing\n\nRun the installer, then restart the lighthouse keeper.\n",
    )
    .unwrap();
    std::fs::copy(
        "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
        dir.path().join("mime.pdf"),
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.pdf"), b"%PDF-1.7 nothing else").unwrap();
    std::fs::write(dir.path().join(".hidden"), b"left out").unwrap();
    // What a real folder also holds: an animation and an empty file, which ragd cannot read
    // (PNG, JPEG and TIFF it reads by OCR).
    std::fs::write(dir.path().join("guide/logo.gif"), b"GIF89a\x01\0\x01\0").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"").unwrap();

    let dir_arg = dir.path().to_str().unwrap();
    let r = ragd(
        &app,
        &["assets", "create", "handbook", "--dir", dir_arg, "--watch"],
    )
    .await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("COMPLETED") && r.stdout.contains("2 processed, 1 failed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("broken.pdf: the PDF could not be read"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("left out 2 files ragd cannot read") && r.stderr.contains("logo.gif"),
        "{}",
        r.stderr
    );

    let r = ragd(&app, &["assets", "ls", "--json"]).await;
    let assets: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (
            assets[0]["displayName"].as_str(),
            assets[0]["documentCount"].as_i64()
        ),
        (Some("handbook"), Some(3)),
        "{assets}"
    );
    let asset = assets[0]["id"].as_str().unwrap();
    let table = ragd(&app, &["assets", "ls"]).await.stdout;
    assert!(
        table.starts_with("ID ") && table.contains("handbook  FILE  PARTIAL"),
        "{table}"
    );

    let r = ragd(&app, &["docs", "ls", asset, "--status", "FAILED"]).await;
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[1].starts_with("broken.pdf") && lines[1].contains("could not be read"),
        "{}",
        r.stdout
    );

    let r = ragd(
        &app,
        &[
            "search",
            "who restarts the lighthouse keeper?",
            "--asset",
            asset,
            "--top-k",
            "3",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("1. ")
            && r.stdout
                .lines()
                .next()
                .unwrap()
                .contains("install.md › Installing"),
        "{}",
        r.stdout
    );

    let r = ragd(&app, &["ops", "ls", asset]).await;
    assert!(
        r.stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("INGEST  COMPLETED  3/3")),
        "{}",
        r.stdout
    );

    // A refresh changes nothing: watched, it completes with every document unchanged.
    let r = ragd(&app, &["assets", "refresh", asset, "--watch"]).await;
    assert!(
        (r.code, r.stdout.contains("unchanged")) == (0, true),
        "{}{}",
        r.stdout,
        r.stderr
    );

    // Problems are one line on stderr with a non-zero exit, never a stack or JSON.
    let r = ragd(
        &app,
        &["assets", "show", "0190c6c1-7d2b-7000-8000-000000000000"],
    )
    .await;
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr.starts_with("error: ")
            && r.stderr.contains("not found")
            && !r.stderr.contains('{'),
        "{}",
        r.stderr
    );
    let r = ragd(&app, &["search", " "]).await;
    assert!(r.code == 2 && r.stderr.contains("query:"), "{}", r.stderr);
    let r = ragd(
        &app,
        &[
            "assets",
            "create",
            "x",
            "--git",
            "https://example.com/r.git",
            "--param",
            "colour=blue",
        ],
    )
    .await;
    assert!(
        r.code == 2
            && r.stderr
                .contains("GIT has no such parameter; it has url, branch"),
        "{}",
        r.stderr
    );
    let r = ragd(&app, &["assets", "ls", "--server", "http://127.0.0.1:9"]).await;
    assert!(
        r.code == 2 && r.stderr.contains("could not connect"),
        "{}",
        r.stderr
    );

    assert_eq!(ragd(&app, &["assets", "rm", asset]).await.code, 0);
    assert!(
        ragd(&app, &["assets", "ls"])
            .await
            .stdout
            .contains("(none)")
    );
}

#[tokio::test]
async fn a_running_operation_is_cancelled_and_its_watch_exits_non_zero() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let d = docs(5);
    let (asset, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;
    let mut watch = client_command(
        &app,
        env!("CARGO_BIN_EXE_ragd"),
        &["ops", "watch", &asset, &op],
    );
    let watch = tokio::spawn(async move { watch.output().await.expect("ragd runs") });
    let r = ragd(&app, &["ops", "cancel", &asset, &op]).await;
    assert!(
        r.code == 0 && r.stdout.contains(&op),
        "{}{}",
        r.stdout,
        r.stderr
    );
    gate.open();
    let out = watch.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("CANCELLED"), "{stdout}");
    assert_eq!(
        app.operation("acme", &asset, &op).await["status"],
        "CANCELLED"
    );
}

#[tokio::test]
async fn on_a_terminal_the_watch_draws_a_live_progress_bar() {
    use tokio::io::AsyncReadExt;
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let d = docs(5);
    let (asset, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;
    // util-linux's `script` gives the watch a pseudo-terminal, as a person's shell would.
    let command = format!("{} ops watch {asset} {op}", env!("CARGO_BIN_EXE_ragd"));
    let mut child = client_command(&app, "script", &["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let bar = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("RUNNING") {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "the watch ended before drawing: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    });
    bar.await
        .expect("the bar is drawn while the operation runs");
    let drawn = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        drawn.contains("/5 items") && drawn.contains("ETA") && drawn.contains("tokens $"),
        "{drawn}"
    );

    assert_eq!(
        app.post(
            &format!("/v1/tenants/acme/assets/{asset}/operations/{op}:cancel"),
            &app.token("acme"),
            serde_json::json!({})
        )
        .await
        .status,
        200
    );
    gate.open();
    stdout.read_to_end(&mut seen).await.unwrap();
    let status = child.wait().await.unwrap();
    let all = String::from_utf8_lossy(&seen);
    assert_eq!(status.code(), Some(1), "{all}");
    assert!(all.contains("CANCELLED"), "{all}");
}
