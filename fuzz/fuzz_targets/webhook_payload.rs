//! The webhook payload mapper on arbitrary bodies, as a GitHub push and as any other sender.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let asset = uuid::Uuid::from_u128(1);
    let _ = ragd_core::services::delivery_targets(asset, None, Some("push"), data);
    let _ = ragd_core::services::delivery_targets(asset, Some("main"), None, data);
});
