"""Fine-tuning as the paper did it: frozen convolutions, a new readout layer.

The paper (section 2.2) froze "the weights of all convolutional layers" and replaced the
final layer by a readout for the task, so the hidden layers ``fc1`` and ``fc2`` were
trained with it; later (section 3.2) it speaks of fine-tuning "a single layer". A
profile's ``finetune.frozen`` chooses: ``convolutions`` (section 2.2: ``fc1``, ``fc2``
and the readout are trained, starting from the trunk's hidden layers) or ``trunk`` (the
readout alone, on ``fc2``).

Either way the frozen part's output for every image is computed once per trunk
(`trunk_features`, at `feature_layer`) and each model's trained layers are fitted on it
(`train_readout`); the result is identical to training on top of the frozen network, at
the cost of one forward pass per image instead of one per image and epoch and model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from ..data.datasets import GENDERS, FaceDataset, caffe_preprocess
from ..profiles import FROZEN, SCHEDULES

__all__ = [
    "TASKS",
    "SCHEDULES",
    "FROZEN",
    "feature_layer",
    "feature_extractor",
    "hidden_weights",
    "layers_after",
    "head_logits",
    "ModelKey",
    "model_keys", "model_names",
    "first_seed_keys",
    "task_labels",
    "split",
    "trunk_features",
    "train_readout",
    "training_options",
    "assemble",
    "set_trained_layers",
    "load_features",
    "save_run",
    "load_run",
    "load_runs",
    "load_records",
    "run_table",
]

#: The two fine-tuning tasks of the paper.
TASKS = ("gender", "identity")


@dataclass(frozen=True, order=True)
class ModelKey:
    """One of the twenty models: pretraining source, fine-tuning task, readout seed."""

    source: str
    task: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.source}-{self.task}-s{self.seed}"

    @classmethod
    def parse(cls, name: str) -> "ModelKey":
        """The key of a model name ``<source>-<task>-s<seed>``, e.g. ``vggface-identity-s0``.

        Raises
        ------
        ValueError
            naming the model, the form and the valid sources and tasks.
        """
        from ..profiles import TRUNK_SOURCES

        parts = name.split("-")
        if (len(parts) != 3 or parts[0] not in TRUNK_SOURCES or parts[1] not in TASKS
                or not parts[2].startswith("s") or not parts[2][1:].isdigit()):
            raise ValueError(f"model {name!r} is not <source>-<task>-s<seed> with a source of {list(TRUNK_SOURCES)} and "
                             f"a task of {list(TASKS)}, e.g. vggface-identity-s0")
        return cls(parts[0], parts[1], int(parts[2][1:]))


def model_keys(profile) -> list[ModelKey]:
    """The profile's models in book order: source, then task, then seed (2 x 2 x 5 = 20)."""
    from ..profiles import TRUNK_SOURCES

    return [ModelKey(s, t, seed) for s in TRUNK_SOURCES for t in TASKS for seed in profile.finetune["seeds"]]


def model_names(profile) -> list[str]:
    """The names of `model_keys` (``imagenet-gender-s0`` ...), in book order."""
    return [key.name for key in model_keys(profile)]


def first_seed_keys(profile) -> list[ModelKey]:
    """One model per type, the first seed: the ones the sanity checks examine."""
    return [key for key in model_keys(profile) if key.seed == profile.finetune["seeds"][0]]


def task_labels(data: FaceDataset, task: str) -> tuple[np.ndarray, int]:
    """Class labels for `task` and the number of classes (gender: 2, identity: n)."""
    if task == "gender":
        return data.gender.astype(np.int64), len(GENDERS)
    if task == "identity":
        return data.identity.astype(np.int64), data.n_identities
    raise ValueError(f"task {task!r} is not one of {list(TASKS)}")


def split(data: FaceDataset, *, validation: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 80/20 train/validation split of all images, stratified by identity.

    Stratifying by identity keeps every identity in both parts (12 views to train, 3 to
    validate when there are 15), so identity validation is defined for everyone, and the
    gender split follows the identities'. One split serves all models of a profile, so
    models differ only in their trunk, task and readout seed.
    """
    index = np.arange(len(data))
    train, val = train_test_split(index, test_size=validation, stratify=data.identity, random_state=seed)
    return np.sort(train), np.sort(val)


def feature_layer(settings: dict) -> str:
    """The trunk output a profile's fine-tuning reads (its ``finetune.frozen``; default:
    ``trunk``, the readout alone on ``fc2``)."""
    frozen = settings.get("frozen", "trunk")
    if frozen not in FROZEN:
        raise ValueError(f"finetune.frozen is {frozen!r}; expected one of {list(FROZEN)} (see facelrp/profiles.yml)")
    return FROZEN[frozen]


def feature_extractor(trunk, layer: str = "fc2"):
    """The frozen part of `trunk`: a model from its input to the output of `layer`."""
    from tensorflow import keras

    if layer == trunk.layers[-1].name:
        return trunk
    return keras.Model(trunk.input, trunk.get_layer(layer).output, name=f"{trunk.name}_to_{layer}")


def layers_after(model, layer: str) -> list:
    """The layers of `model` after its layer named `layer`: what fine-tuning trains when
    `layer` is the last frozen one (``flatten``: fc1, fc2 and, in a fine-tuned model, the
    readout ``predictions``)."""
    names = [lay.name for lay in model.layers]
    if layer not in names:
        raise ValueError(f"model {model.name} has no layer {layer!r}")
    return model.layers[names.index(layer) + 1:]


def hidden_weights(trunk, layer: str = "fc2") -> list[list[np.ndarray]]:
    """[kernel, bias] of each of the trunk's dense layers after `layer` (for ``flatten``:
    ``fc1`` and ``fc2``): where fine-tuning with frozen convolutions starts from."""
    from tensorflow import keras

    after = layers_after(trunk, layer)
    for lay in after:
        if not isinstance(lay, keras.layers.Dense) or lay.activation.__name__ != "relu":
            raise ValueError(f"trunk {trunk.name}: layer {lay.name} after {layer} is not a ReLU Dense layer; "
                             "fine-tuning trains only those")
    return [lay.get_weights() for lay in after]


def head_logits(features: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """The trained layers' logits on frozen features, in numpy: ``weights`` is [kernel,
    bias] per layer (as `train_readout` returns them), ReLU after all but the last."""
    h = np.asarray(features, dtype=np.float32)
    pairs = list(zip(weights[::2], weights[1::2]))
    for kernel, bias in pairs[:-1]:
        h = np.maximum(h @ kernel + bias, 0.0)
    kernel, bias = pairs[-1]
    return h @ kernel + bias


def trunk_features(trunk, data: FaceDataset, *, layer: str = "fc2", batch_size: int = 256) -> np.ndarray:
    """(n, features) float32: the output of the trunk's `layer` for every image of `data`."""
    extractor = feature_extractor(trunk, layer)
    return extractor.predict(caffe_preprocess(data.images), batch_size=batch_size, verbose=0).astype(np.float32)


def train_readout(
    features: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    train: np.ndarray,
    val: np.ndarray,
    *,
    epochs: int = 25,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    hidden=(),
    schedule: str = "constant",
) -> tuple[list[np.ndarray], dict]:
    """Train a new linear readout (Keras Dense, softmax cross-entropy, Adam) on frozen
    features, and with it the ReLU layers `hidden` if any are given.

    The readout's initial weights (Glorot uniform) and the batch order are set by `seed`.
    `hidden` is [kernel, bias] per layer between the features and the readout (from
    `hidden_weights`); those layers start from these weights and are trained too.
    `schedule` is Adam's rate over the run: ``constant``, or ``cosine`` (from
    `learning_rate` down to 0 at the last step, so the run ends settled rather than
    wherever the last epoch's steps left it).

    Returns
    -------
    weights : [kernel, bias] of each hidden layer, then of the readout (n_classes units)
    history : per-epoch ``accuracy`` and ``val_accuracy``, and the final ones
    """
    import tensorflow as tf
    from tensorflow import keras

    tf.keras.utils.set_random_seed(seed)
    width = features.shape[1]
    layers = [keras.Input((width,))]
    for i, (kernel, bias) in enumerate(hidden):
        if kernel.shape[0] != width:
            raise ValueError(f"hidden layer {i} takes {kernel.shape[0]} inputs, not {width}")
        width = kernel.shape[1]
        layers.append(keras.layers.Dense(width, activation="relu", name=f"hidden{i}"))
    layers.append(keras.layers.Dense(n_classes, name="predictions"))
    readout = keras.Sequential(layers, name="readout")
    for i, pair in enumerate(hidden):
        readout.get_layer(f"hidden{i}").set_weights(pair)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r} is not one of {list(SCHEDULES)}")
    if schedule == "cosine":
        steps = epochs * -(-len(train) // batch_size)
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(steps, 1))
    readout.compile(
        # the legacy Adam works in graph mode too (the model notebooks run in graph mode
        # for iNNvestigate); Keras 2.14's new optimizers do not
        optimizer=keras.optimizers.legacy.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    fit = readout.fit(
        features[train], labels[train], validation_data=(features[val], labels[val]),
        epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
    )
    weights = [w for layer in readout.layers for w in layer.get_weights()]
    logits_train = head_logits(features[train], weights)
    logits_val = head_logits(features[val], weights)
    history = {
        "accuracy": [float(a) for a in fit.history["accuracy"]],
        "val_accuracy": [float(a) for a in fit.history["val_accuracy"]],
        "train_accuracy": float((logits_train.argmax(1) == labels[train]).mean()),
        "validation_accuracy": float((logits_val.argmax(1) == labels[val]).mean()),
    }
    return weights, history


def training_options(settings: dict) -> dict:
    """`train_readout`'s keyword arguments from a profile's ``finetune`` settings (all but
    the seed and the hidden layers)."""
    return {"epochs": settings["epochs"], "batch_size": settings["batch_size"],
            "learning_rate": settings["learning_rate"], "schedule": settings.get("schedule", "constant")}


def assemble(trunk, weights: list[np.ndarray], *, name: str = "model"):
    """The fine-tuned network: the trunk followed by the linear readout (logits, no softmax).

    `weights` as `train_readout` returns them; when they include trained hidden layers,
    those replace the trunk's last dense layers in a copy of the trunk (`trunk` itself is
    left as it was).
    """
    from tensorflow import keras

    *hidden, kernel, bias = weights
    if hidden:
        copy = keras.models.clone_model(trunk)
        copy.set_weights(trunk.get_weights())
        trunk = copy
    outputs = keras.layers.Dense(kernel.shape[1], name="predictions")(trunk.output)
    model = keras.Model(trunk.input, outputs, name=name)
    set_trained_layers(model, weights)
    return model


def set_trained_layers(model, weights: list[np.ndarray]) -> None:
    """Put `weights` (as `train_readout` returns them) into the last dense layers of
    `model`, in place: the readout ``predictions`` and the fine-tuned layers before it."""
    from tensorflow import keras

    dense = [lay for lay in model.layers if isinstance(lay, keras.layers.Dense)][-(len(weights) // 2):]
    if len(weights) % 2 or dense[-1].name != "predictions":
        raise ValueError(f"model {model.name}: expected [kernel, bias] pairs ending with its 'predictions' layer")
    for lay, kernel, bias in zip(dense, weights[::2], weights[1::2]):
        lay.set_weights([kernel, bias])


def load_features(path, profile) -> np.ndarray:
    """The features `python -m facelrp features` saved at `path`, checked against the
    layer `profile`'s fine-tuning reads."""
    from .. import store

    arrays = store.load_npz(path)
    expected = feature_layer(profile.finetune)
    layer = str(arrays["layer"]) if "layer" in arrays else "fc2"
    if layer != expected:
        raise ValueError(f"{path}: features of layer {layer}, but profile {profile.name} fine-tunes on {expected} "
                         f"(finetune.frozen: {profile.finetune.get('frozen', 'trunk')}); remake it with "
                         f"`python -m facelrp features --profile {profile.name} ...` or rerun the pipeline")
    return store.check_finite(path, {"features": arrays["features"]}, fix=(
        f"remake it with `python -m facelrp features --profile {profile.name} ...` or rerun the pipeline"))["features"]


def save_run(directory, model, arrays: dict, record: dict) -> None:
    """Write one model's artifacts: ``model.h5``, ``arrays.npz`` and ``record.json``, as one
    folder (`facelrp.store.replaced_folder`): a failure leaves the old folder whole, so an
    old record never vouches for a new model. ``record.json`` is written last, so its
    presence means the run is complete.
    """
    import warnings
    from pathlib import Path

    from .. import store

    store.check_finite(Path(directory) / "arrays.npz", arrays, fix="the model's training or its maps failed: see its "
                       "notebook (results/<profile>/book/models/); nothing was written")
    with store.replaced_folder(Path(directory)) as scratch:
        with warnings.catch_warnings():  # .h5 on purpose: see vgg.save_trunk
            warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")
            model.save(scratch / "model.h5", include_optimizer=False)
        store.save_npz(scratch / "arrays.npz", **arrays)
        store.save_json(scratch / "record.json", record)


def load_run(directory) -> tuple[dict, dict]:
    """The arrays and record of a run saved by `save_run` (not the model)."""
    import json
    from pathlib import Path

    from .. import store

    directory = Path(directory)
    if not (directory / "record.json").is_file():
        raise FileNotFoundError(f"{directory}: no record.json, so the model's run is not complete; run the pipeline "
                                "(`make book`) to make it")
    record = json.loads((directory / "record.json").read_text())
    arrays = store.check_finite(directory / "arrays.npz", store.load_npz(directory / "arrays.npz"),
                                fix=f"remove {directory} and rerun the pipeline (`make book`) to make it again")
    n = record.get("n_maps")
    shapes = {name: arrays[name].shape for name in ("maps", "classes", "logits") if name in arrays}
    if n is not None and any(shape[0] != n for shape in shapes.values()):
        raise ValueError(f"{directory / 'arrays.npz'}: shapes {shapes}, but its record says {n} maps; the two are "
                         f"of different runs: remove {directory} and rerun the pipeline (`make book`)")
    return arrays, record


def load_runs(profile, keys: list[ModelKey] | None = None) -> dict[ModelKey, tuple[dict, dict]]:
    """The arrays and record (`load_run`) of each of `profile`'s models (default: all), by key."""
    from ..artifacts import Results

    results = Results(profile)
    return {key: load_run(results.model(key.name)) for key in (keys if keys is not None else model_keys(profile))}


def load_records(profile, keys: list[ModelKey] | None = None) -> dict[ModelKey, dict]:
    """The record of each of `profile`'s models (default: all), by key, without their arrays."""
    import json

    from ..artifacts import Results

    results = Results(profile)
    return {key: json.loads((results.model(key.name) / "record.json").read_text())
            for key in (keys if keys is not None else model_keys(profile))}


def run_table(records: dict[ModelKey, dict]):
    """One row per model from its record (`load_records`): ``pretraining``, ``task``,
    ``seed``, ``train`` and ``validation`` accuracy (0-1), ``readout_seconds`` and
    ``lrp_seconds`` (the time fine-tuning and the LRP maps took)."""
    import pandas as pd

    return pd.DataFrame([{"pretraining": key.source, "task": key.task, "seed": key.seed,
                          "train": record["train_accuracy"], "validation": record["validation_accuracy"],
                          "readout_seconds": record.get("readout_seconds", np.nan),
                          "lrp_seconds": record.get("lrp_seconds", np.nan)} for key, record in records.items()])
