"""Procedural non-face objects: the pretraining corpus of the "ImageNet" stand-in trunk.

Each class is a seeded template of 2-6 ellipsoid parts (position, shape, orientation,
grey level, optional stripes, optional cut), like a simple man-made object. Classes come
in families of `siblings` that share a parent template and differ only by small changes
of their parts' position, size and shade: ImageNet's fine-grained siblings (its 120 dog
breeds) are what make its features discriminate faces, and a corpus of coarse classes
alone gave a trunk whose fc2 features could not separate the 101 identities (a linear
readout reached 91 %).
An image shows one instance (parts jittered by a few percent) in a random 3D pose,
under a random light, zoom and shift, on a random grey background with up to three
clutter blobs behind it; rendered with the same renderer as the faces (`render`).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .render import Ellipsoid, render, rot_x, rot_y, rot_z

__all__ = ["class_templates", "render_object", "object_corpus"]

_EXTENT = 1.0


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    return rot_z(rng.uniform(-np.pi, np.pi)) @ rot_y(rng.uniform(-np.pi, np.pi)) @ rot_x(rng.uniform(-np.pi, np.pi))


def _random_part(rng: np.random.Generator) -> dict:
    return {
        "center": rng.normal(0.0, 0.3, 3),
        "radii": rng.uniform(0.1, 0.55, 3),
        "rotation": _random_rotation(rng),
        "albedo": rng.uniform(0.1, 0.95),
        "stripes": rng.uniform(8, 60) if rng.random() < 0.4 else 0.0,
        "cut": rng.normal(0, 1, 3) if rng.random() < 0.2 else None,
    }


def _sibling(parent: list[dict], rng: np.random.Generator) -> list[dict]:
    """A fine-grained variant of `parent`: every part moved, resized and reshaded a little."""
    return [
        {
            **part,
            "center": part["center"] + rng.normal(0.0, 0.07, 3),
            "radii": part["radii"] * rng.uniform(0.8, 1.25, 3),
            "albedo": float(np.clip(part["albedo"] + rng.normal(0.0, 0.1), 0.05, 1.0)),
        }
        for part in parent
    ]


def class_templates(n_classes: int, seed: int = 0, *, siblings: int = 1) -> list[list[dict]]:
    """`n_classes` object templates, each a list of part descriptions (plain dicts).

    With ``siblings=k > 1`` the classes come in families of k variants of one parent
    template (the last family may be smaller); ``siblings=1`` gives independent classes.
    """
    if siblings < 1:
        raise ValueError(f"siblings must be >= 1, got {siblings}")
    rng = np.random.default_rng(seed)
    templates = []
    while len(templates) < n_classes:
        parent = [_random_part(rng) for _ in range(rng.integers(2, 7))]
        if siblings == 1:
            templates.append(parent)
            continue
        for _ in range(min(siblings, n_classes - len(templates))):
            templates.append(_sibling(parent, rng))
    return templates


def render_object(
    template: list[dict], rng: np.random.Generator, *, size: int = 64, supersample: int = 3
) -> np.ndarray:
    """One random instance of a class template, as a (size, size) float32 image in [0, 1]."""
    prims = []
    for k, part in enumerate(template):
        clips = ()
        if part["cut"] is not None:
            normal = part["cut"] / np.linalg.norm(part["cut"])
            clips = ((normal, -normal @ part["center"]),)
        prims.append(Ellipsoid(
            center=tuple(part["center"] + rng.normal(0, 0.03, 3)),
            radii=tuple(part["radii"] * rng.uniform(0.9, 1.1, 3)),
            label=k,
            albedo=float(np.clip(part["albedo"] + rng.normal(0, 0.04), 0.02, 1.0)),
            rotation=part["rotation"],
            clips=clips,
            stripes=part["stripes"],
        ))
    pose = rot_z(rng.uniform(-0.45, 0.45)) @ rot_y(rng.uniform(-np.pi, np.pi)) @ rot_x(rng.uniform(-0.7, 0.7))
    # clutter: small blobs far behind the object, placed in camera space
    clutter_rot = pose.T
    for _ in range(rng.integers(0, 4)):
        where = np.array([rng.uniform(-1.2, 1.2), rng.uniform(-1.2, 1.2), -1.8])
        prims.append(Ellipsoid(
            center=tuple(clutter_rot @ where),
            radii=tuple(rng.uniform(0.05, 0.2, 3)),
            label=-1,
            albedo=float(rng.uniform(0.05, 0.95)),
        ))
    image, _ = render(
        prims, pose, size=size, extent=_EXTENT,
        light=(rng.uniform(-0.8, 0.8), rng.uniform(-0.2, 0.8), 1.0),
        ambient=rng.uniform(0.25, 0.45), scale=rng.uniform(0.8, 1.15),
        shift=(rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06)),
        background=rng.uniform(0.25, 0.75), supersample=supersample,
    )
    return image


def object_corpus(
    n_classes: int,
    images_per_class: int,
    *,
    size: int = 64,
    seed: int = 0,
    siblings: int = 1,
    supersample: int = 3,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a class-balanced object corpus (classes in families of `siblings`).

    Returns
    -------
    images : (n_classes * images_per_class, size, size) uint8
    labels : (n_classes * images_per_class,) int64, class index
    """
    templates = class_templates(n_classes, seed, siblings=siblings)
    rng = np.random.default_rng([seed, 1])
    images = np.empty((n_classes * images_per_class, size, size), dtype=np.uint8)
    labels = np.repeat(np.arange(n_classes), images_per_class)
    for i in tqdm(range(len(labels)), desc="rendering objects", unit="image", disable=not progress):
        image = render_object(templates[labels[i]], rng, size=size, supersample=supersample)
        images[i] = np.round(image * 255).astype(np.uint8)
    return images, labels
