"""The instructor's gradebook: run each submitted notebook once, collect every self-check it made,
and write one row per submission.

While ``TUTORIAL_LIB_GRADEBOOK`` names a file, ``grading.check`` and ``quiz.check`` append each
verdict to it as a line of JSON; ``grade`` sets it for every notebook it runs, so the grades come
from checks the code made, not from ✔ lines a student could type.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tutorial_lib.checkpoint import atomic_write_bytes

LOG_VARIABLE = "TUTORIAL_LIB_GRADEBOOK"
"""The environment variable that names the verdict log (unset: checks only print)."""


def log_verdict(kind: str, label: str, passed: bool, detail: str = "") -> None:
    """Append one verdict to the log ``TUTORIAL_LIB_GRADEBOOK`` names, if it names one."""
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "label": label, "passed": passed, "detail": detail}) + "\n")


def read_log(path: Path) -> dict[str, bool]:
    """Each label's last verdict in a log (a student may check an answer again after fixing it)."""
    if not path.exists():
        return {}
    return {v["label"]: v["passed"] for v in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def run_notebook(path: Path, log: Path, *, timeout: int) -> tuple[int, str]:
    """Execute a copy of notebook ``path`` in its own folder with the verdict log set, every cell even
    after an error (a cell over ``timeout`` seconds is interrupted and counts as one); return how many
    cells raised an error, and why the run stopped early ("" when it ran to the end)."""
    try:
        import nbformat  # optional: only an instructor's machine runs notebooks (jupyter-book brings it)
        from nbclient import NotebookClient  # optional, as nbformat
    except ImportError as e:
        raise RuntimeError("the gradebook runs notebooks with nbclient: pip install nbclient nbformat") from e
    before = os.environ.get(LOG_VARIABLE)
    os.environ[LOG_VARIABLE] = str(log)  # the kernel inherits this process's environment
    cells, stopped = [], ""
    try:
        nb = nbformat.read(path, as_version=4)
        cells = nb.cells
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as e:  # an unreadable notebook or a dead kernel: the row says so, the other rows go on
        stopped = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"[:200]
    finally:
        os.environ.pop(LOG_VARIABLE) if before is None else os.environ.update({LOG_VARIABLE: before})
    return sum(o.get("output_type") == "error" for c in cells for o in c.get("outputs", [])), stopped


def grade(notebooks: Sequence[Path], *, timeout: int = 1800) -> dict[str, dict[str, Any]]:
    """Per submission (by the path given): its checks' last verdicts, how many cells raised an error,
    and why its run stopped early, if it did."""
    missing = [str(p) for p in notebooks if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"no such notebook: {', '.join(missing)}")
    rows = {}
    for path in map(Path, notebooks):
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "verdicts.jsonl"
            errors, stopped = run_notebook(path, log, timeout=timeout)
            rows[str(path)] = {"verdicts": read_log(log), "errors": errors, "stopped": stopped}
    return rows


def to_csv(rows: dict[str, dict[str, Any]]) -> str:
    """The gradebook as CSV: a row per submission — checks passed, of those made, cells that raised an
    error, why the run stopped early — then a column per exercise or quiz any submission checked
    (pass, fail, or empty)."""
    labels = sorted({label for r in rows.values() for label in r["verdicts"]})
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["notebook", "passed", "checked", "errors", "stopped", *labels])
    for name, r in rows.items():
        v = r["verdicts"]
        w.writerow([name, sum(v.values()), len(v), r["errors"], r.get("stopped", ""),
                    *("" if label not in v else "pass" if v[label] else "fail" for label in labels)])
    return out.getvalue()


def write(rows: dict[str, dict[str, Any]], path: Path) -> None:
    """Write the gradebook's CSV atomically (an interrupted run leaves the old file)."""
    atomic_write_bytes(path, to_csv(rows).encode("utf-8"))
