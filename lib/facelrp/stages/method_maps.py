"""Stage ``method-maps``: every model's maps of the frontal faces with another attribution
method, or random maps (the floor of the rule-sensitivity chapter)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import store
from ..artifacts import Results, provenance
from ..data import datasets
from ..explain import analyzers, relevance
from ..models import finetune
from . import load_faces

__all__ = ["run", "summary"]


def run(profile, method: str, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
        seed: int = 0, progress: bool = False) -> dict:
    """Maps of all of `profile`'s models with `method` (a key of `relevance.METHODS`, or
    `relevance.RANDOM`), each for the classes its own maps explain, written to `out`
    (default: `Results.method_maps`) as ``maps`` (models, n, h, w) float32 and ``models``.
    Switches the process to graph mode. Returns the record."""
    if method not in (*relevance.METHODS, relevance.RANDOM):
        raise ValueError(f"method {method!r} is not one of {[*relevance.METHODS, relevance.RANDOM]}")
    relevance.graph_mode()  # before any model is built or loaded
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.method_maps(method)
    front = load_faces(faces, profile).frontal()
    keys = finetune.model_keys(profile)
    folders = [results.model(key.name) for key in keys]
    inputs = {"faces": faces}
    if method == relevance.RANDOM:
        maps = relevance.random_maps(len(keys), front.images.shape, seed=seed)
        seconds = [0.0] * len(keys)
    else:
        classes = [finetune.load_run(folder)[0]["classes"] for folder in folders]
        x = datasets.caffe_preprocess(front.images)
        maps, seconds = analyzers.maps_of_models([f / "model.h5" for f in folders], x, classes, method=method,
                                                progress=progress)
        inputs.update({f"model_{key.name}": folder / "model.h5" for key, folder in zip(keys, folders)})
    record = {
        "profile": profile.name, "method": method,
        "analyzer": relevance.METHODS.get(method, ("uniform noise", {}))[0], "seed": seed,
        "n_faces": len(front), "seconds_per_model": [round(t, 2) for t in seconds], "seconds": round(sum(seconds), 1),
        "provenance": provenance(profile, "method-maps", parameters={"method": method}, seed=seed, inputs=inputs),
    }
    store.save_artifact(out, {"maps": maps, "models": np.array([key.name for key in keys])}, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['method']} maps of {len(record['seconds_per_model'])} models in {record['seconds']:.0f} s"
