"""A chapter opened alone (Colab, plain Jupyter) reads like the book: code listings visible,
solutions folded, citations as text, no MyST markup and no file the reader does not have."""
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tutorial_lib.lab.edition import EXERCISE

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "book").glob("*.ipynb"))
BIB_URLS = set(re.findall(r"^\s*url\s*=\s*\{(.*?)\}", (REPO / "book" / "references.bib").read_text(), re.M))

MYST_ONLY = {
    "a directive": re.compile(r"^\s*(`{3,}|:{3,})\{[\w:-]+\}", re.M),
    "a role": re.compile(r"\{[a-z]+(:[a-z]+)?\}`"),
    "a target": re.compile(r"^\([\w-]+\)=\s*$", re.M),
}
"""MyST syntax that a plain Markdown renderer shows as raw text."""


def _markdown(nb: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_no_myst_markup_that_colab_would_show_raw(nb):
    found = [f"{what}: {m.group(0).strip()!r}" for md in _markdown(nb) for what, rx in MYST_ONLY.items()
             for m in rx.finditer(md)]
    assert not found, f"{nb.name} shows raw MyST in Colab: {found}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_citations_are_links_to_works_in_the_bibliography(nb):
    links = [(t, u) for md in _markdown(nb) for t, u in re.findall(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", md)]
    scholarly = [(t, u) for t, u in links if "arxiv.org" in u or "adversarial-ml-tutorial" in u]
    assert scholarly, f"{nb.name} cites nothing"
    named = {u for t, u in scholarly if re.search(r"(19|20)\d\d", t)}  # "Madry et al. (2018)"
    for text, url in scholarly:
        assert url in BIB_URLS, f"{nb.name}: {url} is not in book/references.bib"
        assert url in named, f"{nb.name}: {text!r} links a work the chapter never cites by author and year"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_no_reference_to_a_file_the_reader_does_not_have(nb):
    for md in _markdown(nb):
        assert "paper-notes" not in md
        relative = [u for u in re.findall(r"\]\(([^)\s]+)\)", md) if not u.startswith(("http", "#"))]
        assert not relative, f"{nb.name} links to files a notebook alone lacks: {relative}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_listings_are_cells_whose_output_is_the_code(nb):
    cells = json.loads(nb.read_text())["cells"]
    listings = [c for c in cells if c["cell_type"] == "code" and "tl.source(" in "".join(c["source"])]
    for c in listings:
        md = "".join(next(o for o in c["outputs"] if "data" in o)["data"]["text/markdown"])
        assert md.startswith("```python\n") and "\ndef " in "\n" + md


def render_alone(nb: Path) -> str:
    """The chapter as a plain Jupyter front end shows it: CommonMark (raw HTML allowed) for the
    markdown cells and the Markdown outputs, code cells as text — no Sphinx, no MyST."""
    md = MarkdownIt("commonmark")
    html = []
    for c in json.loads(nb.read_text())["cells"]:
        if c["cell_type"] == "markdown":
            html.append(md.render("".join(c["source"])))
            continue
        html.append("<pre>" + "".join(c["source"]) + "</pre>")
        for o in c.get("outputs", []):
            data = o.get("data", {})
            html.append(md.render("".join(data["text/markdown"])) if "text/markdown" in data
                        else "<pre>" + "".join(data.get("text/plain", o.get("text", ""))) + "</pre>")
    return "\n".join(html)


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_rendered_alone_the_chapter_shows_listings_folded_solutions_and_readable_citations(nb):
    html = render_alone(nb)
    exercises = EXERCISE.findall("\n".join(_markdown(nb)))
    assert len(exercises) >= 3 or not nb.name[0].isdigit()   # the lab notes are a reference page, no exercises
    folded = re.findall(r'<details class="solution">\s*<summary>Solution</summary>(.*?)</details>', html, re.S)
    assert len(folded) == len(exercises) and all(len(body.strip()) > 40 for body in folded)
    assert "{cite" not in html and "{solution}" not in html and "{literalinclude}" not in html
    for c in json.loads(nb.read_text())["cells"]:
        if c["cell_type"] == "code" and "tl.source(" in "".join(c["source"]):
            name = re.search(r"def (\w+)", "".join(c["outputs"][0]["data"]["text/plain"])).group(1)
            assert f'<code class="language-python">def {name}' in html
