"""A claim is code: a percentage stated in a chapter's prose is an output its paragraph may quote (at the
precision printed, or rounded from it: ``quotable``), bound to the printed number it quotes
(``tests/prose_sources.json``), or the cited literature's number; what is left out is ``EXCLUDED``."""
import functools
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb")) + [REPO / "book" / n for n in (
    "lab_notes.ipynb", "index.md", "instructor_guide.md")]
"""The pages whose every stated percentage is checked: every chapter, the lab notes, the landing page and the guide
(``benchmarks/prose_mutants.py`` measures how many wrong numbers the check would catch)."""

PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s?[–-]\s?(\d+(?:\.\d+)?))?\s?(?:\\?%|percent\b)"
                     r"(?!\s*(?:confidence|level|(?:t\s)?intervals?\b))")
"""A stated percentage or range of them ("12.5%", "94–98%"); "a 95% confidence interval" or "its 95%
t interval" is a term."""
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
CITATION = re.compile(r"\]\(https?://(arxiv\.org|adversarial-ml-tutorial\.org)")


EXCLUDED = {
    "code block": r"```.*?```",
    "display maths": r"\$\$.*?\$\$",
    "folded solution": r'<details class="solution">.*?</details>',  # states what its code computes when run
    "quiz": r"^## Quick check\n.*?(?=^## |\Z)",  # its wrong options are wrong on purpose
    "quoted source": r"^>.*$",  # a blockquote: the paper's theorem, word for word
    "quoted phrase": r'"[^"\n]{1,60}"|“[^”\n]{1,60}”',  # someone's words ("better than 1%"), or a need
    "code span": r"`[^`]*`",
}
"""What the prose checks leave out, in the order they are cut, with why; a sentence that links its
source (``CITATION``) is left out too. ``benchmarks/prose_mutants.py`` counts what each leaves out."""


def prose(markdown: str) -> str:
    """The text a reader reads as claims: the markdown less everything ``EXCLUDED``."""
    for pattern in EXCLUDED.values():
        markdown = re.sub(pattern, "", markdown, flags=re.S | re.M)
    return markdown


def excluded_percentages(markdown: str) -> dict[str, int]:
    """How many percentages each exclusion of ``EXCLUDED`` removes from ``markdown``."""
    counts = {}
    for name, pattern in EXCLUDED.items():
        counts[name] = sum(len(PERCENT.findall(m.group())) for m in re.finditer(pattern, markdown, flags=re.S | re.M))
        markdown = re.sub(pattern, "", markdown, flags=re.S | re.M)
    counts["cited sentence"] = sum(len(PERCENT.findall(s)) for p in paragraphs(markdown)
                                   for s in SENTENCE.split(p) if CITATION.search(s))
    return counts


def paragraphs(text: str) -> list[str]:
    """Blocks between blank lines; a table or quotation belongs to the paragraph before it."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        if out and block.lstrip().startswith(("|", ">")):
            out[-1] += "\n" + block
        else:
            out.append(block)
    return out


def output_lines(cell: dict) -> list[str]:
    """The lines of text a code cell prints or displays (not images)."""
    texts = []
    for o in cell.get("outputs", []):
        texts.append("".join(o.get("text", "")))
        texts += ["".join(v) for k, v in o.get("data", {}).items() if k in ("text/plain", "text/markdown")]
    return [line for t in texts for line in t.splitlines()]


def numbers_in(line: str) -> list[float]:
    """Every number on a line of output, in order ("10,000" is one)."""
    return [float(n) for n in NUMBER.findall(line.replace(",", ""))]


def output_numbers(cell: dict) -> set[float]:
    """Every number a code cell prints or displays (text only, not images)."""
    return {n for line in output_lines(cell) for n in numbers_in(line)}


def supported(stated: str, shown: set[float]) -> bool:
    """Whether a stated number is a shown one, as printed or rounded to the stated precision."""
    places = len(stated.split(".")[1]) if "." in stated else 0
    return any(round(x, places) == float(stated) for x in shown)


SECTION = re.compile(r"^#{1,2} +(.+)$", re.M)
"""A heading that opens a section: the page's title or a ``##`` heading (exercises' ``###`` stay inside)."""
RECAP = re.compile(r"^(Summary|Quick check|Exercises)\b")
"""Sections that look back over their chapter: each may quote any output above it."""


def cells_of(page: Path) -> list[dict]:
    """A page's cells (a markdown page is one markdown cell)."""
    return (json.loads(page.read_text())["cells"] if page.suffix == ".ipynb"
            else [{"cell_type": "markdown", "source": page.read_text()}])


@functools.lru_cache
def chapter_sources(number: int) -> list[tuple[str, int, str]]:
    """(cell key, line number, line) for every output line chapter ``number`` prints."""
    return [source for page in PAGES if page.name.startswith(f"{number:02d}_")
            for i, cell in enumerate(cells_of(page)) if cell["cell_type"] == "code"
            for source in cell_sources(page, cell)]


def cell_sources(page: Path, cell: dict) -> list[tuple[str, int, str]]:
    """(cell key, line number, line) for each line a code cell prints; the key is 'page:cell id'."""
    return [(f"{page.name}:{cell.get('id', '')}", k, line) for k, line in enumerate(output_lines(cell))]


def named_chapters(paragraph: str) -> set[int]:
    """The chapters a paragraph names: 'chapter 4', 'chapters 8–9', 'chapters 1, 3 and 4', '04_evaluation'."""
    found = {int(n) for n in re.findall(r"\b0(\d)_[a-z]", paragraph)}
    for group in re.findall(r"\b[Cc]hapters?\s+(\d(?:\s*(?:[–-]|to|,|and|or)\s*\d(?![\d_]))*)", paragraph):
        for a, b in re.findall(r"(\d)\s*(?:[–-]|to)\s*(\d)", group):
            found |= set(range(int(a), int(b) + 1))
        found |= {int(n) for n in re.findall(r"\d", group)}
    return found


def sections(page: Path) -> dict[str, list[tuple[str, int, str]]]:
    """Each section's title (and its short form, up to a colon or question mark) → its output lines."""
    out: dict[str, list] = {}
    current: list = []
    for cell in cells_of(page):
        if cell["cell_type"] == "code":
            current += cell_sources(page, cell)
            continue
        for title in SECTION.findall("".join(cell["source"])):
            current = []
            short = re.split(r"(?<=[:?])", title, maxsplit=1)[0].rstrip(":")
            out[title.strip()] = out[short.strip()] = current
    return out


def quotable(page: Path):
    """(cell index, paragraph, output lines it may quote, nearest first) for each prose paragraph.

    A chapter's paragraph quotes the outputs above it in its own section (a summary, quick check or
    the exercises: anywhere above in the chapter), and those of any section of its page it names in
    italics (*Gradient masking, live*); the landing page and the instructor guide, which print nothing,
    quote the chapters a paragraph names (every chapter when it names none)."""
    if page.suffix == ".md":
        for para in paragraphs(prose(page.read_text())):
            named = named_chapters(para) or set(range(1, 10))
            yield 0, para, [s for k in sorted(named) for s in chapter_sources(k)]
        return
    titled = sections(page)
    section: list = []
    above: list = []
    recap = False
    for i, cell in enumerate(cells_of(page)):
        if cell["cell_type"] == "code":
            section = cell_sources(page, cell)[::-1] + section
            above = cell_sources(page, cell)[::-1] + above
            continue
        for para in paragraphs(prose("".join(cell["source"]))):
            heading = SECTION.search(para)
            if heading:
                section, recap = [], bool(RECAP.match(heading.group(1)))
            named = [s for title in re.findall(r"\*([^*\n]+)\*", para) for s in titled.get(title.strip(), [])]
            yield i, para, (above if recap else section) + named


SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=\S)|\n\s*(?:[-*]|\d+\.)\s+")
"""Where a sentence, or an item of a list, ends."""


def uncited(paragraph: str) -> str:
    """The paragraph less its sentences that cite a source: their numbers are the literature's."""
    return " ".join(s for s in SENTENCE.split(paragraph) if not CITATION.search(s))


def stated_percentages(page: Path):
    """(cell index, stated number, context, output lines it may quote) for each percentage in prose,
    outside a sentence that cites its source, in reading order."""
    for i, para, sources in quotable(page):
        para = uncited(para)
        for m in PERCENT.finditer(para):
            for stated in filter(None, m.groups()):
                yield i, stated, para[max(0, m.start() - 60):m.end() + 20], sources


def unsupported_percentages(page: Path) -> list[str]:
    """'cell N: 12.5% in «…»' for each percentage in prose that no output it may quote supports."""
    return [f"cell {i}: {stated}% in «{context}»" for i, stated, context, sources in stated_percentages(page)
            if not any(supported(stated, set(numbers_in(line))) for _, _, line in sources)]


BINDINGS = REPO / "tests" / "prose_sources.json"
"""Which printed number each stated percentage quotes, page by page in reading order, as [cell key,
output line, position of the number on the line]: written by ``python benchmarks/prose_mutants.py
--bind`` (the nearest one that supports it, as the reader would look back for it), read here."""


def bind(page: Path, kept: list[list] | None = None) -> list[list]:
    """The printed number each stated percentage quotes ([None, None, None] where none supports it):
    the binding in ``kept`` while it still holds, else the nearest printed percentage that supports
    it, else the nearest printed number."""
    kept = kept or []
    out = []
    for n, (_, stated, _, sources) in enumerate(stated_percentages(page)):
        lines = {(key, k): line for key, k, line in sources}
        if n < len(kept) and kept[n][0] is not None and (kept[n][0], kept[n][1]) in lines:
            printed = numbers_in(lines[kept[n][0], kept[n][1]])
            if kept[n][2] < len(printed) and supported(stated, {printed[kept[n][2]]}):
                out.append(kept[n])
                continue
        candidates = [([key, k, j], j in percent_positions(line)) for key, k, line in sources
                      for j, x in enumerate(numbers_in(line)) if supported(stated, {x})]
        out.append(next((c for c, percent in candidates if percent), candidates[0][0] if candidates else [None] * 3))
    return out


def percent_positions(line: str) -> set[int]:
    """The positions (as in ``numbers_in``) of the numbers a line prints as percentages."""
    line = line.replace(",", "")
    return {j for j, m in enumerate(NUMBER.finditer(line)) if re.match(r"\s?%", line[m.end():])}


def misquoted_percentages(page: Path, bound: list[list]) -> list[str]:
    """'cell N: 12.5% in «…»' for each stated percentage that the printed number it was bound to no
    longer supports (or that lies outside what its paragraph may quote)."""
    stated = list(stated_percentages(page))
    if len(stated) != len(bound):
        return [f"{len(stated)} percentages stated, {len(bound)} bound: run `python benchmarks/prose_mutants.py "
                "--bind` and review the diff of tests/prose_sources.json"]
    bad = []
    for (i, number, context, sources), (key, k, j) in zip(stated, bound):
        lines = {(s_key, s_k): numbers_in(line) for s_key, s_k, line in sources}
        printed = lines.get((key, k), [])
        if j is None or j >= len(printed) or not supported(number, {printed[j]}):
            bad.append(f"cell {i}: {number}% in «{context}» (bound to {key}, line {k}, number {j})")
    return bad


def test_rounding_to_the_stated_precision_supports_a_number():
    assert supported("99", {99.06}) and supported("98.9", {98.92}) and not supported("98.9", {98.8})
    assert supported("0", {0.0}) and not supported("22", {21.4})


def test_the_checker_finds_an_unsupported_percentage(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": "acc 97.0%"}]},
                    {"cell_type": "markdown", "source": "It keeps 97% clean and 41% robust.\n\n"
                     "The paper reports 89% ([Madry et al., 2018](https://arxiv.org/abs/1706.06083))."}]}
    page = tmp_path / "x.ipynb"
    page.write_text(json.dumps(nb))
    assert [b.split(":")[1].strip().split("%")[0] for b in unsupported_percentages(page)] == ["41"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_percentage_in_prose_is_shown_above_or_cited(page):
    bad = unsupported_percentages(page)
    assert not bad, f"{page.name}: percentages that no output their paragraph may quote supports:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_percentage_says_the_printed_number_it_was_bound_to(page):
    bad = misquoted_percentages(page, json.loads(BINDINGS.read_text()).get(page.name, []))
    assert not bad, f"{page.name}: percentages that the number they quote no longer supports:\n" + "\n".join(bad)


def _page(tmp_path: Path, *cells: tuple[str, str, str]) -> Path:
    """A notebook of (kind, source, printed text) cells."""
    nb = {"cells": [{"cell_type": kind, "id": f"c{i}", "source": src,
                     **({"outputs": [{"output_type": "stream", "text": out}]} if kind == "code" else {})}
                    for i, (kind, src, out) in enumerate(cells)]}
    page = tmp_path / "x.ipynb"
    page.write_text(json.dumps(nb))
    return page


def test_a_paragraph_quotes_its_own_section_a_section_it_names_or_in_a_summary_the_chapter(tmp_path):
    page = _page(tmp_path, ("markdown", "# T\n\n## Attacks", ""), ("code", "", "clean 97.0%  robust 41.3%"),
                 ("markdown", "## Training\n\nIt keeps 41.3%.\n\nAs *Attacks* showed, 41.3%.", ""),
                 ("markdown", "## Summary\n\nClean 97.0%.", ""))
    assert [b.split(":")[1].strip() for b in unsupported_percentages(page)] == ["41.3% in «It keeps 41.3%.»"]


def test_a_binding_catches_a_number_that_moved_and_a_number_that_no_longer_matches(tmp_path):
    page = _page(tmp_path, ("markdown", "# T", ""), ("code", "", "clean 97.0%  robust 41.3%"),
                 ("markdown", "Robust 41.3%, clean 97%.", ""))
    bound = bind(page)
    assert bound == [["x.ipynb:c1", 0, 1], ["x.ipynb:c1", 0, 0]] and not misquoted_percentages(page, bound)
    page = _page(tmp_path, ("markdown", "# T", ""), ("code", "", "clean 97.0%  robust 41.3%"),
                 ("markdown", "Robust 97.0%, clean 97%.", ""))   # supported by the line, not by the number quoted
    assert len(misquoted_percentages(page, bound)) == 1 and not unsupported_percentages(page)
    assert "bound" in misquoted_percentages(page, bound[:1])[0]


# --- "honest" means converged: a number labelled honest is a converged reporting-budget number ---
HONEST = re.compile(r"(≤\s?)?(\d+(?:\.\d+)?)\s?%\s+honest\b|\bhonest\b[^%\n]{0,30}?(≤\s?)?(\d+(?:\.\d+)?)\s?%")
"""A percentage labelled honest: "90.0% honest", "honest 90.0%", "the honest number is 56.0%"."""


def converged_numbers() -> set[float]:
    """Every converged number of the recorded reporting budget, in percent."""
    from tutorial_lib.evaluate import reported
    from tutorial_lib.lab.records import load
    return {100 * reported(r) for r in load("reporting_budget")["ours"] if r["converged"]}


def texts(page: Path) -> list[str]:
    """What a reader reads on a page: its markdown and the text its code cells print."""
    cells = json.loads(page.read_text())["cells"] if page.suffix == ".ipynb" else [{"cell_type": "markdown",
                                                                                   "source": page.read_text()}]
    out = []
    for cell in cells:
        out.append("".join(cell["source"]) if cell["cell_type"] == "markdown" else "")
        for o in cell.get("outputs", []):
            out.append("".join(o.get("text", "")) + "".join("".join(v) for k, v in o.get("data", {}).items()
                                                           if k in ("text/plain", "text/markdown")))
    return out


def unconverged_honest(text: str, converged: set[float]) -> list[str]:
    """The numbers a text labels honest that are neither a converged record's nor printed "≤"."""
    bad = []
    for m in HONEST.finditer(text):
        bound, stated = (m.group(1), m.group(2)) if m.group(2) else (m.group(3), m.group(4))
        if not bound and not supported(stated, converged):
            bad.append(f"{stated}% in «{text[max(0, m.start() - 40):m.end() + 20]}»")
    return bad


def test_the_honest_label_check_finds_an_unconverged_number():
    converged = {90.0}
    assert unconverged_honest("the honest number is 56.0%, flagged", converged) == [
        "56.0% in «the honest number is 56.0%, flagged»"]
    assert not unconverged_honest("90.0% honest (converged); honest: ≤ 58.0%; honestly 12%", converged)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_number_labelled_honest_has_converged(page):
    converged = converged_numbers()
    bad = [b for text in texts(page) for b in unconverged_honest(text, converged)]
    assert not bad, f"{page.name}: numbers labelled honest that no converged record backs:\n" + "\n".join(bad)


def test_the_zoo_table_labels_no_unconverged_number_honest():
    from tutorial_lib import zoo
    assert not unconverged_honest(zoo.table(), converged_numbers())


def test_the_prose_check_catches_at_least_95_percent_of_wrong_numbers():
    """Mutation testing (``benchmarks/prose_mutants.py``): move each checked percentage by one unit in its
    last digit, down and up; the check must report at least 95% of these mutants (100% when measured,
    against 47% for the check that accepted a number printed anywhere above)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("prose_mutants", REPO / "benchmarks" / "prose_mutants.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.mutants("92.25") == ["92.24", "92.26"] and bench.mutants("9") == ["8", "10"]
    assert bench.mutants("0") == ["1"]
    killed, total = bench.kill_rate()
    assert total > 300 and killed / total >= 0.95, f"only {killed} of {total} wrong numbers caught"
