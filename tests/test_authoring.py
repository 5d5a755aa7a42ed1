"""An author edits a page as a Jupyter notebook and the edit reaches the MyST text file in git
(jupytext pairing, `jupytext.toml`); the executed and paired notebooks stay out of git."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTEXT = Path(sys.executable).parent / "jupytext"
# notebooks/model.md enters the model stage's code hash byte for byte (facelrp.codehash), so it
# keeps the layout its cached models were made with; every other page is in jupytext's own
PAGES = [p for p in sorted((ROOT / "notebooks").glob("*.md")) if p.name != "model.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_is_in_the_layout_jupytext_writes_so_a_sync_changes_nothing(page):
    text = page.read_text()
    assert jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst") == text


def test_a_page_edited_as_a_notebook_is_saved_back_to_its_text_file(tmp_path):
    shutil.copy(ROOT / "jupytext.toml", tmp_path)
    (tmp_path / "notebooks").mkdir()
    source = tmp_path / "notebooks" / "where.md"
    shutil.copy(ROOT / "notebooks" / "where.md", source)
    before = source.read_text()

    def sync(path):
        run = subprocess.run([str(JUPYTEXT), "--sync", path], cwd=tmp_path, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr

    sync("notebooks/where.md")  # what opening the page in Jupyter does: the paired notebook appears
    paired = tmp_path / "ipynb" / "where.ipynb"
    assert paired.is_file() and source.read_text() == before
    notebook = nbformat.read(paired, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "markdown" and c.source.startswith("## "))
    cell.source += "\n\nA sentence written in the notebook."
    nbformat.write(notebook, paired)
    sync("ipynb/where.ipynb")  # saving it (or a sync from the shell)
    after = source.read_text()
    assert "A sentence written in the notebook." in after
    assert after.replace("\n\nA sentence written in the notebook.", "") == before


def test_executed_and_paired_notebooks_stay_out_of_git():
    for path in ("ipynb/where.ipynb", "results/demo/book/where.ipynb"):
        run = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert run.returncode == 0, f"{path} is not git-ignored"


def _make_targets() -> set[str]:
    """The targets the Makefile defines (``make -pn``: its database, nothing run)."""
    run = subprocess.run(["make", "-pRrn", "-f", "Makefile", ".DEFAULT"], cwd=ROOT, capture_output=True, text=True)
    return set(re.findall(r"^([A-Za-z][\w.-]*):(?!=)", run.stdout, re.M))


def test_the_publishing_workflow_runs_make_targets_that_exist():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    targets = _make_targets()
    assert {"book", "test", "publish-dir", "linkcheck", "check-book"} <= targets
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    commands = [step["run"] for step in steps if "run" in step]
    assert commands, "no run: step"
    for command in commands:
        called = re.fullmatch(r"make ([\w.-]+)", command.strip())
        assert called and called[1] in targets, f"{command!r}: every step is one make target of the Makefile"
    # the site it uploads is the folder `make publish-dir` writes
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "site" and re.search(r"^SITE \?= site$", (ROOT / "Makefile").read_text(), re.M)
    assert workflow[True]["schedule"] and "push" in workflow[True]  # YAML reads the key `on` as True
