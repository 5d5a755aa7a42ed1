"""Stage ``probe``: layer-wise PLS + VIP attribute probing of one trunk (Diniz & Schwartz)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import store
from ..artifacts import Results, provenance
from ..data import datasets
from ..models import vgg
from ..studies import probing

__all__ = ["run", "summary"]


def run(profile, source: str, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
        progress: bool = False) -> dict:
    """Probe every layer of `source`'s trunk on the probing faces and write the arrays of
    `probing.probe_trunk` to `out` (default: `Results.probe`). Returns the record."""
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.probe_faces
    out = Path(out) if out is not None else results.probe(source)
    settings = profile.probing
    data = datasets.FaceDataset.load(faces)
    trunk, trunk_record = vgg.profile_trunk(profile, source)
    start = time.perf_counter()
    arrays, record = probing.probe_trunk(
        trunk, data, n_components=settings["components"], top=settings["top"], max_features=settings["max_features"],
        sampled=("gender", settings["single_samples"]), seed=settings["seed"], progress=progress,
    )
    record.update(profile=profile.name, source=source, trunk=trunk_record.get("file"), settings=settings,
                  seconds=round(time.perf_counter() - start, 1),
                  provenance=provenance(profile, "probe", settings={"probing": settings}, seed=settings["seed"],
                                        parameters={"source": source},
                                        inputs={"faces": faces, **results.trunk_inputs(source)}))
    store.save_artifact(out, arrays, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['source']} probed in {record['seconds']:.0f} s, peak resident memory {record['peak_rss_gib']:.2f} GiB"
