//! Prints the chunks of a file: `cargo run -p ragd-pipeline --example chunk -- TOKENIZER.json FILE SIZE OVERLAP`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizer = ragd_pipeline::Sizer::from_tokenizer_file(std::path::Path::new(&args[1]))
        .expect("tokenizer");
    let bytes = std::fs::read(&args[2]).expect("file");
    let ct = ragd_pipeline::parse::detect(&args[2], None, &bytes).expect("supported type");
    let parsed = ragd_pipeline::parse(&bytes, ct).expect("parses");
    let (size, overlap) = (args[3].parse().unwrap(), args[4].parse().unwrap());
    for c in ragd_pipeline::chunk_document(&parsed.text, parsed.markdown, &sizer, size, overlap)
        .expect("chunks")
    {
        println!(
            "--- #{} [{}] {} tokens, lines {}-{}\n{}",
            c.index, c.heading_path, c.token_count, c.start_line, c.end_line, c.content
        );
    }
}
