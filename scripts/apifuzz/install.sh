#!/usr/bin/env bash
# Installs schemathesis (PyPI), the API fuzzer of the test suite, into .cache/schemathesis (once)
# and prints the path of its `st` command.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="$PWD/.cache/schemathesis"
version=4.32.5
if [ ! -f "$venv/.installed-$version" ]; then
  # The newest Python there is: CPython 3.11's parser fails on hypothesis' deep lambda parsing
  # ("AST constructor recursion depth mismatch"), which ends a run with an internal error.
  python=""
  pyenv_root=$(pyenv root 2>/dev/null || true)
  for p in python3.13 python3.12 ${pyenv_root:+$pyenv_root/versions/3.1[2-9]*/bin/python3} python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import venv' 2>/dev/null; then python=$p; break; fi
  done
  [ -n "$python" ] || { echo "python3 with venv is needed for the API fuzzing test" >&2; exit 1; }
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
  touch "$venv/.installed-$version"
fi
echo "$venv/bin/st"
