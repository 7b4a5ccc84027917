//! Sitemap and sitemap-index XML on arbitrary text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(xml) = std::str::from_utf8(data) {
        let _ = ragd_engine::sources::web::sitemap_locs(xml);
    }
});
