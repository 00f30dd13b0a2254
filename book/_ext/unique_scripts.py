"""Drop repeated <script> entries from every page.

Jupyter Book 1.x sets up sphinx-thebe twice, so each page declares ``const THEBE_JS_URL`` twice and
the browser reports "Identifier 'THEBE_JS_URL' has already been declared" (our browser check
catches it). Keeping the first copy of each identical script fixes the page.
"""
from __future__ import annotations


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:  # noqa: ANN001
    seen, kept = set(), []
    for script in context.get("script_files", []):
        attrs = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", None) or "", attrs.get("body"))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):  # noqa: ANN001, ANN201
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
