"""Sphinx extension: the book's launch buttons (Binder, JupyterHub, Colab) open a page's
source, the MyST text notebook in git (``notebooks/<page>.md``; the appendix's model pages:
``notebooks/model.md``), instead of the executed notebook the book renders
(``results/<profile>/book/<page>.ipynb``), a build product that no clone of the repository
has until its pipeline ran. Jupytext opens the text file as a notebook (``jupytext.toml``).

sphinx-book-theme builds the buttons' URLs from the rendered file's path; this rewrites
that path once it has (``html-page-context``, after the theme's handlers at priority 501).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["page_source", "setup"]

_EXECUTED = re.compile(r"^results/[^/]+/book/(?P<models>models/)?(?P<name>[^/]+)$")


def page_source(pagename: str, root: str | Path) -> str | None:
    """The file in the repository at `root` that the page `pagename` (a Sphinx docname such
    as ``results/demo/book/where``) was executed from, relative to `root`; None when the page
    is not one the pipeline executed."""
    found = _EXECUTED.match(pagename)
    if found is None:
        return None
    if found["models"]:
        return "notebooks/model.md"
    for candidate in (f"notebooks/{found['name']}.md", f"book/{found['name']}.md"):
        if (Path(root) / candidate).is_file():
            return candidate
    return None


def _buttons(buttons):
    for button in buttons:
        yield button
        yield from _buttons(button.get("buttons", []))


def _open_the_source(app, pagename, templatename, context, doctree) -> None:
    source = page_source(pagename, app.srcdir)
    if source is None:
        return
    executed = f"{pagename}.ipynb"
    for button in _buttons(context.get("header_buttons", [])):
        url = button.get("url")
        if isinstance(url, str) and executed in url and "/_sources/" not in url:
            button["url"] = url.replace(executed, source)


def setup(app):
    app.connect("html-page-context", _open_the_source, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
