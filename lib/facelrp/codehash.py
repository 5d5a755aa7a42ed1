"""The SHA-256 of a pipeline stage's code, for the results cache's keys (`facelrp.cache`)
and the provenance records (`facelrp.artifacts.provenance`).

A stage's code is what it runs: its module whole, and from there every definition of the
package it reaches, followed name by name (``from ..x import f``, ``x.f``, a function's
lazy imports, the module constants and classes a function uses), each parsed with its
docstring dropped; of every module it reaches, the statements that run on import and bind
no name (a module-level call) as well; plus the code cells of the notebook the model stage
runs (not its prose). So an edit
of a function re-keys exactly the stages that reach it, and a function added beside it, or
an edit of one the stage never calls, re-keys nothing. A module named bare (passed as a
value, ``getattr(module, name)``) enters whole. Comments, docstrings and ``__all__`` never
enter. The bookkeeping modules (where and how files are written: `facelrp.artifacts`,
`facelrp.store`, `facelrp.profiles`, and `facelrp.pipeline`, the list of jobs and of the
files the cache keeps) are not followed, the settings entering the keys as values.

Why by hand: no library hashes the transitive closure of a Python function's source at a
git commit (joblib's ``Memory`` hashes one function's own source, not what it calls).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROJECT_DIR", "CODE_HASH_VERSION", "code_hash", "stage_code", "stage_definitions"]

#: The project's folder (this file is ``lib/facelrp/codehash.py``).
PROJECT_DIR = Path(__file__).resolve().parents[2]
#: The version of `code_hash`'s recipe: a record made by uncommitted code carries the hash
#: it was made with, usable only while the recipe is the same (bump it when the recipe
#: changes, and re-key the shipped caches with ``python -m facelrp cache-rekey``).
CODE_HASH_VERSION = 3
# stage (as in the provenance records) -> other project files its code includes
_EXTRA_SOURCES = {"model": ("notebooks/model.md",)}
# Modules that say where and how results are written, not what they are: they are not
# followed. The profile's settings, which profiles.py reads and completes with its
# defaults, enter every key as values instead.
_BOOKKEEPING = {f"facelrp.{name}" for name in ("artifacts", "store", "profiles", "pipeline")}
_PACKAGE_INIT = "facelrp"  # the package's own __init__: its version, bookkeeping too


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


def _module_paths(module: str) -> list[str]:
    """Candidate files of ``facelrp.<...>`` relative to the project: module, then package."""
    base = "/".join(["lib", *module.split(".")])
    return [base + ".py", base + "/__init__.py"]


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


def _import_targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[tuple[str, str, str | None]]:
    """(local name, package module, attribute or None) of each ``facelrp`` name an import binds."""
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "facelrp":
                # `import facelrp.x.y` binds `facelrp`; `import facelrp.x.y as z` binds z to the module
                found.append((alias.asname, alias.name, None) if alias.asname else ("facelrp", "facelrp", None))
        return found
    if node.level:
        base = (module if is_package else module.rpartition(".")[0]).split(".")
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "facelrp":
        return found
    for alias in node.names:
        found.append((alias.asname or alias.name, target, alias.name))  # the attribute may be a module
    return found


def _bound(statement: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    names = set()
    for node in ast.walk(statement):  # assignments, and what an `if` or a `try` defines
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _references(statement: ast.AST) -> tuple[set[str], set[tuple[str, ...]]]:
    """The bare names a statement uses, and its attribute chains from a name (``a.b.c``:
    ``("a", "b", "c")``); a name only used as a chain's base is not bare."""
    chains, bases = set(), set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Attribute):
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                chains.add((value.id, *reversed(parts)))
                bases.add(id(value))
    names = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and id(node) not in bases}
    return names, chains


@dataclass(frozen=True)
class _Module:
    """A package file, parsed once: its top-level statements (dumped), which names each
    binds, which run on import and bind nothing, and the package modules its imports name."""

    relative: str
    statements: tuple[bytes, ...]
    binders: dict  # name -> indices of the statements binding it
    always: tuple[int, ...]
    references: tuple  # per statement: (bare names, chains)
    aliases: dict  # local name -> {(package module, attribute or None)}, every import anywhere in it


@functools.lru_cache(maxsize=None)
def _parsed(commit: str | None, module: str) -> _Module | None:
    """The module ``facelrp.<...>`` at `commit` (None: the working tree), or None: no such file."""
    for relative in _module_paths(module):
        text = _Sources(commit).read(relative)
        if text is not None:
            break
    else:
        return None
    tree = _strip_docstrings(ast.parse(text, filename=relative))
    is_package = relative.endswith("__init__.py")
    binders, always, aliases = {}, [], {}
    for index, statement in enumerate(tree.body):
        names = _bound(statement)
        for name in names:
            binders.setdefault(name, []).append(index)
        if not names:
            always.append(index)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, target, attribute in _import_targets(node, module, is_package):
                aliases.setdefault(name, set()).add((target, attribute))
    return _Module(relative, tuple(ast.dump(s).encode() for s in tree.body), binders, tuple(always),
                   tuple(_references(s) for s in tree.body), aliases)


class _Walk:
    """The statements a stage reaches (see the module's docstring), at one commit."""

    def __init__(self, commit: str | None):
        self.commit = commit
        self.taken: set[tuple[str, int]] = set()  # (module, statement index)
        self.whole: set[str] = set()
        self.pending: list[tuple[str, int]] = []
        self.resolved: set[tuple[str, tuple[str, ...]]] = set()

    def module(self, name: str) -> _Module | None:
        if name in _BOOKKEEPING or name == _PACKAGE_INIT:
            return None
        return _parsed(self.commit, name)

    def take(self, module: str, index: int) -> None:
        if (module, index) not in self.taken:
            self.taken.add((module, index))
            self.pending.append((module, index))
            self.touch(module)

    def touch(self, module: str) -> None:
        """`module` is imported: what it and the packages above it run on import."""
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            found = self.module(name)
            for index in found.always if found else ():
                self.take(name, index)

    def take_whole(self, module: str) -> None:
        found = self.module(module)
        if found is None or module in self.whole:
            return
        self.whole.add(module)
        for index in range(len(found.statements)):
            self.take(module, index)

    def is_module(self, name: str) -> bool:
        return name.split(".")[0] == "facelrp" and self.module(name) is not None or name in _BOOKKEEPING

    def resolve(self, module: str, chain: tuple[str, ...]) -> None:
        """Take what the name chain `chain` (``a.b.c``) used in `module` reaches."""
        found = self.module(module)
        if found is None or (module, chain) in self.resolved:
            return
        self.resolved.add((module, chain))
        head, rest = chain[0], chain[1:]
        for index in found.binders.get(head, ()):
            self.take(module, index)
        for target, attribute in found.aliases.get(head, ()):
            if attribute is not None and not self.is_module(f"{target}.{attribute}"):
                self.resolve(target, (attribute, *rest))  # `from x import f`: f of x
            else:
                self.attribute_of_module(target if attribute is None else f"{target}.{attribute}", rest)

    def attribute_of_module(self, module: str, rest: tuple[str, ...]) -> None:
        if not rest:
            self.take_whole(module)  # a module named bare: all of it
        elif self.is_module(f"{module}.{rest[0]}"):
            self.attribute_of_module(f"{module}.{rest[0]}", rest[1:])
        else:
            self.resolve(module, rest)

    def run(self, stage_module: str) -> set[tuple[str, int]]:
        self.take_whole(stage_module)
        while self.pending:
            module, index = self.pending.pop()
            names, chains = self.module(module).references[index]
            for name in names:
                self.resolve(module, (name,))
            for chain in chains:
                self.resolve(module, chain)
        return self.taken


def _stage_module(stage: str) -> str:
    return "facelrp.stages." + stage.replace("render-", "").replace("-", "_")


@functools.lru_cache(maxsize=None)
def _taken(stage: str, commit: str | None) -> tuple[tuple[str, int], ...]:
    module = _stage_module(stage)
    if _parsed(commit, module) is None:
        where = f" at commit {commit}" if commit else ""
        raise ValueError(f"stage {stage!r}: no module {module}{where}")
    return tuple(sorted(_Walk(commit).run(module)))


def stage_definitions(stage: str, commit: str | None = None) -> dict[str, dict[str, bytes]]:
    """What a stage's code hash covers: package file -> {the names a statement the stage
    reaches binds (comma-joined; empty for one that runs on import) -> its dump}, in file order.

    Raises
    ------
    ValueError
        when the stage's module is not found (in that commit).
    """
    found: dict[str, dict[str, bytes]] = {}
    for module, index in _taken(stage, commit):
        parsed = _parsed(commit, module)
        names = ",".join(sorted(name for name, where in parsed.binders.items() if index in where))
        found.setdefault(parsed.relative, {})[names or f"<statement {index}>"] = parsed.statements[index]
    return found


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
    digest = hashlib.sha256()
    for relative, statements in sorted(stage_definitions(stage, commit).items()):
        digest.update(relative.encode() + b"\0" + b"\0".join(statements.values()) + b"\0\0")
    for relative in _EXTRA_SOURCES.get(stage, ()):
        digest.update(relative.encode() + b"\0" + _code_cells(_Sources(commit).read(relative) or b"") + b"\0")
    return digest.hexdigest()


def _code_cells(page: bytes) -> bytes:
    """The code of a MyST notebook (`jupytext`), its cells joined: its prose changes no
    number, so an edit of the text between the cells re-keys nothing."""
    import jupytext

    notebook = jupytext.reads(page.decode("utf-8"), fmt="md:myst")
    return "\0".join(cell.source for cell in notebook.cells if cell.cell_type == "code").encode()


def stage_code(stage: str) -> dict:
    """What a stage's provenance records of its code beside `facelrp.artifacts.code_version`:
    ``stage_sha256`` (`code_hash` of the working tree) and ``stage_hash_version``."""
    return {"stage_sha256": code_hash(stage), "stage_hash_version": CODE_HASH_VERSION}
