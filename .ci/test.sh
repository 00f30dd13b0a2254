#!/usr/bin/env bash
# The whole test suite (what `make test` runs): unit tests, every chapter re-executed by nbval as a
# fresh Colab runtime would run it, and the book built with warnings as errors. Prints stage times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PY=$(realpath "$PY")
# Tests never download: use the shared copy beside the checkout when nothing else is set.
if [ -z "${TUTORIAL_LIB_DATA:-}" ] && [ -d ../shared/data ]; then
  export TUTORIAL_LIB_DATA=$(realpath ../shared/data)
fi
export TUTORIAL_LIB_OFFLINE=1
export CI=${CI:-true}   # progress bars off, as in the stored outputs

stage() { local name=$1; shift; local t0=$SECONDS; echo "=== $name"; "$@"; echo "=== $name: $((SECONDS - t0)) s"; }

unit() { "$PY" -m pytest -q tests; }

notebooks() {
  # A fresh Colab runtime: tutorial_lib installed from its wheel, each chapter copied away from the
  # repository. The chapters' first cells find the library and install nothing.
  local tmp; tmp=$(mktemp -d)
  "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/dist" .
  "$PY" -m pip install -q --no-deps --target "$tmp/site" "$tmp"/dist/*.whl
  mkdir "$tmp/nb" && cp book/*.ipynb "$tmp/nb/"
  (
    cd "$tmp/nb"
    export PYTHONPATH="$tmp/site"
    "$PY" -c "import tutorial_lib, sys; p = tutorial_lib.__file__; print('tutorial_lib from', p); sys.exit(not p.startswith('$tmp/site'))"
    # the zoo ships inside the wheel and loads offline
    "$PY" -c "from tutorial_lib import zoo; [zoo.load(n) for n in zoo.names()]; print(len(zoo.names()), 'zoo models load from the wheel')"
    "$PY" -m pytest -q -p no:cacheprovider --nbval --durations=0 ./*.ipynb
  )
  rm -rf "$tmp"
}

book() { rm -rf _build; "$(dirname "$PY")/jupyter-book" build . -W -n --keep-going -q 2>&1 | tail -n 5; test -f _build/html/book/index.html; }

browser() {
  # Debian's Chromium, offline: math must render from the local MathJax, no console errors.
  if ! command -v chromium >/dev/null && [ -n "${CI:-}" ] && command -v apt-get >/dev/null; then
    { apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }; } >/dev/null 2>&1 || true
  fi
  if ! command -v chromium >/dev/null; then
    echo "browser check SKIPPED: no chromium here (apt-get install chromium) - nothing was checked"
    return 0
  fi
  "$PY" .ci/browser_check.py _build/html
}

t0=$SECONDS
stage "unit tests" unit
stage "notebooks (nbval, fresh-runtime layout)" notebooks
stage "book build (-W)" book
stage "browser check (headless Chromium, offline)" browser
echo "=== all stages: $((SECONDS - t0)) s"
