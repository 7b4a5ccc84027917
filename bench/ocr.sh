#!/usr/bin/env bash
# OCR throughput and memory: a real PDF (shared-mime-info's spec, 17 pages) rendered to images
# and packed back into an image-only PDF (as a scanner delivers it), then parsed by ragd's parser
# (each page rendered at 300 dpi by pdftoppm and read by Tesseract, a page per core at once). Prints
# pages/s and the peak resident memory of the parser and of its page processes, with the CPU.
#
# Usage: bench/ocr.sh   (needs tesseract-ocr, poppler-utils and img2pdf: ./scripts/test installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
spec=/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pdftoppm -r 200 -gray -png "$spec" "$work/p"
img2pdf "$work"/p-*.png -o "$work/scanned.pdf"
pages=$(ls "$work"/p-*.png | wc -l)
cargo build -q --release -p ragd-pipeline --example parse 2>/dev/null
python3 - "$work/scanned.pdf" "$pages" <<'PY'
import resource, subprocess, sys, time
pdf, pages = sys.argv[1], int(sys.argv[2])
start = time.monotonic()
out = subprocess.run(["target/release/examples/parse", pdf], capture_output=True, text=True, check=True)
wall = time.monotonic() - start
# The peak of the parser and, through it, of every page process it waited for.
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
flags = sorted({f for l in open("/proc/cpuinfo") if l.startswith("flags") for f in l.split()
                if f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")})
model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
print(f"\nOCR of a scanned PDF ({pages} pages, rendered at 300 dpi, {tess}, a page per core at once)")
print(f"CPU: {model}, flags {' '.join(flags)}\n")
print("| measurement | value |")
print("|---|---|")
print(f"| wall time | {wall:.1f} s |")
print(f"| pages/s | {pages / wall:.2f} |")
print(f"| peak RSS (parser or a page process, the larger) | {peak:.0f} MiB |")
print(f"| characters read | {len(out.stdout):,} |")
PY
