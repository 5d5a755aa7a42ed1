"""Relevance-based masking: pixel orders, masked images, accuracy curves and their AUC.

A source model's map of a face orders its pixels by absolute relevance (ties broken by
a seeded random order); masking level N % replaces the first N % of that order with the
fill value in every colour channel. A destination model is then scored on the masked
faces at every level, for its own task. Curves for all (source, destination) pairs come
from `masking_curves`, which runs each frozen trunk once per (mask, level, image) and
applies every readout of that trunk to the same features (see `naive_curves` for the
reference path it must equal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import trapezoid
from tqdm.auto import tqdm

__all__ = [
    "LEVELS",
    "Readout",
    "n_masked",
    "pixel_order",
    "random_order",
    "mask_images",
    "least_relevant_first",
    "load_readouts",
    "load_models",
    "masking_curves",
    "naive_curves",
    "auc",
]

#: Mask levels in % of the pixels: quarter-decade log spacing from 0.1 % to 100 %.
#: It contains the paper's half-decade grid (0.1, 0.316, 1, 3.16, 10, 31.6, 100 %).
LEVELS = 10.0 ** (np.arange(-4, 9) / 4)


def n_masked(levels: np.ndarray, n_pixels: int) -> np.ndarray:
    """How many pixels each level (in %) masks: the nearest whole number."""
    levels = np.asarray(levels, dtype=float)
    if np.any(levels < 0) or np.any(levels > 100):
        raise ValueError(f"mask levels must lie in [0, 100] %, got {levels}")
    return np.rint(levels / 100.0 * n_pixels).astype(int)


def pixel_order(maps: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Pixel indices of each map, most relevant first by absolute relevance.

    Parameters
    ----------
    maps : (n, h, w) relevance maps (normalised or not: only the order matters)
    seed : seeds the random order that breaks ties (equal |relevance|)

    Returns
    -------
    (n, h * w) int64, flat pixel indices
    """
    flat = np.abs(np.asarray(maps, dtype=np.float64).reshape(len(maps), -1))
    tiebreak = np.random.default_rng(seed).random(flat.shape)
    # lexsort sorts by the last key first: |relevance| descending, then the random key
    return np.lexsort((tiebreak, -flat), axis=-1)


def random_order(n: int, n_pixels: int, *, seed: int = 0) -> np.ndarray:
    """A seeded random pixel order per image: the random-mask baseline."""
    return np.argsort(np.random.default_rng(seed).random((n, n_pixels)), axis=-1)


def mask_images(x: np.ndarray, order: np.ndarray, count: int, *, fill: float = 0.0) -> np.ndarray:
    """Copy of `x` (n, h, w, c) with the first `count` pixels of each image's `order` set
    to `fill` in every channel. With caffe preprocessing, ``fill=0`` is the mean colour."""
    n, h, w, c = x.shape
    out = np.array(x, dtype=np.float32, copy=True).reshape(n, h * w, c)
    out[np.arange(n)[:, None], order[:, :count]] = fill
    return out.reshape(n, h, w, c)


def _all_levels(x: np.ndarray, order: np.ndarray, counts: np.ndarray, fill) -> np.ndarray:
    """The faces masked at every level, stacked level by level: (levels * n, h, w, c).
    One predict call for all levels: per-call overhead dominates small trunks.

    `fill` is a value (in preprocessed units; 0 is the mean colour) or an object with a
    ``levels(order, counts)`` method that makes the filled faces itself (`fills.ImageFill`).
    """
    if hasattr(fill, "levels"):
        return fill.levels(order, counts)
    return np.concatenate([mask_images(x, order, count, fill=fill) for count in counts])


def least_relevant_first(order: np.ndarray) -> np.ndarray:
    """The LeRF order of a MoRF pixel order (`pixel_order`): the same pixels, reversed."""
    return np.ascontiguousarray(order[:, ::-1])


@dataclass(frozen=True)
class Readout:
    """A destination model's trained layers on its trunk's frozen features: the linear
    readout, after the fine-tuned hidden layers when the convolutions alone were frozen."""

    name: str
    trunk: str  # which trunk it reads (the pretraining source)
    kernel: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)
    labels: np.ndarray  # (n,) the true class of each image for its task
    hidden: tuple = ()  # [kernel, bias] of each fine-tuned ReLU layer before the readout

    @classmethod
    def from_model(cls, model, name: str, trunk: str, labels: np.ndarray, *, layer: str = "fc2") -> "Readout":
        """The layers of `model` after its frozen `layer` (see `finetune.feature_layer`)."""
        from ..models.finetune import layers_after

        after = layers_after(model, layer)
        if not after or after[-1].name != "predictions":
            raise ValueError(f"model {name}: no readout named 'predictions' after layer {layer}")
        hidden = tuple(tuple(lay.get_weights()) for lay in after[:-1])
        kernel, bias = after[-1].get_weights()
        return cls(name, trunk, kernel, bias, np.asarray(labels), hidden)

    @classmethod
    def from_h5(cls, path, name: str, trunk: str, labels: np.ndarray, *, layer: str = "fc2") -> "Readout":
        """The same as `from_model`, read from the model's ``.h5`` file without building the
        Keras model (which cost the masking stage most of its time at smoke size)."""
        from ..models.vgg import read_keras_h5

        weights = read_keras_h5(path)
        names = list(weights)
        if layer not in names:
            raise ValueError(f"{path}: model {name} has no layer {layer!r}")
        after = names[names.index(layer) + 1:]
        if not after or after[-1] != "predictions":
            raise ValueError(f"{path}: model {name} has no readout named 'predictions' after layer {layer}")
        kernel, bias = weights[after[-1]]
        return cls(name, trunk, kernel, bias, np.asarray(labels), tuple(tuple(weights[n]) for n in after[:-1]))

    def logits(self, features: np.ndarray) -> np.ndarray:
        from ..models.finetune import head_logits

        return head_logits(features, [w for pair in self.hidden for w in pair] + [self.kernel, self.bias])

    def accuracy(self, features: np.ndarray) -> float:
        return float((self.logits(features).argmax(1) == self.labels).mean())


def load_readouts(profile, front, *, seed: int = 0) -> tuple[list[Readout], dict[str, np.ndarray], list[dict]]:
    """A profile's 20 fine-tuned models as masking needs them, without building them.

    Returns their `Readout`s scored on `front` (the frontal faces), each model's pixel
    order (`pixel_order` of its maps, ties broken with `seed`) keyed by model name, and
    the models' records.
    """
    from ..artifacts import Results
    from ..models import finetune

    layer = finetune.feature_layer(profile.finetune)
    readouts, orders, records = [], {}, []
    for key in finetune.model_keys(profile):
        folder = Results(profile).model(key.name)
        arrays, record = finetune.load_run(folder)
        if arrays["maps"].shape[1:] != front.image_size:
            raise ValueError(f"{folder}/arrays.npz: maps of shape {arrays['maps'].shape[1:]} do not fit the "
                             f"{front.image_size[0]}-px faces; rerun the pipeline for profile {profile.name}")
        labels, _ = finetune.task_labels(front, key.task)
        readouts.append(Readout.from_h5(folder / "model.h5", key.name, key.source, labels, layer=layer))
        orders[key.name] = pixel_order(arrays["maps"], seed=seed)
        records.append(record)
    return readouts, orders, records


def load_models(profile, front, *, seed: int = 0) -> tuple[list, list[Readout], dict[str, np.ndarray], list[dict]]:
    """`load_readouts` and the Keras models themselves (images to logits), first."""
    from tensorflow import keras

    from ..artifacts import Results
    from ..models import finetune

    readouts, orders, records = load_readouts(profile, front, seed=seed)
    models = [keras.models.load_model(Results(profile).model(key.name) / "model.h5", compile=False)
              for key in finetune.model_keys(profile)]
    return models, readouts, orders, records


def masking_curves(
    x: np.ndarray,
    orders: dict[str, np.ndarray],
    trunks: dict,
    readouts: list[Readout],
    *,
    levels: np.ndarray = LEVELS,
    fill: float = 0.0,
    batch_size: int = 256,
    progress: bool = True,
) -> tuple[np.ndarray, int]:
    """Accuracy of every destination on the faces masked by every source, at every level.

    Parameters
    ----------
    x : (n, h, w, 3) preprocessed faces
    orders : mask name -> (n, h*w) pixel order (from `pixel_order` or `random_order`)
    trunks : trunk name -> Keras model from images to the features the readouts read
    readouts : the destinations
    levels : mask levels in %
    fill : the masked pixels' value, or a `fills.ImageFill` (ROAD imputation, blur)

    Returns
    -------
    accuracy : (len(orders), len(readouts), len(levels)) float64
    images : how many images went through a trunk
    """
    counts = n_masked(levels, x.shape[1] * x.shape[2])
    accuracy = np.full((len(orders), len(readouts), len(levels)), np.nan)
    by_trunk = {t: [(j, r) for j, r in enumerate(readouts) if r.trunk == t] for t in trunks}
    missing = {r.trunk for r in readouts} - set(trunks)
    if missing:
        raise ValueError(f"readouts need trunks {sorted(missing)}, not given")
    images = 0
    used = [t for t in trunks if by_trunk[t]]
    for m, order in enumerate(tqdm(list(orders.values()), desc="masking (mask)", disable=not progress)):
        masked = _all_levels(x, order, counts, fill)  # made once, shared by every trunk
        for trunk_name in used:
            features = trunks[trunk_name].predict(masked, batch_size=batch_size, verbose=0)
            images += len(counts) * len(x)
            for k, level_features in enumerate(np.split(features, len(counts))):
                for j, readout in by_trunk[trunk_name]:
                    accuracy[m, j, k] = readout.accuracy(level_features)
    return accuracy, images


def naive_curves(
    x: np.ndarray,
    orders: dict[str, np.ndarray],
    models: list,
    labels: list[np.ndarray],
    *,
    levels: np.ndarray = LEVELS,
    fill: float = 0.0,
    batch_size: int = 256,
    progress: bool = True,
) -> tuple[np.ndarray, int]:
    """The reference path: every (mask, destination) pair runs its whole model.

    `models[j]` is destination j's whole network (images to logits) and `labels[j]` the
    true classes for its task. Same return as `masking_curves`.
    """
    counts = n_masked(levels, x.shape[1] * x.shape[2])
    accuracy = np.full((len(orders), len(models), len(levels)), np.nan)
    images = 0
    pairs = [(m, j) for m in range(len(orders)) for j in range(len(models))]
    for m, j in tqdm(pairs, desc="masking (mask, model)", disable=not progress):
        order = list(orders.values())[m]
        logits = models[j].predict(_all_levels(x, order, counts, fill), batch_size=batch_size, verbose=0)
        images += len(counts) * len(x)
        for k, level_logits in enumerate(np.split(logits, len(counts))):
            accuracy[m, j, k] = float((level_logits.argmax(1) == labels[j]).mean())
    return accuracy, images


def auc(accuracy: np.ndarray, levels: np.ndarray = LEVELS) -> np.ndarray:
    """Area under accuracy-vs-log10(% masked) curves, along the last axis.

    The x axis is log10 of the level rescaled to [0, 1] over the grid, so a curve at
    100 % accuracy has AUC 1 and one at chance level c has AUC c (trapezoid rule).
    """
    x = np.log10(np.asarray(levels, dtype=float))
    x = (x - x[0]) / (x[-1] - x[0])
    return trapezoid(np.asarray(accuracy, dtype=float), x, axis=-1)
