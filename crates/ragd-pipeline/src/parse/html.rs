//! HTML to Markdown from the main content element, and what a crawler reads from a page.

use super::*;
use scraper::{ElementRef, Html, Node, Selector};

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
    /// (ordered, next number) per open list.
    lists: Vec<(bool, usize)>,
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
pub(super) fn html(source: &str) -> Result<Parsed, String> {
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

    Ok(Parsed {
        title: title.filter(|t| !t.is_empty()),
        text: markdown(root),
        markdown: true,
        pages: Vec::new(),
        links,
        hints,
        ..Default::default()
    })
}

/// The Markdown of an element's content, walked depth-first without recursion (a deep page must
/// not overflow the stack).
fn markdown(root: ElementRef<'_>) -> String {
    let mut w = Writer::default();
    let mut stack: Vec<Step<'_>> = vec![Step::Enter(*root)];
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Exit(el) => {
                w.close(el.value().name());
                continue;
            }
            Step::Enter(node) => node,
        };
        match node.value() {
            Node::Text(t) => w.inline(t),
            Node::Element(_) => {
                let el = ElementRef::wrap(node).expect("an element node");
                if w.open(el) {
                    stack.push(Step::Exit(el));
                    for child in node.children().rev() {
                        stack.push(Step::Enter(child));
                    }
                }
            }
            _ => {}
        }
    }
    let mut text = w.out.trim().to_owned();
    text.push('\n');
    text
}

impl Writer {
    /// Writes what opens an element; whether its children are to be walked (not for hidden
    /// and skipped elements, nor for those written whole: headings, code blocks, images).
    fn open(&mut self, el: ElementRef<'_>) -> bool {
        let name = el.value().name();
        if SKIPPED.contains(&name)
            || el.value().attr("hidden").is_some()
            || el.value().attr("aria-hidden") == Some("true")
            || self.whole(el)
        {
            return false;
        }
        match name {
            "p" | "div" | "section" | "article" | "main" | "blockquote" | "dl" | "figure"
            | "table" => self.block(2),
            "ul" | "ol" => {
                self.block(if self.lists.is_empty() { 2 } else { 1 });
                self.lists.push((name == "ol", 1));
                self.list_depth += 1;
            }
            "li" => {
                self.block(1);
                let indent = "  ".repeat(self.list_depth.saturating_sub(1).min(MAX_INDENT));
                let marker = match self.lists.last_mut() {
                    Some((true, n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_owned(),
                };
                self.raw(&format!("{indent}{marker}"));
            }
            "tr" => {
                self.block(1);
                self.raw("|");
            }
            "td" | "th" => self.raw(" "),
            "dt" | "dd" => self.block(1),
            "code" => self.raw("`"),
            _ => {}
        }
        true
    }

    /// Writes an element that is written whole (a heading, a code block, a break, an image's
    /// alt text); whether it was one.
    fn whole(&mut self, el: ElementRef<'_>) -> bool {
        let name = el.value().name();
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
                    self.block(2);
                    self.raw(&format!("{} {title}", "#".repeat(level)));
                    self.block(2);
                }
            }
            "pre" => {
                let code: String = el.text().collect();
                let code_el = Selector::parse("code").expect("static selector");
                let lang = el
                    .select(&code_el)
                    .next()
                    .and_then(|c| {
                        c.value()
                            .classes()
                            .find_map(|c| c.strip_prefix("language-"))
                    })
                    .unwrap_or("");
                self.block(2);
                self.raw(&format!("```{lang}\n{}\n```", code.trim_end_matches('\n')));
                self.block(2);
            }
            "br" => self.block(1),
            "hr" => self.block(2),
            "img" => {
                if let Some(alt) = el.value().attr("alt").filter(|a| !a.trim().is_empty()) {
                    self.inline(alt);
                }
            }
            _ => return false,
        }
        true
    }

    /// Writes what closes an element.
    fn close(&mut self, name: &str) {
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "p" | "div" | "section" | "article"
            | "main" | "blockquote" | "dl" | "figure" | "table" => self.block(2),
            "ul" | "ol" => {
                self.lists.pop();
                self.list_depth = self.list_depth.saturating_sub(1);
                self.block(2);
            }
            "li" | "tr" | "dt" | "dd" => self.block(1),
            "td" | "th" => self.raw(" |"),
            "code" => self.raw("`"),
            _ => {}
        }
    }
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
