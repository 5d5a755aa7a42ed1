"""Stage ``gates``: one gated-network variant (ConvNet-AIG / IIG, Garg et al.), trained on
the gate faces, with its gates on the test and training faces."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import store
from ..artifacts import Results, provenance
from ..studies import gates as gating

__all__ = ["run", "summary"]


def run(profile, variant: str, seed: int, *, faces: str | os.PathLike | None = None,
        out: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Train `variant` (see `facelrp.studies.gates.train_variant`) with `seed` and write its test
    ``gates``, ``predicted``, ``gflops``, ``train_gates`` and ``history`` to `out`
    (default: `Results.gates`). Returns the record."""
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.gate_faces
    out = Path(out) if out is not None else results.gates(f"{variant}-s{seed}")
    settings = profile.gates
    arrays = store.load_npz(faces)
    x = (arrays["images"][..., None] / 255.0).astype(np.float32)
    identity, train, test = arrays["identity"], arrays["train"], arrays["test"]
    attributes = {k[len("attribute_"):]: v for k, v in arrays.items() if k.startswith("attribute_")}
    spec = gating.profile_spec(settings, x.shape[1], int(identity.max()) + 1)
    start = time.perf_counter()
    model, history = gating.train_variant(spec, variant, x[train], identity[train],
                                          {k: v[train] for k, v in attributes.items()}, epochs=settings["epochs"],
                                          batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                                          seed=seed, progress=progress)
    seconds = time.perf_counter() - start
    on_test = gating.evaluate(model, spec, x[test], identity[test])
    on_train = gating.evaluate(model, spec, x[train], identity[train])
    record = {
        "profile": profile.name, "variant": variant, "seed": seed, "accuracy": on_test["accuracy"],
        "train_accuracy": on_train["accuracy"], "mean_gflops": on_test["mean_gflops"],
        "full_gflops": float(gating.executed_gflops(np.ones((1, len(spec.blocks()))), spec)[0]),
        "train_seconds": round(seconds, 1), "epochs": settings["epochs"], "n_train": int(len(train)),
        "n_test": int(len(test)), "blocks": len(spec.blocks()),
        "provenance": provenance(profile, "gates", settings={"gates": settings}, seed=seed,
                                 parameters={"variant": variant, "seed": seed}, inputs={"faces": faces}),
    }
    store.save_artifact(out, {"gates": on_test["gates"], "predicted": on_test["predicted"], "gflops": on_test["gflops"],
                              "train_gates": on_train["gates"], "history": np.array(history)}, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['variant']} seed {record['seed']}: test accuracy {record['accuracy']:.3f}, {record['mean_gflops']:.4f} GFLOPs"
