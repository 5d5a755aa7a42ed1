"""Parametric 3D faces: identities, gender-conditioned parameters, views and part labels.

A face is a union of ellipsoids (cranium, jaw, neck, nose, eyes, brows, lips, ears, hair,
facial hair), each carrying a part label, rendered by `render.render` (analytic ray
casting with depth test, Lambertian shading and antialiasing).

Coordinates: head space has x to the head's left-right (viewer's right at yaw 0), y up,
z out of the face (towards the viewer at yaw 0); one unit is about half a head height.
Positive yaw turns the face towards the viewer's right.
"""

from __future__ import annotations

import numpy as np

from .render import Ellipsoid, render, rot_x, rot_y, rot_z

__all__ = [
    "PARTS",
    "INTERNAL_PARTS",
    "EXTERNAL_PARTS",
    "PARAM_NAMES",
    "VPNL_VIEWS",
    "BACKGROUND",
    "sample_identities",
    "sample_disjoint_identities",
    "param_scale",
    "render_face",
    "render_views",
    "render_jittered",
]

#: Part labels, in label-id order (label 0 is background).
PARTS = ("background", "skin", "hair", "eyes", "brows", "nose", "mouth", "ears", "facial_hair")
INTERNAL_PARTS = ("eyes", "brows", "nose", "mouth")
EXTERNAL_PARTS = ("hair", "ears", "facial_hair")
#: The 15 views of VPNL-faces: yaw -105..+105 degrees in 15 degree steps.
VPNL_VIEWS = tuple(range(-105, 106, 15))
#: Grey level of the plain background, on a [0, 1] scale.
BACKGROUND = 0.5

_LABEL = {name: i for i, name in enumerate(PARTS)}

# name: (female mean, male mean, standard deviation, lowest, highest).
# Units are head units (about half a head height), radians for tilt, [0, 1] for tones.
# Female and male means differ by 0.5-1.5 standard deviations, so the distributions
# overlap and no single group of features determines gender.
_PARAM_SPEC = {
    "head_width": (0.70, 0.74, 0.035, 0.60, 0.84),
    "head_height": (0.93, 0.97, 0.035, 0.84, 1.06),
    "head_depth": (0.84, 0.87, 0.035, 0.75, 0.96),
    "jaw_width": (0.57, 0.64, 0.04, 0.46, 0.76),
    "chin_length": (0.56, 0.62, 0.04, 0.48, 0.72),
    "eye_spacing": (0.27, 0.28, 0.02, 0.22, 0.33),
    "eye_size": (0.105, 0.095, 0.012, 0.07, 0.13),
    "eye_height": (-0.02, -0.03, 0.03, -0.10, 0.06),
    "brow_thickness": (0.028, 0.040, 0.008, 0.015, 0.06),
    "brow_height": (0.13, 0.11, 0.02, 0.07, 0.18),
    "brow_tilt": (0.12, 0.04, 0.07, -0.12, 0.30),
    "nose_length": (0.18, 0.20, 0.02, 0.13, 0.25),
    "nose_width": (0.085, 0.100, 0.012, 0.06, 0.13),
    "nose_protrusion": (0.14, 0.17, 0.025, 0.09, 0.23),
    "mouth_width": (0.17, 0.19, 0.02, 0.12, 0.24),
    "lip_thickness": (0.045, 0.036, 0.008, 0.022, 0.065),
    "ear_size": (0.17, 0.19, 0.02, 0.13, 0.24),
    "skin_tone": (0.74, 0.70, 0.08, 0.45, 0.92),
    "hair_tone": (0.33, 0.28, 0.18, 0.05, 0.85),
    "hair_length": (0.68, 0.22, 0.25, 0.0, 1.0),
    "hair_volume": (0.10, 0.07, 0.03, 0.03, 0.18),
    "hairline": (0.48, 0.42, 0.07, 0.28, 0.66),
}
#: Names of the identity parameters, in column order; the last one is facial hair.
PARAM_NAMES = tuple(_PARAM_SPEC) + ("facial_hair",)
_FACIAL_HAIR_P_MALE = 0.35


def sample_identities(
    genders: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw one parameter vector per identity from the gender-conditioned distributions.

    Parameters
    ----------
    genders : (n,) int array
        0 for female, 1 for male.
    rng : numpy Generator

    Returns
    -------
    (n, len(PARAM_NAMES)) float64 array, columns in `PARAM_NAMES` order.
    """
    genders = np.asarray(genders, dtype=int)
    n = genders.size
    out = np.empty((n, len(PARAM_NAMES)))
    for j, (female, male, sd, low, high) in enumerate(_PARAM_SPEC.values()):
        mean = np.where(genders == 1, male, female)
        out[:, j] = np.clip(rng.normal(mean, sd), low, high)
    has_beard = (genders == 1) & (rng.random(n) < _FACIAL_HAIR_P_MALE)
    out[:, -1] = np.where(has_beard, rng.uniform(0.3, 1.0, n), 0.0)
    return out


def param_scale() -> np.ndarray:
    """The population standard deviation of each parameter (`PARAM_NAMES` order)."""
    return np.array([spec[2] for spec in _PARAM_SPEC.values()] + [0.5])


def _standardise(params: np.ndarray) -> np.ndarray:
    return params / param_scale()


def sample_disjoint_identities(
    n: int,
    exclude: np.ndarray,
    rng: np.random.Generator,
    *,
    min_distance: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw identities that are far from every identity in `exclude`.

    Disjointness is defined in parameter space: each parameter is divided by its
    population standard deviation, and a candidate is rejected when its Euclidean
    distance to any excluded identity is below `min_distance`. Genders are drawn 50/50.

    Returns
    -------
    params : (n, len(PARAM_NAMES)) float64
    genders : (n,) int8, 0 female, 1 male
    """
    excluded = _standardise(np.asarray(exclude, dtype=float))
    kept_params, kept_genders = [], []
    while sum(len(p) for p in kept_params) < n:
        genders = rng.integers(0, 2, size=2 * n)
        candidates = sample_identities(genders, rng)
        dist = np.linalg.norm(
            _standardise(candidates)[:, None, :] - excluded[None, :, :], axis=-1
        )
        ok = dist.min(axis=1) >= min_distance
        kept_params.append(candidates[ok])
        kept_genders.append(genders[ok])
    params = np.concatenate(kept_params)[:n]
    genders = np.concatenate(kept_genders)[:n].astype(np.int8)
    return params, genders


# --------------------------------------------------------------------------- geometry


def _face_surface(p: dict) -> callable:
    """z of the skin surface (cranium or jaw, whichever is in front) at head-space x, y."""
    shells = [
        ((0.0, 0.08, 0.0), (p["head_width"], p["head_height"], p["head_depth"])),
        ((0.0, -0.30, 0.10), (p["jaw_width"], p["chin_length"], 0.72)),
    ]

    def surface(x: float, y: float) -> float:
        best = -np.inf
        for (cx, cy, cz), (rx, ry, rz) in shells:
            q = 1 - ((x - cx) / rx) ** 2 - ((y - cy) / ry) ** 2
            if q > 0:
                best = max(best, cz + rz * np.sqrt(q))
        return best

    return surface


def _follow_surface(surface, x: float, y: float) -> np.ndarray:
    """Rotation about y that lays a feature's x axis along the curved skin at (x, y)."""
    h = 1e-3
    slope = (surface(x + h, y) - surface(x - h, y)) / (2 * h)
    return rot_y(-np.arctan(slope))


def _prim(center, radii, part: str, albedo: float, **kwargs) -> Ellipsoid:
    return Ellipsoid(center, radii, _LABEL[part], albedo, **kwargs)


def _face_primitives(p: dict, expression: dict) -> list[Ellipsoid]:
    smile = expression.get("smile", 0.0)
    mouth_open = expression.get("mouth_open", 0.0)
    brow_raise = expression.get("brow_raise", 0.0)

    skin = p["skin_tone"]
    hair = p["hair_tone"]
    surface = _face_surface(p)
    prims = [
        _prim((0.0, 0.08, 0.0), (p["head_width"], p["head_height"], p["head_depth"]), "skin", skin),
        _prim((0.0, -0.30, 0.10), (p["jaw_width"], p["chin_length"], 0.72), "skin", skin),
        _prim((0.0, -1.25, -0.15), (0.33, 0.75, 0.36), "skin", 0.85 * skin),
    ]

    # nose: a vertical ellipsoid tilted so that its tip points down and out
    ey = p["eye_height"]
    nose_y = ey - p["nose_length"] - 0.02
    nose_z = surface(0.0, nose_y) - 0.6 * p["nose_protrusion"] + 0.05
    prims.append(_prim((0.0, nose_y, nose_z), (p["nose_width"], p["nose_length"], p["nose_protrusion"]),
                            "nose", skin, rotation=rot_x(-0.25)))
    # nostrils: two small dark ellipsoids under the tip
    tip_y = nose_y - 0.8 * p["nose_length"]
    for side in (-1, 1):
        x = side * 0.45 * p["nose_width"]
        prims.append(_prim((x, tip_y, nose_z + 0.55 * p["nose_protrusion"]),
                                (0.32 * p["nose_width"], 0.018, 0.05), "nose", 0.35 * skin))

    # eyes: eyeball (white) with a dark iris, laid on the skin; a lid of skin above
    for side in (-1, 1):
        x = side * p["eye_spacing"]
        rot = _follow_surface(surface, x, ey)
        z = surface(x, ey)
        size = p["eye_size"]
        prims.append(_prim((x, ey, z - 0.03), (1.1 * size, 0.55 * size, 0.06), "eyes", 0.92, rotation=rot))
        iris_z = z - 0.03 + 0.06 * rot[2, 2] - 0.012
        prims.append(_prim((x + 0.06 * rot[0, 2], ey, iris_z), (0.45 * size, 0.45 * size, 0.02),
                                "eyes", 0.10, rotation=rot))
        prims.append(_prim((x, ey + 0.42 * size, z - 0.02), (1.2 * size, 0.25 * size, 0.055),
                                "skin", 0.8 * skin, rotation=rot))

    # brows: thin flat ellipsoids above the eyes, tilted with the outer end up
    by = ey + p["brow_height"] + 0.05 * brow_raise
    for side in (-1, 1):
        x = side * p["eye_spacing"]
        rot = _follow_surface(surface, x, by) @ rot_z(side * p["brow_tilt"])
        prims.append(_prim((x, by, surface(x, by) - 0.02), (0.14, p["brow_thickness"], 0.045),
                                "brows", 0.75 * min(hair, 0.45), rotation=rot))

    # mouth: two halves of each lip, corners lifted by a smile; dark interior when open
    my = tip_y - 0.13 - 0.6 * p["lip_thickness"]
    mw = p["mouth_width"] * (1 + 0.12 * smile)
    lip = p["lip_thickness"]
    mz = surface(0.0, my) - 0.02
    for side in (-1, 1):
        rot = rot_z(side * 0.35 * smile)
        upper = (side * 0.45 * mw, my + 0.55 * lip + 0.02 * mouth_open, mz)
        lower = (side * 0.42 * mw, my - 0.65 * lip - 0.04 * mouth_open, mz)
        prims.append(_prim(upper, (0.6 * mw, 0.55 * lip, 0.045), "mouth", 0.7 * skin, rotation=rot))
        prims.append(_prim(lower, (0.55 * mw, 0.7 * lip, 0.05), "mouth", 0.75 * skin, rotation=rot))
    if mouth_open > 0:
        prims.append(_prim((0.0, my - 0.01 * mouth_open, mz - 0.015),
                                (0.85 * mw, 0.2 * lip + 0.04 * mouth_open, 0.04), "mouth", 0.08))

    # ears: at the sides, flared outwards
    for side in (-1, 1):
        prims.append(_prim((side * (p["head_width"] + 0.01), ey - 0.1, -0.05),
                                (0.055, p["ear_size"], 0.12), "ears", 0.93 * skin,
                                rotation=rot_y(side * 0.5)))

    # hair: a cap around the cranium cut by a plane that runs from the hairline at the
    # front down to the nape at the back; long hair adds a mane behind the face
    vol = p["hair_volume"]
    length = p["hair_length"]
    hw, hh, hd = p["head_width"], p["head_height"], p["head_depth"]
    drop = 0.8 + 0.6 * length
    cap_clip = ((np.array([0.0, 1.0, -drop / (2 * hd)]), -p["hairline"] + drop / 2),)
    prims.append(_prim((0.0, 0.10, -0.04), (hw + vol, hh + vol, hd + vol), "hair", hair,
                            clips=cap_clip, stripes=55.0))
    if length > 0.35:
        mane_h = 0.75 + 0.6 * length
        prims.append(_prim((0.0, 0.95 - mane_h, -0.28), (hw + vol + 0.06, mane_h, 0.62), "hair", hair,
                                clips=((np.array([0.0, 0.0, -1.0]), 0.05),), stripes=55.0))

    # facial hair: a beard shell around the jaw below the mouth, and a moustache
    fh = p["facial_hair"]
    if fh > 0:
        beard_tone = (1 - fh) * skin + fh * 0.8 * min(hair, 0.5)
        beard_clip = (
            (np.array([0.0, -1.0, 0.0]), my - 1.6 * lip),
            (np.array([0.0, 0.0, 1.0]), 0.05),
        )
        prims.append(_prim((0.0, -0.30, 0.10), (p["jaw_width"] + 0.035, p["chin_length"] + 0.035, 0.755),
                                "facial_hair", beard_tone, clips=beard_clip, stripes=55.0))
        if fh > 0.55:
            prims.append(_prim((0.0, my + 1.3 * lip + 0.02, mz + 0.015), (0.55 * mw + 0.03, 0.028, 0.05),
                                    "facial_hair", beard_tone))
    return prims


_EXTENT = 1.45  # half-width of the field of view in head units (at scale 1)
_CENTER_Y = -0.12  # head-space y at the image centre


def render_face(
    params: np.ndarray,
    yaw: float = 0.0,
    *,
    size: int = 64,
    pitch: float = 0.0,
    light: tuple[float, float, float] = (-0.35, 0.45, 1.0),
    ambient: float = 0.35,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
    expression: dict | None = None,
    supersample: int = 3,
    albedo_override: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one face (see `render.render` for how).

    Parameters
    ----------
    params : (len(PARAM_NAMES),) array
        One identity, as returned by `sample_identities`.
    yaw, pitch : float
        Head rotation in degrees; positive yaw turns the face to the viewer's right,
        positive pitch tilts it up.
    size : int
        Output side in pixels.
    light : 3 floats
        Direction towards the light in camera space (x right, y up, z to the viewer).
    ambient : float
        Share of ambient light; the rest is Lambertian.
    scale, shift : float, (float, float)
        Zoom factor and image-plane shift (fractions of the image side).
    expression : dict, optional
        ``smile``, ``mouth_open``, ``brow_raise``, each in [0, 1].
    supersample : int
        Sub-pixels per side (odd); the pixel is their mean, its label the central one's.
    albedo_override : dict, optional
        Part name -> albedo, replacing that part's albedo (used to check labels).

    Returns
    -------
    image : (size, size) float32 in [0, 1], background `BACKGROUND`
    labels : (size, size) uint8, indices into `PARTS`
    """
    p = dict(zip(PARAM_NAMES, np.asarray(params, dtype=float)))
    prims = _face_primitives(p, expression or {})
    if albedo_override:
        overrides = {_LABEL[part]: value for part, value in albedo_override.items()}
        for prim in prims:
            prim.albedo = overrides.get(prim.label, prim.albedo)
    rot = rot_y(np.radians(yaw)) @ rot_x(-np.radians(pitch))
    image, labels = render(
        prims, rot, size=size, extent=_EXTENT, center_y=_CENTER_Y, light=light, ambient=ambient,
        scale=scale, shift=shift, background=BACKGROUND, supersample=supersample,
    )
    return image, np.where(labels < 0, 0, labels).astype(np.uint8)  # background is label 0


def render_views(
    params: np.ndarray,
    views=VPNL_VIEWS,
    *,
    size: int = 64,
    supersample: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one identity at each yaw in `views` under the standard light.

    Returns
    -------
    images : (len(views), size, size) float32 in [0, 1]
    labels : (len(views), size, size) uint8
    """
    out = [render_face(params, yaw, size=size, supersample=supersample) for yaw in views]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def render_jittered(
    params: np.ndarray,
    rng: np.random.Generator,
    *,
    size: int = 64,
    max_yaw: float = 105.0,
    supersample: int = 3,
    yaw: float | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Render one identity under a random view, light, framing and expression.

    Yaw is uniform in [-max_yaw, max_yaw] unless `yaw` is given (the random yaw is drawn
    all the same, so the other settings do not depend on it), pitch in [-12, 12] degrees; the light direction
    varies about the standard one; scale in [0.9, 1.1], shift up to 4 % of the side;
    smile, mouth opening and brow raise each present half the time.

    Returns
    -------
    image : (size, size) float32, labels : (size, size) uint8, and the drawn settings.
    """
    setting = {
        "yaw": float(rng.uniform(-max_yaw, max_yaw)),
        "pitch": float(rng.uniform(-12, 12)),
        "light": (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(0.0, 0.8)), 1.0),
        "ambient": float(rng.uniform(0.25, 0.45)),
        "scale": float(rng.uniform(0.9, 1.1)),
        "shift": (float(rng.uniform(-0.04, 0.04)), float(rng.uniform(-0.04, 0.04))),
        "expression": {
            key: float(rng.uniform(0, 1)) if rng.random() < 0.5 else 0.0
            for key in ("smile", "mouth_open", "brow_raise")
        },
    }
    if yaw is not None:
        setting["yaw"] = float(yaw)
    image, labels = render_face(params, size=size, supersample=supersample, **setting)
    return image, labels, setting
