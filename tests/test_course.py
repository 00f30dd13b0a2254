"""Course planning: the exercise catalogue matches the chapters, and student time is counted
from what a student reads (solutions excluded)."""
import json
from pathlib import Path

import pytest

from tutorial_lib.lab import course
from tutorial_lib.lab.cli import guide_tables

REPO = Path(__file__).resolve().parents[1]


def _notebook(tmp_path: Path, name: str, *cells: tuple[str, str]) -> Path:
    nb = {"cells": [{"cell_type": kind, "source": src, "metadata": {}} for kind, src in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    return path


def test_the_catalogue_lists_every_exercise_of_the_book_in_chapter_order():
    labels = [e for p in sorted((REPO / "book").glob("[0-9]*.ipynb"))
              for e in course.chapter_contents(p)["exercises"]]
    assert labels == list(course.EXERCISES)


def test_reading_time_counts_prose_and_code_but_not_the_folded_solutions(tmp_path):
    solution = "<details class=\"solution\">\n<summary>Solution</summary>\n\n" + "word " * 500 + "\n</details>\n"
    _notebook(tmp_path, "01_a.ipynb",
              ("markdown", "one two three four\n\n### Exercise 1 (`toy-ex-proof`)\n\nProve it.\n\n" + solution),
              ("code", "x = 1\n\ny = 2\n"))
    (row,) = course.student_time(tmp_path, {"01_a": 90.0})
    assert row["words"] == 4 + 4 + 2 and row["code_lines"] == 2 and row["exercises"] == ["toy-ex-proof"]
    assert row["read"] == pytest.approx(10 / course.READING_WPM + 2 / course.CODE_LINES_PER_MINUTE)
    assert row["run"] == 1.5 and row["exercise_minutes"] == course.EXERCISES["toy-ex-proof"].minutes


def test_an_exercise_missing_from_the_catalogue_is_named(tmp_path):
    _notebook(tmp_path, "01_a.ipynb", ("markdown", "### Exercise 1 (`new-ex-thing`)\n\nDo it."))
    with pytest.raises(KeyError, match="new-ex-thing"):
        course.student_time(tmp_path, {})


def test_an_exercise_needs_a_known_kind_and_a_difficulty_of_one_to_three():
    with pytest.raises(ValueError, match="kind"):
        course.Exercise("essay", 1, 10)
    with pytest.raises(ValueError, match="difficulty"):
        course.Exercise("coding", 4, 10)


def test_tables_replace_only_the_text_between_their_markers():
    page = "intro\n<!-- t:start -->\nold\n<!-- t:end -->\noutro"
    assert course.with_table(page, "t", "new") == "intro\n<!-- t:start -->\nnew\n<!-- t:end -->\noutro"
    with pytest.raises(ValueError, match="no <!-- u:start -->"):
        course.with_table(page, "u", "new")


def test_the_instructor_guide_carries_the_generated_tables():
    guide = (REPO / "book" / "instructor_guide.md").read_text()
    for name, table in guide_tables(REPO / "book").items():
        assert course.with_table(guide, name, table) == guide, f"run `python -m tutorial_lib guide` ({name})"
