//! The docx parser on arbitrary bytes: it answers text or a reason, never panics, never hangs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ragd_pipeline::parse::parse(
        data,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    );
});
