"""Stage ``frozen-trunk``: the paper's section 3.2 reading of its fine-tuning ("modifies
weights in a single layer"), beside the section 2.2 reading the book's models follow. The 20
models again with the whole trunk frozen (a new linear readout on ``fc2``, nothing else
trained), their LRP maps of the frontal faces, and the masking run of Figures 5 and 6 on
them: the same curves as `facelrp.stages.masking`, so the same verdicts can be drawn."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..artifacts import Results, provenance
from ..data import datasets
from ..evaluate import masking
from ..explain import relevance
from ..models import finetune, vgg
from ..pipeline import READING
from ..profiles import TRUNK_SOURCES
from ..store import save_artifact
from . import load_faces

__all__ = ["READING", "settings_of", "run", "summary"]



def settings_of(profile) -> dict:
    """The profile's fine-tuning settings with the whole trunk frozen (``frozen: trunk``)."""
    return {**profile.finetune, "frozen": "trunk"}


def run(profile, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None, seed: int = 0,
        progress: bool = False) -> dict:
    """Fine-tune `profile`'s 20 models with the trunk frozen, explain them, and mask them
    with each other's maps and random ones; written to `out` (default:
    ``Results.masking(READING)``) in the masking stage's layout (``accuracy`` (masks,
    destinations, levels), ``unmasked``, ``levels``, ``masks``, ``destinations``) plus
    ``train_accuracy`` and ``validation_accuracy`` per model. Returns the record.

    The models exist only in this process: their readouts are a few thousand numbers each,
    and nothing else reads them.
    """
    from tensorflow import keras
    from tqdm.auto import tqdm

    relevance.graph_mode()
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.masking(READING)
    settings = settings_of(profile)
    layer = finetune.feature_layer(settings)
    data = load_faces(faces, profile)
    front = data.frontal()
    x = datasets.caffe_preprocess(front.images)
    train, val = finetune.split(data, seed=settings["split_seed"])
    features = {}
    for source in TRUNK_SOURCES:
        trunk, _ = vgg.profile_trunk(profile, source)
        features[source] = finetune.trunk_features(trunk, data, layer=layer)
    keys = finetune.model_keys(profile)
    readouts, orders, accuracies = [], {}, {"train": [], "validation": []}
    started = time.perf_counter()
    for key in tqdm(keys, desc="frozen-trunk models", unit="model", disable=not progress):
        keras.backend.clear_session()  # one graph per model, or graph mode keeps them all
        trunk, _ = vgg.profile_trunk(profile, key.source)
        labels, n_classes = finetune.task_labels(data, key.task)
        weights, history = finetune.train_readout(features[key.source], labels, n_classes, train, val, seed=key.seed,
                                                  **finetune.training_options(settings))
        maps, _ = relevance.relevance_maps(finetune.assemble(trunk, weights, name=key.name), x)
        front_labels, _ = finetune.task_labels(front, key.task)
        readouts.append(masking.Readout(key.name, key.source, weights[-2], weights[-1], front_labels))
        orders[key.name] = masking.pixel_order(maps, seed=seed)
        accuracies["train"].append(history["train_accuracy"])
        accuracies["validation"].append(history["validation_accuracy"])
    model_seconds = time.perf_counter() - started
    orders["random"] = masking.random_order(len(x), x.shape[1] * x.shape[2], seed=seed)
    keras.backend.clear_session()
    trunks = {source: finetune.feature_extractor(vgg.profile_trunk(profile, source)[0], layer)
              for source in TRUNK_SOURCES}
    started = time.perf_counter()
    accuracy, images = masking.masking_curves(x, orders, trunks, readouts, fill=0.0)
    seconds = time.perf_counter() - started
    unmasked = np.array([r.accuracy(trunks[r.trunk].predict(x, verbose=0)) for r in readouts])
    record = {
        "profile": profile.name, "reading": READING, "feature_layer": layer, "fill": 0.0,
        "order": "most relevant first",
        "tie_seed": seed, "random_mask_seed": seed, "levels_percent": masking.LEVELS.tolist(), "n_faces": len(x),
        "trunk_images": images, "model_seconds": round(model_seconds, 1), "masking_seconds": round(seconds, 1),
        "seconds": round(model_seconds + seconds, 1),
        "n_models": len(keys), "min_validation_accuracy": float(min(accuracies["validation"])),
        "provenance": provenance(profile, READING, settings={"finetune": profile.finetune},
                                 parameters={"frozen": "trunk", "seed": seed}, seed=seed,
                                 inputs={"faces": faces, **results.trunk_inputs(*TRUNK_SOURCES)}),
    }
    save_artifact(out, {"accuracy": accuracy, "unmasked": unmasked, "levels": masking.LEVELS,
                        "masks": np.array(list(orders)), "destinations": np.array([r.name for r in readouts]),
                        "train_accuracy": np.array(accuracies["train"]),
                        "validation_accuracy": np.array(accuracies["validation"])}, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return (f"{record['n_models']} models on {record['feature_layer']} (lowest validation accuracy {record['min_validation_accuracy']:.3f}), "
            f"{record['trunk_images']} masked trunk images in {record['seconds']:.0f} s")
