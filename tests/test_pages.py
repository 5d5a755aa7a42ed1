"""The pages narrate: their code cells load artifacts, call the package, plot and glue.
Computation lives in the package, where the other tests reach it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*(ROOT / "notebooks").glob("*.md"), *(ROOT / "book").glob("*.md")])
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)
#: What a page's code must not do, and where that belongs instead.
FORBIDDEN = {
    r"^\s*(def|class)\s": "defines a function or class (move it into the package)",
    r"\blambda\b": "builds behaviour from a lambda (name a function in the package)",
    r"plt\.(subplots|figure)\(": "draws a figure by hand (add a function to facelrp.figures)",
    r"^\s*for\s+\w+\s+in\s+(keys|MODELS|model_keys)\b": "loops over the models (the pipeline or the package does)",
}


def test_the_pages_are_found():
    assert {"model.md", "masking.md", "robust.md", "gates.md", "intro.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_only_narrates(page):
    code = "\n".join(CELL.findall(page.read_text()))
    found = [f"line {n}: {what}: {line.strip()}" for n, line in enumerate(code.splitlines(), 1)
             for pattern, what in FORBIDDEN.items() if re.search(pattern, line)]
    assert not found, f"{page.name}:\n" + "\n".join(found)


def test_the_check_catches_a_page_that_computes(tmp_path):
    page = "# t\n\n```{code-cell} python\ndef f(x):\n    return x\nfig, ax = plt.subplots()\nfor k in keys:\n    pass\n```\n"
    code = "\n".join(CELL.findall(page))
    hits = {what for line in code.splitlines() for pattern, what in FORBIDDEN.items() if re.search(pattern, line)}
    assert len(hits) == 3


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
