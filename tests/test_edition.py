"""The student edition keeps the exercises and drops every worked solution."""
import json
from pathlib import Path

import pytest

from tutorial_lib.lab.cli import main
from tutorial_lib.lab.edition import EXERCISE, strip_solutions, write_student_edition

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_strip_solutions_keeps_exercises_and_removes_solution_blocks():
    md = ("### Exercise 1 (`e1`)\n\nDo it.\n\n<details class=\"solution\">\n<summary>Solution</summary>\n\n"
          "SECRET\n\n    code = 1\n\n</details>\n\nAfter.\n\n<details class=\"solution\">\n<summary>Solution</summary>\n\n"
          "SECRET2\n```python\nx\n```\n\n</details>\n\n<details>\n<summary>A hint</summary>\n\nKEEP\n\n</details>\n")
    out = strip_solutions(md)
    assert "Do it." in out and "After." in out and "Exercise 1 (`e1`)" in out and "KEEP" in out
    assert "SECRET" not in out and "class=\"solution\"" not in out and out.count("instructor edition") == 2


def _solution_bodies(notebook):
    """The lines of each folded solution: from its opening tag to its closing one."""
    for c in notebook["cells"]:
        lines = "".join(c["source"]).splitlines() if c["cell_type"] == "markdown" else []
        for i, line in enumerate(lines):
            if line.startswith('<details class="solution">'):
                end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "</details>")
                yield lines[i + 1:end]


def test_no_solution_text_survives_in_the_student_edition(tmp_path):
    written = write_student_edition(BOOK, tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in BOOK.glob("*.ipynb"))
    for path in written:
        original = json.loads((BOOK / path.name).read_text())
        student = json.loads(path.read_text())
        text = "".join("".join(c["source"]) for c in student["cells"] if c["cell_type"] == "markdown")
        assert 'class="solution"' not in text
        for body in _solution_bodies(original):
            long_lines = [ln for ln in body if len(ln.strip()) > 30]  # solution prose and code
            assert long_lines and not any(ln in text for ln in long_lines), path.name
        assert len(EXERCISE.findall(text)) >= 3 or not path.name[0].isdigit()   # the lab notes have none
        assert len(student["cells"]) == len(original["cells"])  # code and outputs untouched


def test_cli_writes_the_edition_and_refuses_an_empty_book(tmp_path, capsys):
    assert main(["student-edition", "--book", str(BOOK), "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "03_attacks.ipynb").is_file()
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        write_student_edition(tmp_path / "empty", tmp_path / "out")
