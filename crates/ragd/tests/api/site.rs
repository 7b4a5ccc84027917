//! A real web site for crawl tests: files from a directory served over HTTP with ETags and
//! conditional GETs, plus overrides a test sets to edit, delete, break or redirect pages, and a
//! log of every request so tests can see what the crawler asked for.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub enum Override {
    Status(u16),
    Redirect(String),
    /// The file as usual, with this header added.
    Header(&'static str, &'static str),
}

#[derive(Default)]
struct SiteState {
    root: PathBuf,
    overrides: Mutex<HashMap<String, Override>>,
    /// (path, status answered)
    log: Mutex<Vec<(String, u16)>>,
}

pub struct Site {
    pub base: String,
    state: Arc<SiteState>,
    _server: tokio::task::JoinHandle<()>,
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

async fn serve(State(s): State<Arc<SiteState>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    let over = s.overrides.lock().unwrap().get(&path).cloned();
    let response = match over.clone() {
        Some(Override::Status(code)) => {
            (StatusCode::from_u16(code).unwrap(), "overridden").into_response()
        }
        Some(Override::Redirect(to)) => {
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
        None | Some(Override::Header(..)) => {
            // As a static file server does: the path percent-decoded names the file.
            let mut file = s.root.join(percent_decode(path.trim_start_matches('/')));
            if path.ends_with('/') {
                file = file.join("index.html");
            }
            match std::fs::read(&file) {
                Ok(bytes) => {
                    let etag = format!("\"{}\"", ragd_core::domain::content_hash(&bytes));
                    if headers
                        .get(header::IF_NONE_MATCH)
                        .and_then(|v| v.to_str().ok())
                        == Some(etag.as_str())
                    {
                        (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response()
                    } else {
                        (
                            [
                                (header::CONTENT_TYPE, content_type(&file).to_owned()),
                                (header::ETAG, etag),
                            ],
                            bytes,
                        )
                            .into_response()
                    }
                }
                Err(_) => (StatusCode::NOT_FOUND, "no such page").into_response(),
            }
        }
    };
    let mut response = response;
    if let Some(Override::Header(name, value)) = over {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    s.log
        .lock()
        .unwrap()
        .push((path, response.status().as_u16()));
    response
}

/// A percent-encoded path (or URL part) decoded as UTF-8.
pub fn percent_decode(path: &str) -> String {
    let (b, mut out, mut i) = (path.as_bytes(), Vec::new(), 0);
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Site {
    /// Serves `root` on a free port of 127.0.0.1.
    pub async fn serve(root: PathBuf) -> Self {
        let state = Arc::new(SiteState {
            root,
            ..Default::default()
        });
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Site {
            base,
            state,
            _server: server,
        }
    }

    pub fn set(&self, path: &str, o: Override) {
        self.state
            .overrides
            .lock()
            .unwrap()
            .insert(path.to_owned(), o);
    }

    pub fn clear(&self, path: &str) {
        self.state.overrides.lock().unwrap().remove(path);
    }

    /// Requests since the last call: (path, status).
    pub fn take_log(&self) -> Vec<(String, u16)> {
        std::mem::take(&mut *self.state.log.lock().unwrap())
    }
}

/// The Rust Book from the toolchain's docs, copied as it is published into `dir/book` (so tests may
/// edit it), with the toolchain's own `robots.txt` beside it: no sitemap, nothing added. Returns the
/// chapter and appendix pages (`chNN-…` and `appendix-…` files).
pub fn rust_book_site(dir: &Path, _base: &str) -> Vec<String> {
    let docs = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = PathBuf::from(String::from_utf8(docs.stdout).unwrap().trim());
    let html = sysroot.join("share/doc/rust/html");
    let book = html.join("book");
    assert!(
        book.join("index.html").exists(),
        "the toolchain's docs are missing: rustup component add rust-docs"
    );
    copy_dir(&book, &dir.join("book"));
    std::fs::copy(html.join("robots.txt"), dir.join("robots.txt")).unwrap();
    let mut pages: Vec<String> = std::fs::read_dir(&book)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html") && (n.starts_with("ch") || n.starts_with("appendix-")))
        .collect();
    pages.sort();
    pages
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
