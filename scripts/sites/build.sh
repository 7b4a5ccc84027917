#!/usr/bin/env bash
# Builds real documentation sites with their real generators, for the crawl tests, and prints the
# directory that holds them. Each is built from content that ships with the generator's own
# package, exactly as the generator publishes it (nothing added: no sitemap, no robots rule):
#   sphinx/           Sphinx 9.0.4's own documentation (doc/ of its PyPI sdist)
#   mkdocs-subpages/  MkDocs 1.6.1's sample project with nested sections (its sdist's tests)
#   mkdocs-unicode/   MkDocs 1.6.1's sample project with non-ASCII page names
#   mdbook-summary/   mdBook 0.5.4 (crates.io) building its sample book that uses every SUMMARY
#                     feature (parts, nesting, prefix and suffix chapters, drafts)
# Built once into $RAGD_SITES_DIR (default .cache/sites); a finished build leaves `built`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${RAGD_SITES_DIR:-$PWD/.cache/sites}
mkdir -p "$out"
exec 9>"$out.lock"
flock 9
if [ -f "$out/built" ]; then echo "$out"; exit 0; fi
work=$out/work
rm -rf "$work" && mkdir -p "$work"
quiet_pip=(--quiet --disable-pip-version-check --root-user-action=ignore)

echo "building the crawl tests' sites (Sphinx, MkDocs, mdBook) into $out" >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install "${quiet_pip[@]}" sphinx==9.0.4 mkdocs==1.6.1 >&2
"$work/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d "$work" sphinx==9.0.4 mkdocs==1.6.1 >&2
tar -xzf "$work/sphinx-9.0.4.tar.gz" -C "$work"
tar -xzf "$work/mkdocs-1.6.1.tar.gz" -C "$work"

rm -rf "$out/sphinx"
"$work/venv/bin/sphinx-build" -q -b html -j 2 "$work/sphinx-9.0.4/doc" "$out/sphinx" 2>"$work/sphinx.log" ||
  { tail -n 20 "$work/sphinx.log" >&2; exit 1; }
for project in subpages unicode; do
  rm -rf "$out/mkdocs-$project"
  (cd "$work/mkdocs-1.6.1/mkdocs/tests/integration/$project" && "$work/venv/bin/mkdocs" build -q -d "$out/mkdocs-$project") >&2
done

mdbook=$out/mdbook/bin/mdbook
if [ ! -x "$mdbook" ]; then
  cargo install --quiet --locked --no-default-features --features search --root "$out/mdbook" mdbook@0.5.4 >&2
fi
book=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 6 -type d -path '*/mdbook-0.5.4/tests/gui/books/all-summary' | head -n 1)
[ -n "$book" ] || { echo "mdBook 0.5.4's sample books are not in the cargo registry" >&2; exit 1; }
rm -rf "$out/mdbook-summary" "$work/all-summary" && cp -r "$book" "$work/all-summary"
"$mdbook" build -d "$out/mdbook-summary" "$work/all-summary" >&2 2>"$work/mdbook.log" || { tail -n 20 "$work/mdbook.log" >&2; exit 1; }

touch "$out/built"
echo "$out"
