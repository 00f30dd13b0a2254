"""The student edition: every chapter notebook with its worked solutions removed."""
from __future__ import annotations

import json
import re
from pathlib import Path

# a worked solution, folded the same way in the book and in Colab: <details class="solution">…</details>
SOLUTION = re.compile(r'^<details class="solution">.*?^</details>[ \t]*$\n?', re.MULTILINE | re.DOTALL)
EXERCISE = re.compile(r"^#{2,4} Exercise \d+ \(`[\w-]+`\)", re.MULTILINE)
"""An exercise's heading: its number and its label (the name the instructor guide uses)."""
PLACEHOLDER = "*(The worked solution is in the instructor edition.)*\n"


def strip_solutions(markdown: str) -> str:
    """The markdown with every folded solution replaced by a one-line placeholder."""
    return SOLUTION.sub(PLACEHOLDER, markdown)


def student_notebook(notebook: dict) -> dict:
    """A copy of a notebook (as JSON) whose markdown cells carry no solutions."""
    nb = json.loads(json.dumps(notebook))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = strip_solutions(src)
    return nb


def write_student_edition(book: Path, out: Path) -> list[Path]:
    """Write the student edition of every notebook in ``book`` to ``out``; return the paths."""
    notebooks = sorted(Path(book).glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {book}; pass the course's book/ folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = student_notebook(json.loads(path.read_text()))
        target = out / path.name
        tmp = target.with_suffix(".ipynb.tmp")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(target)
        written.append(target)
    return written
