//! DOCX to Markdown, reading the archive with a cap on inflated bytes.

use super::*;
use std::io::Read;

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
pub(super) fn docx(bytes: &[u8]) -> Result<Parsed, String> {
    use quick_xml::events::Event;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a DOCX (zip) file: {e}"))?;
    let xml = read_member(&mut archive, "word/document.xml")?
        .ok_or("not a DOCX file: word/document.xml is missing")?;
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut body = Body::default();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("the DOCX document is not valid XML: {e}"))?;
        match event {
            Event::Start(e) => body.start(e.name().as_ref()),
            Event::Empty(e) => body.empty(&e),
            Event::Text(t) if body.in_text => body.para.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if body.in_text => {
                if let Some(c) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
                    body.para.push_str(c);
                } else if let Ok(Some(c)) = r.resolve_char_ref() {
                    body.para.push(c);
                }
            }
            Event::End(e) => body.end(e.name().as_ref()),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(Parsed {
        text: body.out,
        markdown: true,
        ..Default::default()
    })
}

/// The Markdown written so far and where the reader is in `word/document.xml`.
#[derive(Default)]
struct Body {
    out: String,
    /// The text of the paragraph being read.
    para: String,
    /// Its paragraph style (`Heading2`, …).
    style: Option<String>,
    list_item: bool,
    /// Inside `<w:t>`: text is content.
    in_text: bool,
    table_depth: usize,
    /// The cells of the table row being read.
    row: Vec<String>,
}

impl Body {
    fn start(&mut self, name: &str) {
        match name {
            "w:p" => {
                self.para.clear();
                self.style = None;
                self.list_item = false;
            }
            "w:t" => self.in_text = true,
            "w:tbl" => self.table_depth += 1,
            "w:tr" => self.row.clear(),
            "w:tc" => self.row.push(String::new()),
            "w:numPr" => self.list_item = true,
            _ => {}
        }
    }

    fn empty(&mut self, e: &quick_xml::events::BytesStart<'_>) {
        match e.name().as_ref() {
            "w:pStyle" => {
                self.style = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == "w:val")
                    .map(|a| a.value.into_owned())
            }
            "w:numPr" => self.list_item = true,
            "w:tab" => self.para.push('\t'),
            "w:br" | "w:cr" => self.para.push('\n'),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "w:t" => self.in_text = false,
            "w:p" => self.paragraph(),
            "w:tr" if self.table_depth == 1 => self
                .out
                .push_str(&format!("| {} |\n", self.row.join(" | "))),
            "w:tbl" => {
                self.table_depth = self.table_depth.saturating_sub(1);
                if self.table_depth == 0 {
                    self.out.push('\n');
                }
            }
            _ => {}
        }
    }

    /// A paragraph ended: into the table cell being read, or as a heading, list item or
    /// paragraph of its own.
    fn paragraph(&mut self) {
        let text = self.para.trim();
        if self.table_depth > 0 {
            if let Some(cell) = self.row.last_mut() {
                if !cell.is_empty() && !text.is_empty() {
                    cell.push(' ');
                }
                cell.push_str(&text.replace('\n', " "));
            }
        } else if !text.is_empty() {
            match self.style.as_deref().and_then(heading_level) {
                Some(l) => self.out.push_str(&format!(
                    "{} {}\n\n",
                    "#".repeat(l),
                    text.replace('\n', " ")
                )),
                None if self.list_item => self.out.push_str(&format!("- {text}\n")),
                None => self.out.push_str(&format!("{text}\n\n")),
            }
        }
    }
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
