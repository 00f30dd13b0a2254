"""A claim is code: a percentage stated in a chapter's prose is either an output shown above it
(at the precision printed, or rounded from it) or the cited literature's number."""
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


def prose(markdown: str) -> str:
    """The text a reader reads as claims: no code blocks, code spans or display maths, no folded
    worked solutions (they state what their code computes when the reader runs it) and no quiz
    (its wrong options are wrong on purpose)."""
    markdown = re.sub(r'```.*?```|\$\$.*?\$\$|<details class="solution">.*?</details>', "", markdown, flags=re.S)
    markdown = re.sub(r"^## Quick check\n.*?(?=^## |\Z)", "", markdown, flags=re.S | re.M)  # a quiz's wrong options
    return re.sub(r"`[^`]*`", "", markdown)


def paragraphs(text: str) -> list[str]:
    """Blocks between blank lines; a table or quotation belongs to the paragraph before it."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        if out and block.lstrip().startswith(("|", ">")):
            out[-1] += "\n" + block
        else:
            out.append(block)
    return out


def output_numbers(cell: dict) -> set[float]:
    """Every number a code cell prints or displays (text only, not images)."""
    texts = []
    for o in cell.get("outputs", []):
        texts.append("".join(o.get("text", "")))
        texts += ["".join(v) for k, v in o.get("data", {}).items() if k in ("text/plain", "text/markdown")]
    return {float(n) for t in texts for n in NUMBER.findall(t.replace(",", ""))}


def supported(stated: str, shown: set[float]) -> bool:
    """Whether a stated number is a shown one, as printed or rounded to the stated precision."""
    places = len(stated.split(".")[1]) if "." in stated else 0
    return any(round(x, places) == float(stated) for x in shown)


def chapters_outputs() -> set[float]:
    """Every number any chapter prints: the evidence the instructor guide may quote."""
    return {n for page in PAGES if page.suffix == ".ipynb" and page.name[0].isdigit()
            for cell in json.loads(page.read_text())["cells"] if cell["cell_type"] == "code"
            for n in output_numbers(cell)}


def unsupported_percentages(page: Path) -> list[str]:
    """'cell N: 12.5% in «…»' for each percentage in prose that nothing above supports (for the
    instructor guide, which shows no outputs of its own: nothing any chapter prints)."""
    cells = (json.loads(page.read_text())["cells"] if page.suffix == ".ipynb"
             else [{"cell_type": "markdown", "source": page.read_text()}])
    shown: set[float] = chapters_outputs() if page.name == "instructor_guide.md" else set()
    bad = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            shown |= output_numbers(cell)
            continue
        for para in paragraphs(prose("".join(cell["source"]))):
            if CITATION.search(para):
                continue  # the literature's number, cited in the same paragraph
            for m in PERCENT.finditer(para):
                for stated in filter(None, m.groups()):
                    if not supported(stated, shown):
                        bad.append(f"cell {i}: {stated}% in «{para[max(0, m.start() - 60):m.end() + 20]}»")
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
    assert not bad, f"{page.name}: percentages that no output above supports:\n" + "\n".join(bad)


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


def test_the_prose_check_still_catches_the_wrong_numbers_it_caught_when_measured():
    """Mutation testing (``benchmarks/prose_mutants.py``): shift each checked percentage's last digit
    by ±1 and ±2; the check must report at least 40% of these mutants (47% when measured; the
    statistics issue's goal is 95%, which needs each number bound to the output it quotes)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("prose_mutants", REPO / "benchmarks" / "prose_mutants.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.mutants("92.25") == ["92.23", "92.24", "92.26", "92.27"] and bench.mutants("9") == ["7", "8"]
    killed, total = bench.kill_rate()
    assert total > 300 and killed / total >= 0.40, f"only {killed} of {total} wrong numbers caught"
