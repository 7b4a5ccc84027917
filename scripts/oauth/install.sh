#!/usr/bin/env bash
# Installs oauth2-mock-server (npm) for the OAuth tests into .cache/node (once) and prints the
# package's directory. Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=".cache/node"
pkg="$dir/node_modules/oauth2-mock-server"
if [ ! -f "$pkg/package.json" ]; then
  if ! command -v npm >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      apt-get install -y -qq nodejs npm >&2
    else
      echo "npm is needed for the OAuth tests (install nodejs and npm)" >&2
      exit 1
    fi
  fi
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --silent oauth2-mock-server@8 >&2)
fi
echo "$PWD/$pkg"
