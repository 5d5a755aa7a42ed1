"""Pretraining of the stand-in trunks: VGG-16 with BatchNorm trained from scratch, then folded.

Both stand-ins get the same topology and the same budget (images, epochs, optimiser,
seed); only the corpus differs: procedural objects for the "ImageNet" trunk, identities
of other synthetic faces for the "VGGFace" trunk.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from ..data.datasets import caffe_preprocess
from . import vgg

__all__ = ["onednn_enabled", "pretrain_trunk", "recalibrate_batchnorm", "set_determinism"]

#: With ``augment``: the largest random shift, as a share of the image side.
AUGMENT_SHIFT = 0.125


def set_determinism(seed: int) -> None:
    """Seed Python, numpy and TensorFlow and make TensorFlow's kernels deterministic."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs oneDNN's CPU kernels (``TF_ENABLE_ONEDNN_OPTS``, set before
    TensorFlow is imported; by default on only on CPUs with AVX-512 or newer). The two
    kernel sets round differently, so a trunk's bits depend on which one trained it.
    None if this TensorFlow cannot say."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # the flag TensorFlow itself reads
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def recalibrate_batchnorm(model, x: np.ndarray, *, n: int = 1024, seed: int = 0) -> None:
    """Set every BatchNorm layer's moving mean and variance to the statistics of its input
    over `n` training images, computed with the final weights (dropout off).

    The moving averages Keras keeps during training lag behind the weights (momentum
    0.99: after a few hundred steps they still carry early weights' statistics), which
    can leave the inference-mode network far worse than the trained one; the folded
    trunk inherits whatever statistics are set here.
    """
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(n, len(x)), replace=False)]
    saved = []
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            saved.append((layer, "momentum", layer.momentum))
            layer.momentum = 0.0  # the update then writes the batch statistics as they are
        elif layer.__class__.__name__ == "Dropout":
            saved.append((layer, "rate", layer.rate))
            layer.rate = 0.0
    try:
        model(sample, training=True)
    finally:
        for layer, name, value in saved:
            setattr(layer, name, value)


def pretrain_trunk(
    images: np.ndarray,
    labels: np.ndarray,
    spec: vgg.TrunkSpec,
    *,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 2e-3,
    dropout: float = 0.3,
    weight_decay: float = 0.0,
    augment: bool = False,
    holdout: float = 0.1,
    seed: int = 0,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
):
    """Train VGG-16 (+BatchNorm) to classify `images` by `labels`; return the folded trunk.

    Parameters
    ----------
    images : (n, s, s) uint8 greyscale, s = spec.input_size
    labels : (n,) int class indices
    spec : the trunk's size
    epochs, batch_size, learning_rate : Adam with a cosine decay to 0 over all steps
    dropout : after fc1 and fc2 (VGG-16's own training: 0.5)
    weight_decay : decoupled weight decay (AdamW) if > 0; Keras scales it by the
        learning rate at each step
    augment : random horizontal flips and shifts of up to `AUGMENT_SHIFT` of the image
        (edges repeated) on every training batch, as VGG-16 was trained (flips and random crops)
    holdout : share of images held out (stratified by class) to measure accuracy
    checkpoint : a folder for the training state (weights, optimiser, random generators,
        history), written after every epoch. A run that finds one made with the same
        settings and data resumes from its last epoch and ends with the weights an
        uninterrupted run makes; one made otherwise is refused. The caller deletes it once
        the trunk is saved.

    Returns
    -------
    trunk : keras Model, plain layers, input -> fc2
    record : dict with the settings, held-out and training accuracy, wall time
    """
    import tensorflow as tf
    from tensorflow import keras

    set_determinism(seed)
    labels = np.asarray(labels)
    n_classes = int(labels.max()) + 1
    index = np.arange(len(labels))
    train_idx, held_idx = train_test_split(index, test_size=holdout, stratify=labels, random_state=seed)
    # The float32 input is made once, slice by slice from the uint8 images (the whole
    # corpus converted and then sliced held one more copy), and `fit` gets its batches
    # gathered from it (`_batches`) rather than a copy of its own.
    x_train, y_train = caffe_preprocess(images[train_idx]), labels[train_idx]
    x_held, y_held = caffe_preprocess(images[held_idx]), labels[held_idx]
    model = vgg.build_vgg16(spec, batch_norm=True, dropout=dropout, n_classes=n_classes, name="pretrain")
    # Augmentation wraps the network in a training model; `model` itself, which is
    # evaluated, recalibrated and folded below, never sees the random layers.
    trained = keras.Sequential([
        keras.Input(model.input_shape[1:]),  # built here, so its random generators exist before a restore
        keras.layers.RandomFlip("horizontal", seed=seed, name="flip"),
        keras.layers.RandomTranslation(AUGMENT_SHIFT, AUGMENT_SHIFT, fill_mode="nearest", seed=seed + 1, name="shift"),
        model,
    ]) if augment else model
    steps = epochs * int(np.ceil(len(train_idx) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    optimizer = (keras.optimizers.AdamW(schedule, weight_decay=weight_decay) if weight_decay
                 else keras.optimizers.Adam(schedule))
    trained.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # Each epoch's order is drawn from (seed, epoch) and every random layer draws from a
    # tf.random.Generator whose state the checkpoint keeps, so no randomness depends on
    # how many epochs this process has run: a resumed run repeats an uninterrupted one.
    batches = _batches(x_train, y_train, batch_size)
    state = _Checkpoint(checkpoint, trained, optimizer, settings={
        "spec": vgg.spec_dict(spec), "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "dropout": dropout, "weight_decay": weight_decay, "augment": augment, "holdout": holdout, "seed": seed,
        "data_sha256": _data_sha256(images, labels), "onednn": onednn_enabled(),
    })
    onednn = state.settings["onednn"]
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, initial=state.epoch, unit="epoch", desc="pretraining", disable=not progress)
    for epoch in range(state.epoch, epochs):
        batches.order = np.random.default_rng([seed, epoch]).permutation(len(x_train))
        start = time.perf_counter()
        epoch_history = trained.fit(batches, epochs=1, shuffle=False, validation_data=(x_held, y_held), verbose=0)
        state.epoch_done({k: float(v[-1]) for k, v in epoch_history.history.items()}, time.perf_counter() - start)
        bar.update()
        bar.set_postfix(accuracy=f"{state.history['accuracy'][-1]:.3f}", held_out=f"{state.history['val_accuracy'][-1]:.3f}")
    bar.close()
    lagging = trained.evaluate(x_held, y_held, batch_size=256, verbose=0)[1]
    recalibrate_batchnorm(model, x_train, seed=seed)

    folded = vgg.fold_batchnorm(model, spec)
    logits = folded.predict(x_held, batch_size=256, verbose=0)
    held_accuracy = float((logits.argmax(1) == y_held).mean())
    train_logits = folded.predict(x_train, batch_size=256, verbose=0)
    train_accuracy = float((train_logits.argmax(1) == y_train).mean())
    record = {
        "spec": vgg.spec_dict(spec),
        "n_classes": n_classes,
        "n_train": int(len(train_idx)),
        "n_holdout": int(len(held_idx)),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "optimizer": ("AdamW" if weight_decay else "Adam") + ", cosine decay to 0",
        "dropout": dropout,
        **({"weight_decay": weight_decay} if weight_decay else {}),
        **({"augmentation": f"random horizontal flip, random shift up to {AUGMENT_SHIFT:g} of the side (edges repeated)"}
           if augment else {}),
        "batch_norm": "trained with BatchNorm; statistics re-estimated on 1,024 training images with the final weights, then folded into the layers before export",
        "seed": seed,
        "holdout_accuracy": held_accuracy,
        "holdout_accuracy_before_bn_recalibration": float(lagging),
        "train_accuracy": train_accuracy,
        "history": state.history,
        "train_seconds": round(state.seconds, 1),
        **({"resumed_at_epochs": state.resumed_at} if state.resumed_at else {}),
        "tensorflow": tf.__version__,
        "onednn": onednn,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
    }
    return vgg.trunk_of(folded), record


def _data_sha256(images: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(images).data)
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).data)
    return digest.hexdigest()


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int):
    """Training batches in the order set before each epoch (``.order``), gathered from
    `x` as needed rather than copied whole: `fit` on arrays would hold one more copy of
    the corpus (3 GB for the demo's objects at 128 px) and shuffle it with its own seed."""
    from tensorflow import keras

    class Batches(keras.utils.Sequence):
        order = np.arange(len(x))

        def __len__(self):
            return int(np.ceil(len(x) / batch_size))

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])  # sorted: faster gather, same batch
            return x[idx], y[idx]

    return Batches()


class _Checkpoint:
    """The training state in a folder, saved after every epoch (see `pretrain_trunk`).

    ``state.json`` names the last complete TensorFlow checkpoint and is replaced only after
    that checkpoint is written, so a run killed mid-save resumes from the epoch before.
    """

    def __init__(self, folder, model, optimizer, *, settings: dict):
        import tensorflow as tf

        self.folder = Path(folder) if folder else None
        self.settings = json.loads(json.dumps(settings))  # as it reads back from JSON
        self.epoch, self.history, self.seconds, self.resumed_at = 0, {}, 0.0, []
        self._tf = tf.train.Checkpoint(model=model, optimizer=optimizer, **_random_generators(model))
        if self.folder is None or not (self.folder / "state.json").is_file():
            return
        saved = json.loads((self.folder / "state.json").read_text())
        changed = sorted(k for k in set(saved["settings"]) | set(self.settings)
                         if saved["settings"].get(k) != self.settings.get(k))
        if changed:
            made_with = saved["settings"].get("onednn")  # absent in checkpoints older than the flag
            kernels = ("" if "onednn" not in changed else
                       " (it does not say which CPU kernels made it)" if made_with is None else
                       f", or set TF_ENABLE_ONEDNN_OPTS={int(made_with)} as when it was made")
            raise ValueError(
                f"{self.folder}: a checkpoint of another pretraining (it differs in {', '.join(changed)}); "
                f"delete the folder to start this one from scratch{kernels}")
        optimizer.build(model.trainable_variables)  # its slots must exist to be restored into
        self._tf.read(str(self.folder / saved["checkpoint"])).assert_existing_objects_matched()
        self.epoch, self.history, self.seconds = saved["epoch"], saved["history"], saved["seconds"]
        self.resumed_at = saved["resumed_at"] + [self.epoch]

    def epoch_done(self, metrics: dict, seconds: float) -> None:
        self.epoch += 1
        self.seconds += seconds
        for name, value in metrics.items():
            self.history.setdefault(name, []).append(value)
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{self.epoch:03d}"
        self._tf.write(str(self.folder / name))
        state = {"settings": self.settings, "epoch": self.epoch, "checkpoint": name, "history": self.history,
                 "seconds": self.seconds, "resumed_at": self.resumed_at}
        tmp = self.folder / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.folder / "state.json")
        for old in self.folder.glob("epoch-*"):
            if not old.name.startswith(name + "."):
                old.unlink()


def _random_generators(model) -> dict:
    """The tf.random.Generator of every random layer (Dropout, RandomFlip, ...) in `model`,
    by layer name. Keras 2.14 keeps them in a private attribute that a checkpoint of the
    model does not reach, so the checkpoint names them itself; without their state a
    resumed run would draw other dropout masks (tests/test_vgg.py catches that)."""
    found = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):
            found.update(_random_generators(layer))
        generator = getattr(getattr(layer, "_random_generator", None), "_generator", None)
        if generator is not None:
            found[f"rng_{layer.name}"] = generator
    return found
