"""The results cache: the expensive jobs' outputs shipped in ``cache/<profile>/``, each
keyed by what made it, restored by the pipeline instead of recomputed while its key still
matches, and compared with a fresh run by `verify`.

An entry's key is the SHA-256 of what makes it: the stage (its command-line parameters, the
profile sections it read, the SHA-256 of its code, the versions of TensorFlow, iNNvestigate
and NumPy) and the bytes of every input (their SHA-256). Its *lineage*, stored beside the
key, is how each input was made in turn, down to source files (a shipped trunk); an entry
stays valid while every input would still be made as those bytes (its lineage unchanged,
or the input made again here, by changed code, to the same bytes: the early cut-off of
build systems that address results by content). The lineage is read from the provenance
records the stages write, so the cache needs no second description of the pipeline. A
stage's code hash is `facelrp.codehash.code_hash`. Editing a page's code
(``notebooks/*.md``, `facelrp.evaluate`, `facelrp.figures`) changes no key: pages run
live on every build.

Why not Snakemake's own between-workflow cache (``cache: True``): (1) its key hashes the
rule's shell command, not the Python the command runs, so an edit of a stage would reuse
stale results; (2) it caches rules of one output file only (or ``multiext``), and every
stage here writes an artifact and its record; (3) it still schedules the upstream jobs of a
cached job whose inputs are missing (snakemake/snakemake#1766), so a fresh clone would
recompute the 20 models to restore the masking curves. Here the Snakefile defines a restore
rule per valid entry instead (`restorable`), and the expensive subgraph is not in the DAG.
"""

from __future__ import annotations

import ast
import datetime
import functools
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .artifacts import Results, file_sha256
from .codehash import CODE_HASH_VERSION, PROJECT_DIR, code_hash
from .pipeline import LEFT_OUT_READERS, Job, cached_jobs
from .profiles import TRUNK_SOURCES

__all__ = ["CacheError", "cache_dir", "lineage", "lineage_key", "Entry", "Manifest", "load_manifest", "store", "status",
           "rekey", "refresh", "keyed", "KEY_RECIPE", "restorable", "computed_here", "live_inputs", "restore_inputs",
           "restore", "origins", "verify", "Comparison",
           "RTOL", "ATOL", "LIBRARIES", "UNSTABLE", "states_by_rule", "Report", "report"]

if TYPE_CHECKING:
    import pandas as pd

#: The libraries whose versions enter every key (their numerics make the results).
LIBRARIES = ("tensorflow", "innvestigate", "numpy")
#: The recipe of the keys (`lineage_key`), written in the manifest. 1: an input entered by its
#: lineage's key (a change upstream re-keyed everything below, whatever it made); 2: by its
#: bytes. A manifest of another recipe is re-keyed by ``python -m facelrp cache-rekey``.
KEY_RECIPE = 2


class CacheError(ValueError):
    """A cache entry cannot be stored, restored or trusted; the message names the file and the fix."""


def cache_dir(profile_name: str) -> Path:
    """``cache/<profile>/`` of the project, or of ``$FACELRP_CACHE`` when set."""
    return Path(os.environ.get("FACELRP_CACHE") or PROJECT_DIR / "cache") / profile_name


# ------------------------------------------------------------------------------- lineage


def _record_of(path: Path) -> Path | None:
    """The record holding the provenance of the file at `path` (``x.npz`` -> ``x.json``; a
    file of a model's or rank-2's folder -> the folder's ``record.json``), if a stage made it."""
    for candidate in (path.with_suffix(".json"), path.parent / "record.json"):
        if candidate == path or not candidate.is_file():
            continue
        try:
            record = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and (record.get("provenance") or {}).get("stage"):
            return candidate
    return None


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_DIR.resolve()).as_posix()
    except ValueError:
        return str(path)


def lineage(record_path: str | os.PathLike) -> dict:
    """How the artifact whose record is at `record_path` was made, down to its source files.

    Returns
    -------
    dict: ``stage``, ``parameters``, ``sections`` (the profile sections it read, by name),
    ``code`` (`code_hash` of the code that made it: computed at the recorded
    clean commit, recorded when uncommitted), ``libraries``, ``inputs`` (name -> a lineage, or ``{"file", "sha256"}``
    for a file no stage made), and ``path``/``sha256`` of the artifact's own main file when
    it is an input of another.

    Raises
    ------
    CacheError
        when the record has no provenance, an input is missing or no longer the file it was
        made from (a stale result), or it was made by uncommitted code without its hash.
    """
    record_path = Path(record_path)
    record = json.loads(record_path.read_text())
    made = record.get("provenance") or {}
    if not made.get("stage"):
        raise CacheError(f"{record_path}: no provenance (stage, inputs) in this record; remake it with the pipeline")
    code = made.get("code", {})
    commit = code.get("git_commit")
    if commit and not commit.endswith("-dirty"):  # committed code: hashed here, by this version of the hash
        stage_code = code_hash(made["stage"], commit)
    elif code.get("stage_sha256") and code.get("stage_hash_version") == CODE_HASH_VERSION:
        stage_code = code["stage_sha256"]
    else:
        raise CacheError(f"{record_path}: made by uncommitted code ({commit or 'outside git'}) whose stage code hash was "
                         "not recorded by this version of the cache; commit, remake it with the pipeline, then store it")
    inputs = {}
    for name, found in sorted(made.get("inputs", {}).items()):
        path = Path(found["path"])
        path = path if path.is_absolute() else PROJECT_DIR / path
        if not path.is_file() or file_sha256(path) != found["sha256"]:  # a result made from other inputs than these
            state = "changed since" if path.is_file() else "missing"
            raise CacheError(f"{record_path}: its input {name} ({_relative(path)}) is {state}; it is stale, so it cannot "
                             "be stored: run the pipeline with the cache off, then store")
        upstream = _record_of(path)
        if upstream is None or upstream.resolve() == record_path.resolve():
            inputs[name] = {"file": _relative(path), "sha256": found["sha256"]}
        else:
            inputs[name] = {**lineage(upstream), "path": _relative(path), "sha256": found["sha256"]}
    return {"stage": made["stage"], "parameters": made.get("parameters", {}),
            "sections": sorted(made.get("settings", {})), "seed": made.get("seed"), "code": stage_code, "libraries": made.get("libraries", {}), "inputs": inputs}


def _canon(value) -> bytes:
    return json.dumps(value, sort_keys=True, default=str).encode()


@functools.lru_cache(maxsize=1)
def _current_libraries() -> dict:
    return {name: importlib.metadata.version(name) for name in LIBRARIES}


def lineage_key(node: dict, profile, *, now: bool = False, why: list | None = None, located=None) -> str:
    """The key of a lineage (`lineage`) under `profile`'s settings.

    A stage's key covers its own parameters, the profile sections it read, its code hash,
    the libraries' versions and the *bytes* of every input (their SHA-256), not how the
    inputs were made: a stage upstream that now makes the same bytes otherwise (faster, or
    with a refusal more) re-keys nothing below it.

    With ``now=False`` the code hashes and library versions are the recorded ones (the key
    the entry was stored under); with ``now=True`` they are those of this checkout and
    environment, source files are hashed as they are now, and an input made by a stage
    counts as the recorded bytes only when it would still be made so: either every stage of
    its lineage is as it was (its recorded ``key``, `keyed`, is its key now), or the file
    is there now (`located`: recorded path -> path here) with those bytes, made by the code
    and settings of this checkout. Otherwise it enters as changed, so the two keys differ
    exactly when something that makes the entry changed. `why`, a list, receives one line
    per difference found.
    """
    if "file" in node:
        sha = node["sha256"]
        path = PROJECT_DIR / node["file"]
        if now and path.is_file() and _is_source(node["file"]):
            current = _sha256_now(path, path.stat().st_mtime_ns)
            if current != sha and why is not None:
                why.append(f"{node['file']} changed (sha256 {current[:12]} instead of {sha[:12]})")
            sha = current
        return sha
    code, libraries = node["code"], node["libraries"]
    if now:
        code, libraries = code_hash(node["stage"]), {k: v for k, v in _current_libraries().items() if k in libraries}
        if why is not None:
            if code != node["code"]:
                why.append(f"the code of stage {node['stage']} changed")
            why += [f"{k} {node['libraries'][k]} made it, this environment has {v}" for k, v in libraries.items()
                    if node["libraries"].get(k) != v]
    inputs = {}
    for name, child in node["inputs"].items():
        if "file" in child:
            inputs[name] = lineage_key(child, profile, now=now, why=why)
        elif not now or _still_made(child, profile, why, located):
            inputs[name] = child["sha256"]
        else:
            inputs[name] = f"changed: {child['sha256']}"
    sections = {name: getattr(profile, name) for name in node["sections"]}
    made = {"stage": node["stage"], "parameters": node["parameters"], "seed": node.get("seed"), "sections": sections,
            "code": code, "libraries": libraries, "inputs": inputs}
    return hashlib.sha256(_canon(made)).hexdigest()


def keyed(node: dict, profile) -> dict:
    """`node` with the key of every stage below it recorded as its ``key`` (what
    `lineage_key` compares an input's lineage with, later), under `profile`'s settings."""
    for child in node["inputs"].values():
        if "stage" in child:
            keyed(child, profile)
            child["key"] = lineage_key(child, profile)
    return node


def _still_made(child: dict, profile, why: list | None, located) -> bool:
    """Whether the input of lineage `child` would be made as the bytes recorded, now (see
    `lineage_key`): its lineage unchanged, or the file here made by this checkout."""
    inner: list[str] = []
    if "key" in child and lineage_key(child, profile, now=True, why=inner, located=located) == child["key"]:
        return True
    path = located(child["path"]) if located else None
    if (path is not None and path.is_file() and _sha256_now(path, path.stat().st_mtime_ns) == child["sha256"]
            and _made_now(path, profile)):
        return True  # made again by changed code, to the same bytes
    if why is not None:
        why += inner or ([f"the settings of stage {child['stage']} changed"] if "key" in child else [])
        if any(line.startswith("its input") for line in inner):
            pass  # the input below it that is not made yet, or made otherwise, says it
        elif path is None or not path.is_file():
            shown = _relative(path) if path else child["path"]
            why.append(f"its input {shown} ({child['stage']}) is not made here yet, so whether it would be the same "
                       "bytes is not known: `make pipeline` makes such inputs first, then checks the entry again")
        else:
            why.append(f"its input {_relative(path)} ({child['stage']}) is made otherwise here, or by other code or "
                       "settings than this checkout's")
    return False


_INPUT_REASON = re.compile(r"^its input (?P<path>\S+) \((?P<stage>[\w-]+)\) is (?P<kind>not made here yet|made otherwise here)")


def _grouped(why: list[str]) -> list[str]:
    """The reasons `why`, each once, sorted, the inputs of one stage that are not made here
    (or made otherwise) said in one line with their count and an example, not one line each
    (the masking curves read 40 model files)."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    lines = []
    for line in sorted(set(why)):
        found = _INPUT_REASON.match(line)
        if found:
            groups.setdefault((found["stage"], found["kind"]), []).append((found["path"], line))
        else:
            lines.append(line)
    for (stage, kind), found in groups.items():
        paths = [path for path, _ in found]
        if len(found) == 1:
            lines.append(found[0][1])
        elif kind == "not made here yet":
            lines.append(f"its {len(paths)} inputs of stage {stage} (such as {paths[0]}) are not made here yet, so whether "
                         "they would be the same bytes is not known: `make pipeline` makes such inputs first, then checks "
                         "the entry again")
        else:
            lines.append(f"its {len(paths)} inputs of stage {stage} (such as {paths[0]}) are made otherwise here, or by "
                         "other code or settings than this checkout's")
    return sorted(lines)


def _made_now(path: Path, profile) -> bool:
    """Whether the file at `path`, made by a stage, was made by this checkout's code with
    this profile's settings, from inputs that were so too."""
    record_path = _record_of(path)
    if record_path is None:
        return False
    try:
        node = lineage(record_path)
    except CacheError:
        return False
    recorded = json.loads(record_path.read_text())["provenance"].get("settings", {})
    if any(_canon(getattr(profile, name, None)) != _canon(value) for name, value in recorded.items()):
        return False
    return lineage_key(node, profile, now=True, located=_as_recorded) == lineage_key(node, profile)


def _as_recorded(recorded: str) -> Path:
    path = Path(recorded)
    return path if path.is_absolute() else PROJECT_DIR / path


def _located(results: Results, made_in: str):
    """Recorded path -> the path of that file under `results`, for an entry made with its
    results in `made_in` (the folder recorded at store: the entry may come from elsewhere)."""
    def located(recorded: str) -> Path:
        if made_in and recorded.startswith(made_in.rstrip("/") + "/"):
            return results.root / recorded[len(made_in.rstrip("/")) + 1:]
        return _as_recorded(recorded)

    return located


def _legacy_key(node: dict, profile) -> str:
    """The key of a lineage under the first key recipe (`KEY_RECIPE` 1: every input by its
    own lineage's key, recursively), to check a manifest of that recipe before re-keying it."""
    if "file" in node:
        return node["sha256"]
    made = {"stage": node["stage"], "parameters": node["parameters"], "seed": node.get("seed"),
            "sections": {name: getattr(profile, name) for name in node["sections"]}, "code": node["code"],
            "libraries": node["libraries"], "inputs": {k: _legacy_key(c, profile) for k, c in node["inputs"].items()}}
    return hashlib.sha256(_canon(made)).hexdigest()


@functools.lru_cache(maxsize=None)
def _sha256_now(path: Path, mtime_ns: int) -> str:
    """`file_sha256`, once per file and modification time (a trunk is in many lineages)."""
    return file_sha256(path)


@functools.lru_cache(maxsize=None)
def _git_files() -> frozenset[str]:
    run = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=PROJECT_DIR)
    return frozenset(run.stdout.split()) if run.returncode == 0 else frozenset()


def _is_source(relative: str) -> bool:
    """A file of the project itself (a shipped trunk, an observers file), not a result."""
    return relative in _git_files() or not relative.startswith("results/")


# -------------------------------------------------------------------------------- entries


@dataclass
class Entry:
    """One job's stored outputs: its key, lineage, files and how they were made."""

    job: str
    rule: str
    key: str
    lineage: dict
    sections: dict
    files: dict  # path relative to results/<profile>/ -> sha256
    made: dict  # commit, command, created, host, seconds

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass
class Manifest:
    """``cache/<profile>/manifest.json``: the profile's entries by job name, and the folder
    holding them."""

    profile: str
    entries: dict[str, Entry]
    folder: Path
    key_recipe: int = KEY_RECIPE

    def save(self) -> None:
        """Write the manifest (atomically: a reader sees the old one or the new one)."""
        from .store import save_json

        save_json(self.folder / "manifest.json", {"profile": self.profile, "key_recipe": self.key_recipe,
                                                  "entries": {k: e.to_json() for k, e in sorted(self.entries.items())}})


def load_manifest(profile_name: str) -> Manifest:
    """The cache of a profile (empty when there is none)."""
    path = cache_dir(profile_name) / "manifest.json"
    if not path.is_file():
        return Manifest(profile_name, {}, path.parent)
    try:
        found = json.loads(path.read_text())
        entries = {name: Entry(**entry) for name, entry in found["entries"].items()}
    except (ValueError, KeyError, TypeError) as error:
        raise CacheError(f"{path}: not a cache manifest ({error}); restore it with `git checkout -- {_relative(path)}` "
                         "or delete the folder to run without the cache") from None
    return Manifest(found.get("profile", profile_name), entries, path.parent, found.get("key_recipe", 1))


def _job_files(job: Job) -> list[Path]:
    files = list(job.keep)
    if job.folder is not None:
        files += [p for p in sorted(job.folder.rglob("*")) if p.is_file() and p not in files]
    return files


def _made(record: dict, job: Job) -> dict:
    made = record.get("provenance", {})
    seconds = record.get("seconds")
    if isinstance(seconds, dict):  # per phase (a gated network: training, gates)
        seconds = sum(v for v in seconds.values() if isinstance(v, (int, float)))
    if not isinstance(seconds, (int, float)):
        parts = [v for k, v in record.items() if k.endswith("_seconds") and isinstance(v, (int, float))]
        seconds = sum(parts) if parts else None
    seconds = round(float(seconds), 1) if seconds is not None else None
    parameters = made.get("parameters", {})
    if made.get("command"):
        command = made["command"]
    elif made.get("stage") == "model":  # the model notebook, as the pipeline runs it
        command = (f"python -m facelrp execute-page notebooks/model.md --profile {made.get('profile')} "
                   + " ".join(f"--param {k}={parameters[k]}" for k in ("source", "task", "seed") if k in parameters))
    else:
        command = " ".join(["python -m facelrp", made.get("stage", job.rule), "--profile", made.get("profile", "?")]
                           + [f"--{k} {v}" for k, v in parameters.items() if isinstance(v, (str, int, float))])
    return {"commit": made.get("code", {}).get("git_commit"), "command": command, "created": made.get("created"),
            "host": made.get("host"), "seconds": seconds}


def store(profile, results: Results, jobs: list[str] | None = None, *, progress=None) -> Manifest:
    """Copy the kept outputs of `profile`'s expensive jobs from `results` into its cache,
    with their keys and provenance, and write the manifest (atomically, last).

    The caller makes sure the results are complete and up to date (``make cache`` runs
    Snakemake first). Entries of jobs not stored now stay as they were.

    Raises
    ------
    CacheError
        naming the job whose outputs are missing or whose record cannot be keyed.
    """
    manifest = load_manifest(profile.name)
    folder = cache_dir(profile.name)
    wanted = [j for j in cached_jobs(profile, results) if jobs is None or j.name in jobs]
    nodes = {}
    for job in wanted:  # every job checked before any file is copied: no half-updated cache
        missing = [p for p in job.keep if not p.is_file()]
        if missing:
            raise CacheError(f"{missing[0]}: missing, so job {job.name} cannot be stored; run the pipeline first "
                             f"(`make pipeline PROFILE={profile.name}`)")
        nodes[job.name] = keyed(lineage(job.record), profile)
        # an entry keyed by the code that made it, which this checkout no longer has, would be
        # stored only to be refused on every restore
        why: list[str] = []
        if lineage_key(nodes[job.name], profile, now=True, why=why, located=_as_recorded) != lineage_key(nodes[job.name],
                                                                                                         profile):
            raise CacheError(f"{job.record}: made by other code or settings than this checkout's "
                             f"({'; '.join(_grouped(why)) or 'an input stage changed'}), so job {job.name} cannot be "
                             f"stored; rerun it (`make pipeline PROFILE={profile.name}` after removing its outputs)")
    for job in (progress(wanted) if progress else wanted):
        node = nodes[job.name]
        for relative in manifest.entries[job.name].files if job.name in manifest.entries else ():
            (folder / relative).unlink(missing_ok=True)  # the job's earlier files, some may be gone now
        files = {}
        for path in _job_files(job):
            relative = path.relative_to(results.root).as_posix()
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            files[relative] = file_sha256(target)
        record = json.loads(job.record.read_text())
        manifest.entries[job.name] = Entry(
            job=job.name, rule=job.rule, key=lineage_key(node, profile), lineage=node,
            sections={name: getattr(profile, name) for name in node["sections"]}, files=files,
            made={**_made(record, job), "results": _relative(results.root)})
    if manifest.key_recipe != KEY_RECIPE and set(manifest.entries) - set(nodes):
        raise CacheError(f"{folder / 'manifest.json'}: keyed by key recipe {manifest.key_recipe}, not {KEY_RECIPE}; re-key it "
                         f"first (`python -m facelrp cache-rekey --profile {profile.name} --recipe-from HEAD`)")
    manifest.key_recipe = KEY_RECIPE
    manifest.save()
    return manifest


def _recipe_at(commit: str):
    """`facelrp.codehash` as it was at git `commit` (an earlier recipe of the code hash),
    reading the project's files as this one does."""
    import sys
    import types

    run = subprocess.run(["git", "show", f"{commit}:lib/facelrp/codehash.py"], capture_output=True, cwd=PROJECT_DIR)
    if run.returncode != 0:
        raise CacheError(f"commit {commit}: no lib/facelrp/codehash.py there ({run.stderr.decode().strip()}); "
                         "name the commit whose recipe keyed the cache")
    module = types.ModuleType("facelrp._codehash_then")
    module.__file__ = str(PROJECT_DIR / "lib" / "facelrp" / "codehash.py")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(run.stdout, f"{commit}:lib/facelrp/codehash.py", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    module.PROJECT_DIR = PROJECT_DIR
    return module


def rekey(profile, recipe_commit) -> tuple[list[str], dict[str, str]]:
    """Re-key `profile`'s cache after a change of the code hash's recipe
    (`facelrp.codehash.CODE_HASH_VERSION`), recomputing nothing.

    An entry is re-keyed only when the recipe of `recipe_commit` (the one that keyed it)
    finds every stage of its lineage unchanged in this checkout: then the code that made it
    is the code here, and its stages' hashes under the current recipe are this checkout's.
    Every other entry stays as it was (stale under either recipe).

    `recipe_commit` may also be a module-like object with that recipe's ``code_hash``.

    Returns
    -------
    (the jobs re-keyed, job -> why it was left as it was)
    """

    then = _recipe_at(recipe_commit) if isinstance(recipe_commit, str) else recipe_commit
    manifest = load_manifest(profile.name)
    rekeyed, left = [], {}

    def rewrite(node: dict) -> str | None:  # None: every stage as it was, else why not
        if "stage" not in node:
            return None
        if then.code_hash(node["stage"]) != node["code"]:
            return f"the code of stage {node['stage']} changed"
        for child in node["inputs"].values():
            why = rewrite(child)
            if why:
                return why
        node["code"] = code_hash(node["stage"])
        return None

    stored_key = _legacy_key if manifest.key_recipe == 1 else lineage_key
    for name, entry in sorted(manifest.entries.items()):
        if stored_key(entry.lineage, profile) != entry.key:
            left[name] = "its key is not its lineage's (a manifest edited by hand?)"
            continue
        node = json.loads(json.dumps(entry.lineage))
        why = rewrite(node)
        if why:
            left[name] = why
            continue
        entry.lineage, entry.key = keyed(node, profile), lineage_key(node, profile)
        rekeyed.append(name)
    if left and manifest.key_recipe != KEY_RECIPE:
        raise CacheError(f"{manifest.folder / 'manifest.json'}: {len(left)} entries cannot be re-keyed to key recipe "
                         f"{KEY_RECIPE} ({sorted(left)[0]}: {left[sorted(left)[0]]}), and a manifest holds one recipe; "
                         "re-store them, or remove them, first")
    manifest.key_recipe = KEY_RECIPE
    manifest.save()
    return rekeyed, left


def refresh(profile, results: Results) -> tuple[list[str], dict[str, str]]:
    """Record, in `profile`'s cache, the inputs that were made again under `results` by
    changed code to the bytes an entry was made from, so that a fresh clone (which has not
    made them yet) finds the entry valid too; nothing is recomputed and no key changes.

    For each entry valid now (`status` with these results), every input that holds only by
    its bytes here gets the lineage of the file made here (`make pipeline` has made the
    live inputs first). An entry not valid now is left as it was.

    Returns
    -------
    (the jobs refreshed, job -> why it was left as it was)
    """
    manifest = load_manifest(profile.name)
    refreshed, left = [], {}
    here_root = _relative(results.root)
    for name, entry in sorted(manifest.entries.items()):
        made_in = entry.made.get("results", "")
        located, why = _located(results, made_in), []
        if lineage_key(entry.lineage, profile, now=True, why=why, located=located) != entry.key:
            left[name] = "; ".join(_grouped(why)) or "its key is not its lineage's"
            continue
        def rebased(p, made_in=made_in):
            return made_in + p[len(here_root):] if p.startswith(here_root + "/") else p

        node = json.loads(json.dumps(entry.lineage))
        if _reground(node, profile, located, rebased):
            entry.lineage = keyed(node, profile)
            assert lineage_key(entry.lineage, profile) == entry.key  # the bytes are the same: so is the key
            refreshed.append(name)
    manifest.save()
    return refreshed, left


def _reground(node: dict, profile, located, rebased) -> bool:
    """Give every input of `node` that holds only by its bytes here the lineage of the file
    made here (its paths `rebased` to where the entry was made); whether any was."""
    changed = False
    for name, child in node["inputs"].items():
        if "stage" not in child:
            continue
        if "key" in child and lineage_key(child, profile, now=True, located=located) == child["key"]:
            changed = _reground(child, profile, located, rebased) or changed
            continue
        here = lineage(_record_of(located(child["path"])))
        _rebase(here, rebased)
        node["inputs"][name] = {**here, "path": child["path"], "sha256": child["sha256"]}
        changed = True
    return changed


def _rebase(node: dict, rebased) -> None:
    """Every input path of the lineage `node`, recursively, passed through `rebased`."""
    for child in node.get("inputs", {}).values():
        if "path" in child:
            child["path"] = rebased(child["path"])
        _rebase(child, rebased)


def status(profile, results: Results) -> dict[str, list[str]]:
    """Why each expensive job of `profile` cannot be restored: job name -> reasons (an
    empty list: its entry is valid). A job without an entry is reported as such."""
    manifest = load_manifest(profile.name)
    found = {}
    for job in cached_jobs(profile, results):
        entry = manifest.entries.get(job.name)
        if entry is None:
            found[job.name] = ["no cache entry"]
            continue
        if manifest.key_recipe != KEY_RECIPE:
            found[job.name] = [f"keyed by key recipe {manifest.key_recipe}, this checkout's is {KEY_RECIPE}: "
                               f"`python -m facelrp cache-rekey --profile {profile.name} --recipe-from HEAD`"]
            continue
        why: list[str] = []
        try:
            current = lineage_key(entry.lineage, profile, now=True, why=why,
                                  located=_located(results, entry.made.get("results", "")))
        except (ValueError, AttributeError) as error:  # a stage or a profile section that no longer exists
            found[job.name] = [f"cannot be keyed now: {error}"]
            continue
        if current != entry.key:
            changed = [f"profile section {name!r} changed" for name, value in entry.sections.items()
                       if _canon(getattr(profile, name)) != _canon(value)]
            found[job.name] = _grouped(why + changed) or ["settings of an input stage changed"]
        else:  # the files too: a byte changed in the cache makes the entry unusable, not "restored"
            problem = _files_problem(manifest, entry, profile)
            found[job.name] = [problem] if problem else []
    return found


def restorable(profile, results: Results) -> dict[str, Job]:
    """The jobs the pipeline restores instead of running: those whose entry is valid, whose
    outputs were not computed here already, and all of whose readers of left-out outputs
    (`LEFT_OUT_READERS`) are restored too."""
    valid = {name for name, why in status(profile, results).items() if not why}
    jobs = cached_jobs(profile, results)
    # results computed here stay: restoring over them would only swap them for the cache's
    # (after `make reproduce`, `make book` then has nothing to do)
    valid -= {job.name for job in jobs if computed_here(results, job)}
    return _with_readers(jobs, valid)


def computed_here(results: Results, job: Job) -> bool:
    """Whether every output of `job` is under `results`, made by the job's own rule (no
    restore marker): the pipeline keeps such results rather than restore over them."""
    return all(path.is_file() for path in job.outputs) and not _marker(results, job.name).is_file()


def _with_readers(jobs: list[Job], valid: set[str]) -> dict[str, Job]:
    """The jobs of `valid` left once every job is dropped whose left-out outputs some job
    outside it reads, repeated until nothing changes (a masking run that must run needs the
    sanity checks' arrays, and so the models' files the sanity checks read)."""
    jobs = {job.name: job for job in jobs}
    valid = set(valid)
    changed = True
    while changed:
        changed = False
        for rule, readers in LEFT_OUT_READERS.items():
            if any(job.rule in readers and name not in valid for name, job in jobs.items()):
                dropped = {name for name, job in jobs.items() if job.rule == rule} & valid
                valid -= dropped
                changed = changed or bool(dropped)
    return {name: job for name, job in jobs.items() if name in valid}


def live_inputs(profile, results: Results, entry: Entry) -> list[tuple[str, Path, dict]]:
    """The inputs of an entry that every build makes live (the faces, the gated networks'
    faces, the trunks): name, path under `results` (the entry's lineage names them under the
    results folder it was made in), and their lineage. Restoring checks they are the files the
    entry was made from. (The probing faces are not among them: only cached jobs read them.)"""
    live = {p.resolve() for p in (results.faces, results.gate_faces,
                                  *(results.trunk(s) for s in TRUNK_SOURCES if profile.trunks["source"] != "real"))}
    located = _located(results, entry.made.get("results", ""))
    found = []
    for name, child in entry.lineage["inputs"].items():
        recorded = child.get("path") or child["file"]
        path = next((c for c in (located(recorded), PROJECT_DIR / recorded) if c.resolve() in live), None)
        if path is not None:
            found.append((name, path, child))
    return found


def restore_inputs(profile, results: Results, name: str, manifest: Manifest | None = None) -> list[Path]:
    """What a job's restore rule needs first: its cached files and its live inputs
    (`manifest`: the profile's, when the caller has read it already)."""
    manifest = manifest or load_manifest(profile.name)
    entry = manifest.entries[name]
    return [manifest.folder / f for f in sorted(entry.files)] + [p for _, p, _ in live_inputs(profile, results, entry)]


def restore(profile, results: Results, name: str) -> list[Path]:
    """Copy one job's entry into `results`, each file checked against its SHA-256, after
    checking that the live inputs it was made from (faces, trunks) are the ones here.

    Raises
    ------
    CacheError
        when a cached file does not match its SHA-256 or a live input differs from the
        one the entry was made from; the message names the file and the fix.
    """
    manifest = load_manifest(profile.name)
    entry = manifest.entries.get(name)
    if entry is None:
        raise CacheError(f"{manifest.folder / 'manifest.json'}: no entry {name!r}; run without the cache "
                         f"(`make reproduce PROFILE={profile.name}`)")
    for input_name, path, child in live_inputs(profile, results, entry):
        if not path.is_file():
            continue
        current = file_sha256(path)
        if current != child["sha256"]:
            raise CacheError(f"{_relative(path)}: not the file the cached {name} was made from (sha256 {current[:12]}, "
                             f"expected {child['sha256'][:12]}); this machine made another {input_name}, so the "
                             f"cache cannot be used: run `make reproduce PROFILE={profile.name}`")
    problem = _files_problem(manifest, entry, profile)
    if problem:  # every file checked before any is copied: a damaged entry leaves nothing half-restored
        raise CacheError(problem)
    restored = []
    for relative in sorted(entry.files):
        target = results.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep(target.parent)
        temporary = target.with_name(f".{target.name}.restore-{os.getpid()}")
        try:
            shutil.copyfile(manifest.folder / relative, temporary)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        restored.append(target)
    from .store import save_json

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    save_json(_marker(results, name), {"job": name, "key": entry.key, "made": entry.made, "restored": now})
    return restored


def _files_problem(manifest: Manifest, entry: Entry, profile) -> str | None:
    """The first of an entry's files that is missing or not the bytes it was stored with,
    as the line that says so and the fix; None when every one is."""
    for relative, sha in sorted(entry.files.items()):
        source = manifest.folder / relative
        if not source.is_file() or _sha256_now(source, source.stat().st_mtime_ns) != sha:
            state = "changed since it was stored" if source.is_file() else "missing"
            return (f"{source}: {state} (sha256 {sha[:12]} expected); `git checkout -- {_relative(source)}` or run "
                    f"`make reproduce PROFILE={profile.name}`")
    return None


def _sweep(folder: Path) -> None:
    from .store import process_alive

    """Remove the temporaries of restores killed before they could (``.<name>.restore-<pid>``
    of a process that no longer runs); a live restore's are kept."""
    for path in folder.glob(".*.restore-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            path.unlink(missing_ok=True)


def _marker(results: Results, name: str) -> Path:
    """Where `restore` notes that it restored job `name` (the reproducing page reads it)."""
    return results.root / "restored" / f"{name}.json"


def _machine(host: dict) -> str:
    """A record's host in a few words: its CPUs and their vector instructions."""
    return ", ".join([f"{host.get('cpus', '?')} CPUs"] + ([host["vector_isa"]] if host.get("vector_isa") else []))


def origins(profile, results: Results):
    """Where each expensive job's results under `results` came from, for the book.

    Returns
    -------
    pandas.DataFrame, one row per job: ``job``, ``here`` ("restored from the cache" when
    `restore` wrote them and they are still the cached bytes, else "computed here"), and of
    the cache entry (empty without one): ``made`` (UTC date), ``commit``, ``command``,
    ``machine`` (CPUs), ``wall time (s)``, ``files``.
    """
    import pandas as pd

    manifest = load_manifest(profile.name)
    rows = []
    for job in cached_jobs(profile, results):
        entry = manifest.entries.get(job.name)
        marker = _marker(results, job.name)
        restored = (entry is not None and marker.is_file() and json.loads(marker.read_text()).get("key") == entry.key
                    and all((results.root / f).is_file() and file_sha256(results.root / f) == sha
                            for f, sha in entry.files.items()))
        made = entry.made if entry is not None else {}
        rows.append({"job": job.name, "here": "restored from the cache" if restored else "computed here",
                     "made": (made.get("created") or "")[:16].replace("T", " "), "commit": made.get("commit"),
                     "command": made.get("command"), "machine": _machine(made.get("host") or {}) if made else None,
                     "wall time (s)": made.get("seconds"), "files": len(entry.files) if entry else None})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------- verify

#: Tolerance of `verify` where bytes differ: float results that agree to rounding (the same
#: computation summed in another order) count as equal within it.
RTOL, ATOL = 1e-5, 1e-6
#: Record fields that say when, where, how fast and from which files, not what: never compared as results
#: (the timings, rates and memory figures of `artifacts.MEASURES_THE_MACHINE` too).
_VOLATILE = {"created", "host", "seconds", "code", "command", "git_commit", "machine", "path", "threads", "provenance"}
#: rule -> (the record field that is its result, why it differs across machines): stages whose
#: results swing across CPUs beyond rounding (`verify` says so, and shows the field beside the
#: spread of the other seeds in the cache). The gated networks train 20 epochs from scratch
#: and are far from a plateau (train accuracy 0.25 to 0.86 in the shipped cache): kernels
#: that round differently send them to other solutions, as other seeds do.
UNSTABLE = {"gates": ("accuracy", "the gated networks' training is far from a plateau; other CPU kernels move it as "
                                  "another seed does (the gates chapter shows the seed-to-seed spread)")}
#: `Comparison.state` values
BIT_EQUAL, ROUNDING, DIFFERENT, NOT_RUN = "bit-equal", "equal within rounding", "different", "not run"


@dataclass
class Comparison:
    """One job of `verify`: how its fresh files compare with the cache's.

    Attributes
    ----------
    job, rule : the job's name and rule
    files : how many files the entry holds; ``equal``: how many the fresh run made with the
        same bytes or, for records, the same values (timings and hosts apart)
    max_difference : the largest |difference| of a number that is not bit-equal
    problems : what differs beyond `RTOL`/`ATOL` (or in shape, text, fields)
    missing : the entry's files the fresh run did not make
    spread : for an `UNSTABLE` rule, its result field here, in the cache, and in the cache's
        other seeds of the same variant
    """

    job: str
    files: int
    equal: int
    max_difference: float
    problems: list[str]
    rule: str = ""
    missing: list[str] = field(default_factory=list)
    spread: dict | None = None

    @property
    def ok(self) -> bool:
        """No difference beyond rounding, and every file made."""
        return not self.problems and not self.missing

    @property
    def state(self) -> str:
        if self.missing and len(self.missing) == self.files:
            return NOT_RUN
        if self.problems or self.missing:
            return DIFFERENT
        return BIT_EQUAL if self.equal == self.files else ROUNDING

    @property
    def result(self) -> str:
        state = self.state
        if state == NOT_RUN:
            return "not run by the fresh run"
        if state == BIT_EQUAL:
            return "equal"
        if state == ROUNDING:
            return f"equal within tolerance (max |difference| {self.max_difference:.2g})"
        found = self.problems + [f"{relative}: not made by the fresh run" for relative in self.missing]
        text = "; ".join(found[:2]) + (f" (+{len(found) - 2})" if len(found) > 2 else "")
        if self.spread is not None:
            s = self.spread
            text += (f"; {s['field']} {s['fresh']:.3g} here, {s['cached']:.3g} in the cache, other seeds in the cache "
                     f"{', '.join(f'{v:.3g}' for v in s['other_seeds']) or 'none'}: unstable stage ({UNSTABLE[self.rule][1]})")
        return text


def _numbers(value, prefix=""):
    """Leaves of nested JSON, volatile fields left out: path -> value."""
    from .artifacts import MEASURES_THE_MACHINE

    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _VOLATILE and not MEASURES_THE_MACHINE.search(str(key)):
                yield from _numbers(item, f"{prefix}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _compare_values(a, b, where: str, problems: list[str]) -> float:
    """Largest |difference| of two numbers or arrays; a problem when beyond the tolerance."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        problems.append(f"{where}: shape {a.shape} instead of {b.shape}")
        return float("inf")
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        a, b = a.astype(float), b.astype(float)
        same_nan = np.isnan(a) == np.isnan(b)
        if not same_nan.all():
            problems.append(f"{where}: NaN in other places")
            return float("inf")
        finite = ~np.isnan(a)
        difference = float(np.abs(a[finite] - b[finite]).max()) if finite.any() else 0.0
        if not np.allclose(a[finite], b[finite], rtol=RTOL, atol=ATOL):
            problems.append(f"{where}: max |difference| {difference:.3g}")
        return difference
    if not np.array_equal(a, b):
        problems.append(f"{where}: differs")
    return 0.0


def _compare_file(fresh: Path, cached: Path, where: str, problems: list[str]) -> float:
    import numpy as np
    import pandas as pd

    if fresh.suffix == ".npz":
        with np.load(fresh, allow_pickle=False) as a, np.load(cached, allow_pickle=False) as b:
            if set(a.files) != set(b.files):
                problems.append(f"{where}: arrays {sorted(set(a.files) ^ set(b.files))} in one only")
                return float("inf")
            return max([_compare_values(a[k], b[k], f"{where}:{k}", problems) for k in a.files] or [0.0])
    if fresh.suffix == ".json":
        a, b = dict(_numbers(json.loads(fresh.read_text()))), dict(_numbers(json.loads(cached.read_text())))
        if set(a) != set(b):
            problems.append(f"{where}: fields {sorted(set(a) ^ set(b))[:3]} in one only")
            return float("inf")
        return max([_compare_values(a[k], b[k], f"{where}{k}", problems) for k in a] or [0.0])
    if fresh.suffix == ".csv":
        a, b = pd.read_csv(fresh), pd.read_csv(cached)
        if list(a.columns) != list(b.columns):
            problems.append(f"{where}: columns differ")
            return float("inf")
        return max([_compare_values(a[c].to_numpy(), b[c].to_numpy(), f"{where}:{c}", problems) for c in a] or [0.0])
    if fresh.suffix == ".ipynb":  # an executed page: its outputs hold timings; the numbers are in its artifacts
        return 0.0
    problems.append(f"{where}: bytes differ")
    return float("inf")


def verify(profile, results: Results, *, progress=None) -> list[Comparison]:
    """Compare every cached entry of `profile` with the fresh files of the same job under
    `results`: bytes first, then values (records: dates, hosts, timings, rates and memory
    figures left out; executed pages: not compared, their numbers are in the artifacts),
    equal within `RTOL`/`ATOL` or different. For an `UNSTABLE` rule the comparison also
    holds its result beside the other seeds' in the cache (``spread``).

    Returns
    -------
    one `Comparison` per entry, in the manifest's order.
    """
    manifest = load_manifest(profile.name)
    if not manifest.entries:
        raise CacheError(f"{manifest.folder / 'manifest.json'}: no cache to verify against; "
                         f"make it with `make cache PROFILE={profile.name}`")
    found = []
    entries = list(manifest.entries.values())
    for entry in (progress(entries) if progress else entries):
        problems: list[str] = []
        missing: list[str] = []
        equal, largest, files = 0, 0.0, 0
        for relative, sha in sorted(entry.files.items()):
            if relative.endswith(".ipynb"):
                continue
            files += 1
            fresh = results.root / relative
            if not fresh.is_file():
                missing.append(relative)
                continue
            if file_sha256(fresh) == sha:
                equal += 1
                continue
            before = len(problems)
            difference = _compare_file(fresh, manifest.folder / relative, relative, problems)
            largest = max(largest, difference)
            equal += len(problems) == before and difference == 0.0  # only dates, hosts, timings differ
        comparison = Comparison(entry.job, files, equal, largest, problems, rule=entry.rule, missing=missing)
        if entry.rule in UNSTABLE and comparison.state == DIFFERENT and not missing:
            comparison.spread = _spread(manifest, entry, results)
        found.append(comparison)
    return found


def _spread(manifest: Manifest, entry: Entry, results: Results) -> dict:
    """An unstable job's result field here and in the cache, and in the cache's entries of
    the same rule and parameters but another seed."""
    name, _ = UNSTABLE[entry.rule]

    def value(folder: Path, e: Entry) -> float:
        return float(json.loads((folder / _record_file(e)).read_text())[name])

    params = {k: v for k, v in entry.lineage.get("parameters", {}).items() if k != "seed"}
    others = [e for e in manifest.entries.values() if e.rule == entry.rule and e.job != entry.job
              and {k: v for k, v in e.lineage.get("parameters", {}).items() if k != "seed"} == params]
    return {"field": name, "fresh": value(results.root, entry), "cached": value(manifest.folder, entry),
            "other_seeds": [value(manifest.folder, e) for e in others]}


def _record_file(entry: Entry) -> str:
    """The entry's record (the one ``.json`` file beside its data)."""
    records = [f for f in entry.files if f.endswith(".json")]
    return records[-1]


def states_by_rule(jobs: list[dict]):
    """How many jobs of each rule a `verify` report (``cache-verify --out``, its ``jobs``)
    found in each state: DataFrame indexed by rule, one column per state it saw."""
    import pandas as pd

    table = pd.DataFrame(jobs).pivot_table(index="rule", columns="state", values="job", aggfunc="count", fill_value=0)
    return table[[s for s in (BIT_EQUAL, ROUNDING, DIFFERENT, NOT_RUN) if s in table.columns]]


@dataclass
class Report:
    """What `make reproduce` ends with: the book's conclusions from a fresh run against the
    cache's (`facelrp.evaluate.conclusions.compare`), and `verify`'s comparison of every job."""

    conclusions: pd.DataFrame
    jobs: list[Comparison]

    @property
    def reproduced(self) -> bool:
        """Every compared verdict the same and every compared statistic inside the cache's
        interval, whatever the arrays do (`conclusions.reproduced`)."""
        from .evaluate import conclusions

        return conclusions.reproduced(self.conclusions)

    @property
    def summary(self) -> str:
        """One line: the jobs by state, the verdicts that agree, the statistics within."""
        states = [c.state for c in self.jobs]
        counts = ", ".join(f"{states.count(s)} {s}" for s in (BIT_EQUAL, ROUNDING, DIFFERENT, NOT_RUN) if states.count(s))
        compared = self.conclusions[self.conclusions["verdict agrees"].notna()]
        within = compared["within"].dropna()
        return (f"{'reproduced' if self.reproduced else 'not reproduced'}: jobs: {counts} (rtol {RTOL:g}, atol {ATOL:g} "
                f"where bytes differ); conclusions: {int(compared['verdict agrees'].sum())} of {len(compared)} verdicts "
                f"agree, {int(within.sum())} of {len(within)} statistics within the cache's 95 % interval")

    def to_json(self) -> dict:
        from .artifacts import host

        return {"verdict": "reproduced" if self.reproduced else "not reproduced", "summary": self.summary, "host": host(),
                "conclusions": self.conclusions.to_dict("records"),
                "jobs": [{"job": c.job, "rule": c.rule, "files": c.files, "state": c.state, "result": c.result,
                          "spread": c.spread} for c in self.jobs]}


def report(profile, results: Results, *, progress=None) -> Report:
    """The fresh run under `results` against `profile`'s cache: its conclusions, then `verify`."""
    from .evaluate import conclusions

    cached = conclusions.draw(profile, Results(profile, cache_dir(profile.name).parent))
    table = conclusions.compare(cached, conclusions.draw(profile, results))
    return Report(table, verify(profile, results, progress=progress))
