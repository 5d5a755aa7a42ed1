"""Where a profile's artifacts live under ``results/<profile>/``, and the provenance every
stage's record carries.

`Results` is the one place that knows the layout: the pipeline (``workflow/Snakefile``),
the stages (`facelrp.stages`), the pages and the benchmarks ask it for paths instead of
joining folder names themselves. `provenance` is the one record of how an artifact was
made (profile and settings, parameters, seed, code version, inputs' SHA-256, stand-ins or
the paper's data) that every stage writes beside its output.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Results", "MEASURES_THE_MACHINE", "KERNEL_ENV", "host", "provenance", "vector_isa", "check_writable", "file_digest", "file_sha256", "code_version",
           "sources_sha256", "git_commit", "PACKAGE_DIR"]

#: The installed package's folder (its sources enter `code_version`).
PACKAGE_DIR = Path(__file__).resolve().parent


#: Names of values that measure the machine (times, rates, memory), not the computation:
#: comparisons of two runs leave them out (`facelrp.cache.verify`, `facelrp.book.pages.steady`).
MEASURES_THE_MACHINE = re.compile(r"seconds|minutes|hours|per_second|rss|_gib$|_mib$|_peak$")


class Results:
    """The layout of one profile's results folder.

    Every method returns a `Path`; arguments may be Snakemake wildcard patterns
    (``"{model}"``), so the Snakefile declares its files through the same methods.

    Parameters
    ----------
    profile : facelrp.profiles.Profile
    root : folder holding ``<profile>/``; None: ``$FACELRP_RESULTS`` or the project's
        ``results/`` (see `Profile.results_dir`).
    """

    def __init__(self, profile, root: str | os.PathLike | None = None):
        self.profile = profile
        self.root = profile.results_dir(root)

    def __repr__(self) -> str:
        return f"Results({self.profile.name!r}, root={str(self.root)!r})"

    # data
    @property
    def faces(self) -> Path:
        """The profile's face set (`FaceDataset` .npz)."""
        return self.root / "data" / "faces.npz"

    def features(self, source: str) -> Path:
        """The frozen part's features of every face for one trunk."""
        return self.root / "features" / f"{source}.npz"

    def trunk(self, source: str) -> Path:
        """The stand-in trunk `.h5` of `source` (``weights/`` for demo, made here for smoke)."""
        return self.profile.trunk_location(source)

    def trunk_inputs(self, *sources: str) -> dict[str, Path]:
        """The stand-in trunk files among a stage's inputs, named ``trunk_<source>``; none
        for the paper's weights (they live in the Keras cache, checked by their hash)."""
        if self.profile.trunks["source"] == "real":
            return {}
        return {f"trunk_{source}": self.trunk(source) for source in sources}

    # the 20 models
    def model(self, name: str) -> Path:
        """The folder of one fine-tuned model (``model.h5``, ``arrays.npz``, ``record.json``)."""
        return self.root / "models" / str(name)

    def model_page(self, name: str) -> Path:
        """The executed model notebook (an appendix page of the book)."""
        return self.root / "book" / "models" / f"{name}.ipynb"

    # analyses
    def masking(self, variant: str = "") -> Path:
        """Masking curves: the paper's (``variant=""``), a fill or order variant
        (``"road"``, ``"road-lerf"`` ...) or another method's maps (``"method-<name>"``)."""
        return self.root / "masking" / (f"curves-{variant}.npz" if variant else "curves.npz")

    def method_maps(self, method: str) -> Path:
        """Every model's maps with another attribution method."""
        return self.root / "methods" / f"{method}.npz"

    @property
    def rank2(self) -> Path:
        """The rank-2 folder (``sides.csv``, ``trials.csv``, ``trial-images/``, ``choices.csv``)."""
        return self.root / "rank2"

    def sanity(self, model: str) -> Path:
        """Cascading and data randomisation of one model's maps."""
        return self.root / "sanity" / f"{model}.npz"

    @property
    def planted(self) -> Path:
        """The planted-ground-truth control."""
        return self.root / "planted" / "planted.npz"

    @property
    def probe_faces(self) -> Path:
        """The attribute-probing faces."""
        return self.root / "probing" / "faces.npz"

    def probe(self, source: str) -> Path:
        """Layer-wise attribute probing of one trunk."""
        return self.root / "probing" / f"{source}.npz"

    def depth_probes(self, source: str) -> Path:
        """The linear probes of one trunk's outputs on the way to ``fc2`` (a CSV)."""
        return self.root / "probing" / f"depth-{source}.csv"

    @property
    def gate_faces(self) -> Path:
        """The gated networks' identification faces."""
        return self.root / "gates" / "faces.npz"

    def gates(self, run: str) -> Path:
        """One gated network (``<variant>-s<seed>``)."""
        return self.root / "gates" / f"{run}.npz"

    def digest(self, kind: str, table: str | None = None) -> Path:
        """What the pages read of an expensive stage's big outputs (`facelrp.stages.digest`):
        its arrays, or with `table` one of its tables (``digests/<kind>-<table>.csv``)."""
        return self.root / "digests" / (f"{kind}-{table}.csv" if table else f"{kind}.npz")

    # the book
    def page(self, name: str) -> Path:
        """An executed page of the book."""
        return self.root / "book" / f"{name}.ipynb"

    def log(self, name: str) -> Path:
        """A stage's log."""
        return self.root / "logs" / f"{name}.log"

    @staticmethod
    def record(path: str | os.PathLike) -> Path:
        """The ``.json`` record written beside an ``.npz`` artifact."""
        return Path(path).with_suffix(".json")

    @staticmethod
    def read_record(path: str | os.PathLike) -> dict:
        """The record of the artifact at `path` (its ``.json`` beside it)."""
        record = Results.record(path)
        if not record.is_file():
            raise FileNotFoundError(f"{record}: no record of {Path(path).name}; run the pipeline (`make book`) to make it")
        return json.loads(record.read_text())

    @staticmethod
    def load(path: str | os.PathLike) -> tuple[dict, dict]:
        """The arrays of the ``.npz`` artifact at `path` and its record."""
        from .store import load_npz

        return load_npz(path), Results.read_record(path)


def check_writable(folder: str | os.PathLike) -> Path:
    """Make sure files can be written into `folder` (created if missing), before a stage
    spends its time: an unwritable output is found at once, not after hours of work.

    Raises
    ------
    PermissionError
        naming the folder, why, and the fix.
    """
    folder = Path(folder)
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise PermissionError(f"{folder}: cannot write there, {blocking} is a file, not a folder; choose another --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(f"{folder}: cannot write there ({error.strerror or error}); choose another --out or "
                              "make the folder writable") from None
    return folder


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """A hash (any of `hashlib`'s algorithms) of a file's bytes, hex, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex)."""
    return file_digest(path, "sha256")


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """``git describe --always --dirty`` of the package's checkout, None outside git."""
    try:
        run = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                             timeout=10, cwd=PACKAGE_DIR)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() if run.returncode == 0 and run.stdout.strip() else None


def sources_sha256(folder: str | os.PathLike) -> str:
    """SHA-256 over a package folder's sources (``*.py`` and ``*.yml``, by relative path,
    caches ignored): it changes when any source file changes, is added or is renamed."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".py", ".yml") and "__pycache__" not in path.parts and path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """The code that makes an artifact: package version, git commit, and `sources_sha256` of
    the package, which identifies the code also outside a git checkout (a wheel, Binder)."""
    from . import __version__

    return {"package": __version__, "git_commit": git_commit(), "sources_sha256": sources_sha256(PACKAGE_DIR)}


@functools.lru_cache(maxsize=1)
def vector_isa() -> str:
    """The widest vector instruction set of this CPU TensorFlow's kernels use: ``avx512``,
    ``avx2``, or the machine's name where neither is known (read from ``/proc/cpuinfo``).
    Float results of training differ between these (other kernels sum in other orders),
    so records and test snapshots say which one made them."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return platform.machine()
    return "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else platform.machine()


#: The environment variables that choose CPU kernels (TensorFlow's oneDNN, its widest
#: instruction set, OpenBLAS's kernels, NumPy's own SIMD paths): a record says which were set.
KERNEL_ENV = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")


def host() -> dict:
    """The machine a result was made on: architecture, CPUs, Python, the widest vector
    instruction set (`vector_isa`) and the kernel-choosing variables of `KERNEL_ENV` that
    were set. Results differ between kernels (README, "The same numbers on any machine")."""
    return {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "vector_isa": vector_isa(), "kernel_env": {k: os.environ[k] for k in KERNEL_ENV if k in os.environ}}


def _shown(path: Path) -> str:
    """`path` relative to the working directory when inside it (records stay portable)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def provenance(
    profile,
    stage: str,
    *,
    settings: dict | None = None,
    parameters: dict | None = None,
    seed: int | None = None,
    inputs: dict[str, str | os.PathLike] | None = None,
) -> dict:
    """How an artifact was made, for its record (``record["provenance"]``).

    Parameters
    ----------
    profile : the `Profile` that ran
    stage : the stage's name (``python -m facelrp <stage>``)
    settings : the profile sections the stage read, e.g. ``{"finetune": profile.finetune}``
    parameters : the stage's own arguments (command-line options)
    seed : the seed of the stage's randomness, if it has one
    inputs : name -> file the stage read; each is recorded with its SHA-256

    Returns
    -------
    dict with ``stage``, ``profile``, ``stand_in``, ``data`` (a phrase: stand-ins or the
    paper's data), ``settings``, ``parameters``, ``seed``, ``code`` (`code_version` and
    `facelrp.codehash.stage_code`: the stage's code hash), ``command`` (the
    command line, None when run from a notebook),
    ``inputs`` (name -> ``{path, sha256}``), ``created`` (UTC, ISO 8601), ``host``.
    """
    import importlib.metadata
    import shlex
    import sys

    from .codehash import stage_code

    versions = {name: importlib.metadata.version(name) for name in ("tensorflow", "innvestigate", "numpy")}
    # the command line, when a stage runs as `python -m facelrp` (not from a notebook's kernel)
    command = ("python -m facelrp " + shlex.join(sys.argv[1:])) if Path(sys.argv[0]).match("facelrp/__main__.py") else None
    return {
        "stage": stage,
        "profile": profile.name,
        "stand_in": profile.stand_in,
        "data": profile.setting,
        "settings": settings or {},
        "parameters": parameters or {},
        "seed": seed,
        "code": {**code_version(), **stage_code(stage)},
        "command": command,
        "libraries": versions,
        "inputs": {name: {"path": _shown(Path(p)), "sha256": file_sha256(p)} for name, p in (inputs or {}).items()},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": host(),
    }
