"""Checked claims: a sentence of a chapter together with the condition on its outputs that makes
it true. The notebook shows the sentence; when the condition stops holding, running the notebook
fails (and so does CI) with a message that quotes the sentence."""
from __future__ import annotations

from typing import Any

MARK = "✔"
"""Printed before a claim that held when the notebook ran."""


class ClaimFailed(AssertionError):
    """A chapter's claim no longer holds on the chapter's own outputs."""


class Claim:
    """A sentence that held when it was checked; displays as Markdown (plain text outside Jupyter)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        return f"{MARK} {self.text}"

    def __repr__(self) -> str:
        return f"{MARK} {self.text}"


def claim(text: str, holds: Any, **evidence: Any) -> Claim:
    """The sentence ``text`` if ``holds`` is true; otherwise raise ``ClaimFailed`` quoting it and
    the ``evidence`` (the measured values the condition read)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a claim needs the sentence it checks, as a non-empty string")
    try:
        verdict = bool(holds)
    except Exception as err:  # e.g. a tensor with several elements
        raise TypeError(f"the condition of the claim {text!r} is not a single truth value "
                        f"({type(holds).__name__}); reduce it with all(), any() or a comparison") from err
    if not verdict:
        shown = ", ".join(f"{k} = {v!r}" for k, v in evidence.items())
        raise ClaimFailed(f"this claim no longer holds: {text!r}"
                          + (f"\nmeasured: {shown}" if shown else "")
                          + "\nRewrite the sentence to what the outputs above show, or find what changed.")
    return Claim(text)
