"""Slides from a chapter: its sections, key equations, figures and checked claims, as a PDF deck.

A deck only copies what the chapter shows — headings, display equations, the figures its cells
drew and the claims its cells checked (✔) — so no number appears on a slide that the chapter does
not compute. Built by ``python -m tutorial_lib slides`` (``make book`` and CI run it).
"""
from __future__ import annotations

import base64
import io
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import matplotlib.mathtext
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from tutorial_lib.lab.edition import SOLUTION

SLIDE_SIZE = (13.33, 7.5)   # inches, 16:9
_TEX = [(r"\lVert", r"\|"), (r"\rVert", r"\|"), (r"\Big", ""), (r"\big", ""), (r"\operatorname", r"\mathrm"),
        (r"\text", r"\mathrm"), (r"\le ", r"\leq "), (r"\;", r"\ ")]
"""LaTeX that matplotlib's mathtext lacks, rewritten to what it has (equations it still cannot
draw are left off the slide)."""


@dataclass
class Slide:
    """One slide: a title, lines of text, display equations (LaTeX) and a PNG figure."""

    title: str
    lines: list[str] = field(default_factory=list)
    equations: list[str] = field(default_factory=list)
    image: bytes | None = None
    notes: str = ""            # for the speaker: what the chapter says right after this figure


def _text(cell: dict[str, Any]) -> str:
    """A cell's source as one string."""
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _outputs(cell: dict[str, Any]) -> tuple[list[bytes], list[str]]:
    """The PNG figures and the checked-claim lines (✔ ...) a code cell printed."""
    images, claims = [], []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data:
            images.append(base64.b64decode(data["image/png"]))
        text = out.get("text", data.get("text/plain", ""))
        text = "".join(text) if isinstance(text, list) else text
        claims += [line.strip() for line in text.splitlines() if line.strip().startswith("✔")]
    return images, claims


def speaker_note(markdown: str, sentences: int = 2) -> str:
    """The first ``sentences`` sentences of a markdown cell's prose (no headings, code, maths or
    links' addresses): what the chapter says about the figure just above it."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$", " ", markdown, flags=re.S)
    text = " ".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "|", "<")))
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(*])", " ".join(text.split()))
    return " ".join(parts[:sentences]).strip()


def deck(notebook: dict[str, Any]) -> list[Slide]:
    """A chapter's slides: a title slide listing its sections; per section a slide of its display
    equations, one per figure (its speaker note: the chapter's next sentences), and one of its
    checked claims. Exercises and solutions are left out."""
    title, sections, current, waiting = "", [], None, []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = SOLUTION.sub("", _text(cell))
            note = speaker_note(text)
            for figure in waiting if note else []:
                figure[1] = note
            waiting = waiting if not note else []
            for line in text.splitlines():
                if line.startswith("# ") and not title:
                    title = line[2:].strip()
                elif line.startswith("## "):
                    current = {"heading": line[3:].strip(), "equations": [], "images": [], "claims": []}
                    sections.append(current)
            if current is not None:
                current["equations"] += [e.strip() for e in re.findall(r"\$\$(.+?)\$\$", text, re.S)]
        elif current is not None:
            images, claims = _outputs(cell)
            figures = [[png, ""] for png in images]
            current["images"] += figures
            waiting += figures
            current["claims"] += claims
    sections = [s for s in sections if not s["heading"].lower().startswith(("exercises", "summary", "quick check"))]
    slides = [Slide(title, lines=[s["heading"] for s in sections])]
    for s in sections:
        if s["equations"]:
            slides.append(Slide(s["heading"], equations=s["equations"]))
        slides += [Slide(s["heading"], image=png, notes=note) for png, note in s["images"]]
        if s["claims"]:
            slides.append(Slide(f"{s['heading']}: checked claims", lines=s["claims"]))
    return slides


def mathtext(latex: str) -> str | None:
    """``latex`` as matplotlib mathtext, or None when mathtext cannot draw it."""
    tex = " ".join(latex.split())
    for old, new in _TEX:
        tex = tex.replace(old, new)
    try:
        matplotlib.mathtext.MathTextParser("agg").parse(f"${tex}$")
    except ValueError:
        return None
    return f"${tex}$"


def page(slide: Slide) -> Figure:
    """One page of the deck, laid out (no pyplot: building decks leaves a notebook's plots alone)."""
    fig = Figure(figsize=SLIDE_SIZE)
    title = textwrap.fill(slide.title, 70)
    fig.text(0.05, 0.94, title, fontsize=22, weight="bold", va="top")
    y = 0.82 - 0.06 * title.count("\n")
    for line in slide.lines:
        wrapped = textwrap.fill(line, 110)
        fig.text(0.06, y, wrapped, fontsize=15, va="top")
        y -= 0.06 * (wrapped.count("\n") + 1) + 0.02
    for eq in filter(None, map(mathtext, slide.equations)):
        fig.text(0.5, y - 0.05, eq, fontsize=20, ha="center", va="top")
        y -= 0.18
    if slide.image is not None:
        ax = fig.add_axes((0.05, 0.04, 0.9, 0.8))
        ax.imshow(mpimg.imread(io.BytesIO(slide.image), format="png"))
        ax.axis("off")
    return fig


def notes_page(slides: list[Slide]) -> str:
    """The deck's speaker notes as text, one entry per slide that has one (by page number)."""
    return "\n\n".join(f"**{k}. {s.title}** — {s.notes}" for k, s in enumerate(slides, 1) if s.notes) + "\n"


def write_deck(slides: list[Slide], path: Path) -> Path:
    """Write ``slides`` as a PDF and their speaker notes beside it (``NAME.notes.txt``: a PDF drawn
    by matplotlib carries none), atomically (a crash leaves no half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pdf.tmp")
    with PdfPages(tmp) as pdf:
        for slide in slides:
            pdf.savefig(page(slide))
    tmp.replace(path)
    notes = path.with_suffix(".notes.txt")
    tmp_notes = notes.with_suffix(".txt.tmp")
    tmp_notes.write_text(notes_page(slides))
    tmp_notes.replace(notes)
    return path
