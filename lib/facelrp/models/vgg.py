"""VGG-16 trunks: the builder, BatchNorm folding, the real ImageNet/VGGFace weights, trunk files.

A *trunk* is VGG-16 up to its second hidden fully connected layer (``fc2``, after its
ReLU): 13 convolutions in 5 blocks (2-2-3-3-3) with max pooling, ``flatten``, ``fc1``,
``fc2``. Fine-tuning (later chapters) adds a linear ``predictions`` layer on ``fc2``.
Layer names follow ``keras.applications.VGG16``. Exported trunks hold plain layers only
(Conv2D/Dense with ReLU inside, MaxPooling2D, Flatten), which is what LRP needs.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np

from ..artifacts import file_digest, file_sha256

__all__ = [
    "TrunkSpec",
    "WeightFile",
    "WeightsError",
    "REAL_WEIGHTS",
    "build_vgg16",
    "fold_batchnorm",
    "trunk_of",
    "locate_weights",
    "load_real_trunk",
    "save_trunk",
    "load_trunk",
    "file_sha256",
    "first_layer_kernels",
    "low_frequency_share",
    "profile_trunk",
]

_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


class WeightsError(ValueError):
    """A weight file is not the one expected (hash, layers or shapes); the message says why."""


@dataclass(frozen=True)
class TrunkSpec:
    """Size of a VGG-16 trunk.

    width : channel multiplier (1.0 = VGG-16's 64-128-256-512-512)
    input_size : side of the square input in pixels (a multiple of 32)
    fc_width : units of ``fc1`` and ``fc2`` (VGG-16: 4096)
    block5_width : channel multiplier of block 5 alone (default: `width`). Block 5's
        output is what ``flatten`` passes to ``fc1``: (input_size / 32)^2 x its channels,
        25,088 values in VGG-16 at 224 px but 2,048 at a quarter width on 128 px (the demo) and 512 on 64 px.
    """

    width: float = 1.0
    input_size: int = 224
    fc_width: int = 4096
    block5_width: float | None = None

    def __post_init__(self):
        if self.input_size % 32:
            raise ValueError(f"input_size must be a multiple of 32 (five 2x poolings), got {self.input_size}")
        if not 0 < self.width <= 1:
            raise ValueError(f"width must be in (0, 1], got {self.width}")
        if self.block5_width is not None and not 0 < self.block5_width <= 1:
            raise ValueError(f"block5_width must be in (0, 1], got {self.block5_width}")

    def channels(self) -> list[int]:
        """Output channels of the 13 convolutions, in order."""
        top = self.width if self.block5_width is None else self.block5_width
        return [
            max(1, round(c * (top if block == len(_BLOCKS) else self.width)))
            for block, (c, n) in enumerate(_BLOCKS, start=1)
            for _ in range(n)
        ]

    @property
    def flat_features(self) -> int:
        return (self.input_size // 32) ** 2 * self.channels()[-1]

    def multiply_adds(self) -> int:
        """Multiply-adds of one forward pass through the trunk (convolutions, fc1, fc2)."""
        total, side, c_in = 0, self.input_size, 3
        outs = iter(self.channels())
        for _, n in _BLOCKS:
            for _ in range(n):
                c_out = next(outs)
                total += side * side * 9 * c_in * c_out
                c_in = c_out
            side //= 2
        return total + self.flat_features * self.fc_width + self.fc_width * self.fc_width


def conv_names() -> list[str]:
    """The 13 convolution layer names, block1_conv1 ... block5_conv3."""
    return [f"block{b}_conv{i}" for b, (_, n) in enumerate(_BLOCKS, start=1) for i in range(1, n + 1)]


def build_vgg16(
    spec: TrunkSpec,
    *,
    batch_norm: bool = False,
    dropout: float = 0.0,
    n_classes: int | None = None,
    name: str = "vgg16",
):
    """A VGG-16 Keras model: the trunk, and a linear ``predictions`` layer if `n_classes`.

    With `batch_norm`, every convolution and hidden dense layer is followed by
    BatchNormalization (named ``<layer>_bn``) and a separate ReLU, for training; export
    with `fold_batchnorm`. `dropout` follows ``fc1`` and ``fc2`` (training only).
    The model's input is caffe-preprocessed (see `datasets.caffe_preprocess`).
    """
    from tensorflow import keras
    from tensorflow.keras import layers

    inputs = keras.Input((spec.input_size, spec.input_size, 3), name="input")
    x = inputs

    def unit(x, layer_type, name, size, **kwargs):
        if not batch_norm:
            return layer_type(size, activation="relu", name=name, **kwargs)(x)
        x = layer_type(size, use_bias=False, name=name, **kwargs)(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)  # tracks the weights closely
        return layers.Activation("relu", name=f"{name}_relu")(x)

    channels = dict(zip(conv_names(), spec.channels()))
    names = iter(conv_names())
    for block, (_, n) in enumerate(_BLOCKS, start=1):
        for _ in range(n):
            name = next(names)
            x = unit(x, layers.Conv2D, name, channels[name], kernel_size=3, padding="same")
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    for fc in ("fc1", "fc2"):
        x = unit(x, layers.Dense, fc, spec.fc_width)
        if dropout:
            # a tf.random.Generator (not TensorFlow's legacy stateful ops) draws the masks:
            # its state is a variable, so a checkpoint saves it and a resumed pretraining
            # draws the masks an uninterrupted one would
            x = layers.Dropout(dropout, name=f"{fc}_dropout", force_generator=True)(x)
    if n_classes:
        x = layers.Dense(n_classes, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _weighted_names() -> list[str]:
    return conv_names() + ["fc1", "fc2"]


def fold_batchnorm(model, spec: TrunkSpec, *, keep_head: bool = True):
    """The same network with each BatchNormalization folded into the layer before it.

    For a layer ``y = W x`` followed by BN with scale g, shift b, running mean m and
    variance v: ``W' = W * g / sqrt(v + eps)`` (per output unit) and
    ``b' = b - m * g / sqrt(v + eps)``. In inference mode the folded model computes the
    same function with plain layers only. Dropout layers are dropped (identity at
    inference).
    """
    has_head = any(layer.name == "predictions" for layer in model.layers)
    n_classes = model.get_layer("predictions").units if has_head and keep_head else None
    plain = build_vgg16(spec, n_classes=n_classes, name=model.name)
    names = {layer.name for layer in model.layers}
    for name in _weighted_names():
        weights = model.get_layer(name).get_weights()
        if f"{name}_bn" in names:
            bn = model.get_layer(f"{name}_bn")
            gamma, beta, mean, var = bn.get_weights()
            factor = gamma / np.sqrt(var + bn.epsilon)
            kernel = weights[0] * factor
            bias = beta - mean * factor
            if len(weights) == 2:  # a bias before BN shifts the mean it subtracts
                bias = bias + weights[1] * factor
            weights = [kernel, bias]
        plain.get_layer(name).set_weights(weights)
    if n_classes:
        plain.get_layer("predictions").set_weights(model.get_layer("predictions").get_weights())
    return plain


def trunk_of(model):
    """The model cut after ``fc2`` (its ReLU output): the frozen feature extractor."""
    from tensorflow import keras

    return keras.Model(model.input, model.get_layer("fc2").output, name=model.name)


# --------------------------------------------------------------------------- real weights


@dataclass(frozen=True)
class WeightFile:
    """A published VGG-16 weight file and how its layers map onto ours."""

    name: str
    url: str
    md5: str | None  # the hash its publisher's code pins, if any
    cache_subdir: str
    layer_map: dict  # our layer name -> the file's layer name
    note: str = ""


REAL_WEIGHTS = {
    "imagenet": WeightFile(
        name="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        url="https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        md5="64373286793e3c8b2b4e3219cbf3544b",  # as pinned by keras.applications.vgg16
        cache_subdir="models",
        layer_map={name: name for name in _weighted_names()},
    ),
    "vggface": WeightFile(
        name="rcmalli_vggface_tf_vgg16.h5",
        url="https://github.com/rcmalli/keras-vggface/releases/download/v2.0/rcmalli_vggface_tf_vgg16.h5",
        md5=None,  # keras-vggface downloads it without a hash; pin yours with expected_sha256=
        cache_subdir="models/vggface",
        layer_map={
            **{ours: f"conv{b}_{i}" for ours, (b, i) in zip(
                conv_names(), [(b, i) for b, (_, n) in enumerate(_BLOCKS, start=1) for i in range(1, n + 1)]
            )},
            "fc1": "fc6",
            "fc2": "fc7",
        },
        note=(
            "The paper removed VGGFace's final two fully connected layers to match the ImageNet "
            "network; we read that as the 2,622-way classifier fc8 and its softmax (the two "
            "layers keras-vggface lists after fc7), which leaves fc6/fc7 as fc1/fc2: exactly the "
            "ImageNet VGG-16 trunk, with a new readout trained on top in both cases."
        ),
    ),
}


def _keras_home(cache_dir) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def locate_weights(
    source: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    expected_sha256: str | None = None,
) -> Path:
    """Path of the real weight file for `source` ("imagenet" or "vggface").

    Looks in the Keras cache (``$KERAS_HOME`` or ``~/.keras``, or `cache_dir`) under the
    file's usual sub-folder; downloads it there when missing and `download` is true; checks
    the publisher's MD5 (ImageNet) and `expected_sha256` when given.

    Raises
    ------
    ValueError
        Unknown `source`.
    FileNotFoundError
        Not in the cache and not downloadable; says where to put the file.
    WeightsError
        The file's hash is not the expected one.
    """
    if source not in REAL_WEIGHTS:
        raise ValueError(f"source {source!r} is not one of {sorted(REAL_WEIGHTS)}")
    spec = REAL_WEIGHTS[source]
    path = _keras_home(cache_dir) / spec.cache_subdir / spec.name
    if not path.is_file():
        where = f"download {spec.url} on a machine with network and put it at {path}"
        if not download:
            raise FileNotFoundError(f"{path}: {source} weights not found; {where}")
        try:
            from tensorflow import keras

            keras.utils.get_file(
                spec.name, spec.url, file_hash=spec.md5, hash_algorithm="md5",
                cache_subdir=spec.cache_subdir, cache_dir=str(_keras_home(cache_dir)),
            )
        except Exception as err:  # network errors come in many types; all end here
            raise FileNotFoundError(f"{path}: {source} weights not found and the download failed ({err}); {where}") from None
    if spec.md5 is not None:
        found = file_digest(path, "md5")
        if found != spec.md5:
            raise WeightsError(
                f"{path}: md5 {found} is not the published {spec.md5}; the file is damaged or another "
                "file: delete it and download it again"
            )
    sha256 = file_sha256(path)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise WeightsError(f"{path}: sha256 {sha256} is not the expected {expected_sha256}; delete it and download it again")
    if spec.md5 is None and expected_sha256 is None:
        warnings.warn(
            f"{path}: {source} weights have no published hash; this file's sha256 is {sha256}. "
            "Pin it (expected_sha256=) so later runs check they use the same file.",
            stacklevel=2,
        )
    return path


def read_keras_h5(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """Layer name -> list of weight arrays, from a Keras (legacy HDF5) weight or model file.

    Follows the layout Keras 2 writes with ``save_weights``/``save`` to ``.h5``: the root
    (or its ``model_weights`` group) lists ``layer_names``; each layer group lists its
    ``weight_names`` in order (kernel, then bias).
    """
    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise WeightsError(f"{path}: not an HDF5 weight file ({err})") from None
    with handle:
        group = handle["model_weights"] if "model_weights" in handle else handle
        if "layer_names" not in group.attrs:
            raise WeightsError(f"{path}: no 'layer_names' attribute; not a Keras HDF5 weight file")
        out = {}
        for raw in group.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            layer = group[name]
            weight_names = [w.decode() if isinstance(w, bytes) else str(w) for w in layer.attrs.get("weight_names", [])]
            out[name] = [np.asarray(layer[w]) for w in weight_names]
        return out


def load_real_trunk(
    source: str,
    *,
    path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    expected_sha256: str | None = None,
    spec: TrunkSpec | None = None,
):
    """The VGG-16 trunk with the real `source` weights (full size: 224 px, fc 4096).

    `path` reads a given file instead of the Keras cache. Weights are mapped by layer
    (`WeightFile.layer_map`) and every shape is checked before anything is set. `spec`
    (default: full VGG-16) exists for tests, which write small files in the same layout.

    Raises
    ------
    WeightsError
        A layer is missing or a weight has another shape than VGG-16's.
    """
    if source not in REAL_WEIGHTS:
        raise ValueError(f"source {source!r} is not one of {sorted(REAL_WEIGHTS)}")
    if path is None:
        path = locate_weights(source, cache_dir=cache_dir, download=download, expected_sha256=expected_sha256)
    path = Path(path)
    stored = read_keras_h5(path)
    spec = spec or TrunkSpec()
    model = build_vgg16(spec, name=f"vgg16_{source}")
    assignments = []
    for ours, theirs in REAL_WEIGHTS[source].layer_map.items():
        if theirs not in stored:
            raise WeightsError(
                f"{path}: layer {theirs!r} not found (layers: {', '.join(stored) or 'none'}); "
                f"is this the {source} VGG-16 file {REAL_WEIGHTS[source].name}?"
            )
        layer = model.get_layer(ours)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        found = [tuple(w.shape) for w in stored[theirs]]
        if found != expected:
            raise WeightsError(
                f"{path}: layer {theirs!r} has weights of shapes {found}, VGG-16's {ours} needs {expected}; "
                "the file is of another architecture"
            )
        assignments.append((layer, stored[theirs]))
    for layer, weights in assignments:
        layer.set_weights(weights)
    return model


# --------------------------------------------------------------------------- trunk files


def save_trunk(model, path: str | os.PathLike, record: dict) -> str:
    """Write a trunk to ``.h5`` (the format that loads correctly under iNNvestigate's graph
    mode) and its record to ``.json`` beside it, both atomically. Returns the SHA-256."""
    path = Path(path)
    if path.suffix != ".h5":
        raise ValueError(f"{path}: trunks are saved as .h5 (a .keras file loads with wrong weights in graph mode)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".trunk-") as scratch:
        tmp = Path(scratch) / path.name
        with warnings.catch_warnings():  # Keras calls .h5 "legacy"; we need it (see above)
            warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")
            model.save(tmp, include_optimizer=False)
        sha256 = file_sha256(tmp)
        record = {**record, "file": path.name, "sha256": sha256, "bytes": tmp.stat().st_size}
        tmp_json = Path(scratch) / "record.json"
        tmp_json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
        os.replace(tmp_json, path.with_suffix(".json"))
    return sha256


def load_trunk(path: str | os.PathLike, *, expected_sha256: str | None = None):
    """Load a trunk saved by `save_trunk`, its SHA-256 checked against `expected_sha256`, its
    record beside it, and the folder's ``SHA256SUMS`` (as ``weights/`` ships it), whichever
    exist; a trunk that none of them vouches for is refused.

    Raises
    ------
    FileNotFoundError
        No file at `path`.
    WeightsError
        The file's SHA-256 differs from one of them, or nothing records what it should be.
    """
    from tensorflow import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: trunk not found; `make pretrain` makes the demo trunks")
    expected = {}
    if expected_sha256 is not None:
        expected["the expected sha256"] = expected_sha256
    record_path = path.with_suffix(".json")
    if record_path.is_file():
        expected[f"its record {record_path.name}"] = json.loads(record_path.read_text())["sha256"]
    sums = path.with_name("SHA256SUMS")
    if sums.is_file():
        listed = {name.strip(): digest for digest, name in
                  (line.split(maxsplit=1) for line in sums.read_text().splitlines() if line.strip())}
        if path.name in listed:
            expected[f"{sums}"] = listed[path.name]
    if not expected:
        raise WeightsError(f"{path}: no record ({record_path.name}) beside it and no SHA256SUMS entry, so nothing says "
                           "which trunk it is; restore the pair (git checkout weights/) or remake it (make pretrain)")
    found = file_sha256(path)
    for where, digest in expected.items():
        if found != digest:
            raise WeightsError(
                f"{path}: sha256 {found} differs from {where} ({digest}); the file changed since it was made: "
                "restore it (git checkout) or remake it (make pretrain)"
            )
    return keras.models.load_model(path, compile=False)


def spec_dict(spec: TrunkSpec) -> dict:
    """The spec as the profiles write it: fields left at None (their default) are omitted."""
    return {k: v for k, v in asdict(spec).items() if v is not None}


def first_layer_kernels(model) -> np.ndarray:
    """The first convolution's kernels as greyscale filters, (n_filters, 3, 3).

    Inputs are grey levels copied to the three channels, so a filter responds to the sum
    of its three channel kernels: that sum is the kernel that acts on the faces.
    """
    kernel = model.get_layer("block1_conv1").get_weights()[0]  # (3, 3, in, out)
    return np.moveaxis(kernel.sum(axis=2), -1, 0)


def low_frequency_share(kernels: np.ndarray) -> np.ndarray:
    """Per kernel, the share of its energy in the constant (DC) component, in [0, 1].

    For a k x k kernel w: ``(sum w)^2 / (k^2 * sum w^2)``; 1 for a flat kernel, 0 for
    one that sums to zero (a pure edge or spot detector).
    """
    kernels = np.asarray(kernels, dtype=np.float64)
    flat = kernels.reshape(len(kernels), -1)
    energy = (flat**2).sum(axis=1)
    return np.divide(flat.sum(axis=1) ** 2, flat.shape[1] * energy, out=np.zeros(len(flat)), where=energy > 0)


def profile_trunk(profile, source: str):
    """The trunk a profile uses for `source` (imagenet/vggface), and its record (dict).

    `shipped`/`pretrain` profiles load the stand-in file (its SHA-256 checked against its
    record); `real` loads the published weights (see `load_real_trunk`).
    """
    if profile.trunks["source"] == "real":
        expected = profile.trunks.get(f"{source}_sha256")
        model = load_real_trunk(source, expected_sha256=expected)
        spec = REAL_WEIGHTS[source]
        return model, {"source": source, "file": spec.name, "url": spec.url, "note": spec.note, "stand_in": False}
    path = profile.trunk_path(source)
    model = load_trunk(path)
    record = json.loads(path.with_suffix(".json").read_text())
    if record.get("source", source) != source:
        raise WeightsError(f"{path}: its record says it is the {record['source']} trunk, not the {source} one; "
                           f"put the {source} trunk there (for the demo: git checkout {path.parent})")
    return model, {**record, "stand_in": True}
