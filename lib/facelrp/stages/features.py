"""Stage ``features``: the frozen part's output (``flatten`` or ``fc2``, per
``finetune.frozen``) for every face of the profile, for one trunk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..artifacts import Results, provenance
from ..models import finetune, vgg
from ..store import save_artifact
from . import load_faces

__all__ = ["run", "summary"]


def run(profile, source: str, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None) -> dict:
    """Features of `source`'s trunk (imagenet/vggface) at `finetune.feature_layer`, written
    to `out` (default: `Results.features`) as ``features`` (n_images, width) float32 and
    ``layer``. Returns the record."""
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.features(source)
    layer = finetune.feature_layer(profile.finetune)
    data = load_faces(faces, profile)
    trunk, trunk_record = vgg.profile_trunk(profile, source)
    features = finetune.trunk_features(trunk, data, layer=layer)
    inputs = {"faces": faces, **results.trunk_inputs(source)}
    record = {"source": source, "layer": layer, "shape": list(features.shape), "trunk": trunk_record.get("file"),
              "provenance": provenance(profile, "features", settings={"finetune": profile.finetune},
                                       parameters={"source": source}, inputs=inputs)}
    save_artifact(out, {"features": features, "layer": np.array(layer)}, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['shape'][0]} images x {record['shape'][1]} {record['layer']} features ({record['trunk']})"
