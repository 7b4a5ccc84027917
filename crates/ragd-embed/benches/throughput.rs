//! ragd's side of `bench/embedding.sh`: embeds the chunks file with the local model in batches
//! in the given precision (`auto` or `f32`) and prints one JSON line (tokens, seconds, threads).
//! Run through the script, which also runs the peer in the same run.

use ragd_embed::local::Precision;
use ragd_embed::{LocalModel, ModelFiles};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let (Some(path), batch) = (
        args.get(1),
        args.get(2)
            .and_then(|b| b.parse::<usize>().ok())
            .unwrap_or(32),
    ) else {
        eprintln!("usage: throughput CHUNKS.jsonl [BATCH] [auto|f32]  (run bench/embedding.sh)");
        return;
    };
    let chunks: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = std::env::var("RAGD_MODEL_DIR").expect("RAGD_MODEL_DIR");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let precision = match args.get(3).map(String::as_str) {
        Some("f32") => Precision::F32,
        _ => Precision::Auto,
    };
    let model = LocalModel::load_with(&ModelFiles::new(dir), threads, precision).unwrap();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    model.embed(&refs[..64]).unwrap(); // warm-up
    assert_eq!(
        batch,
        ragd_embed::local::BATCH_SIZE,
        "the engine batches by {}",
        ragd_embed::local::BATCH_SIZE
    );
    let start = Instant::now();
    let out = model.embed(&refs).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"tokens": out.total_tokens(), "seconds": seconds, "threads": threads})
    );
}
