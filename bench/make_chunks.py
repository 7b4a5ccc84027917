"""Writes N chunks of about W words of real prose from the Rust Book and Reference HTML that
ships with the Rust toolchain, one JSON string per line. Used by the embedding benchmark.

Usage: make_chunks.py OUT.jsonl [N=2000] [W=200]
"""

import glob
import html.parser
import json
import os
import subprocess
import sys


class Text(html.parser.HTMLParser):
    SKIP = {"script", "style", "nav", "head"}

    def __init__(self):
        super().__init__()
        self.depth, self.words = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.SKIP

    def handle_endtag(self, tag):
        self.depth -= tag in self.SKIP and self.depth > 0

    def handle_data(self, data):
        if not self.depth:
            self.words.extend(data.split())


def main(out, n=2000, w=200):
    root = subprocess.check_output(["rustc", "--print", "sysroot"], text=True).strip() + "/share/doc/rust/html"
    pages = sorted(glob.glob(f"{root}/book/*.html")) + sorted(glob.glob(f"{root}/reference/*.html"))
    chunks = []
    for page in pages:
        p = Text()
        p.feed(open(page, encoding="utf-8", errors="replace").read())
        words = p.words
        chunks.extend(" ".join(words[i:i + w]) for i in range(0, len(words) - w // 2, w))
        if len(chunks) >= n:
            break
    if len(chunks) < n:
        sys.exit(f"only {len(chunks)} chunks in {len(pages)} pages")
    with open(out, "w") as f:
        for c in chunks[:n]:
            f.write(json.dumps(c) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:4]))
