//! The local model's token counts in chunking are exact: the sizer's fast path for ASCII text
//! agrees with the Hugging Face tokenizer on real text (the system's license files and the Rust
//! Book from the toolchain's docs, in windows of many lengths) and on the edge cases of BERT's
//! normalisation (control characters, punctuation runs, long words, special tokens, non-ASCII).

use ragd_pipeline::Sizer;
use std::path::PathBuf;

fn tokenizer_file() -> PathBuf {
    std::env::var_os("RAGD_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2")
        })
        .join("tokenizer.json")
}

fn reference() -> tokenizers::Tokenizer {
    let mut t = tokenizers::Tokenizer::from_file(tokenizer_file())
        .expect("the local model is installed (scripts/test fetches it)");
    t.with_truncation(None).unwrap();
    t.with_padding(None);
    t
}

fn real_texts() -> Vec<String> {
    let mut texts = Vec::new();
    let mut licenses: Vec<PathBuf> = std::fs::read_dir("/usr/share/common-licenses")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    licenses.sort();
    texts.extend(
        licenses
            .iter()
            .filter(|p| !p.is_symlink())
            .map(|p| std::fs::read_to_string(p).unwrap()),
    );
    let sysroot = String::from_utf8(
        std::process::Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let book = PathBuf::from(sysroot.trim()).join("share/doc/rust/html/book");
    if let Ok(pages) = std::fs::read_dir(&book) {
        let mut pages: Vec<PathBuf> = pages
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .collect();
        pages.sort();
        texts.extend(
            pages
                .iter()
                .take(40)
                .map(|p| std::fs::read_to_string(p).unwrap()),
        );
    }
    texts
}

#[test]
fn counts_equal_the_tokenizers_on_real_text_and_edge_cases() {
    let sizer = Sizer::from_tokenizer_file(&tokenizer_file()).unwrap();
    let reference = reference();
    let exact = |text: &str| text_splitter::ChunkSizer::size(&reference, text);
    let mut checked = 0;
    for text in real_texts() {
        let chars: Vec<char> = text.chars().collect();
        for len in [1, 7, 40, 200, 1000, 4000] {
            for start in (0..chars.len()).step_by(len.max(97)) {
                let window: String = chars[start..(start + len).min(chars.len())]
                    .iter()
                    .collect();
                assert_eq!(sizer.count(&window), exact(&window), "{window:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 5_000, "{checked} windows");
    for text in [
        "",
        "   ",
        "Hello, World!!! -- it's `cargo build`...",
        "ab\u{1}cd and\u{7f}ef \u{b}vertical\u{c}feed",
        "tabs\tand\r\nnewlines\n\n",
        "[CLS] and [SEP] and [MASK] inside",
        "[cls] lower-case is not special",
        "café naïve 中文text — non-ASCII, “quoted” and it’s",
        "nbsp\u{a0}inside a\u{200b}zero-width e\u{301}combining ΣΑΣ ﬁ ligature",
        "mixed ascii-and-ünïcödé/words; Ω≈ç√∫ 😀 emoji",
        &"x".repeat(150),
        &format!("{} end", "supercalifragilistic".repeat(6)),
        "snake_case::paths<T>(&mut self) -> Result<(), E>",
    ] {
        assert_eq!(sizer.count(text), exact(text), "{text:?}");
    }
}
