"""Stage ``depth-probes``: a logistic-regression probe of each fine-tuning task on each
trunk output from ``block3_pool`` to ``fc2``, on the models' own split: where a trunk keeps
what the tasks need and where it lets it go (the relevance chapter's yardstick)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import store
from ..artifacts import Results, provenance
from ..models import finetune, vgg
from ..studies import probing
from . import load_faces

__all__ = ["run", "summary"]


def run(profile, source: str, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
        progress: bool = False) -> dict:
    """`probing.layer_probes` of `source`'s trunk on the profile's faces (the models'
    training and validation split), written to `out` (default: `Results.depth_probes`) as
    a CSV with columns ``layer``, ``task``, ``features``, ``pool``, ``accuracy``, and its
    record beside it. Returns the record."""
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.depth_probes(source)
    data = load_faces(faces, profile)
    train, val = finetune.split(data, seed=profile.finetune["split_seed"])
    trunk, trunk_record = vgg.profile_trunk(profile, source)
    start = time.perf_counter()
    table = probing.layer_probes(trunk, data, train, val, progress=progress)
    record = {"profile": profile.name, "source": source, "trunk": trunk_record.get("file"),
              "max_features": probing.DEPTH_MAX_FEATURES, "seconds": round(time.perf_counter() - start, 1),
              "provenance": provenance(profile, "depth-probes", settings={"finetune": profile.finetune},
                                       parameters={"source": source, "layers": list(probing.DEPTH_LAYERS)},
                                       inputs={"faces": faces, **results.trunk_inputs(source)})}
    store.save_table(out, table, record)  # the record last: its presence means the table is whole
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['source']}: {len(record['provenance']['parameters']['layers'])} layers probed in {record['seconds']:.0f} s"
