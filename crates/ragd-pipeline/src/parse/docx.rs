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
