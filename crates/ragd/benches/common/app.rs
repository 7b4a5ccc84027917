//! The configuration the in-process benchmarks start ragd with: a fresh data directory, port 0,
//! the bench's JWT secret, the suite's local model (`RAGD_MODEL_DIR` or `.cache/`), one worker,
//! loopback allowed for the local stand-ins.

use ragd::config::Config;

pub const SECRET: &str = "bench-secret-0123456789";

pub fn config(data_dir: &std::path::Path) -> Config {
    let model_dir = std::env::var_os("RAGD_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../.cache/models/all-MiniLM-L6-v2")
        });
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        jwt_secret: Some(SECRET.into()),
        model_dir: Some(model_dir),
        model_auto_fetch: false,
        web_allow_hosts: "127.0.0.1".into(),
        workers: 1,
        ..Config::default()
    }
}
