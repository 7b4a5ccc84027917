//! PDF to text with its structure: outline headings, running headers and footers dropped.

use super::*;

// ----------------------------------------------------------------------------------------- PDF

/// PDF to text with its structure: the document outline (bookmarks) becomes Markdown headings,
/// found on their pages, so chunks carry `headingPath`; running page headers and footers (lines
/// that repeat at the top or bottom of many pages, page numbers included) are left out; words
/// hyphenated across a line end are joined (keeping the hyphen only where the document writes the
/// word with one elsewhere).
pub(super) fn pdf(bytes: &[u8], ocr: &super::ocr::Ocr) -> Result<Parsed, String> {
    let (doc, mut pages) = load(bytes)?;
    let (ocr_pages, ocr_failure) = read_scanned_pages(bytes, &mut pages, ocr);
    let outline = outline(&doc);
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
    if markdown {
        escape_markdown(&mut pages);
    }
    place_headings(&mut pages, &outline);
    let mut parsed = assemble(&pages, markdown);
    if parsed.text.is_empty() {
        return Err(match ocr_failure {
            Some(_) if !ocr.enabled => {
                format!("the PDF has no text layer, and {}", super::ocr::OFF)
            }
            Some(reason) => format!("the PDF has no text layer and OCR failed: {reason}"),
            None => "the PDF has no text".to_owned(),
        });
    }
    parsed.ocr_pages = ocr_pages;
    parsed.ocr_problem = ocr_failure;
    Ok(parsed)
}

/// Reads the pages without a text layer (scanned) by OCR, in place: the pages read, and the
/// first reason one could not be.
fn read_scanned_pages(
    bytes: &[u8],
    pages: &mut [String],
    ocr: &super::ocr::Ocr,
) -> (Vec<u32>, Option<String>) {
    let blank: Vec<u32> = (1..=pages.len() as u32)
        .filter(|n| pages[*n as usize - 1].trim().is_empty())
        .collect();
    if blank.is_empty() {
        return (Vec::new(), None);
    }
    if !ocr.enabled {
        let n = blank.len();
        return (
            Vec::new(),
            Some(format!(
                "{n} pages without a text layer were not read: {}",
                super::ocr::OFF
            )),
        );
    }
    let over = blank.len().saturating_sub(super::ocr::MAX_PAGES);
    let blank = &blank[..blank.len() - over];
    let read = match super::ocr::pdf_pages(bytes, blank, ocr.progress.as_deref()) {
        Ok(read) => read,
        Err(reason) => return (Vec::new(), Some(reason)),
    };
    let (mut done, mut failure) = (Vec::new(), None);
    for (n, text) in read {
        match text {
            Ok(text) if !text.trim().is_empty() => {
                pages[n as usize - 1] = text;
                done.push(n);
            }
            Ok(_) => {}
            Err(reason) => failure = failure.or(Some(reason)),
        }
    }
    if over > 0 {
        let limit = super::ocr::MAX_PAGES;
        failure = failure.or(Some(format!(
            "{over} pages beyond the first {limit} were not read"
        )));
    }
    (done, failure)
}

/// The document and each page's plain text. One parse of the file serves the text, the outline
/// and the font sizes (pdf-extract's own by-page extraction would load it again): decrypted with
/// the empty password as pdf-extract does, then each page through its plain-text output.
fn load(bytes: &[u8]) -> Result<(pdf_extract::Document, Vec<String>), String> {
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
    Ok((doc, pages))
}

/// The document's outline (bookmarks); without one, lines set larger than the body text.
fn outline(doc: &pdf_extract::Document) -> Vec<Heading> {
    let outline: Vec<Heading> = doc
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
        headings_by_size(doc)
    } else {
        outline
    }
}

/// Page text is not Markdown: a line that would read as a heading or a fence is escaped.
fn escape_markdown(pages: &mut [Vec<String>]) {
    for line in pages.iter_mut().flatten() {
        let t = line.trim_start();
        let hashes = t.bytes().take_while(|b| *b == b'#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ')
            || t.starts_with("```")
            || t.starts_with("~~~")
        {
            line.insert(0, '\\');
        }
    }
}

/// Marks each outline entry's line on its page as a Markdown heading; headings not found on
/// their page go to its top, in outline order.
fn place_headings(pages: &mut [Vec<String>], outline: &[Heading]) {
    let mut at_top = vec![0usize; pages.len()];
    for entry in outline {
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
}

/// The pages as one text with where each starts, hyphenated words joined.
fn assemble(pages: &[Vec<String>], markdown: bool) -> Parsed {
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
    parsed
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
