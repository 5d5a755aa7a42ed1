"""Stage ``planted``: the control set whose label lives in one face part; a readout per
trunk fine-tuned on it, its maps, and how much of their relevance falls on that part."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import store
from ..artifacts import Results, provenance
from ..explain import planted as control
from ..explain import relevance
from ..models import vgg
from ..profiles import TRUNK_SOURCES

__all__ = ["run", "summary"]

#: The per-trunk arrays of `facelrp.explain.planted.finetune_and_explain` kept in the artifact,
#: each stored as ``<source>_<name>``.
KEPT = ("mass_accuracy", "rank_accuracy", "pixel_share", "has_positive", "correct", "maps", "val")


def run(profile, *, out: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Render the planted set (``planted`` section), fine-tune and explain on both trunks,
    and write `out` (default: `Results.planted`). Switches the process to graph mode.
    Returns the record."""
    relevance.graph_mode()  # before any model is built or loaded
    results = Results(profile)
    out = Path(out) if out is not None else results.planted
    settings = profile.planted
    parts = tuple(settings["parts"])
    size = vgg.TrunkSpec(**profile.trunks["spec"]).input_size
    start = time.perf_counter()
    data, params = control.planted_faces(n_classes=settings["n_classes"], images_per_class=settings["images_per_class"],
                                         parts=parts, size=size, seed=settings["seed"], progress=progress)
    arrays = {"images": data.images, "labels": data.identity, "part_labels": data.parts, "params": params}
    record = {"profile": profile.name, **settings, "size": size, "render_seconds": round(time.perf_counter() - start, 1)}
    for source in TRUNK_SOURCES:
        start = time.perf_counter()
        trunk, _ = vgg.profile_trunk(profile, source)
        found = control.finetune_and_explain(trunk, data, parts, profile.finetune, seed=settings["seed"])
        arrays.update({f"{source}_{name}": found[name] for name in KEPT})
        record[source] = {"validation_accuracy": found["validation_accuracy"], "train_accuracy": found["train_accuracy"],
                          "mass_accuracy": float(np.nanmean(found["mass_accuracy"])),
                          "seconds": round(time.perf_counter() - start, 1)}
    record["provenance"] = provenance(profile, "planted", settings={"planted": settings, "finetune": profile.finetune},
                                      seed=settings["seed"], inputs=results.trunk_inputs(*TRUNK_SOURCES))
    store.save_artifact(out, arrays, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return ", ".join(f"{s}: validation accuracy {record[s]['validation_accuracy']:.3f}, mass accuracy "
                     f"{record[s]['mass_accuracy']:.3f}" for s in TRUNK_SOURCES)
