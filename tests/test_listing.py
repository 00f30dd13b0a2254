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
