"""The pages narrate: their code cells load artifacts, call the package, plot and glue.
Computation lives in the package, where the other tests reach it."""

import ast
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*(ROOT / "notebooks").glob("*.md"), *(ROOT / "book").glob("*.md")])
#: Names that hold the profile's models: a page that loops over them computes per model,
#: which the pipeline or the package does.
MODEL_NAMES = {"keys", "MODELS", "model_keys", "first_seed_keys", "model_names", "names"}


def computing(text: str) -> list[str]:
    """What the code cells of a MyST page do that belongs in the package, from their syntax
    trees (so a comprehension counts as a loop, and a string that looks like code does not)."""
    found = []
    for cell in jupytext.reads(text, fmt="md:myst").cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        for node in ast.walk(ast.parse(source)):
            line = getattr(node, "lineno", getattr(getattr(node, "iter", None), "lineno", 0))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append(f"{node.name} (line {line}): defines a function or class (move it into the package)")
            elif isinstance(node, ast.Lambda):
                found.append(f"line {line}: builds behaviour from a lambda (name a function in the package)")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("subplots", "figure")
                  and isinstance(node.func.value, ast.Name) and node.func.value.id == "plt"):
                found.append(f"line {line}: draws a figure by hand (add a function to facelrp.figures)")
            elif isinstance(node, (ast.For, ast.comprehension)) and any(
                    isinstance(n, ast.Name) and n.id in MODEL_NAMES or isinstance(n, ast.Attribute) and n.attr in MODEL_NAMES
                    for n in ast.walk(node.iter)):
                found.append(f"line {line}: loops over the models ({ast.unparse(node.iter)}; the pipeline or the package does)")
    return found


def test_the_pages_are_found():
    assert {"model.md", "masking.md", "robust.md", "gates.md", "intro.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_only_narrates(page):
    found = computing(page.read_text())
    assert not found, f"{page.name}:\n" + "\n".join(found)


def test_the_check_catches_a_page_that_computes_in_any_form():
    page = ("# t\n\n```{code-cell} python\ndef f(x):\n    return x\nfig, ax = plt.subplots()\nfor k in keys:\n    pass\n"
            "names = [k.name for k in finetune.model_keys(setup)]\nbest = max(v for v in MODELS)\n"
            "g = lambda x: x\ntext = 'for k in keys: def f(): pass'\n```\n")
    found = computing(page)
    assert len(found) == 6 and sum("loops over the models" in f for f in found) == 3  # the string is not code
    assert computing("# t\n\n```{code-cell} python\nfor name, table in tables.items():\n    glue(name, table)\n```\n") == []


def test_steady_leaves_out_the_values_that_measure_the_machine_or_the_build():
    from facelrp.book.pages import steady

    values = {"masking.ipynb::auc": "0.81", "masking.ipynb::masking_seconds": "12.0", "trunks.ipynb::rss_peak": "2.1",
              "reproducing.ipynb::rep_cache_made": "'2026-12-03'", "reproducing.ipynb::rep_restored": "'3 of 61'"}
    assert steady(values) == {"masking.ipynb::auc": "0.81", "reproducing.ipynb::rep_restored": "'3 of 61'"}
    assert steady(values, also=("rep_restored",)) == {"masking.ipynb::auc": "0.81"}


def test_shown_values_hold_each_tables_text_without_the_stylers_random_ids(tmp_path):
    import nbformat
    import pandas as pd

    from facelrp.book.pages import shown_values

    table = pd.DataFrame({"verdict": ["reproduced", "inconclusive"]}, index=["a", "b"])
    pages = []
    for k in range(2):  # the same table styled twice: other random ids, the same text
        notebook = nbformat.v4.new_notebook()
        html = table.style.map(lambda v: "color: red").to_html()
        notebook.cells = [nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": html, "text/plain": "<Styler>"})])]
        folder = tmp_path / str(k)
        folder.mkdir()
        nbformat.write(notebook, folder / "summary.ipynb")
        pages.append(shown_values(folder))
    assert pages[0] == pages[1] == {"summary.ipynb::table-0": "verdict a reproduced b inconclusive"}
