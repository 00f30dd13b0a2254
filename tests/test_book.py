"""The book: every chapter is in the table of contents, stored executed, Colab-ready, with exercises."""
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tutorial_lib.lab.edition import EXERCISE

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "book").glob("*.ipynb"))
LESSONS = sorted((REPO / "book").glob("[0-9]*.ipynb"))
"""The numbered chapters; the others (the lab notes) are reference pages without exercises."""


def _toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def _cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text())["cells"]


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    listed = _toc_files()
    notebooks = [e for e in listed if (REPO / f"{e}.ipynb").exists()]
    assert sorted(notebooks) == sorted(f"book/{p.stem}" for p in CHAPTERS)  # every chapter, once
    assert len(set(listed)) == len(listed)
    for entry in listed:
        assert (REPO / f"{entry}.ipynb").exists() or (REPO / f"{entry}.md").exists()


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_stored_executed_without_errors(nb):
    code = [c for c in _cells(nb) if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert code and all(c["execution_count"] is not None for c in code), "re-execute and save it"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors


INSTALL = re.compile(r'"git\+(?P<url>[^"@]+)@(?P<ref>[^"]+)"')


def _release() -> tuple[str, str]:
    """The repository and the release tag ``v<version>``: _config.yml → repository (url, branch)."""
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]
    return cfg["url"], cfg["branch"]


def _first_cell(nb: Path) -> str:
    return "".join(next(c for c in _cells(nb) if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_first_cell_installs_the_library_from_the_configured_release_only(nb):
    first = _first_cell(nb)
    assert [m.groups() for m in INSTALL.finditer(first)] == [_release()]  # one install, at the release
    assert 'find_spec("tutorial_lib") is None' in first
    code_lines = [ln for ln in first.splitlines() if not ln.lstrip().startswith("#")]
    # torchattacks (chapter 4's audit) may be installed; torch and torchvision never
    assert not any(re.search(r"\btorch(vision)?\b", ln) for ln in code_lines), \
        "the setup cell must never install torch or torchvision"


def test_install_lines_launch_buttons_and_package_version_name_the_same_release():
    url, tag = _release()
    version = tag.removeprefix("v")
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), f"repository.branch must be a tag v<version>, not {tag!r}"
    # the launch buttons: the Sphinx configuration Jupyter Book derives from _config.yml
    from jupyter_book.config import get_final_config
    sphinx, _ = get_final_config(user_yaml=REPO / "_config.yml", sourcedir=REPO, raise_on_invalid=True,
                                 cli_config={"latex_individualpages": False})
    theme = sphinx["html_theme_options"]
    assert (theme["repository_url"], theme["repository_branch"]) == (url, tag)
    assert theme["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert {m.group("ref") for nb in CHAPTERS for m in INSTALL.finditer(_first_cell(nb))} == {tag}
    import tutorial_lib
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"] == version
    assert tutorial_lib.__version__ == version
    assert yaml.safe_load((REPO / "CITATION.cff").read_text())["version"] == version
    newest = re.search(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert newest and newest.group(1) == version, "CHANGELOG.md's newest entry must be this release"


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_and_exercises_with_collapsed_solutions(nb):
    text = "\n".join("".join(c["source"]) for c in _cells(nb) if c["cell_type"] == "markdown")
    assert "## Summary" in text and "## Exercises" in text
    exercises = EXERCISE.findall(text)
    assert len(exercises) >= 3 and text.count('<details class="solution">') == len(exercises)
    assert text.count("<summary>Solution</summary>") == len(exercises)


def test_instructor_guide_shows_the_measured_minutes_of_every_chapter():
    import importlib.util
    from tutorial_lib.lab import records
    spec = importlib.util.spec_from_file_location("book_time", REPO / "benchmarks" / "book_time.py")
    book_time = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_time)
    rec = records.load("book_time")
    assert sorted(r["chapter"] for r in rec["chapters"]) == sorted(p.stem for p in LESSONS)
    guide = (REPO / "book" / "instructor_guide.md").read_text()
    assert book_time.time_table(rec) in guide  # rewritten by the benchmark, never by hand
    assert "book/instructor_guide" in _toc_files()
    stale = [r["chapter"] for r in rec["chapters"]
             if r.get("code") != book_time.code_digest(REPO / "book" / f"{r['chapter']}.ipynb")]
    assert not stale, (f"the recorded run times predate a code change in {stale}: "
                       "re-measure with python benchmarks/book_time.py")


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_declared_tolerances_are_well_formed_and_sit_on_compared_cells(nb):
    import nbval_tolerance
    for i, c in enumerate(_cells(nb)):
        tol = nbval_tolerance.tolerance_of(c.get("metadata", {}))  # raises on a malformed one
        if tol is not None:
            assert c["cell_type"] == "code" and "nbval-ignore-output" not in c["metadata"].get("tags", []), \
                f"cell {i}: a tolerance on a cell nbval does not compare means nothing"
            assert tol.abs > 0 or tol.rel > 0 or (tol.percent or 0) > 0, \
                f"cell {i}: a zero tolerance is an exact comparison; drop it"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_notebooks_define_no_function_or_lambda_but_widget_callbacks(nb):
    """Notebooks teach, the library computes: a cell may define a function only to hand it to a
    widget (``widgets.interact(name, ...)`` in the same cell), and no lambda at all."""
    import ast
    for c in _cells(nb):
        src = "".join(c["source"]) if c["cell_type"] == "code" else ""
        tree = ast.parse("\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))))
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)], f"{nb.name}: a lambda in\n{src}"
        for f in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            assert f"interact({f.name}," in src, f"{nb.name}: {f.name} is logic; move it into the library"


def test_no_documented_docstring_holds_an_rst_substitution():
    """The API page renders the library's docstrings as reStructuredText, where ``|word|`` is a
    substitution: undefined, it fails the book build (-W) after every test has passed."""
    import importlib
    import inspect
    api = (REPO / "book" / "api.md").read_text()
    pattern = re.compile(r"(?<![|\w])\|[A-Za-z_][^|\s]*\|(?![|\w])")
    found = []
    for name in re.findall(r"automodule:: (tutorial_lib[\w.]*)", api):
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            members = [obj] + [m for m in vars(obj).values() if callable(m)] if inspect.isclass(obj) else [obj]
            for member in members:
                doc = re.sub(r"``.*?``", "", inspect.getdoc(member) or "", flags=re.S)
                found += [f"{name}.{attr}: {m}" for m in pattern.findall(doc)]
    assert not found, f"write these as ``|x|`` (a literal): {found}"
