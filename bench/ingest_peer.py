"""The ingest benchmark's peer: the Python stack a user would pick instead of ragd, on the same site.

requests + BeautifulSoup crawl BASE/book/index.html (every <a href> under /book/, one page at a
time, as a user's script would) and take each page's text; LangChain's sentence-transformers token
splitter cuts it by the model's own tokens (200 per chunk, 40 overlap: ragd's defaults for this
model); sentence-transformers embeds the chunks (batch 32, the machine's cores); Chroma stores them.

Usage: ingest_peer.py BASE_URL MODEL_DIR   -> one JSON line (seconds per stage, imports included).
"""
import time

t0 = time.perf_counter()
import json, sys, tempfile, urllib.parse  # noqa: E401

import chromadb
import requests
from bs4 import BeautifulSoup
from langchain_text_splitters import SentenceTransformersTokenTextSplitter
from sentence_transformers import SentenceTransformer

imports = time.perf_counter() - t0
base, model_dir = sys.argv[1].rstrip("/"), sys.argv[2]
start_url, scope = f"{base}/book/index.html", f"{base}/book/"

t = time.perf_counter()
model = SentenceTransformer(model_dir, device="cpu")
splitter = SentenceTransformersTokenTextSplitter(model_name=model_dir, tokens_per_chunk=200, chunk_overlap=40)
load = time.perf_counter() - t

# Crawl and parse.
t = time.perf_counter()
session = requests.Session()
seen, queue, pages = {start_url}, [start_url], []
while queue:
    url = queue.pop(0)
    r = session.get(url, timeout=30)
    if r.status_code != 200 or "html" not in r.headers.get("content-type", ""):
        continue
    soup = BeautifulSoup(r.content, "html.parser")
    for a in soup.find_all("a", href=True):
        link = urllib.parse.urldefrag(urllib.parse.urljoin(url, a["href"]))[0]
        if link.startswith(scope) and link not in seen and (link.endswith(".html") or link.endswith("/")):
            seen.add(link)
            queue.append(link)
    main = soup.find("main") or soup.body or soup
    text = main.get_text("\n", strip=True)
    if text:
        pages.append((url, text))
crawl = time.perf_counter() - t

# Split by the model's tokens.
t = time.perf_counter()
chunks, ids = [], []
for url, text in pages:
    for i, c in enumerate(splitter.split_text(text)):
        chunks.append(c)
        ids.append(f"{url}#{i}")
split = time.perf_counter() - t

# Embed.
t = time.perf_counter()
vectors = model.encode(chunks, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
embed = time.perf_counter() - t

# Index.
t = time.perf_counter()
client = chromadb.PersistentClient(path=tempfile.mkdtemp())
col = client.create_collection("book", metadata={"hnsw:space": "cosine"})
step = client.get_max_batch_size()
for i in range(0, len(chunks), step):
    col.add(ids=ids[i:i + step], documents=chunks[i:i + step], embeddings=vectors[i:i + step])
index = time.perf_counter() - t

total = time.perf_counter() - t0
# What the model read (special tokens included, as ragd counts), outside the clock.
tokens = sum(len(model.tokenizer(c, truncation=True, max_length=256)["input_ids"]) for c in chunks)
print(json.dumps({"pages": len(pages), "chunks": len(chunks), "tokens": tokens, "imports": imports, "load": load,
                  "crawl": crawl, "split": split, "embed": embed, "index": index, "total": total}))
