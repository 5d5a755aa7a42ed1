"""Pixel-wise relevance: LRP through iNNvestigate, [-1, 1] normalisation, map similarity.

iNNvestigate 2.1.2 works in TensorFlow's graph mode only: call `graph_mode()` at the
start of the process, before any model is built or loaded; models must be loaded from
``.h5`` files (a ``.keras`` file loads with wrong weights in graph mode).
"""

from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "RANDOM", "graph_mode", "relevance_maps", "maps_of_models", "random_maps", "normalise", "similarity",
           "similarity_matrix"]

#: Method name -> (iNNvestigate analyzer name, extra arguments).
#: ``composite`` is iNNvestigate's sequential preset A with the Flat rule at the input:
#: LRP-epsilon (0.1) on the dense layers and LRP-alpha1-beta0 on the convolutions, the
#: closest iNNvestigate offers to the composite the Montavon et al. (2019) overview
#: recommends (LRP-0/epsilon above, LRP-gamma below, z^B at the input; the paper cites
#: that overview but names no rules): iNNvestigate has no gamma rule, and alpha1-beta0 is
#: its gamma -> infinity limit.
METHODS = {
    "composite": ("lrp.sequential_preset_a_flat", {}),
    "composite_b": ("lrp.sequential_preset_b_flat", {}),
    "epsilon": ("lrp.epsilon", {"epsilon": 0.1}),
    "z": ("lrp.z", {}),
    "gradient_x_input": ("input_t_gradient", {}),
    "gradient": ("gradient", {}),
}


#: The floor of the rule-sensitivity comparison: maps of independent uniform noise.
RANDOM = "random"


def graph_mode() -> None:
    """Switch this process to TensorFlow's graph mode, as iNNvestigate requires."""
    import tensorflow as tf
    from keras.src.engine import base_layer_utils

    tf.compat.v1.disable_eager_execution()
    # iNNvestigate builds its analyzers from raw TensorFlow ops; in graph mode Keras wraps
    # each one in a layer and evaluates every constant input of the op in a session call of
    # its own (keras.src.engine.base_layer_utils._create_keras_history_helper), which was
    # two thirds of an analyzer's build. With this switch (Keras' own, for graph mode) the
    # constants stay graph tensors: the maps are bit-identical (benchmarks/analyzer_build.py
    # checks it) and only get_config() of the analyzer's model is lost, which nothing calls.
    base_layer_utils._UNSAFE_GRAPH_OP_LAYER_CREATION = True


def relevance_maps(
    model,
    x: np.ndarray,
    classes: np.ndarray | None = None,
    *,
    method: str = "composite",
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Relevance of every pixel for one output unit per image.

    Parameters
    ----------
    model : Keras model with linear outputs (logits; no softmax)
    x : (n, h, w, 3) float32, the model's (preprocessed) input
    classes : (n,) int, the unit to explain per image; default: the predicted class
    method : a key of `METHODS`
    batch_size : images per analyzer call (the analyzer is built once)

    Returns
    -------
    maps : (n, h, w) float32, relevance summed over the colour channels, not normalised
    classes : (n,) int64, the units explained
    """
    import tensorflow as tf

    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {sorted(METHODS)}")
    if tf.executing_eagerly():
        raise RuntimeError(
            "iNNvestigate needs graph mode: call facelrp.explain.relevance.graph_mode() at the start of the "
            "process, before building or loading any model"
        )
    import innvestigate

    if classes is None:
        classes = model.predict(x, batch_size=batch_size, verbose=0).argmax(axis=1)
    classes = np.asarray(classes, dtype=np.int64)
    name, kwargs = METHODS[method]
    analyzer = innvestigate.create_analyzer(name, model, neuron_selection_mode="index", **kwargs)
    maps = np.empty(x.shape[:3], dtype=np.float32)
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        relevance = analyzer.analyze(x[start:stop], neuron_selection=classes[start:stop])
        maps[start:stop] = np.asarray(relevance).sum(axis=-1)
    return maps, classes


def maps_of_models(model_files, x: np.ndarray, classes: list[np.ndarray], *, method: str, batch_size: int = 32,
                   progress: bool = False) -> tuple[np.ndarray, list[float]]:
    """Maps of several saved models with one method, each for its own explained classes.

    Parameters
    ----------
    model_files : ``.h5`` files of models with linear outputs
    x : (n, h, w, 3) the models' input
    classes : per model, the (n,) units to explain (the ones its stored maps explain)

    Returns
    -------
    maps : (models, n, h, w) float32, not normalised
    seconds : per model, loading and explaining
    """
    import time

    from tensorflow import keras
    from tqdm.auto import tqdm

    maps, seconds = np.empty((len(model_files), *x.shape[:3]), dtype=np.float32), []
    for i, path in enumerate(tqdm(model_files, desc=f"{method} maps", unit="model", disable=not progress)):
        start = time.perf_counter()
        keras.backend.clear_session()  # one graph per model, or graph mode keeps them all
        model = keras.models.load_model(path, compile=False)
        maps[i], _ = relevance_maps(model, x, classes[i], method=method, batch_size=batch_size)
        seconds.append(time.perf_counter() - start)
    return maps, seconds


def random_maps(n_models: int, shape: tuple, *, seed: int = 0) -> np.ndarray:
    """(n_models, *shape) maps of independent uniform noise, seeded: masks that know nothing."""
    rng = np.random.default_rng(seed)
    return rng.random((n_models, *shape), dtype=np.float32)


def normalise(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its largest absolute value, into [-1, 1]; a zero map stays zero."""
    maps = np.asarray(maps, dtype=np.float32)
    peak = np.abs(maps).reshape(len(maps), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0).astype(np.float32)
    return maps / scale[:, None, None]


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) Pearson correlation between the vectorised maps a[i] and b[i].

    A constant map has no defined correlation: NaN for that image.
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan)


def similarity_matrix(maps: np.ndarray) -> np.ndarray:
    """(m, m) mean over images of the Pearson correlation between two models' maps.

    Parameters
    ----------
    maps : (m, n, h, w) the maps of m models for the same n images

    Images where either map is constant are left out of that pair's mean.
    """
    maps = np.asarray(maps, dtype=np.float64)
    m, n = maps.shape[:2]
    flat = maps.reshape(m, n, -1)
    centred = flat - flat.mean(axis=2, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=2))
    unit = np.divide(centred, norms[..., None], out=np.full_like(centred, np.nan), where=norms[..., None] > 0)
    # r[a, b, i] = <unit[a, i], unit[b, i]>
    r = np.einsum("aik,bik->abi", unit, unit)
    return np.nanmean(r, axis=2)
