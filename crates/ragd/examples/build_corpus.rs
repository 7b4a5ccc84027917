//! Builds the retrieval benchmark's corpus once: real text from the toolchain's docs (the
//! Reference, the Book, then std), parsed and chunked as ragd does (128 tokens of the local
//! model), embedded with the local model, written to `DIR/texts.jsonl` and `DIR/vectors.f32`
//! (little-endian, 384 floats per chunk, same order).
//! Run: `cargo run --release -p ragd --example build_corpus -- DIR COUNT` (`bench/retrieval.sh` does).

use std::io::Write;
use std::path::{Path, PathBuf};

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "html") {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (out, count): (PathBuf, usize) = (args[1].clone().into(), args[2].parse().expect("COUNT"));
    let model_dir =
        std::env::var("RAGD_MODEL_DIR").unwrap_or_else(|_| ".cache/models/all-MiniLM-L6-v2".into());
    let files = ragd_embed::ModelFiles::new(&model_dir);
    let model = ragd_embed::local::LocalModel::load(
        &files,
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    )
    .expect("model");
    let sizer =
        ragd_pipeline::Sizer::from_tokenizer_file(&Path::new(&model_dir).join("tokenizer.json"))
            .expect("tokenizer");

    let sysroot = String::from_utf8(
        std::process::Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let html = PathBuf::from(sysroot.trim()).join("share/doc/rust/html");
    let mut pages = Vec::new();
    for part in ["reference", "book", "std", "core", "alloc"] {
        html_files(&html.join(part), &mut pages);
    }
    let mut texts: Vec<String> = Vec::with_capacity(count);
    for page in &pages {
        if texts.len() >= count {
            break;
        }
        let Ok(bytes) = std::fs::read(page) else {
            continue;
        };
        let Ok(parsed) = ragd_pipeline::parse(&bytes, "text/html") else {
            continue;
        };
        let Ok(chunks) = ragd_pipeline::chunk_document(&parsed.text, true, &sizer, 128, 0) else {
            continue;
        };
        let title = parsed.title.unwrap_or_default();
        texts.extend(
            chunks
                .into_iter()
                .filter(|c| c.token_count >= 8)
                .map(|c| format!("{title}\n\n{}", c.content)),
        );
    }
    texts.truncate(count);
    assert_eq!(
        texts.len(),
        count,
        "the docs hold fewer chunks than asked for"
    );
    eprintln!(
        "{} chunks from {} pages; embedding…",
        texts.len(),
        pages.len()
    );

    std::fs::create_dir_all(&out).unwrap();
    let mut t = std::io::BufWriter::new(std::fs::File::create(out.join("texts.jsonl")).unwrap());
    for text in &texts {
        writeln!(t, "{}", serde_json::to_string(text).unwrap()).unwrap();
    }
    t.flush().unwrap();
    let mut v =
        std::io::BufWriter::new(std::fs::File::create(out.join("vectors.f32.partial")).unwrap());
    let start = std::time::Instant::now();
    for (i, batch) in texts.chunks(256).enumerate() {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        for vector in model.embed(&refs).expect("embedding").vectors {
            for x in vector {
                v.write_all(&x.to_le_bytes()).unwrap();
            }
        }
        if i % 40 == 0 {
            eprintln!(
                "{} / {} embedded, {:.0} s",
                (i + 1) * 256,
                texts.len(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    v.flush().unwrap();
    drop(v);
    std::fs::rename(out.join("vectors.f32.partial"), out.join("vectors.f32")).unwrap();
    eprintln!("done in {:.0} s", start.elapsed().as_secs_f64());
}
