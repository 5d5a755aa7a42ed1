"""A control data set with planted ground truth: classes that differ in one face part only.

Each class fixes the parameters of the planted parts (by default the brows); every
image draws everything else (head shape, hair, eyes, brows, ears, tones, gender, facial
hair) at random from the population, so only the planted parts carry the label. A
readout trained on it has to use those parts, and a valid relevance method has to put
its relevance there: the relevance mass accuracy on the planted parts measures how much
it does.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..data import faces
from ..data.datasets import FaceDataset, _to_uint8

__all__ = ["PART_PARAMS", "planted_faces", "planted_columns", "finetune_and_explain"]

#: The identity parameters that shape each internal part.
PART_PARAMS = {
    "nose": ("nose_length", "nose_width", "nose_protrusion"),
    "mouth": ("mouth_width", "lip_thickness"),
    "eyes": ("eye_spacing", "eye_size", "eye_height"),
    "brows": ("brow_thickness", "brow_height", "brow_tilt"),
}


def planted_columns(parts: tuple[str, ...]) -> list[int]:
    """Column indices (in `faces.PARAM_NAMES`) of the parameters of `parts`."""
    unknown = [p for p in parts if p not in PART_PARAMS]
    if unknown:
        raise ValueError(f"parts {unknown} have no parameters; choose from {sorted(PART_PARAMS)}")
    return [faces.PARAM_NAMES.index(name) for p in parts for name in PART_PARAMS[p]]


def planted_faces(
    *,
    n_classes: int = 2,
    images_per_class: int = 200,
    parts: tuple[str, ...] = ("brows",),
    size: int = 64,
    seed: int = 0,
    supersample: int = 3,
    tone: bool = True,
    progress: bool = False,
) -> tuple[FaceDataset, np.ndarray]:
    """Render the control set: frontal faces, standard light, no expression.

    Each planted parameter takes `n_classes` evenly spaced values inside its range (10 %
    margins), assigned to the classes in an independent seeded order per parameter, so
    the classes differ along every planted parameter. With `tone`, each class also gives
    each planted part its own grey level (evenly spaced in [0.15, 0.85], seeded order):
    at 64 pixels the shape parameters of a nose or a mouth change a few pixels only, too
    little for a linear readout on a frozen trunk to learn from a few hundred images.
    Every image then draws all other parameters for a random gender from
    `faces.sample_identities`.

    Returns
    -------
    data : FaceDataset, ``identity`` = class, ``parts`` = per-pixel part labels
    params : (n_images, len(PARAM_NAMES)) the parameters each image was rendered with
    """
    rng = np.random.default_rng(seed)
    columns = planted_columns(parts)
    spec = list(faces._PARAM_SPEC.values())
    values = np.empty((n_classes, len(columns)))
    for j, col in enumerate(columns):
        low, high = spec[col][3], spec[col][4]
        margin = 0.1 * (high - low)
        values[:, j] = rng.permutation(np.linspace(low + margin, high - margin, n_classes))
    tones = np.stack([rng.permutation(np.linspace(0.15, 0.85, n_classes)) for _ in parts], axis=1)
    labels = np.repeat(np.arange(n_classes), images_per_class)
    genders = rng.integers(0, 2, len(labels))
    params = faces.sample_identities(genders, rng)
    params[:, columns] = values[labels]
    images, part_labels = [], []
    for p, label in zip(tqdm(params, desc="rendering planted faces", unit="image", disable=not progress), labels):
        override = dict(zip(parts, tones[label])) if tone else None
        img, lab = faces.render_face(p, 0.0, size=size, supersample=supersample, albedo_override=override)
        images.append(_to_uint8(img[None])[0])
        part_labels.append(lab)
    data = FaceDataset(
        images=np.stack(images),
        identity=labels,
        gender=genders.astype(np.int8),
        view=np.zeros(len(labels), dtype=np.int16),
        identity_names=tuple(f"class{c}" for c in range(n_classes)),
        parts=np.stack(part_labels),
        provenance={"source": "synthetic", "generator": "facelrp.explain.planted.planted_faces", "planted_parts": list(parts), "tone": tone,
                    "n_classes": n_classes, "images_per_class": images_per_class, "size": size, "seed": seed},
    )
    return data, params


def finetune_and_explain(trunk, data: FaceDataset, parts: tuple[str, ...], settings: dict, *,
                         validation: float = 0.25, seed: int = 0) -> dict:
    """Train a readout on the frozen `trunk` to classify `data` by class, explain the
    held-out images with the book's LRP composite and score where the relevance lies.

    Returns validation accuracy, and per held-out image the relevance mass accuracy and
    rank accuracy on the planted parts, the parts' share of the pixels, whether the map
    has positive relevance, the maps themselves and the held-out indices.
    """
    from sklearn.model_selection import train_test_split

    from ..data.datasets import caffe_preprocess
    from ..models import finetune
    from . import relevance
    from .parts import mass_accuracy, rank_accuracy

    x = caffe_preprocess(data.images)
    # fine-tuned as the twenty models are (settings: the profile's finetune)
    layer = finetune.feature_layer(settings)
    features = finetune.feature_extractor(trunk, layer).predict(x, batch_size=128, verbose=0)
    index = np.arange(len(x))
    train, val = train_test_split(index, test_size=validation, stratify=data.identity, random_state=seed)
    n_classes = int(data.identity.max()) + 1
    weights, history = finetune.train_readout(
        features, data.identity, n_classes, train, val, seed=seed, hidden=finetune.hidden_weights(trunk, layer),
        **finetune.training_options(settings),
    )
    model = finetune.assemble(trunk, weights, name="planted")
    maps, explained = relevance.relevance_maps(model, x[val])
    mask = np.isin(data.parts[val], [faces.PARTS.index(p) for p in parts])
    return {
        "validation_accuracy": history["validation_accuracy"],
        "train_accuracy": history["train_accuracy"],
        "mass_accuracy": mass_accuracy(maps, mask),
        "rank_accuracy": rank_accuracy(maps, mask),
        "pixel_share": mask.reshape(len(mask), -1).mean(axis=1),
        "has_positive": (maps.reshape(len(maps), -1) > 0).any(axis=1),
        "correct": explained == data.identity[val],
        "maps": maps,
        "val": val,
    }
