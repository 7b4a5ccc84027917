//! Prints what ragd's parser makes of a file: `cargo run -p ragd-pipeline --example parse -- FILE`.

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let Some(content_type) = ragd_pipeline::parse::detect(&path, None, &bytes) else {
            eprintln!("{path}: unsupported content type");
            continue;
        };
        match ragd_pipeline::parse(&bytes, content_type) {
            Ok(p) => println!(
                "{path}: {content_type}, title {:?}, {} pages, {} links\n{}",
                p.title,
                p.pages.len(),
                p.links.len(),
                p.text
            ),
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
}
