"""The peer of the embedding benchmark: sentence-transformers (PyTorch) on the same chunks and
batch size, plus this machine's measured f32 and bf16 matrix-multiply rates, which set the floors.

Usage: embedding_peer.py CHUNKS.jsonl MODEL_DIR BATCH  → prints one JSON line
"""

import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

chunks = [json.loads(line) for line in open(sys.argv[1])]
model = SentenceTransformer(sys.argv[2], device="cpu")
batch = int(sys.argv[3])
torch.set_num_threads(torch.get_num_threads())
tokens = sum(len(model.tokenizer(c, truncation=True, max_length=model.max_seq_length)["input_ids"]) for c in chunks)
model.encode(chunks[:64], batch_size=batch)  # warm-up
start = time.perf_counter()
model.encode(chunks, batch_size=batch)
seconds = time.perf_counter() - start


def gemm_gflops(dtype, reps=20):
    """The machine's GEMM rate in a precision (oneDNN uses AMX for bf16 where the CPU has it)."""
    a, b = torch.randn(2048, 2048).to(dtype), torch.randn(2048, 2048).to(dtype)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return reps * 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9


# bf16 is measured only where the CPU computes it natively (AMX, AVX512-BF16): elsewhere PyTorch
# emulates it at ~1 GFLOP/s and the probe alone takes minutes.
flags = set(open("/proc/cpuinfo").read().split())
native_bf16 = bool(flags & {"avx512_bf16", "amx_bf16"})
print(json.dumps({"tokens": tokens, "seconds": seconds, "threads": torch.get_num_threads(),
                  "gemm_gflops": gemm_gflops(torch.float32),
                  "bf16_gemm_gflops": gemm_gflops(torch.bfloat16) if native_bf16 else None}))
