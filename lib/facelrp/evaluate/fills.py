"""What removed pixels become: ROAD's noisy linear imputation and a blur fill.

Mean-filling (`masking.mask_images`) leaves a hole of one flat colour whose shape tells a
model where the relevant pixels were, and puts images out of distribution. ROAD (Rong et
al. 2022, "A consistent and efficient evaluation strategy for attribution methods") fills
each removed pixel with the weighted mean of its 8 neighbours (1/6 for the 4 direct ones,
1/12 for the 4 diagonal ones), all removed pixels at once as one sparse linear system per
image, plus Gaussian noise. Written here because Quantus 0.6's ROAD indexes pixels beyond
the image on multi-channel input; scipy solves the system.

Fills work on the greyscale faces on a [0, 1] scale, before the caffe preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

__all__ = ["NEIGHBOURS", "road_impute", "blur_fill", "ImageFill", "filled_examples"]

#: (row offset, column offset, weight) of ROAD's 8-neighbourhood.
NEIGHBOURS = tuple((dy, dx, 1 / 6 if dy == 0 or dx == 0 else 1 / 12)
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def road_impute(image: np.ndarray, mask: np.ndarray, *, noise: float = 0.01,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """`image` (h, w) in [0, 1] with the pixels where `mask` is true imputed.

    Every removed pixel equals the weighted mean of its neighbours inside the image
    (weights `NEIGHBOURS`, renormalised at the border), removed neighbours being unknowns
    too; the system is solved exactly, then Gaussian noise of sd `noise` is added to the
    imputed pixels (none with ``noise=0``). A fully removed image has no known pixel to
    start from and becomes its own mean grey. Unremoved pixels are returned unchanged.
    """
    image = np.asarray(image, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if image.shape != mask.shape or image.ndim != 2:
        raise ValueError(f"image {image.shape} and mask {mask.shape} must be the same 2-D shape")
    out = image.copy()
    m = int(mask.sum())
    if m == 0:
        return out
    if m == mask.size:
        out[:] = image.mean()
    else:
        h, w = image.shape
        rows, cols = np.nonzero(mask)
        index = np.full(image.shape, -1, dtype=np.int64)
        index[rows, cols] = np.arange(m)
        diag = np.zeros(m)
        rhs = np.zeros(m)
        a_rows, a_cols, a_vals = [], [], []
        for dy, dx, weight in NEIGHBOURS:
            ny, nx = rows + dy, cols + dx
            inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
            eq = np.flatnonzero(inside)
            ny, nx = ny[inside], nx[inside]
            diag[eq] += weight
            unknown = mask[ny, nx]
            a_rows.append(eq[unknown])
            a_cols.append(index[ny[unknown], nx[unknown]])
            a_vals.append(np.full(unknown.sum(), -weight))
            np.add.at(rhs, eq[~unknown], weight * image[ny[~unknown], nx[~unknown]])
        matrix = sparse.csr_matrix(
            (np.concatenate([diag, *a_vals]), (np.concatenate([np.arange(m), *a_rows]),
                                               np.concatenate([np.arange(m), *a_cols]))),
            shape=(m, m),
        )
        out[rows, cols] = spsolve(matrix.tocsc(), rhs)
    if noise:
        rng = rng if rng is not None else np.random.default_rng(0)
        out[mask] += rng.normal(0.0, noise, m)
    return out


def blur_fill(image: np.ndarray, mask: np.ndarray, *, sigma: float = 3.0) -> np.ndarray:
    """`image` (h, w) with the removed pixels taken from a Gaussian blur of the image
    (a common alternative fill; it still carries the removed pixels' own values, blurred)."""
    image = np.asarray(image, dtype=np.float64)
    out = image.copy()
    out[mask] = ndimage.gaussian_filter(image, sigma)[mask]
    return out


@dataclass(frozen=True)
class ImageFill:
    """A fill computed from each face (``"road"`` or ``"blur"``), for `masking_curves`.

    `images` are the greyscale faces (n, h, w) uint8 the masks apply to; `levels` returns
    the filled faces at every level, preprocessed like the models' input, stacked level by
    level (as `masking._all_levels`). Noise is seeded per (mask level, face).
    """

    kind: str
    images: np.ndarray
    noise: float = 0.01
    sigma: float = 3.0
    seed: int = 0

    def __post_init__(self):
        if self.kind not in ("road", "blur"):
            raise ValueError(f"fill {self.kind!r} is not one of 'road', 'blur'")

    def levels(self, order: np.ndarray, counts: np.ndarray) -> np.ndarray:
        from ..data.datasets import caffe_preprocess

        n, h, w = self.images.shape
        grey = self.images.astype(np.float64) / 255.0
        filled = np.empty((len(counts) * n, h, w), dtype=np.float64)
        for k, count in enumerate(counts):
            for i in range(n):
                mask = np.zeros(h * w, dtype=bool)
                mask[order[i, :count]] = True
                mask = mask.reshape(h, w)
                if self.kind == "road":
                    rng = np.random.default_rng([self.seed, k, i])
                    filled[k * n + i] = road_impute(grey[i], mask, noise=self.noise, rng=rng)
                else:
                    filled[k * n + i] = blur_fill(grey[i], mask, sigma=self.sigma)
        # back to the 0-255 scale of the faces; caffe_preprocess replicates the grey channel
        return caffe_preprocess(np.clip(filled * 255.0, 0, 255))


def filled_examples(image: np.ndarray, order: np.ndarray, counts) -> dict[str, list[np.ndarray]]:
    """One face with its first ``counts[k]`` pixels of `order` removed, filled each way the
    robustness chapter compares: the mean colour (the paper), a blur, ROAD.

    Parameters
    ----------
    image : (h, w) uint8 grey face
    order : (1, h * w) its pixel order (`masking.pixel_order`)
    counts : how many pixels to remove, one figure column each

    Returns
    -------
    ``{"mean colour", "blur", "ROAD"}`` -> one (h, w) grey image (0-255 float) per count.
    """
    from ..data.datasets import IMAGENET_BGR_MEAN, caffe_preprocess
    from . import masking

    def grey(x):  # back from caffe preprocessing to the grey level
        return x[..., 0] + IMAGENET_BGR_MEAN[0]

    x = caffe_preprocess(image[None])
    rows = {"mean colour": [grey(masking.mask_images(x, order, c))[0] for c in counts]}
    for kind, label in (("blur", "blur"), ("road", "ROAD")):
        filled = ImageFill(kind, image[None]).levels(order, np.asarray(counts))
        rows[label] = [grey(filled[k]) for k in range(len(counts))]
    return rows
