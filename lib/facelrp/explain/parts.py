"""Where relevance lies: shares by face part, internal vs external, localisation metrics.

The synthetic faces carry a per-pixel part label (`faces.PARTS`), so the paper's reading
of its Figure 4 (VGGFace-side models rely on internal features, ImageNet-side ones more on
external features such as hair) becomes a measurement here.

Relevance mass accuracy and relevance rank accuracy follow Arras, Osman & Samek (2022,
CLEVR-XAI): mass = positive relevance inside the ground-truth mask over all positive
relevance; rank = share of the K most relevant pixels that lie inside the mask, K the
mask's size. Written here rather than taken from Quantus: both are three lines of numpy,
and the tests cross-check them against Quantus' implementations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from ..data.faces import EXTERNAL_PARTS, INTERNAL_PARTS, PARTS

__all__ = ["MEASURES", "claim_readings", "claim_reading", 
    "REGIONS",
    "part_shares",
    "head_outline",
    "region_masks",
    "mass_accuracy",
    "rank_accuracy",
    "share_table",
    "region_table",
    "region_tests",
    "localisation_table",
]

#: The two regions the paper's claim contrasts. "outline" is a band along the head's
#: silhouette (see `head_outline`), added to the external parts.
REGIONS = {"internal": INTERNAL_PARTS, "external": (*EXTERNAL_PARTS, "outline")}


def part_shares(maps: np.ndarray, labels: np.ndarray, *, kind: str = "positive") -> np.ndarray:
    """Share of each image's relevance that falls in each part.

    Parameters
    ----------
    maps : (n, h, w) relevance
    labels : (n, h, w) int part indices into `faces.PARTS`
    kind : "positive" (relevance clipped at 0), "absolute" (|R|) or "pixels" (every
        pixel weighs 1: the part's share of the image)

    Returns
    -------
    (n, len(PARTS)) shares; each row sums to 1 (NaN for a map with no relevance of
    that kind).
    """
    maps = np.asarray(maps, dtype=np.float64)
    labels = np.asarray(labels)
    if maps.shape != labels.shape:
        raise ValueError(f"maps {maps.shape} and part labels {labels.shape} differ in shape")
    weights = {"positive": lambda m: np.clip(m, 0, None), "absolute": np.abs, "pixels": np.ones_like}
    if kind not in weights:
        raise ValueError(f"kind {kind!r} is not one of {sorted(weights)}")
    w = weights[kind](maps)
    n, k = len(maps), len(PARTS)
    flat = (labels.reshape(n, -1).astype(np.int64) + k * np.arange(n)[:, None]).ravel()
    sums = np.bincount(flat, weights=w.reshape(n, -1).ravel(), minlength=n * k).reshape(n, k)
    totals = sums.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, sums / totals, np.nan)


def head_outline(labels: np.ndarray, *, width: int = 2) -> np.ndarray:
    """(n, h, w) bool: head pixels (any part but background) within `width` pixels of the
    background, i.e. a band along the silhouette of the head."""
    labels = np.asarray(labels)
    head = labels != PARTS.index("background")
    structure = np.zeros((1, 3, 3), bool)
    structure[0] = ndimage.generate_binary_structure(2, 1)
    inner = ndimage.binary_erosion(head, structure=structure, iterations=width, border_value=0)
    return head & ~inner


def region_masks(labels: np.ndarray, *, outline_width: int = 2) -> dict[str, np.ndarray]:
    """Boolean (n, h, w) masks of the regions in `REGIONS`. The outline band counts as
    external except where it covers an internal part."""
    labels = np.asarray(labels)
    internal = np.isin(labels, [PARTS.index(p) for p in INTERNAL_PARTS])
    external = np.isin(labels, [PARTS.index(p) for p in EXTERNAL_PARTS]) | head_outline(labels, width=outline_width)
    return {"internal": internal, "external": external & ~internal}


def mass_accuracy(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) relevance mass accuracy: positive relevance inside `masks` / all positive relevance."""
    positive = np.clip(np.asarray(maps, dtype=np.float64), 0, None)
    total = positive.reshape(len(positive), -1).sum(axis=1)
    inside = (positive * masks).reshape(len(positive), -1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, np.nan)


def rank_accuracy(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) relevance rank accuracy: of the K most relevant pixels (K = pixels in the
    mask), the share inside the mask. Ties at the K-th value are broken by pixel order
    (numpy's stable sort), which only matters for maps with many equal values."""
    maps = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    masks = np.asarray(masks, dtype=bool).reshape(len(maps), -1)
    out = np.full(len(maps), np.nan)
    for i, (m, g) in enumerate(zip(maps, masks)):
        k = int(g.sum())
        if k:
            top = np.argsort(-m, kind="stable")[:k]
            out[i] = g[top].mean()
    return out


def share_table(runs: dict, labels: np.ndarray) -> pd.DataFrame:
    """Long table of part shares: one row per (model, face, part) with the model's source,
    task and seed, the positive and absolute share, the pixel share and the densities
    (share / pixel share; NaN where the part is absent from the face).

    `runs` maps `finetune.ModelKey` -> (n, h, w) maps of the same faces as `labels`.
    """
    pixels = part_shares(np.ones(labels.shape), labels, kind="pixels")
    frames = []
    for key, maps in runs.items():
        positive = part_shares(maps, labels, kind="positive")
        absolute = part_shares(maps, labels, kind="absolute")
        n = len(maps)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame = pd.DataFrame({
                "model": key.name, "source": key.source, "task": key.task, "seed": key.seed,
                "face": np.repeat(np.arange(n), len(PARTS)), "part": np.tile(PARTS, n),
                "positive": positive.ravel(), "absolute": absolute.ravel(), "pixels": pixels.ravel(),
                "positive_density": np.where(pixels > 0, positive / pixels, np.nan).ravel(),
                "absolute_density": np.where(pixels > 0, absolute / pixels, np.nan).ravel(),
            })
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _region_share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) share of |R| inside `masks`."""
    absolute = np.abs(np.asarray(maps, dtype=np.float64))
    total = absolute.reshape(len(absolute), -1).sum(axis=1)
    inside = (absolute * masks).reshape(len(absolute), -1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, np.nan)


def region_table(runs: dict, labels: np.ndarray, *, outline_width: int = 2) -> pd.DataFrame:
    """One row per (model, face) with the regions' shares of relevance.

    ``internal`` / ``external``: share of absolute relevance (every map has some; the
    masking test ranks pixels by |R| too) and ``internal_minus_external``; the same for
    positive relevance (``*_positive``, NaN for a map without any); ``mass_accuracy`` and
    ``rank_accuracy`` of the internal region as Arras et al. define them (positive
    relevance; NaN for a map without any); ``has_positive``.
    """
    masks = region_masks(labels, outline_width=outline_width)
    frames = []
    for key, maps in runs.items():
        has_positive = (np.asarray(maps).reshape(len(maps), -1) > 0).any(axis=1)
        frame = pd.DataFrame({
            "model": key.name, "source": key.source, "task": key.task, "seed": key.seed,
            "face": np.arange(len(maps)), "has_positive": has_positive,
            "internal": _region_share(maps, masks["internal"]),
            "external": _region_share(maps, masks["external"]),
            "internal_positive": mass_accuracy(maps, masks["internal"]),
            "external_positive": mass_accuracy(maps, masks["external"]),
            "rank_accuracy": np.where(has_positive, rank_accuracy(maps, masks["internal"]), np.nan),
        })
        frame["mass_accuracy"] = frame["internal_positive"]
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["internal_minus_external"] = table["internal"] - table["external"]
    table["positive_difference"] = table["internal_positive"] - table["external_positive"]
    return table


def region_tests(table: pd.DataFrame, dv: str = "internal_minus_external") -> dict[str, pd.DataFrame]:
    """The test of the paper's claim on `dv`, in two forms that respect the design.

    ``faces``: two-way repeated-measures ANOVA with the face as subject and pretraining
    source and task as within factors (every face is seen by every model type; the five
    seeds of a type are averaged first; a face missing a value is left out, as pingouin
    does). ``models``: two-way between-subjects ANOVA on the 20 models' means over faces
    (the seeds are the replicates of a type).
    """
    import pingouin as pg

    by_face = table.groupby(["face", "source", "task"], as_index=False)[dv].mean()
    faces = pg.rm_anova(data=by_face, dv=dv, within=["source", "task"], subject="face", detailed=True)
    by_model = table.groupby(["model", "source", "task"], as_index=False)[dv].mean()
    models = pg.anova(data=by_model, dv=dv, between=["source", "task"], detailed=True)
    return {"faces": faces, "models": models}


#: The measures of "relying more on internal features" the where chapter tests, in the
#: order it reads them: the paper's words are about the internal share.
MEASURES = {"internal share": "internal", "internal − external": "internal_minus_external",
            "internal / external": "internal_over_external"}


def claim_readings(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's claim (VGGFace-side models rely more on internal features; most for
    gender) on each measure of `MEASURES`, in both forms of `region_tests`.

    Per measure: the mean of each pretraining side, their difference (VGGFace minus
    ImageNet), the pretraining effect's F and p over faces and over models, and its reading:
    ``reproduced`` when both forms are significant (p < 0.05) with VGGFace higher,
    ``contradicted`` when both are with ImageNet higher, ``inconclusive`` otherwise. The
    interaction stated in advance (the difference larger for gender than for identity) is
    read the same way from the source x task interaction. There is no margin on these
    share scales: significance in both forms is the bar, stated before the run.

    Parameters
    ----------
    table : `region_table` output
    """
    table = table.assign(internal_over_external=table["internal"] / table["external"])
    rows = []
    for label, dv in MEASURES.items():
        tests = region_tests(table, dv)
        faces, models = tests["faces"].set_index("Source"), tests["models"].set_index("Source")
        by_source = table.groupby("source")[dv].mean()
        by_type = table.groupby(["source", "task"])[dv].mean()
        gaps = {task: by_type[("vggface", task)] - by_type[("imagenet", task)] for task in ("gender", "identity")}

        def read(effect, sign):
            p_faces, p_models = float(faces.loc[effect, "p_unc"]), float(models.loc[effect, "p_unc"])
            if p_faces < 0.05 and p_models < 0.05 and sign != 0:
                return p_faces, p_models, "reproduced" if sign > 0 else "contradicted"
            return p_faces, p_models, "inconclusive"

        difference = float(by_source["vggface"] - by_source["imagenet"])
        p_faces, p_models, verdict = read("source", np.sign(difference))
        pi_faces, pi_models, interaction = read("source * task", np.sign(gaps["gender"] - gaps["identity"]))
        rows.append({"measure": label, "VGGFace side": float(by_source["vggface"]),
                     "ImageNet side": float(by_source["imagenet"]), "VGGFace − ImageNet": difference,
                     "F faces": float(faces.loc["source", "F"]),
                     "df faces": f"{faces.loc['source', 'ddof1']:g}, {faces.loc['source', 'ddof2']:g}",
                     "p faces": p_faces, "p models": p_models, "more internal on the VGGFace side": verdict,
                     "gap gender": float(gaps["gender"]), "gap identity": float(gaps["identity"]),
                     "p interaction (faces)": pi_faces, "p interaction (models)": pi_models,
                     "largest for gender": interaction})
    return pd.DataFrame(rows).set_index("measure")


def claim_reading(readings: pd.DataFrame) -> str:
    """What `claim_readings` says, in sentences chosen by it: the paper's measure (the
    internal share) first, then whether the other measures agree."""
    column = "more internal on the VGGFace side"
    paper = readings.iloc[0]
    said = {"reproduced": "the VGGFace-side models put more of their relevance on internal features",
            "contradicted": "the ImageNet-side models put more of their relevance on internal features",
            "inconclusive": "neither side puts significantly more of its relevance on internal features in both forms "
                            "of the test"}
    text = (f"On the paper's own measure, the internal share, {said[paper[column]]} "
            f"(VGGFace side {paper['VGGFace side']:.3f}, ImageNet side {paper['ImageNet side']:.3f}): {paper[column]}.")
    others = readings.iloc[1:]
    differing = others[others[column] != paper[column]]
    if len(differing):
        text += (" The claim depends on its measure: " + "; ".join(
            f"{name} reads {row[column]} (VGGFace side {row['VGGFace side']:.3f}, ImageNet side {row['ImageNet side']:.3f})"
            for name, row in differing.iterrows())
                 + ". A contrast of internal and external shares moves with relevance on the external parts (hair, ears, "
                   "head outline) as much as with the internal ones, so it alone cannot carry the paper's words.")
    else:
        text += " The other measures agree."
    text += f" Largest for gender (the interaction stated in advance), on the internal share: {paper['largest for gender']}."
    return text


def localisation_table(regions: pd.DataFrame, internal: np.ndarray) -> pd.DataFrame:
    """Per model type, the mean relevance mass and rank accuracy of the maps that have
    positive relevance, how many maps have none (left out), and the share of the pixels
    the internal region covers (what an even spread of relevance would score).

    Parameters
    ----------
    regions : `region_table` output (``source``, ``task``, ``mass_accuracy``,
        ``rank_accuracy``, ``has_positive``)
    internal : (n, h, w) bool, the internal-feature region of each face
    """
    local = regions.groupby(["source", "task"]).agg(**{
        "mass accuracy": ("mass_accuracy", "mean"), "rank accuracy": ("rank_accuracy", "mean"),
        "maps left out": ("has_positive", _count_false),
    })
    local["even spread"] = float(np.mean(internal))
    return local


def _count_false(flags: pd.Series) -> int:
    return int((~flags.astype(bool)).sum())
