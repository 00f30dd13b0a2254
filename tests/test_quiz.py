"""Each chapter's quiz: shown in the chapter as the library writes it, checked without giving the key away."""
import json
from pathlib import Path

import pytest

from tutorial_lib.lab import quiz

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "book").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.stem)
def test_every_chapter_shows_its_quiz_before_its_exercises(nb):
    cells = ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    label = quiz.CHAPTER_QUIZ[nb.name[:2]]
    at = cells.index(quiz.section(label))   # exactly the library's text: the key and the page agree
    assert cells[at + 1].startswith("## Exercises")


def test_every_chapter_has_one_quiz_and_every_quiz_a_chapter():
    assert sorted(quiz.CHAPTER_QUIZ) == sorted(p.name[:2] for p in LESSONS)
    assert sorted(quiz.CHAPTER_QUIZ.values()) == sorted(quiz.QUIZZES)


def test_the_key_is_spread_over_the_letters_and_every_answer_has_a_reason():
    answers = [q.answer for qs in quiz.QUIZZES.values() for q in qs]
    assert all(answers.count(letter) >= 5 for letter in "abc")   # no "always (a)"
    assert all(len(q.why) > 20 and len(q.options) >= 3 for qs in quiz.QUIZZES.values() for q in qs)


def test_check_accepts_the_key_names_the_wrong_question_and_never_prints_the_key(capsys):
    key = {i: q.answer for i, q in enumerate(quiz.QUIZZES["toy-quiz"], 1)}
    assert quiz.check("toy-quiz", key) and quiz.check("toy-quiz", {i: f"({a.upper()})" for i, a in key.items()})
    wrong = {**key, 2: "a" if key[2] != "a" else "b"}
    capsys.readouterr()
    assert not quiz.check("toy-quiz", wrong)
    out = capsys.readouterr().out
    assert "revisit question(s) [2]" in out and "(c)" not in out and key[2] not in out.split("[2]")[1]
    assert not quiz.check("toy-quiz", {1: key[1]})   # unanswered questions are named, not guessed


def test_a_question_whose_answer_is_not_an_option_is_refused():
    with pytest.raises(ValueError, match="not one of the options"):
        quiz.Question("?", ("yes", "no"), "c", "because")
    with pytest.raises(KeyError, match="quizzes"):
        quiz.check("no-such-quiz", {})
