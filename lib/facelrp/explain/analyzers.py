"""iNNvestigate analyzers built once and run many times: on many batches, and on many weights
of one architecture.

Building an analyzer of a VGG-16 in graph mode costs more than running it on a few dozen
faces (at 32 px, profiled in a smoke sanity job: 1.4 s to build on average, 2.6 s for the
composite, 0.4 s to run on twelve faces), and loading a model from ``.h5`` costs another
second. iNNvestigate's rules read each layer's weights as the layer's graph
variables (they copy numbers only when asked, ``copy_weights=True``, which nothing here
asks), so one analyzer computes the maps of whatever weights its model holds when it runs:
layers re-initialised in place (the sanity cascade), or another saved model of the same
architecture loaded into it (the method maps). `test_analyzers.py` checks both against
analyzers built afresh.

`relevance.relevance_maps` still builds an analyzer per call and keeps its own loop over
batches: it is part of the model stage's code, and any edit of it re-keys the 20 shipped
demo models of the results cache (a 4-6 hour rerun); merge it into `Explainer` when
those are remade anyway.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["Explainer", "architecture", "maps_of_models"]


class Explainer:
    """One iNNvestigate analyzer of `model` for `method` (a key of `relevance.METHODS`), built
    once. Process must be in graph mode (`relevance.graph_mode`)."""

    def __init__(self, model, method: str):
        import innvestigate

        from . import relevance

        if method not in relevance.METHODS:
            raise ValueError(f"method {method!r} is not one of {sorted(relevance.METHODS)}")
        name, kwargs = relevance.METHODS[method]
        self.model, self.method = model, method
        self.analyzer = innvestigate.create_analyzer(name, model, neuron_selection_mode="index", **kwargs)

    def maps(self, x: np.ndarray, classes: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """(n, h, w) float32: the relevance of every pixel of `x` for unit `classes[i]` of
        the weights the model holds now, summed over the colour channels, not normalised."""
        classes = np.asarray(classes, dtype=np.int64)
        maps = np.empty(x.shape[:3], dtype=np.float32)
        for start in range(0, len(x), batch_size):
            stop = start + batch_size
            maps[start:stop] = np.asarray(
                self.analyzer.analyze(x[start:stop], neuron_selection=classes[start:stop])).sum(axis=-1)
        return maps


def architecture(path) -> str:
    """The layers of the Keras model saved at `path` (``.h5``), without the model's name:
    equal for two files exactly when the weights of one load into the model of the other."""
    import h5py

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise ValueError(f"{path}: no model in this .h5 file, only weights; save the whole model (model.save) "
                             "to explain it")
        config = json.loads(f.attrs["model_config"])
    config["config"].pop("name", None)
    return json.dumps(config, sort_keys=True)


def maps_of_models(model_files, x: np.ndarray, classes: list[np.ndarray], *, method: str, batch_size: int = 32,
                   progress: bool = False) -> tuple[np.ndarray, list[float]]:
    """Maps of several saved models with one method, each for its own explained classes, with
    one model and analyzer per architecture (the weights of the others are loaded into it).

    Parameters
    ----------
    model_files : ``.h5`` files of models with linear outputs
    x : (n, h, w, 3) the models' input
    classes : per model, the (n,) units to explain (the ones its stored maps explain)

    Returns
    -------
    maps : (models, n, h, w) float32, not normalised
    seconds : per model, loading (and, for the first of its architecture, building) and explaining
    """
    import time

    from tensorflow import keras
    from tqdm.auto import tqdm

    keras.backend.clear_session()
    explainers: dict[str, Explainer] = {}
    maps, seconds = np.empty((len(model_files), *x.shape[:3]), dtype=np.float32), []
    for i, path in enumerate(tqdm(model_files, desc=f"{method} maps", unit="model", disable=not progress)):
        start = time.perf_counter()
        kind = architecture(path)
        if kind in explainers:
            explainers[kind].model.load_weights(path)
        else:
            explainers[kind] = Explainer(keras.models.load_model(path, compile=False), method)
        maps[i] = explainers[kind].maps(x, classes[i], batch_size=batch_size)
        seconds.append(time.perf_counter() - start)
    return maps, seconds
