"""Sanity checks of relevance maps (Adebayo et al. 2018): do the maps depend on what the
model learned?

Cascading model-parameter randomisation re-initialises the layers from the readout down
to the first convolution, one more at each step, each with its own Keras initialiser
(as Adebayo et al. did; Quantus' Keras randomisation only permutes the first axis of
each weight array, its issue 285, so it is not used). Data randomisation fine-tunes the
model again on shuffled labels. Both compare the new maps with the original ones.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..models import vgg

__all__ = ["CASCADE", "sanity_checks", "shuffled_readout_model", "cascade_layers", "reinitialise", "randomised_model", "cascading_maps", "map_similarity", "METRICS"]

#: The cascade's steps, from the readout down to the first block; step k re-initialises
#: the layers of steps 0..k.
CASCADE = {
    "readout": ["predictions"],
    "fc2": ["fc2"],
    "fc1": ["fc1"],
    **{f"block{b}": [n for n in vgg.conv_names() if n.startswith(f"block{b}_")] for b in range(5, 0, -1)},
}


def cascade_layers(step: str) -> list[str]:
    """The layers re-initialised once the cascade has reached `step` (cumulative)."""
    names = list(CASCADE)
    if step not in CASCADE:
        raise ValueError(f"step {step!r} is not one of {names}")
    return [layer for s in names[: names.index(step) + 1] for layer in CASCADE[s]]


#: Similarity measures between a new map and the original one (per face).
METRICS = {
    "spearman_abs": "Spearman rank correlation of |R|",
    "ssim_abs": "SSIM of |R|",
    "pearson": "Pearson correlation of R",
}


def _initialiser(initialiser, seed: int):
    """A fresh copy of a Keras initialiser, seeded when it draws at random."""
    config = initialiser.get_config()
    if "seed" in config:
        config["seed"] = seed
    return initialiser.__class__.from_config(config)


def reinitialise(model, names: list[str], *, seed: int = 0) -> None:
    """Re-initialise the kernels and biases of the layers `names` of `model` in place, each
    with the initialisers the layer was built with. A layer's draw depends only on `seed`
    and the layer's name, so a cascade reached step by step or at once is the same."""
    import zlib

    from tensorflow import keras

    for name in names:
        layer = model.get_layer(name)
        base = seed * 100_003 + zlib.crc32(name.encode()) % 100_000
        kernel = keras.backend.eval(_initialiser(layer.kernel_initializer, 2 * base)(layer.kernel.shape, dtype="float32"))
        bias = keras.backend.eval(_initialiser(layer.bias_initializer, 2 * base + 1)(layer.bias.shape, dtype="float32"))
        layer.set_weights([kernel, bias])


def randomised_model(path, step: str | None, *, seed: int = 0):
    """The model saved at `path` (.h5) with the cascade applied down to `step` (None: as
    saved). Clears the Keras session first: every model and analyzer adds to TensorFlow's
    graph, and a fresh graph per model keeps a long run from slowing down."""
    from tensorflow import keras

    keras.backend.clear_session()
    model = keras.models.load_model(path, compile=False)
    if step is not None:
        reinitialise(model, cascade_layers(step), seed=seed)
    return model


def cascading_maps(path, x: np.ndarray, classes: np.ndarray, *, method: str = "composite", seed: int = 0,
                   original: bool = False, progress: bool = True):
    """Yield (step, maps) for every step of `CASCADE`, each on the saved model re-initialised
    down to that step; first (``None``, the saved model's maps) if `original`. The explained
    class of every face stays the one given (the original model's prediction), as in
    Adebayo et al. The model is loaded and its analyzer built once, and the cascade
    re-initialises the model's layers in place, one step's layers at a time
    (`analyzers.Explainer` follows the weights; `reinitialise` draws the same weights
    whether a step is reached at once or step by step)."""
    from tqdm.auto import tqdm

    from .analyzers import Explainer

    explainer = Explainer(randomised_model(path, None), method)
    if original:
        yield None, explainer.maps(x, classes)
    for step in tqdm(list(CASCADE), desc=f"cascade ({method})", disable=not progress):
        reinitialise(explainer.model, CASCADE[step], seed=seed)
        yield step, explainer.maps(x, classes)


def _rows(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(len(a), -1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan)


def map_similarity(original: np.ndarray, new: np.ndarray) -> dict[str, np.ndarray]:
    """Per-face similarity of two stacks of maps (n, h, w): the `METRICS`.

    SSIM is computed on |R| scaled to [0, 1] by each map's maximum (scikit-image,
    data_range 1); a constant map gets NaN from the correlations.
    """
    from skimage.metrics import structural_similarity

    if original.shape != new.shape:
        raise ValueError(f"maps of shapes {original.shape} and {new.shape} cannot be compared")
    a, b = np.abs(original), np.abs(new)
    spearman = _pearson_rows(stats.rankdata(_rows(a), axis=1), stats.rankdata(_rows(b), axis=1))

    def unit(m):
        peak = m.reshape(len(m), -1).max(axis=1)[:, None, None]
        return np.divide(m, peak, out=np.zeros_like(m, dtype=np.float64), where=peak > 0)

    ua, ub = unit(a), unit(b)
    ssim = np.array([structural_similarity(p, q, data_range=1.0) for p, q in zip(ua, ub)])
    return {"spearman_abs": spearman, "ssim_abs": ssim, "pearson": _pearson_rows(_rows(original), _rows(new))}


def shuffled_readout_model(path, features: np.ndarray, labels: np.ndarray, n_classes: int, train: np.ndarray,
                           val: np.ndarray, settings: dict, *, hidden=(), seed: int = 0):
    """Data randomisation: the saved model with its trained layers retrained on labels
    shuffled among the training images (seeded): the readout, and the `hidden` layers
    from the trunk's weights when the model's fine-tuning trained them (`finetune.train_readout`).
    Returns (model, history of the shuffled fit)."""
    from ..models import finetune

    shuffled = labels.copy()
    shuffled[train] = np.random.default_rng(seed).permutation(labels[train])
    model = randomised_model(path, None)
    weights, history = finetune.train_readout(
        features, shuffled, n_classes, train, val, seed=seed, hidden=hidden, **finetune.training_options(settings),
    )
    finetune.set_trained_layers(model, weights)
    return model, history


def sanity_checks(path, x: np.ndarray, classes: np.ndarray, *, methods=("composite", "gradient"), shuffled=None,
                  originals: dict | None = None, seed: int = 0, example: int = 0, progress: bool = True) -> dict:
    """Cascading randomisation (and data randomisation, if `shuffled` is given as the
    keyword arguments of `shuffled_readout_model` without `path`) of the model saved at
    `path`, for each relevance method.

    Returns ``similarity`` (methods, steps, metrics, faces) with the steps of `CASCADE`
    followed by ``shuffled labels`` when asked, ``examples`` (methods, 1 + steps, h, w):
    the maps of face `example`, original first, ``randomised`` (methods, faces, h, w): every
    face's maps from the fully re-initialised model (the cascade's last step, a model that
    learnt nothing), and ``steps``, ``metrics``, ``methods``,
    ``seconds`` per method (and of the shuffled-label fit with its maps, under
    ``shuffled labels``), ``shuffled_accuracy`` (train accuracy of the shuffled fit).
    `originals` (method -> maps of the saved model for `classes`) skips recomputing maps
    the pipeline already has (the model notebook's composite maps).
    """
    import time

    from .analyzers import Explainer

    steps = list(CASCADE) + (["shuffled labels"] if shuffled is not None else [])
    similarity = np.full((len(methods), len(steps), len(METRICS), len(x)), np.nan)
    examples = np.zeros((len(methods), 1 + len(steps), *x.shape[1:3]), dtype=np.float32)
    randomised = np.zeros((len(methods), *x.shape[:3]), dtype=np.float32)
    seconds, shuffled_accuracy, shuffled_maps = {}, None, {}
    if shuffled is not None:  # one fit for all methods (it does not depend on the method)
        start = time.perf_counter()
        model, history = shuffled_readout_model(path, **shuffled, seed=seed)
        shuffled_accuracy = history["train_accuracy"]
        shuffled_maps = {method: Explainer(model, method).maps(x, classes) for method in methods}
        seconds["shuffled labels"] = round(time.perf_counter() - start, 1)
    for m, method in enumerate(methods):
        start = time.perf_counter()
        given = originals is not None and method in originals
        cascade = cascading_maps(path, x, classes, method=method, seed=seed, original=not given, progress=progress)
        original = np.asarray(originals[method]) if given else next(cascade)[1]
        examples[m, 0] = original[example]
        for k, (_, maps) in enumerate(cascade):
            sims = map_similarity(original, maps)
            similarity[m, k] = [sims[name] for name in METRICS]
            examples[m, 1 + k] = maps[example]
        randomised[m] = maps  # the last cascade step: every layer re-initialised
        if shuffled is not None:
            sims = map_similarity(original, shuffled_maps[method])
            similarity[m, -1] = [sims[name] for name in METRICS]
            examples[m, -1] = shuffled_maps[method][example]
        seconds[method] = round(time.perf_counter() - start, 1)
    return {"similarity": similarity, "examples": examples, "randomised": randomised, "steps": steps, "metrics": list(METRICS),
            "methods": list(methods), "seconds": seconds, "shuffled_accuracy": shuffled_accuracy}
