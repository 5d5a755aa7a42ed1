"""Stage ``model``: one of the paper's 20 models. Fine-tune the layers after the frozen
part of its trunk on the stored features, assemble the whole network, and compute the LRP
maps of the frontal faces. The model notebook (``notebooks/model.md``) calls it and plots."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..artifacts import Results, provenance
from ..data import datasets
from ..explain import relevance
from ..models import finetune, vgg
from . import load_faces

__all__ = ["ModelRun", "run"]


@dataclass
class ModelRun:
    """What one model's stage made: its record (as saved in ``record.json``), its training
    history, the frontal faces and their maps (n, h, w) float32, not normalised."""

    record: dict
    history: dict
    front: datasets.FaceDataset
    maps: np.ndarray


def run(profile, key: finetune.ModelKey, *, method: str = "composite") -> ModelRun:
    """Fine-tune and explain the model `key` of `profile`, writing ``model.h5``,
    ``arrays.npz`` (``maps``, ``classes`` explained, ``logits``) and ``record.json`` into
    `Results.model` (the record last: its presence means the run is complete).

    Switches the process to graph mode (iNNvestigate's requirement) before any model is
    built, so call it before building or loading other Keras models in the process.
    """
    relevance.graph_mode()
    results = Results(profile)
    settings = profile.finetune
    data = load_faces(results.faces, profile)
    features = finetune.load_features(results.features(key.source), profile)
    layer = finetune.feature_layer(settings)
    trunk, trunk_record = vgg.profile_trunk(profile, key.source)
    hidden = finetune.hidden_weights(trunk, layer)

    labels, n_classes = finetune.task_labels(data, key.task)
    train, val = finetune.split(data, seed=settings["split_seed"])
    started = time.perf_counter()
    weights, history = finetune.train_readout(
        features, labels, n_classes, train, val, seed=key.seed, hidden=hidden, **finetune.training_options(settings),
    )
    readout_seconds = time.perf_counter() - started

    model = finetune.assemble(trunk, weights, name=key.name)
    front = data.frontal()
    x = datasets.caffe_preprocess(front.images)
    logits = model.predict(x, batch_size=64, verbose=0)
    started = time.perf_counter()
    maps, explained = relevance.relevance_maps(model, x, method=method)
    lrp_seconds = time.perf_counter() - started
    front_labels, _ = finetune.task_labels(front, key.task)
    record = {
        "model": key.name, "source": key.source, "task": key.task, "seed": key.seed, "profile": profile.name,
        "stand_in": profile.stand_in, "n_classes": n_classes, "readout": settings, "feature_layer": layer,
        "trained_layers": [lay.name for lay in model.layers[-(len(weights) // 2):]],
        "train_accuracy": history["train_accuracy"], "validation_accuracy": history["validation_accuracy"],
        "history": {k: history[k] for k in ("accuracy", "val_accuracy")},
        "n_train": int(len(train)), "n_validation": int(len(val)),
        "frontal_accuracy": float((logits.argmax(1) == front_labels).mean()),
        "relevance_method": relevance.METHODS[method][0],
        "trunk_sha256": trunk_record.get("sha256"),
        "readout_seconds": round(readout_seconds, 2), "lrp_seconds": round(lrp_seconds, 2), "n_maps": len(x),
        "provenance": provenance(
            profile, "model", settings={"finetune": settings}, seed=key.seed,
            parameters={"source": key.source, "task": key.task, "seed": key.seed, "method": method},
            inputs={"faces": results.faces, "features": results.features(key.source),
                    **results.trunk_inputs(key.source)},
        ),
    }
    finetune.save_run(results.model(key.name), model, {"maps": maps, "classes": explained, "logits": logits}, record)
    return ModelRun(record=record, history=history, front=front, maps=maps)
