#!/usr/bin/env bash
# The whole test suite (what `make test` runs): the linter, unit tests, every chapter re-executed once by nbval
# as a fresh Colab runtime on a second machine would run it (another kernel dispatch and thread count),
# the book built with warnings as errors, and the pages opened in Chromium. Prints stage times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# An absolute path, but never a resolved symlink: .venv/bin/python links to the base interpreter,
# and only the link (which finds pyvenv.cfg beside it) runs inside the virtual environment.
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
VENV_PREFIX=$("$PY" -c 'import sys; print(sys.prefix)')
if [ "$("$PY" -c 'import sys; print(sys.prefix != sys.base_prefix)')" != True ]; then
  echo "ERROR: $PY is not a virtual environment's interpreter (sys.prefix = $VENV_PREFIX)." >&2
  echo "Run 'make setup' and use .venv/bin/python (make test does)." >&2
  exit 1
fi
export PYTHONNOUSERSITE=1   # nothing from ~/.local leaks into the stages
# Tests never download: use the shared copy beside the checkout when nothing else is set.
if [ -z "${TUTORIAL_LIB_DATA:-}" ] && [ -d ../shared/data ]; then
  export TUTORIAL_LIB_DATA=$(realpath ../shared/data)
fi
export TUTORIAL_LIB_OFFLINE=1
export CI=${CI:-true}   # progress bars off, as in the stored outputs

stage() { local name=$1; shift; local t0=$SECONDS; echo "=== $name"; "$@"; echo "=== $name: $((SECONDS - t0)) s"; }

# Every stage runs "$PY" (and nbval's kernel runs pytest's own interpreter: --nbval-current-env);
# each stage first proves it, so that nothing passes on a base interpreter that happens to have torch.
interpreter_check() {  # LABEL PYTHON: fail unless PYTHON runs in this virtual environment
  "$2" - "$1" "$VENV_PREFIX" <<'PYCHECK'
import sys
label, want = sys.argv[1], sys.argv[2]
print(f"{label}: sys.prefix = {sys.prefix}")
if sys.prefix != want or sys.prefix == sys.base_prefix:
    sys.exit(f"ERROR: {label} runs outside the virtual environment {want}")
import torch, tutorial_lib  # noqa: E401,F401  (installed there, not borrowed from elsewhere)
PYCHECK
}

jupyter_book() { "$PY" -c 'import sys; from jupyter_book.cli.main import main; sys.argv[0] = "jupyter-book"; sys.exit(main())' "$@"; }

lint() {  # pyflakes' rules (unused and undefined names, redefinitions) on the library, tests and benchmarks
  interpreter_check "lint" "$PY" && "$PY" -m ruff check tutorial_lib tests benchmarks
}

unit() {  # one single-threaded pytest-xdist worker per core, each test file on one worker
  interpreter_check "unit tests" "$PY" &&
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" -m pytest -q -n "$(nproc)" --dist loadfile tests
}

notebooks() {  # [WORKERS]: 1 (default), or that many single-threaded pytest processes
  # A fresh Colab runtime: tutorial_lib installed from its wheel, each chapter copied away from the
  # repository. The chapters' first cells find the library and install nothing. Cells that declare
  # a tolerance (metadata "tolerance") compare their numbers within it (tests/nbval_tolerance.py).
  local workers=${1:-1} repo tmp; repo=$(pwd); tmp=$(mktemp -d)
  interpreter_check "notebooks" "$PY"
  "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/dist" .
  "$PY" -m pip install -q --no-deps --target "$tmp/site" "$tmp"/dist/*.whl
  mkdir "$tmp/nb" "$tmp/plugins" && cp book/*.ipynb "$tmp/nb/" && cp tests/nbval_tolerance.py "$tmp/plugins/"
  (
    cd "$tmp/nb"
    export PYTHONPATH="$tmp/site:$tmp/plugins"
    "$PY" -c "import tutorial_lib, sys; p = tutorial_lib.__file__; print('tutorial_lib from', p); sys.exit(not p.startswith('$tmp/site'))"
    # the zoo ships inside the wheel and loads offline
    "$PY" -c "from tutorial_lib import zoo; [zoo.load(n) for n in zoo.names()]; print(len(zoo.names()), 'zoo models load from the wheel')"
    # the kernel nbval starts must be this environment's interpreter too: prove it with a notebook
    "$PY" - "$VENV_PREFIX" <<'PYNB'
import sys, nbformat
cell = nbformat.v4.new_code_cell(
    "import sys, torch, tutorial_lib\n"
    f"assert sys.prefix == {sys.argv[1]!r}, f'the kernel runs outside the virtual environment: {{sys.prefix}}'")
nb = nbformat.v4.new_notebook(cells=[cell])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(nb, "00_interpreter_check.ipynb")
PYNB
    echo "notebooks under ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-native} OMP_NUM_THREADS=${OMP_NUM_THREADS:-native}"
    local nbval=("$PY" -m pytest -q -p no:cacheprovider --nbval --nbval-current-env -p nbval_tolerance --durations=0)
    if [ "$workers" = 1 ]; then
      "${nbval[@]}" ./*.ipynb | tee "$NB_DURATIONS"
      exit "${PIPESTATUS[0]}"
    fi
    # one single-threaded pytest per core; chapters shared out by the seconds they took in an
    # earlier single-worker pass of this run (or, without one, when last timed by benchmarks/book_time.py)
    "$PY" "$repo/.ci/split_chapters.py" "$repo/tutorial_lib/results/book_time.json" "$workers" \
      "$NB_DURATIONS" > groups.txt
    local pids=() i=0 group failed=0 pid
    while read -r group; do
      # shellcheck disable=SC2086
      "${nbval[@]}" $group > "worker$i.log" 2>&1 &
      pids+=($!); i=$((i + 1))
    done < groups.txt
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    for ((j = 0; j < i; j++)); do echo "--- worker $j: $(sed -n "$((j + 1))p" groups.txt)"; cat "worker$j.log"; done
    exit $failed
  )
  rm -rf "$tmp"
}

second_machine() {
  # The notebooks as a second machine would run them: another kernel dispatch and thread count than
  # the machine that stored their outputs. Training and attack numbers move slightly; declared
  # tolerances absorb it.
  local cap threads
  if [ "${ATEN_CPU_CAPABILITY:-}" = default ]; then cap=""; else cap=default; fi
  if [ "${OMP_NUM_THREADS:-}" = 1 ]; then threads=2; else threads=1; fi
  # single-threaded, the chapters run side by side, one pytest per core, to keep CI's time
  local workers=1; if [ "$threads" = 1 ]; then workers=$(nproc); fi
  ( if [ -n "$cap" ]; then export ATEN_CPU_CAPABILITY=$cap; else unset ATEN_CPU_CAPABILITY; fi
    export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
    notebooks "$workers" )
}

book() {
  interpreter_check "book build" "$PY"
  rm -rf _build/html _build/jupyter_execute _build/.doctrees _slides
  "$PY" -m tutorial_lib slides --out _slides | tail -n 1   # the instructor guide links these decks
  jupyter_book build . -W -n --keep-going -q 2>&1 | tail -n 5; test -f _build/html/book/index.html
}

browser() {
  # Debian's Chromium, offline: math must render from the local MathJax, no console errors.
  if ! command -v chromium >/dev/null && [ -n "${CI:-}" ] && command -v apt-get >/dev/null; then
    { apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }; } >/dev/null 2>&1 || true
  fi
  if ! command -v chromium >/dev/null; then
    echo "browser check SKIPPED: no chromium here (apt-get install chromium) - nothing was checked"
    return 0
  fi
  interpreter_check "browser check" "$PY"
  "$PY" .ci/browser_check.py _build/html
}

NB_DURATIONS=$(mktemp)   # a single-worker pass's --durations report (balances a later multi-worker pass)
trap 'rm -f "$NB_DURATIONS"' EXIT
t0=$SECONDS
stage "lint (ruff)" lint
stage "unit tests" unit
# Each chapter runs once: in a fresh-runtime layout (wheel install, notebook copied away) and as a
# second machine would run it (the stored outputs come from the authors' machine), so the one run
# checks Colab-readiness and reproducibility across machines together.
stage "notebooks (nbval, fresh-runtime layout, as a second machine: other kernel dispatch and thread count)" second_machine
stage "book build (-W)" book
stage "browser check (headless Chromium, offline)" browser
echo "=== all stages: $((SECONDS - t0)) s"
