"""Listings: a library function's source, shown as a Python block, identical to the file's text."""
import inspect

import pytest

import tutorial_lib as tl
from tutorial_lib.attacks import linf_project_, linf_step_, pgd


def test_a_listing_is_the_functions_source_as_a_python_block():
    listing = tl.source(pgd)
    assert repr(listing) == inspect.getsource(pgd).rstrip()
    assert listing._repr_markdown_().startswith("```python\ndef pgd(")
    assert listing._repr_markdown_().endswith("\n```")


def test_several_functions_make_one_listing_in_order():
    text = repr(tl.source(linf_step_, linf_project_))
    assert text.index("def linf_step_") < text.index("def linf_project_")


def test_objects_without_python_source_are_refused_with_a_reason():
    with pytest.raises(TypeError, match="cannot show the source"):
        tl.source(len)
    with pytest.raises(ValueError, match="at least one"):
        tl.source()


def _listing_cells():
    """Every stored one-line ``tl.source(module.name, ...)`` cell of the book, with its notebook."""
    import json
    import pathlib
    import re

    book = pathlib.Path(__file__).resolve().parents[1] / "book"
    for path in sorted(book.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(cells):
            src = "".join(cell["source"]).strip()
            if cell["cell_type"] == "code" and re.fullmatch(r"tl\.source\([\w., ]+\)", src):
                yield pytest.param(src, cell["outputs"], id=f"{path.stem}-cell{i}")


@pytest.mark.parametrize("src, outputs", list(_listing_cells()))
def test_every_listing_stored_in_the_book_is_the_librarys_current_source(src, outputs):
    """A docstring edit must reach the stored listing too, or nbval fails after the unit tests pass."""
    import importlib

    names = src[len("tl.source("):-1].replace(" ", "").split(",")
    objects = []
    for name in names:  # names as the chapters import them: tl.x.y, or a module of tutorial_lib
        first, *rest = name.split(".")
        obj = tl if first == "tl" else importlib.import_module(f"tutorial_lib.{first}")
        for attr in rest:
            obj = getattr(obj, attr)
        objects.append(obj)
    stored = "".join(outputs[0]["data"]["text/markdown"])
    assert stored == tl.source(*objects)._repr_markdown_(), (
        f"{src}: the stored listing differs from the library; re-execute the cell (or the chapter)")


def test_the_book_has_listings_to_check():
    assert len(list(_listing_cells())) >= 10
