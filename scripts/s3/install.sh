#!/usr/bin/env bash
# Installs moto (PyPI), a real S3-compatible server, for the S3 tests into .cache/moto (once) and
# prints that directory (put it on PYTHONPATH and run `python3 -m moto.server`).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="$PWD/.cache/moto"
if [ ! -f "$dir/.installed" ]; then
  command -v python3 >/dev/null || { echo "python3 with pip is needed for the S3 tests" >&2; exit 1; }
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --root-user-action=ignore --target "$dir" "moto[s3]" flask flask-cors >&2
  touch "$dir/.installed"
fi
echo "$dir"
