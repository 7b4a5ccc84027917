//! Text in any encoding: which one a document's bytes are in, found once, and their text.
//!
//! The order is the HTML standard's encoding sniffing, used for every text format: a byte-order
//! mark (UTF-8, UTF-16 or UTF-32); then the charset the transport declared (the HTTP
//! `Content-Type`'s, or an object store's); then, in markup, the document's own declaration (a
//! `<meta charset>` or `http-equiv` in its first 1,024 bytes, an XML declaration); then valid
//! UTF-8; then statistical detection (chardetng, Firefox's detector). Labels are resolved as
//! browsers resolve them (`iso-8859-1` is windows-1252, per the Encoding Standard).

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// A document's text and the encoding it was decoded from (its Encoding Standard name, or
/// `UTF-32LE`/`UTF-32BE`).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// How far into a document its markup declaration is looked for (the HTML standard's prescan).
const PRESCAN_BYTES: usize = 1024;
/// How much of a document statistical detection reads: enough to tell, bounded in time.
const DETECT_BYTES: usize = 1 << 20;

/// The `charset` parameter of a `Content-Type` value (the media type itself has no `=`).
pub fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// Decodes `bytes`: `declared` is the transport's charset, `markup` whether the document may
/// declare its own (HTML). Plain text without a byte-order mark or a declared charset that holds
/// NUL bytes is refused as binary, as before.
pub fn decode(bytes: &[u8], declared: Option<&str>, markup: bool) -> Result<Decoded, String> {
    if let Some(decoded) = utf32_with_bom(bytes)? {
        return Ok(decoded);
    }
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return Ok(with(encoding, &bytes[bom..]));
    }
    let chosen = declared
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .or_else(|| markup.then(|| declared_in_markup(bytes)).flatten());
    if let Some(encoding) = chosen {
        return Ok(with(encoding, bytes));
    }
    if !markup && bytes.contains(&0) {
        return Err("the file is binary, not text".to_owned());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Decoded {
            text: text.to_owned(),
            encoding: UTF_8.name(),
        });
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(&bytes[..bytes.len().min(DETECT_BYTES)], true);
    Ok(with(detector.guess(None, true), bytes))
}

fn with(encoding: &'static Encoding, bytes: &[u8]) -> Decoded {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: encoding.name(),
    }
}

/// UTF-32 with its byte-order mark, which the Encoding Standard leaves out (its `FF FE 00 00`
/// would otherwise read as UTF-16LE's mark followed by a NUL).
fn utf32_with_bom(bytes: &[u8]) -> Result<Option<Decoded>, String> {
    let (big_endian, name) = match bytes {
        [0xFF, 0xFE, 0, 0, ..] => (false, "UTF-32LE"),
        [0, 0, 0xFE, 0xFF, ..] => (true, "UTF-32BE"),
        _ => return Ok(None),
    };
    let text = bytes[4..]
        .chunks(4)
        .map(|c| {
            let unit: [u8; 4] = c
                .try_into()
                .map_err(|_| "the UTF-32 text ends mid-character")?;
            let n = if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            };
            Ok(char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER))
        })
        .collect::<Result<String, &str>>()?;
    Ok(Some(Decoded {
        text,
        encoding: name,
    }))
}

/// The encoding a document declares in its first bytes: an XML declaration's `encoding`, or a
/// `<meta charset>` / `<meta http-equiv="content-type" content="…; charset=…">`. As the HTML
/// standard says, a declared UTF-16 means UTF-8 (the bytes reached this point without a UTF-16
/// mark) and `x-user-defined` means windows-1252.
fn declared_in_markup(bytes: &[u8]) -> Option<&'static Encoding> {
    let head =
        String::from_utf8_lossy(&bytes[..bytes.len().min(PRESCAN_BYTES)]).to_ascii_lowercase();
    let label = xml_declaration(&head).or_else(|| meta_charset(&head))?;
    let encoding = Encoding::for_label(label.as_bytes())?;
    Some(if encoding == UTF_16LE || encoding == UTF_16BE {
        UTF_8
    } else if encoding.name() == "x-user-defined" {
        WINDOWS_1252
    } else {
        encoding
    })
}

fn xml_declaration(head: &str) -> Option<&str> {
    let decl = head.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    attribute(decl, "encoding")
}

/// The first `<meta>` tag that names a charset, either way.
fn meta_charset(head: &str) -> Option<&str> {
    let mut rest = head;
    while let Some(at) = rest.find("<meta") {
        let tag = &rest[at + 5..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(label) = attribute(tag, "charset") {
            return Some(label);
        }
        let equiv = attribute(tag, "http-equiv").is_some_and(|v| v == "content-type");
        if let Some(label) = attribute(tag, "content")
            .filter(|_| equiv)
            .and_then(charset_param)
            .filter(|l| !l.is_empty())
        {
            return Some(label);
        }
        rest = &rest[at + 5..];
    }
    None
}

/// The value of attribute `name` in the inside of a tag: quoted or bare.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        // A whole attribute name: not the end of another (`data-charset`).
        let before = tag[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            continue;
        }
        let value = tag[from..].trim_start();
        let Some(value) = value.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &value[1..];
                &inner[..inner.find(q).unwrap_or(inner.len())]
            }
            _ => {
                let end = value
                    .find(|c: char| {
                        c.is_ascii_whitespace() || matches!(c, ';' | '/' | '>' | '"' | '\'')
                    })
                    .unwrap_or(value.len());
                &value[..end]
            }
        })
        .map(str::trim);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_mark_then_transport_then_markup_then_utf8_then_detection() {
        let latin = b"caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve fa\xe7ade";
        let meta = [b"<meta charset=\"shift_jis\">".as_slice(), latin].concat();
        // The transport's charset wins over the document's own.
        let d = decode(&meta, Some("iso-8859-1"), true).unwrap();
        assert_eq!(d.encoding, "windows-1252");
        assert!(d.text.ends_with("café crème brûlée, naïve façade"));
        // Without one, the document's declaration.
        assert_eq!(decode(&meta, None, true).unwrap().encoding, "Shift_JIS");
        // Not in plain text.
        assert_eq!(decode(&meta, None, false).unwrap().encoding, "windows-1252");
        // A mark wins over everything.
        let marked = [b"\xef\xbb\xbf".as_slice(), "été".as_bytes()].concat();
        let d = decode(&marked, Some("windows-1252"), true).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("été", "UTF-8"));
        // UTF-16 and UTF-32 with their marks; without one, NUL bytes are binary.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Grüße".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16, None, false).unwrap().text, "Grüße");
        let utf32: Vec<u8> = [0xFF, 0xFE, 0, 0]
            .into_iter()
            .chain("日本".chars().flat_map(|c| (c as u32).to_le_bytes()))
            .collect();
        let d = decode(&utf32, None, false).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("日本", "UTF-32LE"));
        assert!(decode(&utf16[2..], None, false).is_err());
        assert!(decode(&[0xFF, 0xFE, 0, 0, 0x41], None, false).is_err());
    }

    #[test]
    fn declarations_are_read_as_browsers_read_them() {
        let cases: &[(&str, &str)] = &[
            ("<meta charset=windows-1251>", "windows-1251"),
            ("<META CHARSET='EUC-JP'>", "EUC-JP"),
            (
                r#"<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-2">"#,
                "ISO-8859-2",
            ),
            (
                r#"<?xml version="1.0" encoding="Shift_JIS"?><html>"#,
                "Shift_JIS",
            ),
            ("<meta charset=utf-16le>", "UTF-8"),
            ("<meta data-charset=koi8-r><meta charset=gbk>", "GBK"),
        ];
        for (head, want) in cases {
            let bytes = [head.as_bytes(), b" \xe9"].concat();
            assert_eq!(
                decode(&bytes, None, true).unwrap().encoding,
                *want,
                "{head}"
            );
        }
        assert_eq!(charset_param("text/html; Charset=\"UTF-8\""), Some("UTF-8"));
        assert_eq!(charset_param("text/html"), None);
    }

    #[test]
    fn undeclared_text_is_utf8_when_it_can_be_and_detected_otherwise() {
        assert_eq!(
            decode("ça va".as_bytes(), None, false).unwrap().encoding,
            "UTF-8"
        );
        let sjis = encoding_rs::SHIFT_JIS
            .encode("日本語の文章です。これは検出のための例文です。")
            .0;
        let d = decode(&sjis, None, false).unwrap();
        assert_eq!(d.encoding, "Shift_JIS");
        assert_eq!(d.text, "日本語の文章です。これは検出のための例文です。");
    }
}
