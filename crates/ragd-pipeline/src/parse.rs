//! Parsing: bytes of a supported content type to text ready for chunking, keeping structure.
//!
//! HTML (main content only, as Markdown), Markdown, plain text, PDF (text per page), DOCX (as
//! Markdown), CSV (one paragraph per row) and JSON (one line per leaf). Every parser works on
//! untrusted input: walks are iterative (deep nesting cannot overflow the stack), archives are read
//! with a cap on inflated bytes, and callers run this under `catch_unwind` so that a panicking
//! third-party parser fails one document, not the process.

use scraper::{ElementRef, Html, Node, Selector};
use std::io::Read;

pub const PLAIN: &str = "text/plain";
pub const MARKDOWN: &str = "text/markdown";
pub const HTML: &str = "text/html";
pub const PDF: &str = "application/pdf";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const CSV: &str = "text/csv";
pub const JSON: &str = "application/json";

pub use ragd_core::catalog::CONTENT_TYPES;

/// Most bytes a DOCX may inflate to: a zip bomb fails its document instead of filling memory.
pub const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;
/// List nesting deeper than this is flattened (its indentation would otherwise grow without bound).
const MAX_INDENT: usize = 8;

/// A parsed document.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    /// The document's own title (HTML `<title>`), when it has one.
    pub title: Option<String>,
    pub text: String,
    /// Whether `text` is Markdown (chunked at headings and paragraphs).
    pub markdown: bool,
    /// `(character offset, page number)` where each page starts, ascending; empty without pages.
    pub pages: Vec<(usize, u32)>,
    /// Links as written, for crawlers: what a browser without JavaScript can follow (see [`PageHints`]).
    pub links: Vec<String>,
    /// What an HTML page tells crawlers about itself.
    pub hints: PageHints,
}

/// What an HTML page tells crawlers about itself, as written in it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageHints {
    /// `<meta name="robots">` (or `name="ragd"`) says `noindex` or `none`.
    pub noindex: bool,
    /// … says `nofollow` or `none`.
    pub nofollow: bool,
    /// `<link rel="canonical" href>`.
    pub canonical: Option<String>,
    /// `<base href>`: what the page's relative links resolve against.
    pub base: Option<String>,
    /// The target of an instant `<meta http-equiv="refresh" content="0; url=…">`: the page is a
    /// redirect stub, not content (rustdoc writes one per re-exported item).
    pub redirect: Option<String>,
}

impl Parsed {
    /// The page holding character `offset`, if the document has pages.
    pub fn page_at(&self, offset: usize) -> Option<u32> {
        let i = self.pages.partition_point(|(start, _)| *start <= offset);
        i.checked_sub(1).map(|i| self.pages[i].1)
    }
}

pub use ragd_core::catalog::{detect_content_type as detect, normalise_content_type as normalise};

/// Parses `bytes` of `content_type` (one of [`CONTENT_TYPES`]).
pub fn parse(bytes: &[u8], content_type: &str) -> Result<Parsed, String> {
    let parsed = match normalise(content_type) {
        Some(HTML) => html(&String::from_utf8_lossy(bytes))?,
        Some(MARKDOWN) => Parsed {
            text: text(bytes)?,
            markdown: true,
            ..Default::default()
        },
        Some(PLAIN) => Parsed {
            text: text(bytes)?,
            ..Default::default()
        },
        Some(PDF) => pdf(bytes)?,
        Some(DOCX) => docx(bytes)?,
        Some(CSV) => csv(bytes)?,
        Some(JSON) => json(bytes)?,
        _ => return Err(format!("unsupported content type {content_type}")),
    };
    if parsed.text.trim().is_empty() {
        return Err("the document has no text".to_owned());
    }
    Ok(parsed)
}

fn text(bytes: &[u8]) -> Result<String, String> {
    if bytes.contains(&0) {
        return Err("the file is binary, not text".to_owned());
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

// ---------------------------------------------------------------------------------------- HTML

/// Elements that are page chrome or not text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "button", "svg", "iframe", "head", "select",
];
/// Where the main content is, most specific first.
const MAIN: &[&str] = &["main", "article", "[role=main]", "#content", "body"];

/// Markdown writer that keeps block separation and inline whitespace tidy.
#[derive(Default)]
struct Writer {
    out: String,
    /// Pending separation before the next text: 0 none, 1 newline, 2 blank line.
    pending: u8,
    list_depth: usize,
}

impl Writer {
    fn block(&mut self, lines: u8) {
        if !self.out.is_empty() {
            self.pending = self.pending.max(lines);
        }
    }

    fn flush(&mut self) {
        if self.pending > 0 {
            while self.out.ends_with(' ') {
                self.out.pop();
            }
            let have = self.out.chars().rev().take_while(|c| *c == '\n').count() as u8;
            for _ in have..self.pending {
                self.out.push('\n');
            }
            self.pending = 0;
        }
    }

    fn raw(&mut self, s: &str) {
        self.flush();
        self.out.push_str(s);
    }

    /// Inline text: whitespace runs collapse to one space, none at the start of a line.
    fn inline(&mut self, s: &str) {
        let mut words = s.split_whitespace().peekable();
        if words.peek().is_none() {
            if !s.is_empty()
                && !self.out.ends_with([' ', '\n'])
                && !self.out.is_empty()
                && self.pending == 0
            {
                self.out.push(' ');
            }
            return;
        }
        let leading = s.starts_with(char::is_whitespace);
        self.flush();
        if leading && !self.out.ends_with([' ', '\n']) && !self.out.is_empty() {
            self.out.push(' ');
        }
        let mut first = true;
        for w in words {
            if !first {
                self.out.push(' ');
            }
            self.out.push_str(w);
            first = false;
        }
        if s.ends_with(char::is_whitespace) {
            self.out.push(' ');
        }
    }
}

enum Step<'a> {
    Enter(ego_tree::NodeRef<'a, Node>),
    Exit(ElementRef<'a>),
}

/// Deepest element nesting ragd parses. The HTML5 tree builder does work proportional to the
/// depth for every tag, so a 10,000-deep page would cost seconds of CPU; real pages stay under 100.
pub const MAX_HTML_DEPTH: usize = 1024;

/// Elements that never hold others or whose end tag is usually implied (so they do not nest).
const FLAT: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody",
    "tfoot", "colgroup", "rp", "rt",
];

/// The deepest element nesting of `source`, estimated from its tags without building a tree.
fn nesting_depth(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while let Some(at) = memchr(b'<', &bytes[i..]) {
        i += at + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if len == 0 || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        let name = source[start..start + len].to_ascii_lowercase();
        if closing {
            if !FLAT.contains(&name.as_str()) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let end = memchr(b'>', &bytes[start..]).map_or(bytes.len(), |e| start + e);
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            i = source[end..]
                .to_ascii_lowercase()
                .find(&close)
                .map_or(bytes.len(), |e| end + e);
            continue;
        }
        if !FLAT.contains(&name.as_str()) && bytes[..end].last() != Some(&b'/') {
            depth += 1;
            max = max.max(depth);
        }
    }
    max
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

/// HTML to Markdown, from the main content element only.
fn html(source: &str) -> Result<Parsed, String> {
    let depth = nesting_depth(source);
    if depth > MAX_HTML_DEPTH {
        return Err(format!(
            "the HTML nests elements {depth} deep; ragd parses at most {MAX_HTML_DEPTH}"
        ));
    }
    let doc = Html::parse_document(source);
    let select = |s: &str| Selector::parse(s).expect("static selector");
    let title = doc.select(&select("title")).next().map(|t| {
        t.text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let (links, hints) = crawl_view(&doc);
    let root = MAIN
        .iter()
        .find_map(|m| doc.select(&select(m)).next())
        .unwrap_or_else(|| doc.root_element());

    let mut w = Writer::default();
    // (ordered, next number) per open list.
    let mut lists: Vec<(bool, usize)> = Vec::new();
    let mut stack: Vec<Step<'_>> = vec![Step::Enter(*root)];
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Exit(el) => {
                match el.value().name() {
                    "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "p" | "div" | "section"
                    | "article" | "main" | "blockquote" | "dl" | "figure" | "table" => w.block(2),
                    "ul" | "ol" => {
                        lists.pop();
                        w.list_depth = w.list_depth.saturating_sub(1);
                        w.block(2);
                    }
                    "li" | "tr" | "dt" | "dd" => w.block(1),
                    "td" | "th" => w.raw(" |"),
                    "code" => w.raw("`"),
                    _ => {}
                }
                continue;
            }
            Step::Enter(node) => node,
        };
        match node.value() {
            Node::Text(t) => {
                w.inline(t);
                continue;
            }
            Node::Element(_) => {}
            _ => continue,
        }
        let el = ElementRef::wrap(node).expect("an element node");
        let name = el.value().name();
        if SKIPPED.contains(&name)
            || el.value().attr("hidden").is_some()
            || el.value().attr("aria-hidden") == Some("true")
        {
            continue;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = (name.as_bytes()[1] - b'0') as usize;
                let title: String = el
                    .text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !title.is_empty() {
                    w.block(2);
                    w.raw(&format!("{} {title}", "#".repeat(level)));
                    w.block(2);
                }
                continue;
            }
            "pre" => {
                let code: String = el.text().collect();
                let lang = el
                    .select(&select("code"))
                    .next()
                    .and_then(|c| {
                        c.value()
                            .classes()
                            .find_map(|c| c.strip_prefix("language-"))
                    })
                    .unwrap_or("")
                    .to_owned();
                w.block(2);
                w.raw(&format!("```{lang}\n{}\n```", code.trim_end_matches('\n')));
                w.block(2);
                continue;
            }
            "br" => {
                w.block(1);
                continue;
            }
            "hr" => {
                w.block(2);
                continue;
            }
            "img" => {
                if let Some(alt) = el.value().attr("alt").filter(|a| !a.trim().is_empty()) {
                    w.inline(alt);
                }
                continue;
            }
            "p" | "div" | "section" | "article" | "main" | "blockquote" | "dl" | "figure"
            | "table" => w.block(2),
            "ul" | "ol" => {
                w.block(if lists.is_empty() { 2 } else { 1 });
                lists.push((name == "ol", 1));
                w.list_depth += 1;
            }
            "li" => {
                w.block(1);
                let indent = "  ".repeat(w.list_depth.saturating_sub(1).min(MAX_INDENT));
                let marker = match lists.last_mut() {
                    Some((true, n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_owned(),
                };
                w.raw(&format!("{indent}{marker}"));
            }
            "tr" => {
                w.block(1);
                w.raw("|");
            }
            "td" | "th" => w.raw(" "),
            "dt" | "dd" => w.block(1),
            "code" => w.raw("`"),
            _ => {}
        }
        stack.push(Step::Exit(el));
        for child in node.children().rev() {
            stack.push(Step::Enter(child));
        }
    }
    let mut text = w.out.trim().to_owned();
    text.push('\n');
    Ok(Parsed {
        title: title.filter(|t| !t.is_empty()),
        text,
        markdown: true,
        pages: Vec::new(),
        links,
        hints,
    })
}

/// The links a browser without JavaScript (and the big crawlers) can follow, and the page's hints.
/// Links: `<a href>`, `<area href>`, `<iframe src>`, `<frame src>`, `<link rel="next"|"prev">`, a
/// `<meta http-equiv="refresh">` target, and the same inside `<noscript>`, whose content the
/// parser keeps as text (it parses as a scripting browser does) and is read here as HTML: mdBook
/// reaches its table of contents only through `<noscript><iframe src="toc.html">`.
fn crawl_view(doc: &Html) -> (Vec<String>, PageHints) {
    let select = |s: &str| Selector::parse(s).expect("static selector");
    let mut hints = PageHints::default();
    for meta in doc.select(&select("meta[name][content]")) {
        let name = meta.value().attr("name").unwrap_or("");
        if name.eq_ignore_ascii_case("robots") || name.eq_ignore_ascii_case("ragd") {
            let (noindex, nofollow) = robots_directives(meta.value().attr("content").unwrap_or(""));
            hints.noindex |= noindex;
            hints.nofollow |= nofollow;
        }
    }
    hints.canonical = doc
        .select(&select("link[rel][href]"))
        .find(|l| {
            l.value().attr("rel").is_some_and(|r| {
                r.split_ascii_whitespace()
                    .any(|t| t.eq_ignore_ascii_case("canonical"))
            })
        })
        .and_then(|l| l.value().attr("href"))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    hints.base = doc
        .select(&select("base[href]"))
        .find_map(|e| e.value().attr("href"))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    hints.redirect = doc
        .select(&select("meta[http-equiv][content]"))
        .filter(|m| {
            m.value()
                .attr("http-equiv")
                .is_some_and(|h| h.eq_ignore_ascii_case("refresh"))
        })
        .filter_map(|m| m.value().attr("content"))
        .find(|c| {
            c.split([';', ','])
                .next()
                .is_some_and(|d| d.trim().parse::<f64>().is_ok_and(|d| d < 1.0))
        })
        .and_then(refresh_target)
        .map(str::to_owned);
    let mut links = links_in(doc);
    for noscript in doc.select(&select("noscript")) {
        let inner: String = noscript.text().collect();
        if inner.contains('<') {
            links.extend(links_in(&Html::parse_fragment(&inner)));
        }
    }
    (links, hints)
}

fn links_in(doc: &Html) -> Vec<String> {
    let select = Selector::parse(
        "a[href], area[href], iframe[src], frame[src], link[rel][href], meta[http-equiv][content]",
    )
    .expect("static");
    let mut links = Vec::new();
    for el in doc.select(&select) {
        let e = el.value();
        let link = match e.name() {
            "a" | "area" => e.attr("href"),
            "iframe" | "frame" => e.attr("src"),
            "link" => e
                .attr("rel")
                .filter(|r| {
                    r.split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("next") || t.eq_ignore_ascii_case("prev"))
                })
                .and_then(|_| e.attr("href")),
            // `<meta http-equiv="refresh" content="0; url=target.html">`: a redirect stub.
            _ if e
                .attr("http-equiv")
                .is_some_and(|h| h.eq_ignore_ascii_case("refresh")) =>
            {
                e.attr("content").and_then(refresh_target)
            }
            _ => None,
        };
        if let Some(link) = link.map(str::trim).filter(|l| !l.is_empty()) {
            links.push(link.to_owned());
        }
    }
    links
}

/// The URL of a refresh `content` (`5; url=x.html`, `0;URL='x.html'`).
fn refresh_target(content: &str) -> Option<&str> {
    let (_, rest) = content
        .split_once(';')
        .or_else(|| content.split_once(','))?;
    let rest = rest.trim_start();
    let url = if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("url=") {
        &rest[4..]
    } else {
        rest
    };
    Some(url.trim().trim_matches(|c| c == '\'' || c == '"')).filter(|u| !u.is_empty())
}

/// `(noindex, nofollow)` of a robots directive list (`noindex, follow`, `none`), as in a robots meta
/// tag or an `X-Robots-Tag` header.
pub fn robots_directives(list: &str) -> (bool, bool) {
    let (mut noindex, mut nofollow) = (false, false);
    for d in list.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        match d.as_str() {
            "noindex" => noindex = true,
            "nofollow" => nofollow = true,
            "none" => (noindex, nofollow) = (true, true),
            _ => {}
        }
    }
    (noindex, nofollow)
}

// ----------------------------------------------------------------------------------------- PDF

/// PDF to text with its structure: the document outline (bookmarks) becomes Markdown headings,
/// found on their pages, so chunks carry `headingPath`; running page headers and footers (lines
/// that repeat at the top or bottom of many pages, page numbers included) are left out; words
/// hyphenated across a line end are joined (keeping the hyphen only where the document writes the
/// word with one elsewhere).
fn pdf(bytes: &[u8]) -> Result<Parsed, String> {
    // One parse of the file serves the text, the outline and the font sizes (pdf-extract's own
    // by-page extraction would load it again): decrypted with the empty password as pdf-extract
    // does, then each page through its plain-text output.
    let unreadable = |e: &dyn std::fmt::Display| format!("the PDF could not be read: {e}");
    let mut doc = pdf_extract::Document::load_mem(bytes).map_err(|e| unreadable(&e))?;
    if doc.is_encrypted() {
        doc.decrypt("").map_err(|e| unreadable(&e))?;
    }
    let mut pages = Vec::new();
    for n in 1.. {
        let mut text = String::new();
        if pdf_extract::output_doc_page(&doc, &mut pdf_extract::PlainTextOutput::new(&mut text), n)
            .is_err()
        {
            break;
        }
        pages.push(text);
    }
    let mut outline: Vec<Heading> = doc
        .get_toc()
        .map(|t| {
            t.toc
                .into_iter()
                .map(|e| Heading {
                    level: e.level,
                    title: e.title,
                    page: e.page,
                })
                .collect()
        })
        .unwrap_or_default();
    if outline.is_empty() {
        // Without bookmarks, lines set larger than the body text are the headings.
        outline = headings_by_size(&doc);
    }
    let mut pages: Vec<Vec<String>> = pages
        .iter()
        .map(|p| {
            p.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        })
        .collect();
    drop_running_lines(&mut pages);
    let markdown = !outline.is_empty();
    for page in &mut pages {
        for line in page.iter_mut() {
            // Page text is not Markdown: a line that would read as a heading or a fence is escaped.
            let t = line.trim_start();
            let hashes = t.bytes().take_while(|b| *b == b'#').count();
            if markdown
                && ((1..=6).contains(&hashes) && t[hashes..].starts_with(' ')
                    || t.starts_with("```")
                    || t.starts_with("~~~"))
            {
                line.insert(0, '\\');
            }
        }
    }
    // Headings not found on their page go to its top, in outline order.
    let mut at_top = vec![0usize; pages.len()];
    for entry in &outline {
        let Some(p) = entry.page.checked_sub(1).filter(|&i| i < pages.len()) else {
            continue;
        };
        let title = entry.title.split_whitespace().collect::<Vec<_>>().join(" ");
        if title.is_empty() {
            continue;
        }
        let hashes = "#".repeat(entry.level.clamp(1, 6));
        let page = &mut pages[p];
        // The title's line, maybe after its section number (`2.5 Future developments`).
        let wanted = title.to_lowercase();
        let is_title = |l: &str| {
            let l = l.to_lowercase();
            l == wanted
                || l.strip_suffix(&wanted)
                    .and_then(|n| n.strip_suffix(' '))
                    .is_some_and(|n| {
                        !n.is_empty()
                            && n.len() <= 12
                            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
                            && n.chars()
                                .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                    })
        };
        match page.iter().position(|l| !l.starts_with('#') && is_title(l)) {
            Some(i) => page[i] = format!("{hashes} {}", page[i]),
            None => {
                page.insert(at_top[p], format!("{hashes} {title}"));
                at_top[p] += 1;
            }
        }
    }
    let joined: Vec<String> = pages
        .iter()
        .map(|p| p.join("\n").trim().to_owned())
        .collect();
    let words: std::collections::HashSet<String> = joined
        .iter()
        .flat_map(|p| p.split(|c: char| !(c.is_alphanumeric() || c == '-')))
        .map(str::to_lowercase)
        .collect();
    let mut parsed = Parsed {
        markdown,
        ..Default::default()
    };
    let mut chars = 0;
    for (i, page) in joined.iter().enumerate() {
        let page = join_hyphenated(page, &words);
        if page.is_empty() {
            continue;
        }
        if !parsed.text.is_empty() {
            parsed.text.push_str("\n\n");
            chars += 2;
        }
        parsed.pages.push((chars, i as u32 + 1));
        parsed.text.push_str(&page);
        chars += page.chars().count();
    }
    if parsed.text.is_empty() {
        return Err("the PDF has no extractable text (scanned pages would need OCR, which ragd does not do)".to_owned());
    }
    Ok(parsed)
}

/// Lines printed larger than the body text, as outline entries: the body size is the size most
/// characters have; a line of at most 120 characters with a letter, all of it at least 1.2 times
/// that size, is a heading, its level the rank of its size among the heading sizes (at most 4).
/// The same text on many pages (a running header) is not one, nor a table of contents' entry.
fn headings_by_size(doc: &pdf_extract::Document) -> Vec<Heading> {
    let mut dev = SizedLines::default();
    for page in doc.get_pages().keys() {
        dev.page = *page;
        if pdf_extract::output_doc_page(doc, &mut dev, *page).is_err() {
            return Vec::new();
        }
        dev.end_line();
    }
    let mut chars: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for l in &dev.lines {
        *chars.entry(l.size).or_default() += l.text.chars().count();
    }
    let Some(body) = chars
        .iter()
        .max_by_key(|(size, n)| (**n, -**size))
        .map(|(size, _)| *size)
    else {
        return Vec::new();
    };
    let text_of = |l: &SizedLine| l.text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut repeats: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for l in &dev.lines {
        *repeats.entry(text_of(l)).or_default() += 1;
    }
    let is_heading = |l: &SizedLine| {
        let t = text_of(l);
        // (A table of contents' entries, with their dot leaders, are not headings either.)
        l.size * 10 >= body * 12
            && l.min_size * 10 >= body * 12
            && t.chars().count() <= 120
            && t.chars().any(char::is_alphabetic)
            && repeats[&t] <= 2
            && !t.contains(". . .")
    };
    let mut sizes: Vec<i64> = dev
        .lines
        .iter()
        .filter(|l| is_heading(l))
        .map(|l| l.size)
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    dev.lines
        .iter()
        .filter(|l| is_heading(l))
        .map(|l| Heading {
            level: sizes
                .iter()
                .position(|s| *s == l.size)
                .map_or(4, |i| i + 1)
                .min(4),
            title: text_of(l),
            page: l.page as usize,
        })
        .collect()
}

/// A heading of a PDF: from its outline, or from font sizes.
struct Heading {
    level: usize,
    title: String,
    /// 1-based.
    page: usize,
}

/// One line of a page with its font sizes (tenths of a point, as the page shows them).
struct SizedLine {
    page: u32,
    text: String,
    size: i64,
    min_size: i64,
}

/// Collects lines and their font sizes, breaking lines where pdf-extract's plain-text output does.
#[derive(Default)]
struct SizedLines {
    page: u32,
    lines: Vec<SizedLine>,
    current: Option<SizedLine>,
    last_y: f64,
    last_end: f64,
    first_char: bool,
}

impl SizedLines {
    fn end_line(&mut self) {
        if let Some(line) = self.current.take().filter(|l| !l.text.trim().is_empty()) {
            self.lines.push(line);
        }
    }
}

impl pdf_extract::OutputDev for SizedLines {
    fn begin_page(
        &mut self,
        _: u32,
        _: &pdf_extract::MediaBox,
        _: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.end_line();
        Ok(())
    }
    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.end_line();
        Ok(())
    }
    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        _: f64,
        font_size: f64,
        c: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        let size = ((font_size * (trm.m11 + trm.m21)).abs()
            * (font_size * (trm.m12 + trm.m22)).abs())
        .sqrt();
        let (x, y) = (trm.m31, trm.m32);
        if self.first_char && self.current.is_some() {
            if (y - self.last_y).abs() > size * 1.5
                || x < self.last_end && (y - self.last_y).abs() > size * 0.5
            {
                self.end_line();
            } else if x > self.last_end + size * 0.1 {
                self.current.as_mut().expect("checked").text.push(' ');
            }
        }
        let tenths = (size * 10.0).round() as i64;
        let page = self.page;
        let line = self.current.get_or_insert_with(|| SizedLine {
            page,
            text: String::new(),
            size: tenths,
            min_size: tenths,
        });
        if !c.trim().is_empty() {
            (line.size, line.min_size) = (line.size.max(tenths), line.min_size.min(tenths));
        }
        line.text.push_str(c);
        self.first_char = false;
        self.last_y = y;
        self.last_end = x + width * size;
        Ok(())
    }
    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.first_char = true;
        Ok(())
    }
    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }
    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }
}

/// Removes running headers and footers: among the first and last three lines of each page, those
/// that (with digits ignored, so page numbers match) stand at the top or bottom of at least a
/// third of the pages, and of at least three.
fn drop_running_lines(pages: &mut [Vec<String>]) {
    const EDGE: usize = 3;
    // Digit runs count as one, so page 9 and page 10 have one key.
    let key = |l: &str| {
        let mut k = String::with_capacity(l.len());
        for c in l.chars() {
            match c {
                '0'..='9' if k.ends_with('#') => {}
                '0'..='9' => k.push('#'),
                c => k.extend(c.to_lowercase()),
            }
        }
        k
    };
    let edges = |page: &[String]| -> Vec<usize> {
        let lines: Vec<usize> = (0..page.len()).filter(|&i| !page[i].is_empty()).collect();
        let mut at: Vec<usize> = lines
            .iter()
            .take(EDGE)
            .chain(lines.iter().rev().take(EDGE))
            .copied()
            .collect();
        at.sort_unstable();
        at.dedup();
        at
    };
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for page in pages.iter() {
        let keys: std::collections::HashSet<String> =
            edges(page).into_iter().map(|i| key(&page[i])).collect();
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
    }
    let threshold = (pages.len() / 3).max(3);
    for (n, page) in pages.iter_mut().enumerate() {
        // The first page's top is its title page, not a running header.
        let first_lines = if n == 0 {
            (0..page.len())
                .filter(|&i| !page[i].is_empty())
                .take(EDGE)
                .collect()
        } else {
            Vec::new()
        };
        // Also a line that repeats on two pages or more and starts or ends with its page number
        // (`Chapter 2: ASN.1 structure handling 3`).
        let numbered = |l: &str| {
            let number = |w: Option<&str>| {
                w.is_some_and(|w| {
                    !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()) || is_roman(w)
                })
            };
            number(l.split(' ').next_back()) || number(l.split(' ').next())
        };
        let running: Vec<usize> = edges(page)
            .into_iter()
            .filter(|i| !first_lines.contains(i))
            .filter(|&i| {
                seen.get(&key(&page[i]))
                    .is_some_and(|n| *n >= threshold || *n >= 2 && numbered(&page[i]))
            })
            .collect();
        for i in running.into_iter().rev() {
            page.remove(i);
        }
    }
}

/// A page number in lower-case Roman numerals (front matter: `iv`).
fn is_roman(w: &str) -> bool {
    !w.is_empty() && w.len() <= 6 && w.chars().all(|c| matches!(c, 'i' | 'v' | 'x'))
}

/// Joins words split across a line end by a hyphen (`manip-` / `ulation`): `manipulation`, or
/// `well-known` when the document writes that word with its hyphen and never without.
fn join_hyphenated(text: &str, words: &std::collections::HashSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let mut line = line.to_owned();
        loop {
            let head = line
                .strip_suffix('-')
                .filter(|h| h.chars().last().is_some_and(char::is_alphabetic));
            let next = lines
                .peek()
                .copied()
                .filter(|n| n.chars().next().is_some_and(char::is_alphabetic));
            let (Some(head), Some(next)) = (head, next) else {
                break;
            };
            let before = head
                .rsplit(|c: char| !c.is_alphabetic())
                .next()
                .unwrap_or("");
            let after: String = next.chars().take_while(|c| c.is_alphabetic()).collect();
            let (hyphenated, whole) = (
                format!("{before}-{after}").to_lowercase(),
                format!("{before}{after}").to_lowercase(),
            );
            // A capitalised next line (`OP-` / `TIONAL`) is joined only to a word the document has.
            if !next.starts_with(char::is_lowercase) && !words.contains(&whole) {
                break;
            }
            let keep = words.contains(&hyphenated) && !words.contains(&whole);
            line = format!("{head}{}{next}", if keep { "-" } else { "" });
            lines.next();
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

// ---------------------------------------------------------------------------------------- DOCX

/// Reads one archive member, refusing to inflate more than [`MAX_INFLATED_BYTES`].
fn read_member(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<Vec<u8>>, String> {
    let file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("the DOCX archive is damaged: {e}")),
    };
    let too_big = || {
        format!(
            "the DOCX inflates to more than {} MiB (a zip bomb?)",
            MAX_INFLATED_BYTES >> 20
        )
    };
    if file.size() > MAX_INFLATED_BYTES {
        return Err(too_big());
    }
    let mut out = Vec::new();
    file.take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the DOCX archive is damaged: {e}"))?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(too_big());
    }
    Ok(Some(out))
}

/// DOCX to Markdown: paragraphs, `Heading N`/`Title` styles as headings, list items, tables.
fn docx(bytes: &[u8]) -> Result<Parsed, String> {
    use quick_xml::events::Event;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a DOCX (zip) file: {e}"))?;
    let xml = read_member(&mut archive, "word/document.xml")?
        .ok_or("not a DOCX file: word/document.xml is missing")?;
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut out = String::new();
    let mut para = String::new();
    let mut style: Option<String> = None;
    let mut list_item = false;
    let mut in_text = false;
    let mut table_depth = 0usize;
    let mut row: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, key: &str| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .map(|a| a.value.into_owned())
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("the DOCX document is not valid XML: {e}"))?;
        match event {
            Event::Start(e) => match e.name().as_ref() {
                "w:p" => {
                    para.clear();
                    style = None;
                    list_item = false;
                }
                "w:t" => in_text = true,
                "w:tbl" => table_depth += 1,
                "w:tr" => row.clear(),
                "w:tc" => row.push(String::new()),
                "w:numPr" => list_item = true,
                _ => {}
            },
            Event::Empty(e) => match e.name().as_ref() {
                "w:pStyle" => style = attr(&e, "w:val"),
                "w:numPr" => list_item = true,
                "w:tab" => para.push('\t'),
                "w:br" | "w:cr" => para.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => para.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => {
                if let Some(c) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
                    para.push_str(c);
                } else if let Ok(Some(c)) = r.resolve_char_ref() {
                    para.push(c);
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => {
                    let text = para.trim();
                    if table_depth > 0 {
                        if let Some(cell) = row.last_mut() {
                            if !cell.is_empty() && !text.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(&text.replace('\n', " "));
                        }
                    } else if !text.is_empty() {
                        match style.as_deref().and_then(heading_level) {
                            Some(l) => out.push_str(&format!(
                                "{} {}\n\n",
                                "#".repeat(l),
                                text.replace('\n', " ")
                            )),
                            None if list_item => out.push_str(&format!("- {text}\n")),
                            None => out.push_str(&format!("{text}\n\n")),
                        }
                    }
                }
                "w:tr" if table_depth == 1 => out.push_str(&format!("| {} |\n", row.join(" | "))),
                "w:tbl" => {
                    table_depth = table_depth.saturating_sub(1);
                    if table_depth == 0 {
                        out.push('\n');
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(Parsed {
        text: out,
        markdown: true,
        ..Default::default()
    })
}

/// `Heading1` … `Heading9` and `Title` paragraph styles.
fn heading_level(style: &str) -> Option<usize> {
    if style.eq_ignore_ascii_case("title") {
        return Some(1);
    }
    let n = style
        .strip_prefix("Heading")
        .or_else(|| style.strip_prefix("heading"))?;
    n.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=6).contains(n))
}

// ------------------------------------------------------------------------------------ CSV, JSON

/// One paragraph per row, each cell as `column: value`.
fn csv(bytes: &[u8]) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the CSV could not be read: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut out = String::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| format!("the CSV could not be read at row {}: {e}", i + 2))?;
        for (j, value) in record.iter().enumerate() {
            let column = headers
                .get(j)
                .map_or_else(|| format!("column {}", j + 1), Clone::clone);
            out.push_str(&format!("{column}: {value}\n"));
        }
        out.push('\n');
    }
    Ok(Parsed {
        text: out,
        ..Default::default()
    })
}

/// One line per leaf value, `path.to[0].leaf: value`; the elements of a top-level array are
/// separate paragraphs.
fn json(bytes: &[u8]) -> Result<Parsed, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = String::new();
    match &value {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, &format!("[{i}]"), &mut out);
                out.push('\n');
            }
        }
        other => leaves(other, "", &mut out),
    }
    Ok(Parsed {
        text: out,
        ..Default::default()
    })
}

/// serde_json refuses nesting deeper than 128, so this recursion is bounded.
fn leaves(value: &serde_json::Value, path: &str, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                leaves(
                    v,
                    &if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    },
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => out.push_str(&format!("{path}: {s}\n")),
        Value::Null => {}
        other => out.push_str(&format!("{path}: {other}\n")),
    }
}

/// Builders of documents for tests: a real DOCX (the WordprocessingML parts Word needs) and a
/// zip bomb shaped like one.
pub mod fixtures {
    use std::io::Write;

    fn archive(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in parts {
            zip.start_file(*name, options).expect("zip entry");
            zip.write_all(data).expect("zip write");
        }
        zip.finish().expect("zip finish").into_inner()
    }

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

    /// A DOCX whose body is `paragraphs`: `(style, text)`, style `None` for body text or e.g.
    /// `Some("Heading1")`; a text starting with `|` becomes a one-row table of `|`-separated cells.
    pub fn docx(paragraphs: &[(Option<&str>, &str)]) -> Vec<u8> {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let mut body = String::new();
        for (style, text) in paragraphs {
            if let Some(cells) = text.strip_prefix('|') {
                body.push_str("<w:tbl><w:tr>");
                for cell in cells.split('|') {
                    body.push_str(&format!(
                        "<w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>",
                        esc(cell.trim())
                    ));
                }
                body.push_str("</w:tr></w:tbl>");
                continue;
            }
            let props = style
                .map(|s| format!("<w:pPr><w:pStyle w:val=\"{s}\"/></w:pPr>"))
                .unwrap_or_default();
            body.push_str(&format!(
                "<w:p>{props}<w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                esc(text)
            ));
        }
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
        );
        archive(&[
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
            ("_rels/.rels", RELS.as_bytes()),
            ("word/document.xml", document.as_bytes()),
        ])
    }

    /// A DOCX-shaped archive whose `word/document.xml` inflates to `inflated` bytes of zeros
    /// (1 GiB deflates to about 1 MiB).
    pub fn zip_bomb(inflated: usize) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("[Content_Types].xml", options)
            .expect("zip entry");
        zip.write_all(CONTENT_TYPES.as_bytes()).expect("zip write");
        zip.start_file("word/document.xml", options)
            .expect("zip entry");
        let block = vec![0u8; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(block.len());
            zip.write_all(&block[..n]).expect("zip write");
            left -= n;
        }
        zip.finish().expect("zip finish").into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_keeps_main_content_as_markdown() {
        let page = r#"<html><head><title> Guide — Site </title><script>var x = 1;</script></head><body>
            <nav><a href="/other">Other page</a> Menu chrome</nav>
            <main><h1>Install   guide</h1><p>Run <code>cargo&nbsp;install</code> then
            <a href="next.html">continue</a>.</p>
            <pre><code class="language-rust">fn main() {
    println!("hi");
}</code></pre>
            <ul><li>one</li><li>two<ol><li>nested</li></ol></li></ul>
            <table><tr><th>Key</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table></main>
            <footer>Copyright</footer></body></html>"#;
        let p = parse(page.as_bytes(), "text/html; charset=utf-8").unwrap();
        assert_eq!(p.title.as_deref(), Some("Guide — Site"));
        assert!(p.markdown);
        assert!(
            p.text
                .starts_with("# Install guide\n\nRun `cargo install` then continue."),
            "{}",
            p.text
        );
        assert!(
            p.text
                .contains("```rust\nfn main() {\n    println!(\"hi\");\n}\n```"),
            "{}",
            p.text
        );
        assert!(p.text.contains("- one\n- two\n  1. nested"), "{}", p.text);
        assert!(p.text.contains("| Key | Value |\n| a | 1 |"), "{}", p.text);
        for chrome in ["Menu chrome", "Copyright", "var x"] {
            assert!(!p.text.contains(chrome), "{chrome} leaked: {}", p.text);
        }
        assert_eq!(p.links, ["/other", "next.html"]);
        assert_eq!(p.hints, PageHints::default());
    }

    #[test]
    fn html_links_as_a_browser_without_javascript_sees_them() {
        // mdBook's chrome: the table of contents only in a <noscript> iframe, prev/next links.
        let page = r#"<html><head><title>Ch 2</title><meta name="ROBOTS" content="NoIndex, follow">
            <link rel="stylesheet" href="x.css"><link rel="next prefetch" href="ch03.html"><link rel="prev" href="ch01.html">
            <link rel="canonical" href=" https://example.com/ch02.html "><base href="/book/">
            <meta http-equiv="refresh" content="0; URL='moved.html'"></head><body>
            <noscript><iframe class="sidebar" src="toc.html"></iframe><a href="in-noscript.html">x</a></noscript>
            <map><area href="area.html"></map><frameset><frame src="frame.html"></frameset>
            <main><p>Text <a href="">empty</a> <a href="ch04.html#part">four</a></p></main></body></html>"#;
        let p = parse(page.as_bytes(), "text/html").unwrap();
        let mut links = p.links.clone();
        links.sort();
        assert_eq!(
            links,
            [
                "area.html",
                "ch01.html",
                "ch03.html",
                "ch04.html#part",
                "in-noscript.html",
                "moved.html",
                "toc.html"
            ]
        );
        assert!(!p.text.contains("in-noscript"), "{}", p.text);
        let hints = PageHints {
            noindex: true,
            nofollow: false,
            canonical: Some("https://example.com/ch02.html".into()),
            base: Some("/book/".into()),
            redirect: Some("moved.html".into()),
        };
        assert_eq!(p.hints, hints);
        let none = parse(
            b"<html><head><meta name=ragd content=none></head><body><p>x</p></body></html>",
            "text/html",
        )
        .unwrap();
        assert!(none.hints.noindex && none.hints.nofollow);
        let other = parse(
            b"<html><head><meta name=googlebot content=noindex></head><body><p>x</p></body></html>",
            "text/html",
        )
        .unwrap();
        assert!(!other.hints.noindex, "directives for another crawler");
        assert_eq!(robots_directives("nofollow"), (false, true));
    }

    #[test]
    fn deep_html_nesting_fails_fast_and_shallow_pages_pass() {
        let deep = format!(
            "<html><body>{}deep text{}</body></html>",
            "<div><ul><li>".repeat(10_000),
            "</li></ul></div>".repeat(10_000)
        );
        let t = std::time::Instant::now();
        assert!(
            parse(deep.as_bytes(), HTML)
                .unwrap_err()
                .contains("nests elements 20002 deep")
        );
        assert!(
            t.elapsed().as_secs() < 5,
            "refused without building the tree"
        );
        // Unclosed paragraphs and list items, void elements and scripts do not count as nesting.
        let flat = format!(
            "<body><script>if (a<b) {{}}</script>{}<ul>{}</ul></body>",
            "<p>para<br>".repeat(5_000),
            "<li>item".repeat(5_000)
        );
        let p = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse(flat.as_bytes(), HTML))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(p.text.contains("- item"));
        let nested = format!(
            "<body>{}deep text{}</body>",
            "<div><ul><li>".repeat(300),
            "</li></ul></div>".repeat(300)
        );
        let p = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || parse(nested.as_bytes(), HTML))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(
            p.text.contains("deep text") && p.text.len() < 20_000,
            "list indentation is capped"
        );
    }

    #[test]
    fn real_pdfs_give_text_per_page() {
        for (path, pages) in [
            ("/usr/share/doc/libtasn1-doc/libtasn1.pdf", 30),
            (
                "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
                10,
            ),
        ] {
            let Ok(bytes) = std::fs::read(path) else {
                panic!("{path} is missing: apt-get install libtasn1-doc shared-mime-info")
            };
            assert_eq!(detect("x.bin", None, &bytes), Some(PDF));
            let p = parse(&bytes, PDF).unwrap();
            assert!(p.pages.len() >= pages, "{path}: {} pages", p.pages.len());
            assert_eq!(p.page_at(0), Some(p.pages[0].1));
            let (last_start, last) = *p.pages.last().unwrap();
            assert_eq!(p.page_at(last_start + 1), Some(last));
            let head: String = p.text.chars().skip(p.pages[1].0).take(40).collect();
            assert!(!head.trim().is_empty());
        }
    }

    /// A real PDF whose bookmarks are taken out: its headings come from font sizes instead.
    #[test]
    fn pdfs_without_an_outline_get_headings_from_font_sizes() {
        for (path, sections) in [
            (
                "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
                &[
                    "2 ASN.1 structure handling",
                    "4.1 ASN.1 schema functions",
                    "4.3 DER functions",
                ][..],
            ),
            (
                "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
                &["2. Unified system", "2.4. The glob files"][..],
            ),
        ] {
            let Ok(bytes) = std::fs::read(path) else {
                panic!("{path} is missing: apt-get install libtasn1-doc shared-mime-info")
            };
            let mut doc = pdf_extract::Document::load_mem(&bytes).unwrap();
            assert!(doc.get_toc().is_ok(), "{path} has an outline to take out");
            doc.catalog_mut().unwrap().remove(b"Outlines");
            let mut stripped = Vec::new();
            doc.save_to(&mut stripped).unwrap();
            assert!(
                pdf_extract::Document::load_mem(&stripped)
                    .unwrap()
                    .get_toc()
                    .is_err()
            );
            let p = parse(&stripped, PDF).unwrap();
            assert!(p.markdown, "{path}");
            let headings: Vec<&str> = p.text.lines().filter(|l| l.starts_with('#')).collect();
            for section in sections {
                assert!(
                    headings
                        .iter()
                        .any(|h| h.trim_start_matches('#').trim() == *section),
                    "{path}: no heading {section:?} in {headings:#?}"
                );
            }
            // Body text and the table of contents' entries are not taken for headings.
            assert!(
                headings.len() < 100 && headings.iter().all(|h| !h.contains(". . .")),
                "{path}: {headings:#?}"
            );
            let body = p
                .text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .count();
            assert!(
                body > 10 * headings.len(),
                "{path}: {body} body lines, {} headings",
                headings.len()
            );
        }
    }

    #[test]
    fn broken_inputs_fail_with_a_reason() {
        let corrupt = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF";
        let e = std::panic::catch_unwind(|| parse(corrupt, PDF))
            .map(|r| r.unwrap_err())
            .unwrap_or_else(|_| "panicked".into());
        assert!(!e.is_empty());
        assert!(
            parse(b"not a zip", DOCX)
                .unwrap_err()
                .contains("not a DOCX")
        );
        let bomb = fixtures::zip_bomb(300 << 20);
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        assert!(parse(&bomb, DOCX).unwrap_err().contains("zip bomb"));
        assert!(
            parse(b"{\"a\":", JSON)
                .unwrap_err()
                .starts_with("invalid JSON")
        );
        assert!(
            parse("[".repeat(10_000).as_bytes(), JSON)
                .unwrap_err()
                .contains("recursion")
        );
        assert!(
            parse(b"\x00\x01binary", PLAIN)
                .unwrap_err()
                .contains("binary")
        );
        assert_eq!(
            parse(b"   \n", MARKDOWN).unwrap_err(),
            "the document has no text"
        );
        assert!(
            parse(b"x", "image/png")
                .unwrap_err()
                .contains("unsupported")
        );
    }

    #[test]
    fn docx_csv_and_json_keep_structure() {
        let d = fixtures::docx(&[
            (Some("Title"), "Field guide"),
            (Some("Heading2"), "Tides & currents"),
            (None, "Water moves twice a day."),
            (None, "|Port|High tide"),
        ]);
        assert_eq!(
            detect("notes.DOCX", Some("application/octet-stream"), &d),
            Some(DOCX)
        );
        let p = parse(&d, DOCX).unwrap();
        assert_eq!(
            p.text,
            "# Field guide\n\n## Tides & currents\n\nWater moves twice a day.\n\n| Port | High tide |\n\n"
        );
        let c = parse(b"name,port\nAda,Brest\nBo,\"Cork, IE\"\n", CSV).unwrap();
        assert_eq!(
            c.text,
            "name: Ada\nport: Brest\n\nname: Bo\nport: Cork, IE\n\n"
        );
        let j = parse(br#"[{"a":{"b":[1,"x"]}},{"c":null,"d":true}]"#, JSON).unwrap();
        assert_eq!(j.text, "[0].a.b[0]: 1\n[0].a.b[1]: x\n\n[1].d: true\n\n");
    }
}
