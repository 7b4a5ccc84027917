//! Rendering pages whose text JavaScript writes (`render: true` on a `WEB` asset): a headless
//! Chromium (Debian's `chromium`, driven over the DevTools protocol by `chromiumoxide`) loads the
//! page and ragd reads the DOM its scripts built.
//!
//! **Chromium reaches no network itself.** Every request a page makes is paused (the DevTools
//! `Fetch` domain) and answered by ragd: the document with the bytes the crawler already fetched
//! and checked, everything else fetched through the crawler's guarded client, so the address
//! guard (public addresses only unless allowed, names checked at every connect, redirects
//! answered to the page and so checked again) holds for scripts, XHR and subframes too. Chromium
//! is started with a proxy that does not exist, so what the `Fetch` domain does not see (WebSocket,
//! WebRTC) cannot connect anywhere. Bounded: one browser per process, started on first use,
//! `tabs` pages at a time, each within the crawl's timeout, at most [`MAX_REQUESTS`] requests and
//! the crawler's page size per response.

use base64::Engine;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::fetch::{
    EventRequestPaused, FailRequestParams, FulfillRequestParams, HeaderEntry,
};
use chromiumoxide::cdp::browser_protocol::network::ErrorReason;
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Most requests one page may make; the rest fail.
pub const MAX_REQUESTS: usize = 300;
/// After the load event, the DOM is read once no request of the page has been in flight for this
/// long ("network idle"), within the crawl's timeout.
const IDLE: Duration = Duration::from_millis(300);

/// Checks a URL before it is fetched (scheme, IP literals): the crawler's guard.
pub type UrlCheck = Arc<dyn Fn(&Url) -> Result<(), String> + Send + Sync>;

pub struct Renderer {
    chromium: PathBuf,
    answers: Arc<Answers>,
    timeout: Duration,
    tabs: tokio::sync::Semaphore,
    browser: tokio::sync::Mutex<Option<Running>>,
}

struct Running {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handler.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Renderer {
    pub fn new(
        chromium: PathBuf,
        client: reqwest::Client,
        check: UrlCheck,
        timeout: Duration,
        max_bytes: u64,
        tabs: usize,
    ) -> Self {
        let answers = Arc::new(Answers {
            client,
            check,
            max_bytes,
        });
        Self {
            chromium,
            answers,
            timeout,
            tabs: tokio::sync::Semaphore::new(tabs.max(1)),
            browser: Default::default(),
        }
    }

    /// The page's HTML after its scripts ran; `document` is its body as the crawler fetched it.
    pub async fn render(&self, url: &Url, document: &[u8]) -> Result<String, String> {
        let _tab = self
            .tabs
            .acquire()
            .await
            .map_err(|_| "the renderer is shutting down".to_owned())?;
        let page = self.open_page().await?;
        let page = Arc::new(page);
        let paused = page
            .event_listener::<EventRequestPaused>()
            .await
            .map_err(|e| format!("Chromium: {e}"))?;
        // (requests being answered, when the last one was)
        let activity = Arc::new(std::sync::Mutex::new((0usize, std::time::Instant::now())));
        let answering = tokio::spawn(answer_requests(
            page.clone(),
            paused,
            url.clone(),
            document.to_vec(),
            activity.clone(),
            self.answers.clone(),
        ));
        let result = tokio::time::timeout(self.timeout, async {
            page.goto(url.as_str())
                .await
                .map_err(|e| format!("Chromium could not load the page: {e}"))?;
            loop {
                let (in_flight, last) = *activity.lock().expect("activity lock");
                if in_flight == 0 && last.elapsed() >= IDLE {
                    break;
                }
                tokio::time::sleep(IDLE / 3).await;
            }
            page.content()
                .await
                .map_err(|e| format!("Chromium could not read the page: {e}"))
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "rendering took longer than {} s",
                self.timeout.as_secs()
            ))
        });
        answering.abort();
        if let Ok(page) = Arc::try_unwrap(page) {
            let _ = page.close().await;
        }
        result
    }

    /// A blank tab of the running Chromium, launched first if it is not running.
    async fn open_page(&self) -> Result<chromiumoxide::Page, String> {
        let mut running = self.browser.lock().await;
        if running.as_ref().is_none_or(|r| r.handler.is_finished()) {
            *running = Some(self.launch().await?);
        }
        let browser = &running.as_ref().expect("launched above").browser;
        browser
            .new_page("about:blank")
            .await
            .map_err(|e| format!("Chromium could not open a page: {e}"))
    }

    async fn launch(&self) -> Result<Running, String> {
        let profile =
            std::env::temp_dir().join(format!("ragd-chromium-{}", uuid::Uuid::new_v4().simple()));
        let config = BrowserConfig::builder()
            .chrome_executable(&self.chromium)
            .user_data_dir(&profile)
            .no_sandbox()
            .enable_request_intercept()
            .disable_cache()
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(self.timeout)
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--disable-component-update",
                "--disable-extensions",
                "--mute-audio",
                // Nothing reaches the network but through ragd (see the module doc).
                "--proxy-server=http://127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>",
                "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                "--webrtc-ip-handling-policy=disable_non_proxied_udp",
                "--renderer-process-limit=2",
                "--js-flags=--max-old-space-size=256",
            ])
            .build()
            .map_err(|e| format!("Chromium could not be configured: {e}"))?;
        let (browser, mut handler) = Browser::launch(config).await.map_err(|e| {
            format!(
                "Chromium ({}) could not be started: {e}",
                self.chromium.display()
            )
        })?;
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Running {
            browser,
            handler,
            profile,
        })
    }
}

fn header(name: &str, value: &str) -> HeaderEntry {
    HeaderEntry::new(name, value)
}

/// What answers a rendered page's requests.
struct Answers {
    /// The crawler's guarded client (its resolver refuses private addresses; no redirects).
    client: reqwest::Client,
    check: UrlCheck,
    max_bytes: u64,
}

/// Request headers not passed on (the client sets its own).
const DROPPED: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "accept-encoding",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
];

impl Answers {
    async fn fetch(
        &self,
        event: &EventRequestPaused,
    ) -> Result<(i64, Vec<HeaderEntry>, Vec<u8>), String> {
        let url = Url::parse(&event.request.url).map_err(|e| e.to_string())?;
        (self.check)(&url)?;
        let method = reqwest::Method::from_bytes(event.request.method.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut req = self.client.request(method, url);
        if let Some(headers) = event.request.headers.inner().as_object() {
            for (name, value) in headers {
                if let Some(v) = value
                    .as_str()
                    .filter(|_| !DROPPED.contains(&name.to_ascii_lowercase().as_str()))
                {
                    req = req.header(name.as_str(), v);
                }
            }
        }
        let body: Vec<u8> = event
            .request
            .post_data_entries
            .iter()
            .flatten()
            .filter_map(|e| e.bytes.as_ref())
            .filter_map(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(AsRef::<str>::as_ref(b))
                    .ok()
            })
            .flatten()
            .collect();
        if !body.is_empty() {
            req = req.body(body);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16() as i64;
        let headers: Vec<HeaderEntry> = resp
            .headers()
            .iter()
            .filter(|(n, _)| {
                !matches!(
                    n.as_str(),
                    "content-length" | "content-encoding" | "transfer-encoding" | "connection"
                )
            })
            .filter_map(|(n, v)| Some(header(n.as_str(), v.to_str().ok()?)))
            .collect();
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err("the response is larger than the page limit".to_owned());
        }
        let mut out = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
            if out.len() as u64 > self.max_bytes {
                return Err("the response is larger than the page limit".to_owned());
            }
        }
        Ok((status, headers, out))
    }
}

/// Answers every request the page makes: the page itself with the crawler's body, the rest
/// through the guard (`answers`), at most [`MAX_REQUESTS`]; `activity` counts those in flight
/// and when the last one ended.
async fn answer_requests(
    page: Arc<chromiumoxide::Page>,
    mut paused: chromiumoxide::listeners::EventStream<EventRequestPaused>,
    url: Url,
    document: Vec<u8>,
    activity: Arc<std::sync::Mutex<(usize, std::time::Instant)>>,
    answers: Arc<Answers>,
) {
    let mut served = 0usize;
    while let Some(event) = paused.next().await {
        served += 1;
        activity.lock().expect("activity lock").0 += 1;
        let answer = if served > MAX_REQUESTS {
            Err("too many requests".to_owned())
        } else if event.request.url == url.as_str() && event.request.method == "GET" {
            Ok((
                200,
                vec![header("Content-Type", "text/html; charset=utf-8")],
                document.clone(),
            ))
        } else {
            answers.fetch(&event).await
        };
        let sent = match answer {
            Ok((status, headers, body)) => page
                .execute(
                    FulfillRequestParams::builder()
                        .request_id(event.request_id.clone())
                        .response_code(status)
                        .response_headers(headers)
                        .body(base64::engine::general_purpose::STANDARD.encode(body))
                        .build()
                        .expect("every required field is set"),
                )
                .await
                .map(drop),
            Err(reason) => {
                tracing::debug!(url = %event.request.url, %reason, "a rendered page's request was refused");
                page.execute(FailRequestParams::new(
                    event.request_id.clone(),
                    ErrorReason::AccessDenied,
                ))
                .await
                .map(drop)
            }
        };
        {
            let mut a = activity.lock().expect("activity lock");
            *a = (a.0 - 1, std::time::Instant::now());
        }
        if sent.is_err() {
            break;
        }
    }
}
