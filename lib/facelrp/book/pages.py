"""The book's pages: execute a MyST text notebook with papermill into a renderable .ipynb."""

from __future__ import annotations

import html as html_text
import os
import re
import tempfile
from pathlib import Path

import jupytext
import nbformat
import papermill

from .. import warm
from ..artifacts import MEASURES_THE_MACHINE

__all__ = ["execute_page", "write_toc", "glued_values", "shown_values", "steady", "differing", "PageError", "RTOL"]


class PageError(RuntimeError):
    """An executed page holds an error output."""


def execute_page(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    parameters: dict,
    cwd: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Execute the jupytext notebook `source` with `parameters` and write it to `output`.

    The author's default ``parameters`` cell is removed from the rendered page and the
    values papermill injected are kept behind a toggle ("hide-cell"), so a reader sees
    which setting ran without the page opening on code. The output is written to a
    temporary file and renamed into place, so an interrupted run leaves no half page.

    Raises
    ------
    papermill.PapermillExecutionError
        A cell raised; the partly executed notebook is not kept.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    if title is not None:
        _set_title(notebook, title)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".page-") as scratch:
        unexecuted = Path(scratch) / "in.ipynb"
        executed = Path(scratch) / "out.ipynb"
        nbformat.write(notebook, unexecuted)
        # under `python -m facelrp warm` the kernel forks from the warm server (facelrp.warm)
        kernel = warm.KERNEL if os.environ.get(warm.ENV) else "python3"
        papermill.execute_notebook(
            str(unexecuted), str(executed), parameters=parameters, cwd=str(cwd), progress_bar=False, kernel_name=kernel
        )
        result = nbformat.read(executed, as_version=4)
        result.metadata["kernelspec"] = notebook.metadata["kernelspec"]  # the page says python3, however it ran
        for cell in result.cells:
            tags = cell.metadata.setdefault("tags", [])
            if "injected-parameters" in tags:
                tags.append("hide-cell")
            elif "parameters" in tags and "remove-cell" not in tags:
                tags.append("remove-cell")
        nbformat.write(result, executed)
        os.replace(executed, output)
    return output


def write_toc(profile: str, out: str | os.PathLike, *, root: str | os.PathLike = ".") -> Path:
    """The table of contents of `profile`'s book: the demo one (``<root>/_toc.yml``) with its
    pages' folder ``results/demo/`` replaced by ``results/<profile>/``."""
    text = (Path(root) / "_toc.yml").read_text().replace("results/demo/", f"results/{profile}/")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


#: Glued values that measure the machine (times, memory, and rates derived from them) or
#: the build (when the cache was made) rather than the computation: they differ between
#: any two builds, so comparisons of two books leave them out (`steady`).
VOLATILE = re.compile(MEASURES_THE_MACHINE.pattern + r"|rep_scale|rep_cache_made")


def steady(values: dict[str, str], *, also: tuple[str, ...] = ()) -> dict[str, str]:
    """`glued_values` without the `VOLATILE` ones and the names in `also`."""
    return {k: v for k, v in values.items() if not VOLATILE.search(k.split("::")[1]) and k.split("::")[1] not in also}


#: Relative tolerance of `differing` for glued numbers: far above NumPy's rounding (its
#: AVX-512 and AVX2 code paths give results differing by about 1e-15), far below any
#: number a change of the computation moves.
RTOL = 1e-9


def differing(expected: dict[str, str], found: dict[str, str], *, rtol: float = RTOL) -> dict[str, tuple]:
    """The glued values of `expected` that `found` lacks or holds otherwise, as name ->
    (expected, found or None), and the names only `found` has (-> (None, found)). Texts
    that read as numbers are equal within `rtol`; other texts must be the same."""

    def number(text):
        try:
            return float(text)
        except (TypeError, ValueError):
            return None

    out = {}
    for name in sorted(set(expected) | set(found)):
        a, b = expected.get(name), found.get(name)
        if a == b:
            continue
        x, y = number(a), number(b)
        if x is not None and y is not None and (x == y or abs(x - y) <= rtol * max(abs(x), abs(y))):
            continue
        out[name] = (a, b)
    return out


def shown_values(folder: str | os.PathLike) -> dict[str, str]:
    """`glued_values` and the text of every table the executed pages in `folder` show, as
    ``"<page path>::table-<k>" -> text`` (the k-th table output of the page, its HTML tags
    and the ids pandas' styler draws at random left out): what a reader of the book sees in
    numbers, for comparing two books."""
    folder = Path(folder)
    values = glued_values(folder)
    for page in sorted(folder.rglob("*.ipynb")):
        notebook = nbformat.read(page, as_version=4)
        tables = [output["data"]["text/html"] for cell in notebook.cells for output in cell.get("outputs", [])
                  if "<table" in str(output.get("data", {}).get("text/html", ""))]
        for k, html in enumerate(tables):
            html = "".join(html) if isinstance(html, list) else html
            html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
            text = html_text.unescape(re.sub(r"<[^>]+>", " ", html))
            values[f"{page.relative_to(folder).as_posix()}::table-{k}"] = " ".join(text.split())
    return values


def glued_values(folder: str | os.PathLike) -> dict[str, str]:
    """Every text value the executed pages in `folder` (and its sub-folders) glue into the
    book, as ``"<page path>::<name>" -> text`` (the ``text/plain`` form the book renders
    from; figures and other media are left out)."""
    folder = Path(folder)
    values = {}
    for page in sorted(folder.rglob("*.ipynb")):
        notebook = nbformat.read(page, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                text = output.get("data", {}).get("application/papermill.record/text/plain")
                if name is not None and text is not None:
                    values[f"{page.relative_to(folder).as_posix()}::{name}"] = text
    return values


def _set_title(notebook, title: str) -> None:
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# "):
                lines[i] = f"# {title}"
                cell.source = "\n".join(lines)
                return
    raise ValueError("the page has no '# ' title to replace")
