"""The pipeline's expensive jobs and their files, shared by ``workflow/Snakefile`` (which
runs them, or restores them from the cache) and `facelrp.cache` (which stores, restores
and verifies them).

A `Job` is one Snakemake job of a cached rule: its outputs, the record that holds its
provenance, and the outputs the book reads (``keep``: what the cache ships). The other
outputs (a model's ``model.h5`` and maps, every method's maps, the sanity checks' and the
probes' arrays) are read only by other expensive jobs and by the digests
(`facelrp.stages.digest`), which hold what the pages read of them; so they are left out of
the cache, and a job is restored only when every job that reads them is restored too
(`LEFT_OUT_READERS`, `facelrp.cache.restorable`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .profiles import TRUNK_SOURCES

#: The frozen-trunk reading's name (`facelrp.stages.frozen_trunk.READING`; kept here so the
#: Snakefile need not import TensorFlow's modules to know it).
READING = "frozen-trunk"

__all__ = ["Method", "Fill", "PAPER_METHOD", "METHODS", "FLOOR_METHOD", "PAPER_FILL", "FILLS", "VARIANTS", "METHOD_VARIANTS",
           "DIGESTS", "DIGEST_TABLES", "digest_files", "Job", "cached_jobs", "LEFT_OUT_READERS", "Page",
           "pages", "SUMMARY_RUNS", "RANDOM_MAPS_RUN", "SUMMARY_MASKING"]

@dataclass(frozen=True)
class Method:
    """An attribution method the robustness chapter compares with the paper's composite:
    every model's maps with it (``method_maps``), masked like the paper's
    (``masking_method``), shown and judged under `label`.

    name : a key of `facelrp.explain.relevance.METHODS` (what iNNvestigate runs), or
        `facelrp.explain.relevance.RANDOM`
    label : how the book names it (tables, figures, the summary's columns)
    floor : the random maps: the floor the others are read against, judged without the
        "reproduced" gate
    """

    name: str
    label: str
    floor: bool = False


@dataclass(frozen=True)
class Fill:
    """A masking variant of the robustness chapter: the paper's curves with another fill or
    order (``masking_variant``), under `label`.

    name : its `facelrp.artifacts.Results.masking` variant (``road``, ``road-lerf`` ...)
    fill : the fill's name in the book (``ROAD``: noisy linear imputation, ``blur``, ``mean
        colour``: the paper's)
    lerf : least relevant pixels first (the paper removes the most relevant first)
    flags : the masking command's options that make it
    """

    name: str
    fill: str
    lerf: bool
    flags: str

    @property
    def label(self) -> str:
        return f"{self.fill}, least relevant first" if self.lerf else self.fill


#: The paper's method, beside the compared ones (`METHODS`).
PAPER_METHOD = Method("composite", "composite (paper)")
#: Rule sensitivity (the robustness chapter): the methods compared with the composite, each
#: masked like the paper's maps, and a floor of random maps. The one declaration: the
#: Snakefile's wildcards, the cache's jobs, the digests, the pages and the workload count
#: iterate it.
METHODS = {m.name: m for m in (
    Method("epsilon", "LRP-ε"),
    Method("composite_b", "preset B"),
    Method("gradient_x_input", "gradient × input"),
    Method("random", "random maps", floor=True),
)}
#: The compared methods' names, in order.
METHOD_VARIANTS = tuple(METHODS)
#: The floor among them: the random maps.
FLOOR_METHOD = next(m for m in METHODS.values() if m.floor)

#: The same curves with other fills and orders (the robustness chapter): ROAD's noisy
#: linear imputation and a blur in place of the mean colour, and least-relevant-first.
PAPER_FILL = Fill("", "mean colour", False, "")
FILLS = {f.name: f for f in (
    Fill("blur", "blur", False, "--imputation blur"),
    Fill("road", "ROAD", False, "--imputation road"),
    Fill("road-lerf", "ROAD", True, "--imputation road --lerf"),
    Fill("constant-lerf", "mean colour", True, "--lerf"),
)}
#: variant -> the masking command's options (the Snakefile's masking_variant rule)
VARIANTS = {name: fill.flags for name, fill in FILLS.items()}

#: The masking runs whose verdicts the summary chapter shows (`facelrp.evaluate.conclusions`):
#: label -> `facelrp.artifacts.Results.masking` variant (None: the paper's run), then the
#: random maps' run whose verdict it shows beside each claim.
SUMMARY_RUNS = {PAPER_FILL.label: None, "frozen: trunk": READING,
                **{f.label: f.name for f in FILLS.values() if not f.lerf},
                **{m.label: f"method-{m.name}" for m in METHODS.values() if not m.floor}}
RANDOM_MAPS_RUN = f"method-{FLOOR_METHOD.name}"
#: The masking runs the summary reads, each once, in order (its page's declared inputs).
SUMMARY_MASKING = tuple(dict.fromkeys([*SUMMARY_RUNS.values(), RANDOM_MAPS_RUN]))

#: The digests of the big outputs (`facelrp.stages.digest.KINDS`; kept here so the Snakefile
#: need not import the stages to know them), one rule each: ``digest_<kind>``.
DIGESTS = ("maps", "sanity", "planted", "attributes", "rank2")
#: digest -> the tables written beside its arrays (`facelrp.artifacts.Results.digest`)
DIGEST_TABLES = {"maps": ("shares", "regions")}

#: rule -> the rules whose jobs read its outputs that the cache leaves out
LEFT_OUT_READERS = {
    "model": ("masking", "masking_variant", "masking_method", "method_maps", "sanity", "rank2", "digest_maps",
              "digest_rank2"),
    "method_maps": ("masking_method", "digest_maps"),
    "sanity": ("masking", "digest_sanity"),
    "planted": ("digest_planted",),
    "probe": ("digest_attributes",),
}


@dataclass(frozen=True)
class Job:
    """One job of a cached rule.

    Attributes
    ----------
    rule : the Snakemake rule (``model``, ``masking`` ...)
    name : the job's name in the cache (``model-vggface-identity-s0``), unique per profile
    record : the JSON record whose ``provenance`` says how the job's outputs were made
    outputs : every output the rule declares
    keep : the outputs the cache ships (the book reads them)
    folder : a folder whose every file the job made (rank-2's trial images), kept as well
    """

    rule: str
    name: str
    record: Path
    outputs: tuple[Path, ...]
    keep: tuple[Path, ...]
    folder: Path | None = field(default=None)

    @property
    def rule_name(self) -> str:
        """The name of the job's restore rule in the Snakefile (an identifier)."""
        return "restore_" + self.name.replace("-", "_").replace(".", "_")


def _artifact(rule: str, name: str, path: Path, *, keep_data: bool = True) -> Job:
    """A job writing one ``.npz`` or ``.csv`` and its ``.json`` record; the cache keeps the
    record, and the data file unless `keep_data` is False (a digest holds what pages read)."""
    record = path.with_suffix(".json")
    return Job(rule, name, record, (path, record), (path, record) if keep_data else (record,))


def cached_jobs(profile, results) -> list[Job]:
    """The expensive jobs of `profile` (`facelrp.profiles.Profile`) under `results`
    (`facelrp.artifacts.Results`), in pipeline order."""
    from .models.finetune import first_seed_keys, model_keys

    jobs = []
    for key in model_keys(profile):
        folder = results.model(key.name)
        page = results.model_page(key.name)
        jobs.append(Job("model", f"model-{key.name}", folder / "record.json",
                        (page, folder / "model.h5", folder / "arrays.npz", folder / "record.json"),
                        (page, folder / "record.json")))
    jobs.append(_artifact("masking", "masking", results.masking()))
    jobs += [_artifact("masking_variant", f"masking-{v}", results.masking(v)) for v in VARIANTS]
    jobs.append(_artifact("frozen_trunk", READING, results.masking(READING)))
    jobs += [_artifact("method_maps", f"maps-{m}", results.method_maps(m), keep_data=False) for m in METHOD_VARIANTS]
    jobs += [_artifact("masking_method", f"masking-method-{m}", results.masking(f"method-{m}"))
             for m in METHOD_VARIANTS]
    jobs += [_artifact("sanity", f"sanity-{k.name}", results.sanity(k.name), keep_data=False)
             for k in first_seed_keys(profile)]
    jobs.append(_artifact("planted", "planted", results.planted, keep_data=False))
    trials, record = results.rank2 / "trials.csv", results.rank2 / "record.json"
    jobs.append(Job("rank2", "rank2", record, (trials, record), (trials, record), folder=results.rank2))
    jobs += [_artifact("depth_probes", f"depth-probes-{s}", results.depth_probes(s)) for s in TRUNK_SOURCES]
    jobs += [_artifact("probe", f"probe-{s}", results.probe(s), keep_data=False) for s in TRUNK_SOURCES]
    jobs += [_artifact("gates", f"gates-{v}-s{s}", results.gates(f"{v}-s{s}"))
             for v in profile.gates["variants"] for s in profile.gates["seeds"]]
    for kind in DIGESTS:
        files = digest_files(results, kind)
        jobs.append(Job(f"digest_{kind}", f"digest-{kind}", files[-1], files, files))
    return jobs


def digest_files(results, kind: str) -> tuple[Path, ...]:
    """A digest's files under `results`: its arrays, its tables, its record (last)."""
    digest = results.digest(kind)
    return (digest, *(results.digest(kind, t) for t in DIGEST_TABLES.get(kind, ())), digest.with_suffix(".json"))


@dataclass(frozen=True)
class Page:
    """One page of the book: its source, the files it reads (every one: the pipeline runs it
    after them and again when one changes; tests/test_book.py records what the smoke pages
    open and finds each among them), and the profile sections it shows besides its name,
    description and stand_in."""

    name: str
    source: str
    reads: tuple[Path, ...]
    sections: tuple[str, ...]
    #: files (or folders: every file in them) the page reads when they are there, made by a
    #: job of `reads` (the observers' choices exist only with observers)
    optional: tuple[Path, ...] = ()


def pages(profile, results) -> dict[str, Page]:
    """The book's pages under `results`, in book order (the Snakefile's page rules and the
    check of what each page reads both come from here)."""
    from .models.finetune import model_keys
    from .profiles import TRUNK_SOURCES

    trunks = () if profile.trunks["source"] == "real" else tuple(profile.trunk_location(s) for s in TRUNK_SOURCES)
    records = tuple(results.model(k.name) / "record.json" for k in model_keys(profile))

    def digest(*kinds):
        return tuple(p for kind in kinds for p in digest_files(results, kind))

    jobs = cached_jobs(profile, results)
    rank2 = (results.rank2 / "trials.csv",)
    # made with the trials by the rank2 job: the sides' choices, the observers' (with
    # observers), the trial images
    choices = (results.rank2 / "sides.csv", results.rank2 / "choices.csv")
    gates = profile.gates
    listed = [
        ("intro", "book/intro.md", (), ()),
        ("dataset", "notebooks/dataset.md", (results.faces,), ("faces",)),
        ("trunks", "notebooks/trunks.md", trunks, ("trunks",)),
        ("relevance", "notebooks/relevance.md", (results.faces,) + records + digest("maps")
         + tuple(results.depth_probes(s) for s in TRUNK_SOURCES) + trunks, ("finetune", "trunks")),
        ("masking", "notebooks/masking.md", (results.faces, results.masking()) + digest("maps"), ("finetune", "verdicts")),
        ("rank2", "notebooks/rank2.md", (results.faces,) + rank2 + digest("rank2"), ("finetune", "observers"), choices),
        ("summary", "notebooks/summary.md", (results.faces,) + records
         + tuple(results.masking(v) for v in SUMMARY_MASKING) + rank2,
         ("faces", "finetune", "observers", "verdicts"), choices),
        ("where", "notebooks/where.md", (results.faces,) + records + digest("maps", "sanity", "planted")
         + (results.record(results.planted),), ("finetune", "planted")),
        ("robust", "notebooks/robust.md", (results.faces, results.masking()) + tuple(results.masking(v) for v in VARIANTS)
         + tuple(results.masking(f"method-{m}") for m in METHOD_VARIANTS)
         + tuple(results.record(results.method_maps(m)) for m in METHOD_VARIANTS) + digest("maps"),
         ("finetune", "verdicts")),
        ("attributes", "notebooks/attributes.md", digest("attributes") + tuple(results.record(results.probe(s))
                                                                            for s in TRUNK_SOURCES), ("probing", "trunks")),
        ("gates", "notebooks/gates.md", (results.gate_faces,) + tuple(
            results.gates(f"{v}-s{seed}") for v in gates["variants"] for seed in gates["seeds"]), ("gates",)),
        # where every expensive job's results came from (the cache or here), and the cross-kernel
        # rerun's report (benchmarks/cross_kernel.py)
        ("reproducing", "notebooks/reproducing.md", (results.faces, Path("benchmarks/reports/cross-kernel-demo.json"))
         + tuple(p for job in jobs for p in job.keep),
         ("faces", "trunks", "finetune", "observers", "planted", "probing", "gates"),
         # and the restore jobs' notes of what they restored (facelrp.cache.restore)
         choices + tuple(job.folder for job in jobs if job.folder is not None) + (results.root / "restored",)),
        ("references", "book/references.md", (Path("book/references.bib"),), ()),
        ("models", "book/models.md", (), ()),
    ]
    return {entry[0]: Page(*entry) for entry in listed}
