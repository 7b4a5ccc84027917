//! OCR of PDF pages without a text layer and of uploaded images: each PDF page rendered by
//! poppler's `pdftoppm` and read by Tesseract's command line (an image read as it is), one
//! process each, bounded in time (`PAGE_SECONDS`) and in memory
//! (`MEMORY_BYTES` of address space, through util-linux's `prlimit`), so that one bad page fails
//! alone and never the process. The CLIs rather than bindings: Debian packages them, a crash or
//! a runaway page stays in its own process, and nothing links against C++ at build time.

use super::Parsed;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a parse does with pages that have no text layer, and whom it tells as it reads them.
#[derive(Clone)]
pub struct Ocr {
    /// Read them (the asset's `ocr`, on unless turned off).
    pub enabled: bool,
    /// Told of the pages to read and of each page read.
    pub progress: Option<Arc<dyn PageProgress>>,
}

impl Default for Ocr {
    fn default() -> Self {
        Self {
            enabled: true,
            progress: None,
        }
    }
}

/// Hears of OCR as it goes: a long scan's progress shows page by page, not only at its end.
pub trait PageProgress: Send + Sync {
    /// `pages` more pages are to be read.
    fn found(&self, pages: u32);
    /// One more page was read (or given up on).
    fn read(&self);
}

/// Why pages without a text layer are not read when OCR is off.
pub const OFF: &str = "OCR is off for this asset";

/// Longest one page may take to render or read.
pub const PAGE_SECONDS: u64 = 120;
/// Most address space a renderer or reader process may take.
pub const MEMORY_BYTES: u64 = 2 << 30;
/// Most pages of one document read by OCR (about 10 minutes of a 2-core machine); the rest are
/// left out, so a PDF of endless blank pages cannot hold a worker for days.
pub const MAX_PAGES: usize = 1000;
/// Rendering resolution: what Tesseract reads best at.
const DPI: &str = "300";

/// A page (1-based) and its text, or why it could not be read.
pub type PageRead = (u32, Result<String, String>);

/// The text of each page asked for (1-based), or why that page could not be read; `Err` when
/// nothing can be (the tools are missing, no temporary file).
pub fn pdf_pages(
    pdf: &[u8],
    pages: &[u32],
    progress: Option<&dyn PageProgress>,
) -> Result<Vec<PageRead>, String> {
    if let Some(p) = progress {
        p.found(pages.len() as u32);
    }
    let dir = tempfile::tempdir().map_err(|e| format!("OCR needs a temporary directory: {e}"))?;
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).map_err(|e| format!("OCR needs a temporary file: {e}"))?;
    // As many pages at once as the machine has cores, each process on one thread.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(pages.len());
    let mut out: Vec<PageRead> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut read = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&page) = pages.get(i) else {
                            return read;
                        };
                        read.push((page, read_page(dir.path(), &file, page)));
                        if let Some(p) = progress {
                            p.read();
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    out.sort_by_key(|(page, _)| *page);
    if let Some((_, Err(reason))) = out
        .iter()
        .find(|(_, r)| r.as_ref().is_err_and(|e| e.contains("is not installed")))
    {
        return Err(reason.clone());
    }
    Ok(out)
}

fn read_page(dir: &Path, pdf: &Path, page: u32) -> Result<String, String> {
    let n = page.to_string();
    let image = dir.join(format!("page-{n}"));
    let flags = [
        "-f",
        &n,
        "-l",
        &n,
        "-r",
        DPI,
        "-gray",
        "-png",
        "-singlefile",
    ];
    let mut args: Vec<&OsStr> = flags.iter().map(OsStr::new).collect();
    args.extend([pdf.as_os_str(), image.as_os_str()]);
    run("pdftoppm", "poppler-utils", &args)
        .map_err(|e| format!("page {page} could not be rendered: {e}"))?;
    let png = image.with_extension("png");
    let read = tesseract(&png, &dir.join(format!("text-{n}")));
    let _ = std::fs::remove_file(&png);
    read.map_err(|e| format!("page {page} could not be read: {e}"))
}

/// The text Tesseract reads in `image`, through the file `text` (`.txt` is added).
fn tesseract(image: &Path, text: &Path) -> Result<String, String> {
    let args = [image.as_os_str(), text.as_os_str()];
    run(
        "tesseract",
        "tesseract-ocr",
        &[&args[..], &[OsStr::new("-l"), OsStr::new("eng")]].concat(),
    )?;
    let txt = text.with_extension("txt");
    let out = std::fs::read_to_string(&txt).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&txt);
    Ok(out)
}

/// An uploaded image (`image/png`, `image/jpeg`, `image/tiff`) read by OCR: one page, or one per
/// frame of a multi-page TIFF (Tesseract reads them all in one run, bounded as one page is).
pub(super) fn image(bytes: &[u8], content_type: &str, ocr: &Ocr) -> Result<Parsed, String> {
    if !ocr.enabled {
        return Err(format!("an image is read by OCR, and {OFF}"));
    }
    let progress = ocr.progress.as_deref();
    if let Some(p) = progress {
        p.found(1);
    }
    let dir = tempfile::tempdir().map_err(|e| format!("OCR needs a temporary directory: {e}"))?;
    let ext = content_type.rsplit('/').next().unwrap_or("img");
    let file = dir.path().join(format!("image.{ext}"));
    std::fs::write(&file, bytes).map_err(|e| format!("OCR needs a temporary file: {e}"))?;
    let read = tesseract(&file, &dir.path().join("text"));
    let text = read.map_err(|e| format!("the image could not be read: {e}"));
    // Tesseract puts a form feed between pages (a form feed is whitespace to `trim_end`).
    let frames = text
        .as_ref()
        .map_or(1, |t| t.trim_end().matches('\x0c').count() + 1);
    if let Some(p) = progress {
        p.found(frames as u32 - 1);
        (0..frames).for_each(|_| p.read());
    }
    let mut parsed = Parsed::default();
    for (i, page) in text?.split('\x0c').enumerate() {
        if page.trim().is_empty() {
            continue;
        }
        let n = i as u32 + 1;
        if !parsed.text.is_empty() {
            parsed.text.push_str("\n\n");
        }
        parsed.pages.push((parsed.text.chars().count(), n));
        parsed.ocr_pages.push(n);
        parsed.text.push_str(page.trim());
    }
    if parsed.text.is_empty() {
        return Err("no text was found in the image".to_owned());
    }
    Ok(parsed)
}

/// Runs `tool` under the memory limit until it exits or `PAGE_SECONDS` pass (then it is killed).
fn run(tool: &str, package: &str, args: &[&OsStr]) -> Result<(), String> {
    if which(tool).is_none() {
        return Err(format!(
            "OCR needs {tool}, which is not installed here (apt-get install {package})"
        ));
    }
    let mut cmd = match which("prlimit") {
        Some(prlimit) => {
            let mut c = Command::new(prlimit);
            c.arg(format!("--as={MEMORY_BYTES}")).arg("--").arg(tool);
            c
        }
        None => Command::new(tool),
    };
    // One thread per process: pages are read side by side instead.
    let mut child = cmd
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{tool} could not be started: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(PAGE_SECONDS);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{tool} failed ({status})")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{tool} took more than {PAGE_SECONDS} s"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{tool}: {e}")),
        }
    }
}

/// The program's path on `PATH`.
fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
