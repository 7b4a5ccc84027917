//! Content types ragd parses, with their file extensions, and how a file's type is detected.
//! The parsers are in `ragd-pipeline`.

pub const CONTENT_TYPES: &[(&str, &[&str])] = &[
    ("text/plain", &[".txt", ".text", ".log"]),
    ("text/markdown", &[".md", ".markdown"]),
    ("text/html", &[".html", ".htm"]),
    ("application/pdf", &[".pdf"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &[".docx"],
    ),
    ("text/csv", &[".csv"]),
    ("application/json", &[".json"]),
];

/// Image types ragd reads by OCR (ragd), from uploads only: a repository's or a bucket's icons
/// and screenshots are not documents, an uploaded scan is.
pub const IMAGE_TYPES: &[(&str, &[&str])] = &[
    ("image/png", &[".png"]),
    ("image/jpeg", &[".jpg", ".jpeg"]),
    ("image/tiff", &[".tif", ".tiff"]),
];

/// The content type of an uploaded file: an image by its magic bytes or its name (see
/// [`IMAGE_TYPES`]), else as [`detect_content_type`] says.
pub fn detect_upload_content_type(
    file_name: &str,
    declared: Option<&str>,
    head: &[u8],
) -> Option<&'static str> {
    let magic = [
        (&b"\x89PNG\r\n\x1a\n"[..], "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"II*\0", "image/tiff"),
        (b"MM\0*", "image/tiff"),
    ];
    if let Some((_, ct)) = magic.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(ct);
    }
    let lower = file_name.to_ascii_lowercase();
    let image = IMAGE_TYPES
        .iter()
        .find(|(_, exts)| exts.iter().any(|e| lower.ends_with(e)))
        .map(|(ct, _)| *ct);
    detect_content_type(file_name, declared, head)
        .or(image)
        .or_else(|| declared.and_then(image_content_type))
}

/// `image/png` (with any parameters) → `image/png`, if ragd reads the image type by OCR.
pub fn image_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let essence = match essence.to_ascii_lowercase().as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "image/tif" => "image/tiff",
        other => {
            return IMAGE_TYPES
                .iter()
                .map(|(ct, _)| *ct)
                .find(|ct| *ct == other);
        }
    };
    Some(essence)
}

/// The content type of a file from its name, its declared type and its first bytes: PDF magic
/// bytes win, then the extension, then the declared type (a generic one is ignored).
pub fn detect_content_type(
    file_name: &str,
    declared: Option<&str>,
    head: &[u8],
) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    let lower = file_name.to_ascii_lowercase();
    let by_name = CONTENT_TYPES
        .iter()
        .find(|(_, exts)| exts.iter().any(|e| lower.ends_with(e)))
        .map(|(ct, _)| *ct);
    by_name.or_else(|| declared.and_then(normalise_content_type))
}

/// `text/html; charset=utf-8` → `text/html`, with common aliases, if ragd parses the type.
pub fn normalise_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let essence = match essence.as_str() {
        "application/xhtml+xml" => "text/html",
        "text/x-markdown" => "text/markdown",
        "application/csv" => "text/csv",
        "text/json" => "application/json",
        other => other,
    };
    CONTENT_TYPES
        .iter()
        .map(|(ct, _)| *ct)
        .find(|ct| *ct == essence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_images_by_their_bytes_or_names() {
        let png = b"\x89PNG\r\n\x1a\n";
        assert_eq!(
            detect_upload_content_type("scan.bin", None, png),
            Some("image/png")
        );
        assert_eq!(
            detect_upload_content_type("a.JPG", None, b""),
            Some("image/jpeg")
        );
        assert_eq!(
            detect_upload_content_type("x", None, b"II*\0"),
            Some("image/tiff")
        );
        assert_eq!(
            detect_upload_content_type("x", Some("image/jpg"), b"?"),
            Some("image/jpeg")
        );
        assert_eq!(
            detect_upload_content_type("a.md", None, b"# x"),
            Some("text/markdown")
        );
        assert_eq!(detect_upload_content_type("a.gif", None, b"GIF89a"), None);
        // Other sources see no image types.
        assert_eq!(detect_content_type("a.png", Some("image/png"), png), None);
        assert_eq!(normalise_content_type("image/png"), None);
    }
}
