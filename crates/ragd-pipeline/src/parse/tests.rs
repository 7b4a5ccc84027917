//! Tests of the parsers on real and hostile documents.

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
        parse(b"x", "image/gif")
            .unwrap_err()
            .contains("unsupported")
    );
    // An image that is not one fails with Tesseract's refusal, and with OCR off, says so.
    let no_ocr = ocr::Ocr {
        enabled: false,
        progress: None,
    };
    assert!(
        parse(b"x", "image/png")
            .unwrap_err()
            .contains("image could not be read")
    );
    assert_eq!(
        parse_with(b"x", "image/png", &no_ocr).unwrap_err(),
        "an image is read by OCR, and OCR is off for this asset"
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
