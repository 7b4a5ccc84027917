"""The retrieval benchmark's peer: Chroma on the same vectors, same held-out queries, same k.

Usage: chroma_peer.py CORPUS_DIR QUERIES K  -> prints one JSON line.
"""
import json, sys, time, tempfile
import numpy as np
import chromadb

corpus_dir, n_queries, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vectors = np.fromfile(f"{corpus_dir}/vectors.f32", dtype="<f4").reshape(-1, 384)
corpus, queries = vectors[:-n_queries], vectors[-n_queries:]

client = chromadb.PersistentClient(path=tempfile.mkdtemp())
col = client.create_collection("bench", metadata={"hnsw:space": "cosine"})
batch = client.get_max_batch_size()
start = time.perf_counter()
for i in range(0, len(corpus), batch):
    col.add(ids=[str(j) for j in range(i, min(i + batch, len(corpus)))], embeddings=corpus[i:i + batch])
build = time.perf_counter() - start

col.query(query_embeddings=[queries[0].tolist()], n_results=k)
lat, hits = [], 0
for q in queries:
    t = time.perf_counter()
    r = col.query(query_embeddings=[q.tolist()], n_results=k, include=[])
    lat.append(time.perf_counter() - t)
    exact = set(np.argpartition(-(corpus @ q), k)[:k].tolist())
    hits += len(exact & {int(i) for i in r["ids"][0]})
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p + 0.5) - 1)] * 1000
print(json.dumps({"p50": pct(0.5), "p99": pct(0.99), "qps": len(lat) / sum(lat), "recall": hits / (k * len(queries)), "build": build,
                  "version": chromadb.__version__}))
