"""The SHA-256 of a pipeline stage's code, for the results cache's keys (`facelrp.cache`)
and the provenance records (`facelrp.artifacts.provenance`).

A stage's code is its module and every module of the package it imports, directly or
lazily, parsed with docstrings and ``__all__`` dropped (comments, docstrings and the list
of public names do not enter the hash; any other edit does), plus the notebook the model
stage runs; the bookkeeping modules (where and how files are written: `facelrp.artifacts`,
`facelrp.store`, `facelrp.profiles`, and `facelrp.pipeline`, the list of jobs and of the files
the cache keeps) are left out, the settings entering the keys as values.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import subprocess
from pathlib import Path

__all__ = ["PROJECT_DIR", "CODE_HASH_VERSION", "code_hash", "stage_code"]

#: The project's folder (this file is ``lib/facelrp/codehash.py``).
PROJECT_DIR = Path(__file__).resolve().parents[2]
#: The version of `code_hash`'s recipe: a record made by uncommitted code carries the hash
#: it was made with, usable only while the recipe is the same (bump it when the recipe changes).
CODE_HASH_VERSION = 2
# stage (as in the provenance records) -> other project files its code includes
_EXTRA_SOURCES = {"model": ("notebooks/model.md",)}
# Modules that say where and how results are written, not what they are: they do not enter
# a stage's code hash (nor do the modules only they import). The profile's settings, which
# profiles.py reads and completes with its defaults, enter every key as values instead.
_BOOKKEEPING = {f"lib/facelrp/{name}.py" for name in ("__init__", "artifacts", "store", "profiles", "pipeline")}


class _Sources:
    """The project's files, from the working tree or, with `commit`, from git."""

    def __init__(self, commit: str | None = None):
        self.commit = commit

    def read(self, relative: str) -> bytes | None:
        if self.commit is None:
            path = PROJECT_DIR / relative
            return path.read_bytes() if path.is_file() else None
        run = subprocess.run(["git", "show", f"{self.commit}:{relative}"], capture_output=True, cwd=PROJECT_DIR)
        return run.stdout if run.returncode == 0 else None


def _module_path(module: str) -> list[str]:
    """Candidate files of ``facelrp.<...>`` relative to the project: module, then package."""
    parts = module.split(".")
    base = "/".join(["lib", *parts])
    return [base + ".py", base + "/__init__.py"]


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The ``facelrp`` modules a module's code imports (anywhere in it, lazy imports too)."""
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "facelrp"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "facelrp":
                continue
            found.add(target)
            # `from .x import y`: y may be a module of package x
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """`tree` without its docstrings and its ``__all__`` (the public names: documentation
    to a reader, nothing to the numbers)."""
    tree.body = [node for node in tree.body if not (isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets))]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=None)
def _parsed(commit: str | None, relative: str, module: str) -> tuple[bytes, tuple[str, ...]] | None:
    """A package file's AST dump without docstrings, and the package modules it imports
    (None: no such file); parsed once per file and commit, whichever stages share it."""
    text = _Sources(commit).read(relative)
    if text is None:
        return None
    tree = ast.parse(text, filename=relative)
    imports = tuple(sorted(_imports(tree, module, relative.endswith("__init__.py"))))
    return ast.dump(_strip_docstrings(tree)).encode(), imports


def _closure(module: str, sources: _Sources) -> dict[str, bytes]:
    """Every package file `module` runs when imported and called: relative path -> AST
    dump without docstrings (parents' ``__init__.py`` included: importing runs them)."""
    seen: dict[str, bytes] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]  # the packages above it
        for relative in _module_path(name):
            if relative in seen or relative in _BOOKKEEPING:
                break
            found = _parsed(sources.commit, relative, name)
            if found is None:
                continue
            seen[relative], imports = found
            pending += imports
            break
    return seen


def _stage_module(stage: str) -> str:
    return "facelrp.stages." + stage.replace("render-", "").replace("-", "_")


@functools.lru_cache(maxsize=None)
def code_hash(stage: str, commit: str | None = None) -> str:
    """SHA-256 of a stage's code (see the module's docstring) in the working tree, or at a
    git `commit`.

    Parameters
    ----------
    stage : a stage as the provenance records name it (``masking``, ``render-faces`` ...)
    commit : a git commit; None: the files as they are now

    Raises
    ------
    ValueError
        when the stage's module is not found (in that commit).
    """
    sources = _Sources(commit)
    files = _closure(_stage_module(stage), sources)
    if not any(path.startswith("lib/facelrp/stages/") and "__init__" not in path for path in files):
        where = f" at commit {commit}" if commit else ""
        raise ValueError(f"stage {stage!r}: no module {_stage_module(stage)}{where}")
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0" + files[relative] + b"\0")
    for relative in _EXTRA_SOURCES.get(stage, ()):
        digest.update(relative.encode() + b"\0" + (sources.read(relative) or b"") + b"\0")
    return digest.hexdigest()


def stage_code(stage: str) -> dict:
    """What a stage's provenance records of its code beside `facelrp.artifacts.code_version`:
    ``stage_sha256`` (`code_hash` of the working tree) and ``stage_hash_version``."""
    return {"stage_sha256": code_hash(stage), "stage_hash_version": CODE_HASH_VERSION}
