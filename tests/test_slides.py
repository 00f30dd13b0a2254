"""Slides copy what a chapter shows (sections, equations, figures, checked claims) and nothing else."""
import base64
import io
import json
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tutorial_lib.lab import slides  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _png() -> bytes:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _chapter(png: bytes) -> dict:
    md = lambda s: {"cell_type": "markdown", "source": s}  # noqa: E731
    code = lambda outputs: {"cell_type": "code", "source": "print(1)", "outputs": outputs}  # noqa: E731
    return {"cells": [
        md("# Chapter\n\nIntro."), md("## Attacks\n\n$$x' = \\operatorname{clip}(x + \\varepsilon)$$"),
        code([{"output_type": "display_data", "data": {"image/png": base64.b64encode(png).decode()}}]),
        code([{"output_type": "stream", "text": "accuracy 0.98\n✔ PGD beats FGSM at every ε.\n"}]),
        md("## Exercises\n\n### Exercise 1 (`x-ex-a`)\n\nDo it.\n\n<details class=\"solution\">\nSECRET 42\n</details>\n"),
        code([{"output_type": "stream", "text": "✔ a claim inside the exercises\n"}])]}


def test_a_deck_holds_the_sections_equations_figures_and_checked_claims_only():
    png = _png()
    deck = slides.deck(_chapter(png))
    assert [s.title for s in deck] == ["Chapter", "Attacks", "Attacks", "Attacks: checked claims"]
    assert deck[0].lines == ["Attacks"]                                # exercises are not a section
    assert deck[1].equations == ["x' = \\operatorname{clip}(x + \\varepsilon)"]
    assert deck[2].image == png
    assert deck[3].lines == ["✔ PGD beats FGSM at every ε."]           # claims, not other printed numbers
    text = repr(deck)
    assert "SECRET" not in text and "print(1)" not in text and "0.98" not in text


def test_equations_are_rewritten_for_mathtext_or_left_off():
    assert slides.mathtext(r"\lVert \delta \rVert_\infty \le \varepsilon") == r"$\| \delta \|_\infty \leq \varepsilon$"
    assert slides.mathtext(r"\begin{cases} a \\ b \end{cases}") is None


def test_a_deck_is_written_as_a_pdf_with_one_page_per_slide(tmp_path):
    chapter = _chapter(_png())
    chapter["cells"].insert(3, {"cell_type": "markdown", "source": "The line rises."})
    deck = slides.deck(chapter)
    path = slides.write_deck(deck, tmp_path / "decks" / "01.pdf")
    pages = re.findall(rb"/Type\s*/Page\b", path.read_bytes())
    assert path.read_bytes().startswith(b"%PDF") and len(pages) == len(deck)
    notes = path.with_suffix(".notes.txt")
    assert sorted(path.parent.iterdir()) == sorted([path, notes])     # no temporary file left
    assert notes.read_text().startswith("**3. Attacks** — The line rises.")


def test_a_figure_slides_note_is_what_the_chapter_says_next():
    chapter = _chapter(_png())
    chapter["cells"].insert(3, {"cell_type": "markdown", "source": "The line rises. It is [linear](https://x.org), see `f`. Third."})
    deck = slides.deck(chapter)
    assert deck[2].notes == "The line rises. It is linear, see `f`."
    assert all(not s.notes for s in deck if s.image is None)


@pytest.mark.parametrize("chapter", sorted((REPO / "book").glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_every_figure_slide_of_the_book_has_a_speaker_note(chapter):
    missing = [s.title for s in slides.deck(json.loads(chapter.read_text())) if s.image is not None and not s.notes]
    assert not missing, f"{chapter.stem}: figure slides without a note: {missing}"


def test_the_instructor_guide_links_a_deck_for_every_chapter():
    guide = (REPO / "book" / "instructor_guide.md").read_text()
    for chapter in sorted((REPO / "book").glob("[0-9]*.ipynb")):
        assert f"(../_slides/{chapter.stem}.pdf)" in guide


def _overflowing(fig) -> list[str]:
    """The texts of a laid-out slide that reach beyond its page."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(fig).get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    return [t.get_text()[:60] for t in fig.texts
            if (bb := t.get_window_extent(renderer)).x0 < 0 or bb.y0 < 0 or bb.x1 > w or bb.y1 > h]


def test_an_overfull_slide_is_caught():
    fig = slides.page(slides.Slide("claims", lines=[f"✔ claim {i} " + "word " * 30 for i in range(20)]))
    assert _overflowing(fig)


@pytest.mark.parametrize("chapter", sorted((REPO / "book").glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_every_slides_text_fits_its_page(chapter):
    for slide in slides.deck(json.loads(chapter.read_text())):
        assert not _overflowing(slides.page(slide)), f"{chapter.stem}: slide {slide.title!r} runs off its page"
