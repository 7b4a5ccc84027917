//! The chunker with the local model's real tokenizer on arbitrary text: chunks cover the text in
//! order, at valid char boundaries, never panics. The first byte picks Markdown or plain text.
#![no_main]
use std::sync::OnceLock;

fn sizer() -> &'static ragd_pipeline::Sizer {
    static SIZER: OnceLock<ragd_pipeline::Sizer> = OnceLock::new();
    SIZER.get_or_init(|| {
        let dir = std::env::var_os("RAGD_MODEL_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../.cache/models/all-MiniLM-L6-v2")
            });
        ragd_pipeline::Sizer::from_tokenizer_file(&dir.join("tokenizer.json"))
            .expect("the local model's tokenizer (scripts/model/fetch.sh)")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(chunks) = ragd_pipeline::chunk::chunk_document(text, mode & 1 == 1, sizer(), 64, 16) {
        let chars = text.chars().count();
        for c in &chunks {
            assert!(
                c.start_char <= c.end_char && c.end_char <= chars,
                "chunk offsets outside the text"
            );
        }
    }
});
