"""Code listings: a library function's source shown in a notebook cell, so that the book and a
notebook opened alone (Colab) show the same code."""
from __future__ import annotations

import inspect
import textwrap
from typing import Any


class Listing:
    """Source code that displays as a highlighted Python block (Markdown) or as plain text."""

    def __init__(self, code: str, *, name: str) -> None:
        self.code = code
        self.name = name

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return self.code


def source(*objects: Any) -> Listing:
    """The source of one or more library functions or classes, as one listing."""
    if not objects:
        raise ValueError("source() needs at least one function or class to show")
    parts = []
    for obj in objects:
        try:
            parts.append(textwrap.dedent(inspect.getsource(obj)).rstrip())
        except (TypeError, OSError) as err:
            raise TypeError(f"cannot show the source of {obj!r}: pass a function or class defined "
                            "in Python (not a built-in, an instance or a string)") from err
    names = ", ".join(getattr(o, "__qualname__", repr(o)) for o in objects)
    return Listing("\n\n\n".join(parts), name=names)
