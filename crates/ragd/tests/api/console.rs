//! The web console in a real headless Chromium (Debian's `chromium`, driven over the DevTools
//! protocol): sign in, create an asset by uploading files through the page (file chooser and
//! drag-and-drop), watch its operation run and complete live, read why a document failed, search,
//! and cancel a running operation. A Chromium that cannot start fails the test, never skips it.
//! Screenshots land in the test's temporary directory, and with RAGD_UPDATE_SCREENSHOTS=1 in docs/.

use crate::helpers::*;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures::StreamExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One browser with one tab, closed when dropped.
struct Console {
    _browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    page: Page,
    _profile: tempfile::TempDir,
}

impl Drop for Console {
    fn drop(&mut self) {
        self.handler.abort();
    }
}

fn chromium() -> PathBuf {
    ragd::config::Config::default()
        .chromium()
        .expect("no Chromium on the PATH: the console tests need Debian's chromium (scripts/test installs it with apt-get)")
}

impl Console {
    async fn open(url: &str) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(chromium())
            .user_data_dir(profile.path())
            .no_sandbox()
            .window_size(1280, 900)
            .viewport(Viewport {
                width: 1280,
                height: 900,
                device_scale_factor: Some(1.0),
                ..Default::default()
            })
            .launch_timeout(Duration::from_secs(60))
            .request_timeout(Duration::from_secs(60))
            .args([
                "--disable-gpu",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--mute-audio",
            ])
            .build()
            .expect("a Chromium configuration");
        let (browser, mut handler) = Browser::launch(config)
            .await
            .unwrap_or_else(|e| panic!("Chromium could not be started: {e}"));
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let page = browser
            .new_page(url)
            .await
            .expect("Chromium opens the console");
        let console = Console {
            _browser: browser,
            handler,
            page,
            _profile: profile,
        };
        console
            .wait_for(
                "document.querySelector('#main h1') !== null",
                "the console's first page",
            )
            .await;
        console
    }

    async fn eval(&self, js: &str) -> Value {
        let r = self
            .page
            .evaluate(js)
            .await
            .unwrap_or_else(|e| panic!("evaluating {js}: {e}"));
        r.value().cloned().unwrap_or(Value::Null)
    }

    /// Waits until `condition` (a JS expression) is true in the page, up to 60 s; says what the
    /// page showed when it never became true.
    async fn wait_for(&self, condition: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self
                .page
                .evaluate(condition)
                .await
                .ok()
                .and_then(|r| r.value().and_then(Value::as_bool))
                == Some(true)
            {
                return;
            }
            if Instant::now() > deadline {
                let shown = self.eval("document.body.innerText").await;
                panic!(
                    "the console never showed {what} ({condition}); it showed:\n{}",
                    shown.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        let el = self
            .page
            .find_element(css)
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
        el.scroll_into_view().await.unwrap();
        el.click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self
            .page
            .find_element(css)
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
        el.click().await.unwrap();
        el.type_str(text).await.unwrap();
    }

    /// Chooses `value` in the select `css` as a person would (a change event follows).
    async fn choose(&self, css: &str, value: &str) {
        let js = format!(
            "(() => {{ const s = document.querySelector({css:?}); s.value = {value:?}; s.dispatchEvent(new Event('change')); return s.value; }})()"
        );
        assert_eq!(self.eval(&js).await, value, "{css} has the option {value}");
    }

    async fn go(&self, hash: &str) {
        self.eval(&format!("location.hash = {hash:?}")).await;
    }

    async fn text(&self) -> String {
        self.eval("document.querySelector('main').innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn screenshot(&self, name: &str) {
        let png = self
            .page
            .screenshot(ScreenshotParams::builder().full_page(true).build())
            .await
            .expect("a screenshot");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), &png).unwrap();
        if std::env::var_os("RAGD_UPDATE_SCREENSHOTS").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(name), &png).unwrap();
        }
    }
}

#[tokio::test]
async fn a_person_signs_in_uploads_files_watches_the_ingestion_reads_a_failure_and_searches() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let console = Console::open(&format!("{}/console", app.base)).await;

    // Sign in: the server listens on loopback, so the page offers a local token.
    console
        .wait_for(
            "document.querySelector('#local-sign-in') !== null",
            "the local sign-in",
        )
        .await;
    console.screenshot("sign-in.png").await;
    console
        .eval("document.querySelector('#tenant').value = ''")
        .await;
    console.type_into("#tenant", "acme").await;
    console.click("#local-sign-in").await;
    console
        .wait_for(
            "document.querySelector('#main h1')?.textContent === 'Assets'",
            "the assets page",
        )
        .await;
    console
        .wait_for(
            "document.querySelector('main').innerText.includes('No assets yet')",
            "an empty assets list",
        )
        .await;

    // Create an asset from files: two through the file chooser, one dropped on the box.
    let dir = tempfile::tempdir().unwrap();
    let install = dir.path().join("install.md");
    std::fs::write(
        &install,
        "# Installing\n\nRun the installer, then restart the lighthouse keeper.\n",
    )
    .unwrap();
    let pdf = dir.path().join("mime.pdf");
    std::fs::copy(
        "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
        &pdf,
    )
    .unwrap();
    console.go("#/new").await;
    console
        .wait_for(
            "document.querySelector('#source-type') !== null",
            "the create form",
        )
        .await;
    console.type_into("#name", "handbook").await;
    console.choose("#source-type", "FILE").await;
    console
        .wait_for("document.querySelector('#drop') !== null", "the drop box")
        .await;
    let input = console.page.find_element("#files").await.unwrap();
    let chosen = [
        install.to_str().unwrap().to_owned(),
        pdf.to_str().unwrap().to_owned(),
    ];
    console
        .page
        .execute(SetFileInputFilesParams {
            files: chosen.to_vec(),
            node_id: None,
            backend_node_id: Some(input.backend_node_id),
            object_id: None,
        })
        .await
        .unwrap();
    console
        .eval(
            "(() => { const t = new DataTransfer(); t.items.add(new File(['%PDF-1.7 nothing else'], 'broken.pdf', {type: 'application/pdf'}));
               document.querySelector('#drop').dispatchEvent(new DragEvent('drop', {dataTransfer: t, bubbles: true, cancelable: true})); })()",
        )
        .await;
    console
        .wait_for(
            "document.querySelectorAll('.files li').length === 3",
            "three chosen files",
        )
        .await;
    console.screenshot("create.png").await;
    console.click("form button[type=submit]").await;

    // The asset's page shows the operation running (the gate holds it), then completing, live.
    console
        .wait_for(
            "document.querySelector('tr[data-status=RUNNING] progress') !== null",
            "a running operation with a progress bar",
        )
        .await;
    console.screenshot("operation-running.png").await;
    gate.open();
    console
        .wait_for(
            "document.querySelector('tr[id^=op-][data-status=COMPLETED]') !== null",
            "the operation completed",
        )
        .await;
    console
        .wait_for(
            "document.querySelector('#doc-filter') !== null",
            "the documents",
        )
        .await;
    let page = console.text().await;
    assert!(
        page.contains("handbook") && page.contains("1 failed"),
        "{page}"
    );
    console
        .wait_for(
            "document.querySelector('.chart rect') !== null",
            "the tokens chart",
        )
        .await;
    console.screenshot("asset.png").await;

    // Only the failed document, then its reason.
    console.choose("#doc-filter", "FAILED").await;
    console
        .wait_for(
            "document.querySelectorAll('tbody tr[data-status]').length >= 1",
            "the failed documents",
        )
        .await;
    let failed = console.eval("[...document.querySelectorAll('tbody tr[data-status=FAILED] a')].map(a => a.textContent)").await;
    assert_eq!(failed, serde_json::json!(["broken.pdf"]));
    console.click("tbody tr[data-status=FAILED] a").await;
    console
        .wait_for(
            "document.querySelector('#failure') !== null",
            "why the document failed",
        )
        .await;
    assert!(
        console.text().await.contains("could not be read"),
        "{}",
        console.text().await
    );
    console.screenshot("document-failed.png").await;

    // A working document's chunks, with their heading trail and lines.
    console.go("#/search").await;
    console
        .wait_for(
            "document.querySelector('#query') !== null",
            "the search form",
        )
        .await;
    console
        .type_into("#query", "who restarts the lighthouse keeper?")
        .await;
    console.click("form button[type=submit]").await;
    console
        .wait_for(
            "document.querySelector('.result') !== null",
            "a search result",
        )
        .await;
    let first = console
        .eval("document.querySelector('.result').innerText")
        .await;
    let first = first.as_str().unwrap_or_default();
    assert!(
        first.contains("install.md") && first.contains("Installing"),
        "{first}"
    );
    let marked =
        console.eval("[...document.querySelector('.result').querySelectorAll('mark')].map(m => m.textContent.toLowerCase())").await;
    assert!(
        marked
            .as_array()
            .is_some_and(|m| m.iter().any(|t| t == "lighthouse")),
        "{marked}"
    );
    console.screenshot("search.png").await;
    console.click(".result a").await;
    console
        .wait_for(
            "document.querySelector('.chunk') !== null",
            "the document's chunks",
        )
        .await;
    assert!(
        console.text().await.contains("Installing") && console.text().await.contains("lines 1"),
        "{}",
        console.text().await
    );

    console.go("#/assets").await;
    console
        .wait_for(
            "document.querySelector('tbody tr') !== null",
            "the assets list",
        )
        .await;
    let row = console
        .eval("document.querySelector('tbody tr').innerText")
        .await;
    assert!(
        row.as_str()
            .is_some_and(|r| r.contains("handbook") && r.contains("FILE") && r.contains("PARTIAL")),
        "{row}"
    );
    console.screenshot("assets.png").await;
}

#[tokio::test]
async fn a_person_pastes_a_token_sees_a_refusal_as_a_message_and_cancels_a_running_operation() {
    let gate = Gate::new();
    let app = TestApp::spawn_with_gate(&gate).await;
    let d = docs(5);
    let (asset, op) = app.create_text_asset("acme", &as_refs(&d)).await;
    gate.reached().await;

    let console = Console::open(&format!("{}/console", app.base)).await;
    // A wrong token is a message on the page, not a dialog or JSON.
    console
        .eval("document.querySelector('#tenant').value = ''")
        .await;
    console.type_into("#tenant", "acme").await;
    console.type_into("#token", "not-a-token").await;
    console.click("form button[type=submit]").await;
    console
        .wait_for(
            "!document.querySelector('#message').hidden",
            "a sign-in refusal",
        )
        .await;
    let message = console
        .eval("document.querySelector('#message').innerText")
        .await;
    assert!(
        message
            .as_str()
            .is_some_and(|m| !m.contains('{') && m.to_lowercase().contains("token")),
        "{message}"
    );

    console
        .eval("document.querySelector('#token').value = ''")
        .await;
    console.type_into("#token", &app.token("acme")).await;
    console.click("form button[type=submit]").await;
    console
        .wait_for(
            "document.querySelector('#main h1')?.textContent === 'Assets'",
            "the assets page",
        )
        .await;
    console.go(&format!("#/assets/{asset}")).await;
    console
        .wait_for(
            &format!("document.querySelector('#op-{op}[data-status=RUNNING] button') !== null"),
            "the running operation",
        )
        .await;

    // Refreshing while it runs is refused with the server's reason, shown as a message.
    console.click(".actions button").await;
    console
        .wait_for("!document.querySelector('#message').hidden", "the refusal")
        .await;
    let message = console
        .eval("document.querySelector('#message').innerText")
        .await;
    assert!(
        message
            .as_str()
            .is_some_and(|m| m.contains("still active") && !m.contains('{')),
        "{message}"
    );

    console.click(&format!("#op-{op} button")).await;
    // The worker goes on only once the server has the cancel request (else it might finish first).
    console
        .wait_for(
            "document.querySelector('#message').innerText.includes('Cancel requested')",
            "the cancel accepted",
        )
        .await;
    gate.open();
    console
        .wait_for(
            &format!("document.querySelector('#op-{op}[data-status=CANCELLED]') !== null"),
            "the operation cancelled",
        )
        .await;
    assert_eq!(
        app.operation("acme", &asset, &op).await["status"],
        "CANCELLED"
    );
    console.screenshot("operation-cancelled.png").await;
}

#[tokio::test]
async fn the_console_is_served_locked_down_and_its_local_sign_in_is_only_for_this_machine() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = http.get(&app.base).send().await.unwrap();
    assert_eq!(
        (
            root.status().as_u16(),
            root.headers()["location"].to_str().unwrap()
        ),
        (303, "/console")
    );
    let page = http
        .get(format!("{}/console", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(r#"<meta name="ragd-local-token" content="on">"#)
    );

    let mint = |host: &str, origin: Option<&str>| {
        let mut req = http
            .post(format!("{}/console/token", app.base))
            .header("host", host)
            .json(&serde_json::json!({"tenant": "acme"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let host = app.base.trim_start_matches("http://").to_owned();
    let r = Resp::from_response(mint(&host, Some(&app.base)).await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().unwrap();
    assert_eq!(app.get("/v1/tenants/acme/assets", token).await.status, 200);
    // A page of another site (its DNS name rebound to 127.0.0.1, or posting across sites) gets none.
    let r = Resp::from_response(mint("evil.example:80", None).await.unwrap()).await;
    r.problem(403, "/problems/forbidden");
    let r = Resp::from_response(mint(&host, Some("http://evil.example")).await.unwrap()).await;
    r.problem(403, "/problems/forbidden");
    assert!(
        !http
            .get(format!("{}/console", app.base))
            .header("host", "evil.example")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains(r#"content="on""#)
    );

    // Off when asked (or off loopback, or with a JWKS): the page offers none and minting is refused.
    let app = TestApp::spawn_with(|c| c.console_local_token = false, None).await;
    let page = http
        .get(format!("{}/console", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"content="off""#));
    let r = http
        .post(format!("{}/console/token", app.base))
        .json(&serde_json::json!({"tenant": "acme"}))
        .send()
        .await
        .unwrap();
    Resp::from_response(r)
        .await
        .problem(403, "/problems/forbidden");
}
