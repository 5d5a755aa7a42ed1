"""Where face attributes are encoded in a trunk: layer-wise PLS + VIP probing.

The method of Diniz & Schwartz (2020), on this book's trunks and synthetic faces. For
every convolutional and fully connected layer of a trunk, and every binary attribute:

- PLS with 8 components on the flattened layer output (NIPALS, one model per attribute as
  the paper did; `nipals` fits a layer's models together and equals scikit-learn's
  `PLSRegression`), then QDA on the 8 scores: how well
  the whole layer encodes the attribute (the paper's Figure 3, blue curve);
- the VIP score of every neuron from that PLS (equation 3), and of every filter (the mean
  VIP of its neurons);
- QDA on the 8 highest-VIP neurons (orange curve) and PLS + QDA on the 8 highest-VIP
  filters (green curve);
- each of the 8 highest-VIP neurons alone and each of the 8 highest-VIP filters alone,
  for the "best neuron" and "best filter" of the paper's Table I;
- for one attribute (gender), single neurons sampled evenly over the VIP range (Figure 5).

Faces: identities drawn for this purpose, disjoint from the 101 analysis identities,
each rendered half frontal and half in profile with random light, framing and
expression; training and validation faces come from disjoint identities. The validation
identities are split in two halves by identity: the Table I choices (best layer, filter,
neuron) are made on one half and their accuracy is reported on the other, so the table's
values are not inflated by the choice; the depth curves use all validation faces.

Memory: layers are extracted one at a time (`layer_activations`), in float32 and in
batches; a layer wider than ``max_features`` values per image is average-pooled over
space first (the `paper` profile's first layers), and the pooling is recorded.
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data import faces
from ..data.datasets import FaceDataset, _to_uint8, caffe_preprocess, vpnl_identities
from ..models import finetune

__all__ = [
    "ATTRIBUTES",
    "DEFINITIONS",
    "PROBE_LAYERS",
    "ProbeSet",
    "probe_faces",
    "attribute_labels",
    "probe_sets",
    "layer_activations",
    "vip_scores",
    "qda_correct",
    "probe_layer",
    "probe_trunk",
    "depth_table",
    "table_one",
    "trunk_differences",
    "short_layer_name",
    "table_one_shown",
    "DEPTH_LAYERS",
    "DEPTH_MAX_FEATURES",
    "linear_probe",
    "fit_linear_probe",
    "layer_probes",
]

#: The probed attributes, in book order; ``view`` is a nuisance attribute.
ATTRIBUTES = (
    "gender", "hair_length", "hair_tone", "facial_hair", "skin_tone", "eye_size",
    "nose_length", "mouth_width", "brow_thickness", "face_width", "view",
)
#: Attributes defined by a median split of one identity parameter (`faces.PARAM_NAMES`).
MEDIAN_SPLIT = {
    "hair_length": "hair_length", "hair_tone": "hair_tone", "skin_tone": "skin_tone", "eye_size": "eye_size",
    "nose_length": "nose_length", "mouth_width": "mouth_width", "brow_thickness": "brow_thickness",
    "face_width": "head_width",
}
#: How each attribute's positive class is defined (shown in the book).
DEFINITIONS = {
    "gender": "male (the generator's gender)",
    "facial_hair": "has facial hair; men only (women never have it), bearded vs beardless",
    "view": "profile view (|yaw| 60-105 degrees) vs frontal (|yaw| up to 30 degrees)",
    **{a: f"`{p}` above the training identities' median" for a, p in MEDIAN_SPLIT.items()},
}
#: The 13 convolutional and 2 fully connected layers of a VGG-16 trunk, input to output.
PROBE_LAYERS = tuple(
    [f"block{b}_conv{i}" for b, n in enumerate((2, 2, 3, 3, 3), start=1) for i in range(1, n + 1)] + ["fc1", "fc2"]
)
FRONTAL_YAW = 30.0
PROFILE_YAW = (60.0, 105.0)


# --------------------------------------------------------------------------- faces


def probe_faces(
    *,
    n_train: int,
    n_validation: int,
    images_per_identity: int = 4,
    size: int = 64,
    seed: int = 0,
    exclude: np.ndarray | None = None,
    supersample: int = 3,
    progress: bool = False,
) -> FaceDataset:
    """Render the probing faces: ``n_train + n_validation`` identities, half of each gender.

    Identities are at least 2 standardised units from every identity in `exclude`
    (default: the demo's 101 analysis identities). Each identity is rendered
    `images_per_identity` times (an even number), alternating a frontal view (yaw uniform
    in [-30, 30] degrees) and a profile view (|yaw| uniform in [60, 105], either side),
    each with random pitch, light, framing and expression (`faces.render_jittered`).
    Identities ``0 .. n_train - 1`` are the training identities, the rest validation
    (``provenance["n_train_identities"]``).
    """
    if images_per_identity < 2 or images_per_identity % 2:
        raise ValueError(f"images_per_identity must be even and >= 2 (half frontal, half profile), got {images_per_identity}")
    for name, n in (("n_train", n_train), ("n_validation", n_validation)):
        if n < 4 or n % 2:
            raise ValueError(f"{name} must be even and >= 4 (half women, half men), got {n}")
    rng = np.random.default_rng(seed)
    if exclude is None:
        exclude = vpnl_identities()[1]
    params, genders = [], []
    for n in (n_train, n_validation):  # each split exactly half women, half men
        candidates, candidate_genders = faces.sample_disjoint_identities(3 * n, exclude, rng)
        for g in (0, 1):
            chosen = np.flatnonzero(candidate_genders == g)[: n // 2]
            if len(chosen) < n // 2:  # 3n candidates at 50/50 leave this practically impossible
                raise RuntimeError("too few candidates of one gender; raise the candidate count")
            params.append(candidates[chosen])
            genders.append(np.full(n // 2, g, dtype=np.int8))
    order = np.r_[rng.permutation(n_train), n_train + rng.permutation(n_validation)]
    params = np.concatenate(params)[order]
    genders = np.concatenate(genders)[order]
    images, parts, yaws = [], [], []
    with tqdm(total=len(params) * images_per_identity, desc="rendering probe faces", unit="image", disable=not progress) as bar:
        for p in params:
            for k in range(images_per_identity):
                if k % 2 == 0:
                    yaw = rng.uniform(-FRONTAL_YAW, FRONTAL_YAW)
                else:
                    yaw = rng.choice([-1.0, 1.0]) * rng.uniform(*PROFILE_YAW)
                img, lab, _ = faces.render_jittered(p, rng, size=size, supersample=supersample, yaw=yaw)
                images.append(_to_uint8(img))
                parts.append(lab)
                yaws.append(round(yaw))
                bar.update()
    n_ids = len(params)
    return FaceDataset(
        images=np.stack(images),
        identity=np.repeat(np.arange(n_ids), images_per_identity),
        gender=np.repeat(genders, images_per_identity).astype(np.int8),
        view=np.asarray(yaws, dtype=np.int16),
        identity_names=tuple(f"probe{i:05d}" for i in range(n_ids)),
        parts=np.stack(parts),
        identity_params=params,
        provenance={
            "source": "synthetic", "generator": "facelrp.studies.probing.probe_faces", "n_train_identities": n_train,
            "n_validation_identities": n_validation, "images_per_identity": images_per_identity, "size": size,
            "seed": seed, "supersample": supersample,
        },
    )


def attribute_labels(data: FaceDataset) -> pd.DataFrame:
    """Per image: each attribute as 1 (positive), 0 (negative) or -1 (undefined).

    Median splits use the median over the training identities only, so nothing about the
    validation faces enters the definition.
    """
    if data.identity_params is None:
        raise ValueError("the data set has no identity parameters; make it with `probe_faces`")
    n_train = data.provenance["n_train_identities"]
    params = data.identity_params[data.identity]
    columns = {"gender": data.gender.astype(np.int8)}
    for attribute, name in MEDIAN_SPLIT.items():
        j = faces.PARAM_NAMES.index(name)
        median = np.median(data.identity_params[:n_train, j])
        columns[attribute] = (params[:, j] > median).astype(np.int8)
    beard = params[:, faces.PARAM_NAMES.index("facial_hair")] > 0
    columns["facial_hair"] = np.where(data.gender == 1, beard.astype(np.int8), -1).astype(np.int8)
    columns["view"] = (np.abs(data.view) >= PROFILE_YAW[0]).astype(np.int8)
    return pd.DataFrame({a: columns[a] for a in ATTRIBUTES})


@dataclass(frozen=True)
class ProbeSet:
    """One attribute's balanced training and validation images.

    ``train`` indexes the training images, ``val`` the validation images (each within its
    split); ``selection`` marks the validation images of the half used to choose the
    Table I entries (the rest report them).
    """

    attribute: str
    train: np.ndarray
    y_train: np.ndarray
    val: np.ndarray
    y_val: np.ndarray
    selection: np.ndarray


def _balanced(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a 50/50 subset of the defined labels: the larger class is subsampled."""
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    n = min(len(pos), len(neg))
    if n == 0:
        return np.empty(0, dtype=int)
    return np.sort(np.r_[rng.choice(pos, n, replace=False), rng.choice(neg, n, replace=False)])


def probe_sets(data: FaceDataset, *, seed: int = 0) -> tuple[np.ndarray, dict[str, ProbeSet]]:
    """Split the probing faces by identity and balance every attribute 50/50 in each split.

    Returns
    -------
    is_train : (n_images,) bool, the training images
    sets : attribute -> `ProbeSet`
    """
    labels = attribute_labels(data)
    is_train = data.identity < data.provenance["n_train_identities"]
    val_identity = data.identity[~is_train]
    rng = np.random.default_rng(seed)
    sets = {}
    for attribute in ATTRIBUTES:
        y = labels[attribute].to_numpy()
        train = _balanced(y[is_train], rng)
        val = _balanced(y[~is_train], rng)
        if len(train) < 4 or len(val) < 4:
            raise ValueError(f"attribute {attribute!r}: too few faces of one class ({len(train)} train, {len(val)} validation); "
                             "render more identities (profile: probing.n_train / n_validation)")
        sets[attribute] = ProbeSet(attribute, train, y[is_train][train], val, y[~is_train][val],
                                   selection=val_identity[val] % 2 == 0)
    return is_train, sets


# --------------------------------------------------------------------------- activations


def _pool_factor(shape: tuple, max_features: int | None) -> int:
    size = int(np.prod(shape))
    if max_features is None or size <= max_features or len(shape) != 3:
        return 1
    return math.ceil(math.sqrt(size / max_features))


def layer_activations(trunk, images: np.ndarray, layers=PROBE_LAYERS, *, batch_size: int = 128,
                      max_features: int | None = None, progress: bool = False):
    """Yield ``(layer, activations, pool)`` for each layer in turn, one layer in memory at a time.

    Parameters
    ----------
    trunk : Keras VGG-16 trunk (caffe-preprocessed input)
    images : (n, h, w) uint8 greyscale faces
    max_features : a convolutional layer with more values per image is average-pooled
        over space by ``pool`` x ``pool`` (the smallest factor that brings it under) first

    Yields
    ------
    layer : str
    activations : (n, h', w', channels) or (n, units) float32, after the ReLU
    pool : int, 1 when not pooled
    """
    from tensorflow import keras

    x = caffe_preprocess(images)
    for name in layers:
        output = trunk.get_layer(name).output
        pool = _pool_factor(tuple(output.shape[1:]), max_features)
        if pool > 1:
            output = keras.layers.AveragePooling2D(pool, padding="same", name=f"{name}_pool{pool}")(output)
        sub = keras.Model(trunk.inputs, output)
        out = np.empty((len(x), *output.shape[1:]), dtype=np.float32)
        for start in tqdm(range(0, len(x), batch_size), desc=f"{name} activations", leave=False, disable=not progress):
            out[start:start + batch_size] = sub.predict_on_batch(x[start:start + batch_size])
        del sub
        yield name, out, pool
        del out


# --------------------------------------------------------------------------- PLS, VIP, QDA


@dataclass
class PLSFit:
    """Several single-response PLS models fitted together by `nipals` (problem axis first).

    ``weights``, ``rotations`` (problems, m, k); ``scores`` (problems, n, k), zero on the
    faces a problem does not use; ``y_loadings`` (problems, k); ``x_mean``, ``x_std``
    (problems, m); ``cols`` (problems, m) bool, the columns each problem uses.
    """

    weights: np.ndarray
    rotations: np.ndarray
    scores: np.ndarray
    y_loadings: np.ndarray
    x_mean: np.ndarray
    x_std: np.ndarray
    cols: np.ndarray

    def transform(self, x: np.ndarray, *, chunk: int = 512) -> np.ndarray:
        """(problems, n, k) scores of new faces `x` (n, m), as ``PLSRegression.transform``."""
        n_problems, m, k = self.rotations.shape
        scaled = self.rotations / self.x_std[:, :, None]  # (p, m, k)
        offset = np.einsum("pm,pmk->pk", self.x_mean, scaled)
        flat = scaled.transpose(1, 0, 2).reshape(m, -1)  # (m, p*k), a copy
        del scaled
        out = np.empty((len(x), flat.shape[1]))
        for start in range(0, len(x), chunk):
            out[start:start + chunk] = x[start:start + chunk].astype(np.float64) @ flat
        return out.reshape(len(x), n_problems, k).transpose(1, 0, 2) - offset[:, None, :]


def nipals(x: np.ndarray, y: np.ndarray, rows: np.ndarray, cols: np.ndarray | None = None,
           n_components: int = 8) -> PLSFit:
    """PLS1 by NIPALS for several problems on the same matrix at once.

    Problem ``a`` is a PLS of ``y[rows[:, a], a]`` on ``x[rows[:, a]][:, cols[:, a]]`` with
    X and y standardised on those faces (standard deviation with ddof 1; a constant column
    keeps scale 1), exactly as scikit-learn's `PLSRegression(scale=True)` fits it: same
    weights, scores, loadings, rotations and sign convention (the tests compare the two).

    Why not `PLSRegression` itself: it copies X to float64 and deflates it in place for every
    component of every attribute, about seven passes over a 2,048 x 65,536 matrix per
    component, 11 attributes and 3 probe kinds in each layer: 15 minutes for one layer of
    the demo trunk. Here the deflation is implicit (``X_k w = X w - sum_j t_j p_j'w``) and
    standardisation is folded into the products, so every component of every problem costs
    three matrix products over the undeflated X shared by all problems.

    Parameters
    ----------
    x : (n, m) activations
    y : (n, problems) responses (ignored outside `rows`)
    rows : (n, problems) bool, the faces each problem uses
    cols : (m, problems) bool, the columns each problem uses (default: all)
    """
    x = np.array(x, dtype=np.float64)  # a copy, centred in place
    centre = x.mean(axis=0)
    x -= centre  # centred once, so the per-problem means below are small corrections
    n, m = x.shape
    rows = np.asarray(rows, dtype=bool)
    n_problems = rows.shape[1]
    use = np.ones((m, n_problems), dtype=bool) if cols is None else np.asarray(cols, dtype=bool)
    k = int(min(n_components, use.sum(axis=0).min()))
    r = rows.astype(np.float64)
    c = use.astype(np.float64)
    count = r.sum(axis=0)
    mean = x.T @ r / count  # (m, problems)
    squares = sum((x[i:i + 1024] ** 2).T @ r[i:i + 1024] for i in range(0, n, 1024))  # no n x m temporary
    var = (squares - count * mean**2) / (count - 1)
    std = np.sqrt(np.maximum(var, 0.0))
    std[std < 1e-12 * (np.abs(mean) + np.abs(centre)[:, None] + 1)] = 1.0  # constant columns, as scikit-learn
    y = np.asarray(y, dtype=np.float64)
    y_mean = (y * r).sum(axis=0) / count
    y_std = np.sqrt((((y - y_mean) * r) ** 2).sum(axis=0) / (count - 1))
    y_std[y_std == 0] = 1.0
    f = (y - y_mean) / y_std * r

    def xs_t(v):  # standardised X' v for each problem, on its columns: (n, p) -> (m, p)
        return (x.T @ v - mean * v.sum(axis=0)) / std * c

    def xs(w):  # standardised X w for each problem, on its faces: (m, p) -> (n, p)
        ws = w / std
        return (x @ ws - (mean * ws).sum(axis=0)) * r

    weights = np.empty((n_problems, m, k))
    loadings = np.empty((n_problems, m, k))
    scores, y_loadings = [], []
    for i in range(k):
        previous = [(scores[j], loadings[:, :, j].T) for j in range(i)]
        w = xs_t(f)
        for t_j, p_j in previous:  # X_k' f with X_k = X - sum_j t_j p_j'
            w -= p_j * (t_j * f).sum(axis=0)
        w /= np.linalg.norm(w, axis=0)
        # scikit-learn's sign convention: the largest weight of each component is positive
        sign = np.sign(w[np.argmax(np.abs(w), axis=0), np.arange(n_problems)])
        w *= sign
        t = xs(w)
        for t_j, p_j in previous:
            t -= t_j * (p_j * w).sum(axis=0)
        tt = (t * t).sum(axis=0)
        p = xs_t(t)
        for t_j, p_j in previous:
            p -= p_j * (t_j * t).sum(axis=0)
        p /= tt
        q = (f * t).sum(axis=0) / tt
        f = f - q * t
        weights[:, :, i], loadings[:, :, i] = w.T, p.T
        scores.append(t), y_loadings.append(q)
    rotations = weights @ np.linalg.pinv(loadings.transpose(0, 2, 1) @ weights)
    del loadings
    return PLSFit(weights=weights, rotations=rotations, scores=np.stack(scores, axis=-1).transpose(1, 0, 2),
                  y_loadings=np.stack(y_loadings, axis=-1), x_mean=(mean + centre[:, None]).T, x_std=std.T,
                  cols=use.T)


def vip_scores(fit: PLSFit) -> np.ndarray:
    """(problems, m) variable importance in projection of every column (equation 3); zero
    on the columns a problem does not use.

    ``VIP_j = sqrt(m * sum_i SS_i (w_ij / |w_i|)^2 / sum_i SS_i)`` with ``SS_i = q_i^2 t_i't_i``,
    the sum of squares of y that component i explains, and m the problem's column count.
    The paper prints ``W_ij / |W_i|^2`` without the square on ``W_ij``; that can be negative
    under the root, so this is the standard form (Mehmood et al. 2012, the paper's
    reference). The squared scores average to 1 over a problem's columns.
    """
    ss = fit.y_loadings**2 * (fit.scores**2).sum(axis=1)  # (p, k)
    w2 = (fit.weights / np.linalg.norm(fit.weights, axis=1, keepdims=True)) ** 2
    m = fit.cols.sum(axis=1, keepdims=True)
    return np.sqrt(m * np.einsum("pmk,pk->pm", w2, ss) / ss.sum(axis=1, keepdims=True))


def _qda():
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # standardised inputs and a small ridge on the class covariances: single ReLU units
    # are often zero for most faces of a class, which leaves a plain QDA singular
    return make_pipeline(StandardScaler(), QuadraticDiscriminantAnalysis(reg_param=0.01))


def qda_correct(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> np.ndarray:
    """(n_val,) bool: which validation faces a QDA fitted on the training faces gets right."""
    return _qda().fit(x_train, y_train).predict(x_val) == y_val


def _accuracies(correct: np.ndarray, selection: np.ndarray) -> tuple[float, float, float]:
    """Accuracy on all validation faces, on the selection half and on the report half."""
    return float(correct.mean()), float(correct[selection].mean()), float(correct[~selection].mean())


#: Bin edges of the stored VIP histograms (Figure 5, top).
VIP_BINS = np.r_[np.linspace(0.0, 10.0, 41), np.inf]


def _pls_qda(train: np.ndarray, val: np.ndarray, sets: list[ProbeSet], cols: np.ndarray | None,
             n_components: int) -> tuple[list[np.ndarray], PLSFit]:
    """PLS (several problems at once) then QDA on the scores: which validation faces each
    problem's classifier gets right."""
    rows = np.zeros((len(train), len(sets)), dtype=bool)
    y = np.zeros((len(train), len(sets)))
    for a, s in enumerate(sets):
        rows[s.train, a], y[s.train, a] = True, s.y_train
    fit = nipals(train, y, rows, cols, n_components)
    val_scores = fit.transform(val)
    return [qda_correct(fit.scores[a, s.train], s.y_train, val_scores[a, s.val], s.y_val)
            for a, s in enumerate(sets)], fit


def probe_layer(train: np.ndarray, val: np.ndarray, sets: dict[str, ProbeSet], *, n_components: int = 8,
                top: int = 8, sampled: tuple[str, int] | None = ("gender", 50)) -> dict:
    """Every probe of one layer, for every attribute.

    Parameters
    ----------
    train, val : (n, ..., channels) or (n, units) activations of the training and the
        validation faces (neurons are the flattened values, filters the last axis)
    sets : attribute -> `ProbeSet`
    sampled : (attribute, n): also fit QDA on n single neurons spread evenly over that
        attribute's VIP range (Figure 5); None to skip

    Returns
    -------
    dict of arrays with a leading attribute axis (the order of `sets`):
    ``layer``, ``filters``, ``neurons`` (3: all, selection, report accuracy); ``single_neuron``,
    ``single_filter`` (top, 3); ``top_neurons``, ``top_filters`` (top,) indices (-1: the
    layer has fewer filters); ``vip_hist`` (bins,) fractions; ``top_activations`` (top, n_val)
    of the top neurons on every validation face; and ``sampled`` (n, 2) VIP and accuracy
    of the sampled neurons (NaN rows past the distinct neurons found).
    """
    channels = train.shape[-1]
    flat_train = train.reshape(len(train), -1)
    flat_val = val.reshape(len(val), -1)
    n_features = flat_train.shape[1]
    channel_of = np.arange(n_features) % channels
    problems = list(sets.values())
    k_neurons, k_filters = min(top, n_features), min(top, channels)
    out = {}

    correct, fit = _pls_qda(flat_train, flat_val, problems, None, n_components)
    out["layer"] = [_accuracies(c, s.selection) for c, s in zip(correct, problems)]
    vip = vip_scores(fit)
    del fit
    filter_vip = vip.reshape(len(problems), -1, channels).mean(axis=1)
    top_neurons = np.argsort(vip, axis=1, kind="stable")[:, ::-1][:, :k_neurons]
    top_filters = np.argsort(filter_vip, axis=1, kind="stable")[:, ::-1][:, :k_filters]

    cols = np.stack([np.isin(channel_of, f) for f in top_filters], axis=1)  # the top filters, per attribute
    correct, _ = _pls_qda(flat_train, flat_val, problems, cols, n_components)
    out["filters"] = [_accuracies(c, s.selection) for c, s in zip(correct, problems)]
    # every top filter alone: the attributes that rank one filter in their top list share
    # its columns, so each filter is sliced out once and its problems are solved together
    single_filter = np.full((len(problems), top, 3), np.nan)
    for f in np.unique(top_filters):
        users = np.argwhere(top_filters == f)  # (attribute, rank) pairs
        columns = np.flatnonzero(channel_of == f)
        correct, _ = _pls_qda(flat_train[:, columns], flat_val[:, columns], [problems[a] for a, _ in users], None,
                              n_components)
        for (a, j), c in zip(users, correct):
            single_filter[a, j] = _accuracies(c, problems[a].selection)
    out["single_filter"] = single_filter
    out["top_filters"] = np.c_[top_filters, np.full((len(problems), top - k_filters), -1)]
    out["top_neurons"] = top_neurons

    out["neurons"], out["single_neuron"], out["top_activations"] = [], [], []
    for a, s in enumerate(problems):
        chosen = top_neurons[a]
        xtr, xva = flat_train[np.ix_(s.train, chosen)], flat_val[np.ix_(s.val, chosen)]
        out["neurons"].append(_accuracies(qda_correct(xtr, s.y_train, xva, s.y_val), s.selection))
        out["single_neuron"].append([_accuracies(qda_correct(xtr[:, [j]], s.y_train, xva[:, [j]], s.y_val), s.selection)
                                     for j in range(len(chosen))])
        out["top_activations"].append(flat_val[:, chosen].T)
        if sampled is not None and s.attribute == sampled[0]:
            targets = np.linspace(vip[a].min(), vip[a].max(), sampled[1])
            picked = np.unique([int(np.argmin(np.abs(vip[a] - t))) for t in targets])
            xtr, xva = flat_train[np.ix_(s.train, picked)], flat_val[np.ix_(s.val, picked)]
            out["sampled"] = np.full((sampled[1], 2), np.nan)
            out["sampled"][: len(picked)] = [[vip[a, j], qda_correct(xtr[:, [i]], s.y_train, xva[:, [i]], s.y_val).mean()]
                                             for i, j in enumerate(picked)]
    out["vip_hist"] = [np.histogram(v, bins=VIP_BINS)[0] / n_features for v in vip]
    return {k: np.asarray(v, dtype=np.float32) if k == "top_activations" else np.asarray(v) for k, v in out.items()}


def _peak_rss_gib() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def probe_trunk(trunk, data: FaceDataset, *, n_components: int = 8, top: int = 8, max_features: int | None = None,
                sampled: tuple[str, int] = ("gender", 50), batch_size: int = 128, layers=PROBE_LAYERS,
                seed: int = 0, progress: bool = False) -> tuple[dict, dict]:
    """Probe every layer of `trunk` for every attribute of the probing faces `data`.

    Also fits the supervised baseline: a logistic-regression readout of each attribute on
    the trunk's last layer (``fc2``), trained on the same training faces.

    Returns
    -------
    arrays : the `probe_layer` arrays stacked over layers (leading axis), plus
        ``baseline`` (attributes, 3), ``val_index`` (the validation images, in data order)
    record : per-layer shapes, pooling, seconds and peak resident memory (GiB)
    """
    is_train, sets = probe_sets(data, seed=seed)
    train_images, val_images = data.images[is_train], data.images[~is_train]
    per_layer, record = [], {"layers": {}, "attributes": list(sets), "n_train": int(is_train.sum()),
                             "n_validation": int((~is_train).sum()),
                             "per_attribute": {a: {"train": len(s.train), "validation": len(s.val)} for a, s in sets.items()}}
    val_iter = layer_activations(trunk, val_images, layers, batch_size=batch_size, max_features=max_features)
    train_iter = layer_activations(trunk, train_images, layers, batch_size=batch_size, max_features=max_features)
    baseline = None
    for (name, train, pool), (_, val, _) in tqdm(zip(train_iter, val_iter), total=len(layers), desc="probing layers",
                                                 unit="layer", disable=not progress):
        start = time.perf_counter()
        per_layer.append(probe_layer(train, val, sets, n_components=n_components, top=top, sampled=sampled))
        if name == layers[-1]:
            # the supervised baseline: a linear readout for the attribute on the last layer
            baseline = np.array([_accuracies(fit_linear_probe(train[s.train], s.y_train).predict(val[s.val]) == s.y_val,
                                             s.selection)
                                 for s in sets.values()])
        record["layers"][name] = {"shape": list(train.shape[1:]), "pool": pool, "seconds": round(time.perf_counter() - start, 1),
                                  "peak_rss_gib": round(_peak_rss_gib(), 2)}
        del train, val
    # every layer has at least `top` channels in the book's trunks, so the top-k axes stack
    arrays = {key: np.stack([p[key] for p in per_layer]) for key in per_layer[0]}
    arrays["baseline"] = baseline
    arrays["val_index"] = np.flatnonzero(~is_train)
    arrays["layers"] = np.array(layers)
    arrays["attributes"] = np.array(list(sets))
    record["peak_rss_gib"] = round(_peak_rss_gib(), 2)
    return arrays, record


# --------------------------------------------------------------------------- tables


_CURVES = {"layer": "whole layer (PLS + QDA)", "filters": "8 top-VIP filters (PLS + QDA)", "neurons": "8 top-VIP neurons (QDA)"}


def depth_table(results: dict[str, dict]) -> pd.DataFrame:
    """Long table of the depth curves: trunk, layer, depth, attribute, curve, accuracy (all validation faces)."""
    rows = []
    for trunk, arrays in results.items():
        for d, layer in enumerate(arrays["layers"]):
            for a, attribute in enumerate(arrays["attributes"]):
                for key, curve in _CURVES.items():
                    rows.append({"trunk": trunk, "layer": str(layer), "depth": d + 1, "attribute": str(attribute),
                                 "curve": curve, "accuracy": float(arrays[key][d, a, 0])})
    return pd.DataFrame(rows)


def table_one(results: dict[str, dict]) -> pd.DataFrame:
    """The Table I analogue: per trunk and attribute, the best layer, filter and neuron.

    Each is chosen by its accuracy on the selection half of the validation identities;
    the accuracy shown is on the other half. Filters and neurons are the 8 highest-VIP
    ones of every layer. ``readout`` is the supervised baseline on the report half.
    """
    rows = []
    for trunk, arrays in results.items():
        layers = [str(x) for x in arrays["layers"]]
        for a, attribute in enumerate(arrays["attributes"]):
            row = {"trunk": trunk, "attribute": str(attribute)}
            d = int(np.argmax(arrays["layer"][:, a, 1]))
            row.update(best_layer=layers[d], layer_accuracy=float(arrays["layer"][d, a, 2]))
            for key, label, index in (("single_filter", "filter", "top_filters"), ("single_neuron", "neuron", "top_neurons")):
                scores = arrays[key][:, a, :, 1]
                d, k = np.unravel_index(int(np.nanargmax(scores)), scores.shape)
                row[f"best_{label}"] = f"{layers[d]} #{int(arrays[index][d, a, k])}"
                row[f"{label}_accuracy"] = float(arrays[key][d, a, k, 2])
            row["readout_accuracy"] = float(arrays["baseline"][a, 2])
            rows.append(row)
    return pd.DataFrame(rows)


def short_layer_name(name: str) -> str:
    """``block3_conv1`` -> ``3.1`` (fc layers keep their names), for tables that fit a page."""
    return name.replace("block", "").replace("_conv", ".").replace(" #", "\u00a0#")


def table_one_shown(table: pd.DataFrame, trunk: str) -> pd.DataFrame:
    """One trunk's rows of `table_one` as the book shows them: accuracies in %, layer names
    shortened (`short_layer_name`), one column per best layer / filter / neuron and its %."""
    shown = table[table.trunk == trunk].drop(columns="trunk").copy()
    for column in [c for c in shown.columns if c.endswith("accuracy")]:
        shown[column] = 100 * shown[column]
    for column in ("best_layer", "best_filter", "best_neuron"):
        shown[column] = shown[column].map(short_layer_name)
    shown.columns = ["attribute", "best layer", "%", "best filter", "% ", "best neuron", "%  ", "readout %"]
    return shown


def trunk_differences(results: dict[str, dict], *, first: str = "vggface", second: str = "imagenet") -> pd.DataFrame:
    """Per attribute: the whole-layer accuracy averaged over depth for each trunk, their
    difference (`first` minus `second`), and the difference of the best layers; sorted by
    the absolute difference over depth."""
    a, b = results[first], results[second]
    rows = []
    for i, attribute in enumerate(a["attributes"]):
        mean_a, mean_b = float(a["layer"][:, i, 0].mean()), float(b["layer"][:, i, 0].mean())
        rows.append({"attribute": str(attribute), f"{first} mean over depth": mean_a, f"{second} mean over depth": mean_b,
                     "difference": mean_a - mean_b,
                     f"{first} best layer": float(a["layer"][:, i, 0].max()),
                     f"{second} best layer": float(b["layer"][:, i, 0].max())})
    table = pd.DataFrame(rows)
    return table.reindex(table["difference"].abs().sort_values(ascending=False).index).reset_index(drop=True)


#: The trunk outputs `layer_probes` reads by default: the last three pools and both
#: hidden layers, the path a frozen trunk's information takes to the readout.
DEPTH_LAYERS = ("block3_pool", "block4_pool", "block5_pool", "fc1", "fc2")
#: Wider convolutional outputs are average-pooled over space before `layer_probes` fits.
DEPTH_MAX_FEATURES = 8192


def linear_probe(features: np.ndarray, labels: np.ndarray, train: np.ndarray, val: np.ndarray, *, C: float = 1.0) -> float:
    """Validation accuracy of an L2-regularised logistic regression on standardised features.

    A yardstick for the readouts: how well *any* well-fitted linear readout separates the
    classes with these frozen features (scikit-learn's lbfgs fit, not 25 epochs of Adam).
    If it too stays below a target, the trunk's features are the limit, not the readout.
    """
    probe = fit_linear_probe(features[train], labels[train], C=C)
    return float(probe.score(features[val], labels[val]))


def fit_linear_probe(x: np.ndarray, y: np.ndarray, *, C: float = 1.0):
    """The fitted scikit-learn pipeline behind `linear_probe`: standardise, then L2
    logistic regression (lbfgs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000)).fit(x, y)


def layer_probes(
    trunk,
    data: FaceDataset,
    train: np.ndarray,
    val: np.ndarray,
    *,
    layers=DEPTH_LAYERS,
    tasks=finetune.TASKS,
    C: float = 1.0,
    max_features: int | None = DEPTH_MAX_FEATURES,
    progress: bool = False,
):
    """`linear_probe` on the output of each of `layers`: where the trunk keeps each task's
    information on the way to ``fc2`` and where it loses it.

    A readout sees only ``fc2``; a probe that separates the classes at an earlier layer but
    not at ``fc2`` says the later layers discard what the task needs (they were shaped by
    the pretraining task), rather than that the images do not carry it. Convolutional
    outputs larger than `max_features` values are average-pooled over space first (as in
    the attribute probes) so the paper profile's 224-pixel layers stay tractable.

    Returns
    -------
    DataFrame with one row per layer and task: ``layer``, ``task``, ``features`` (probe
    input width), ``pool`` (spatial pooling factor, 1 = none), ``accuracy`` (validation).
    """
    labels = {task: finetune.task_labels(data, task)[0] for task in tasks}
    rows = []
    for layer, activations, pool in layer_activations(
        trunk, data.images, layers, max_features=max_features, progress=progress
    ):
        x = activations.reshape(len(activations), -1)
        for task in tasks:
            rows.append({"layer": layer, "task": task, "features": x.shape[1], "pool": pool,
                         "accuracy": linear_probe(x, labels[task], train, val, C=C)})
    return pd.DataFrame(rows)
