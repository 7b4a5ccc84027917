//! Fidelity of the local model against sentence-transformers' own vectors (the fixture was made
//! by `scripts/model/make_reference.py`): same token counts, cosine ≥ 0.999 for every sentence in
//! the default precision (bfloat16 on CPUs with native support), ≥ 0.99999 in f32.

use ragd_embed::local::Precision;
use ragd_embed::{LocalModel, ModelFiles};
use serde_json::Value;
use std::path::PathBuf;

/// The model directory the test suite uses (`scripts/test` fetches it there).
pub fn model_dir() -> PathBuf {
    std::env::var_os("RAGD_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2")
        })
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * y).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|y| y.powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn local_model_matches_sentence_transformers() {
    matches_sentence_transformers(Precision::Auto, 0.999);
}

#[test]
fn f32_is_exact() {
    matches_sentence_transformers(Precision::F32, 0.99999);
}

fn matches_sentence_transformers(precision: Precision, least: f64) {
    let model = LocalModel::load_with(&ModelFiles::new(model_dir()), 2, precision)
        .expect("the local model is installed (scripts/test fetches it)");
    let fixture: Value = serde_json::from_str(include_str!("fixtures/reference.json")).unwrap();
    let items = fixture["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();
    let out = model.embed(&texts).unwrap();
    let mut worst = 1.0f64;
    for (i, item) in items.iter().enumerate() {
        let reference: Vec<f64> = item["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(out.vectors[i].len(), 384);
        assert_eq!(
            out.token_counts[i] as u64,
            item["tokens"].as_u64().unwrap(),
            "token count of {:?}",
            texts[i]
        );
        let norm: f32 = out.vectors[i].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "vectors are L2-normalised");
        let c = cosine(&out.vectors[i], &reference);
        worst = worst.min(c);
        assert!(c >= least, "cosine {c} for {:?} in {precision:?}", texts[i]);
    }
    eprintln!("worst cosine against sentence-transformers in {precision:?}: {worst:.9}");
    // The same text embeds to the same vector alone and in a batch (padding does not leak in).
    let alone = model.embed(&[texts[0]]).unwrap();
    assert!(
        cosine(
            &alone.vectors[0],
            &out.vectors[0].iter().map(|x| *x as f64).collect::<Vec<_>>()
        ) > 0.99999
    );
    assert_eq!(
        model.count_tokens(texts[49]).unwrap(),
        256,
        "long inputs are truncated at the model's 256 tokens"
    );
}

#[test]
fn a_missing_model_says_what_to_do() {
    let err = LocalModel::load(&ModelFiles::new("/nonexistent/model"), 1)
        .err()
        .expect("fails");
    let msg = err.to_string();
    assert!(
        msg.contains("model.onnx") && msg.contains("ragd model fetch"),
        "{msg}"
    );
}
