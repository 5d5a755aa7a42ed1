"""Stage ``sanity``: cascading model randomisation and data randomisation (Adebayo et al.)
of one model's relevance maps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import store
from ..artifacts import Results, provenance
from ..data import datasets
from ..explain import relevance
from ..explain import sanity as checks
from ..models import finetune, vgg
from . import load_faces

__all__ = ["run", "summary"]


def run(profile, model: str, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
        methods: tuple[str, ...] = ("composite", "gradient"), seed: int = 0) -> dict:
    """The sanity checks of `model` (a `finetune.ModelKey` name), written to `out` (default:
    `Results.sanity`): ``similarity`` (methods, steps, metrics), ``examples``, ``steps``,
    ``metrics``, ``methods``, the first frontal ``face`` and, if the composite is among the
    methods, ``randomised``: the composite maps (faces, h, w) of the fully re-initialised
    model, the masking stage's source that learnt nothing. Switches the process to graph
    mode. Returns the record."""
    relevance.graph_mode()  # before any model is built or loaded
    results = Results(profile)
    key = finetune.ModelKey.parse(model)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.sanity(key.name)
    folder = results.model(key.name)
    arrays, _ = finetune.load_run(folder)
    data = load_faces(faces, profile)
    front = data.frontal()
    x = datasets.caffe_preprocess(front.images)
    labels, n_classes = finetune.task_labels(data, key.task)
    train, val = finetune.split(data, seed=profile.finetune["split_seed"])
    features = finetune.load_features(results.features(key.source), profile)
    layer = finetune.feature_layer(profile.finetune)
    shuffled = {"features": features, "labels": labels, "n_classes": n_classes, "train": train, "val": val,
                "settings": profile.finetune,
                "hidden": finetune.hidden_weights(vgg.profile_trunk(profile, key.source)[0], layer)}
    found = checks.sanity_checks(folder / "model.h5", x, arrays["classes"], methods=tuple(methods), shuffled=shuffled,
                                 originals={"composite": arrays["maps"]}, seed=seed)
    record = {
        "profile": profile.name, "model": key.name, "seed": seed, "n_faces": len(x),
        "seconds": found["seconds"], "shuffled_train_accuracy": found["shuffled_accuracy"],
        "provenance": provenance(
            profile, "sanity", settings={"finetune": profile.finetune}, seed=seed,
            parameters={"model": key.name, "methods": list(methods)},
            inputs={"faces": faces, "model": folder / "model.h5", "maps": folder / "arrays.npz",
                    "features": results.features(key.source), **results.trunk_inputs(key.source)},
        ),
    }
    store.save_artifact(out, {"similarity": found["similarity"], "examples": found["examples"],
                              "steps": np.array(found["steps"]), "metrics": np.array(found["metrics"]),
                              "methods": np.array(found["methods"]), "face": front.images[0],
                              **({"randomised": found["randomised"][list(methods).index("composite")]}
                                 if "composite" in methods else {})}, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"sanity checks of {record['model']} in {record['seconds']} s"
