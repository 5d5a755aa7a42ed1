"""Gated inference graphs: ConvNet-AIG and the interpretable-inference-graph loss (Garg et al.).

A small ResNet of basic blocks for 64-pixel faces (the chapter renders its own), with a gate on every block
(Veit & Belongie's ConvNet-AIG): global average pooling, two dense layers, and a two-way
Gumbel-softmax sample that is hard (0/1) in the forward pass and soft in the gradient
(straight-through). A closed gate skips the block's residual branch: the block's output
is its shortcut. At inference the gate is deterministic (the larger logit wins).

Losses: the target-rate loss (Garg et al., equation 2) and the IIG loss (equation 4),
with the attribute estimate from a gate pattern (equation 5). `block_flops` counts each
block's cost from its layers, so executed GFLOPs follow from the gates actually open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PLATEAU_DROP", "PLATEAU_EPOCHS", "RATE_TOLERANCE", "plateau_table", "rate_table", "comparison_reading", 
    "run_table",
    "attribute_estimation",
    "GateSpec",
    "block_flops",
    "executed_gflops",
    "FLOPS_PER_MULTIPLY_ADD",
    "target_rate_loss",
    "iig_loss",
    "iig_masks",
    "estimate_attribute",
    "build_gated_resnet",
    "GATE_ATTRIBUTES",
    "gate_faces",
    "split_within_identity",
    "variant_settings",
    "train_variant",
    "evaluate",
    "gate_heatmap",
    "easy_and_hard",
    "profile_spec",
]


@dataclass(frozen=True)
class GateSpec:
    """The gated ResNet: input size, stem width, (channels, blocks, stride) per stage, the
    gate's hidden width, classes."""

    input_size: int = 64
    stem: int = 16
    stages: tuple = ((16, 2, 1), (32, 2, 2), (64, 2, 2), (128, 2, 2))
    gate_hidden: int = 16
    n_classes: int = 10

    def blocks(self) -> list[dict]:
        """Per block: input and output channels, stride, input and output side."""
        out, channels, side = [], self.stem, self.input_size
        for width, n, stride in self.stages:
            for b in range(n):
                s = stride if b == 0 else 1
                out.append({"in": channels, "out": width, "stride": s, "side_in": side, "side_out": side // s})
                channels, side = width, side // s
        return out


def block_flops(spec: GateSpec) -> tuple[float, np.ndarray]:
    """FLOPs (2 x multiply-adds) of one image: the part every image pays (stem, gates,
    projection shortcuts, head) and each block's residual branch (two 3x3 convolutions).

    Returns
    -------
    fixed : float
    residual : (blocks,) float
    """
    side = spec.input_size
    fixed = 2 * side * side * 9 * 1 * spec.stem  # stem: 3x3 conv on the grey image
    residual = []
    for b in spec.blocks():
        s_out = b["side_out"]
        residual.append(2 * s_out * s_out * 9 * (b["in"] * b["out"] + b["out"] * b["out"]))
        fixed += 2 * (b["in"] * spec.gate_hidden + spec.gate_hidden * 2)  # the gate's two dense layers
        if b["stride"] != 1 or b["in"] != b["out"]:
            fixed += 2 * s_out * s_out * b["in"] * b["out"]  # 1x1 projection shortcut
    fixed += 2 * spec.stages[-1][0] * spec.n_classes  # the classifier after pooling
    return float(fixed), np.asarray(residual, dtype=float)


#: FLOPs per multiply-add, the convention of `block_flops`. Garg et al.'s Table II counts
#: multiply-adds under the name "GFlops" (ResNet-101 on their 128 x 128 faces is about 2.5 G
#: multiply-adds: their 2.54), so the book shows multiply-adds, converted once in `run_table`.
FLOPS_PER_MULTIPLY_ADD = 2


def executed_gflops(gates: np.ndarray, spec: GateSpec) -> np.ndarray:
    """(n,) GFLOPs each image executed, from its (n, blocks) 0/1 gates."""
    fixed, residual = block_flops(spec)
    return (fixed + np.asarray(gates, dtype=float) @ residual) / 1e9


def target_rate_loss(gates, targets):
    """Equation 2: sum over blocks of (the batch's fraction of open gates - target rate)^2.

    gates : (n, blocks), targets : (blocks,); a TensorFlow scalar (numpy input works too).
    """
    tf = _tf()
    gates = tf.convert_to_tensor(gates, dtype=tf.float32)
    return tf.reduce_sum((tf.reduce_mean(gates, axis=0) - tf.cast(targets, tf.float32)) ** 2)


def iig_masks(n_blocks: int, blocks: list[int], n_values: int) -> np.ndarray:
    """(n_values, n_blocks) 0/1 masks: the blocks in `blocks` dealt out in turn to the
    attribute's values (alternating blocks for a binary attribute); disjoint by construction."""
    masks = np.zeros((n_values, n_blocks))
    for i, block in enumerate(blocks):
        masks[i % n_values, block] = 1.0
    return masks


def iig_loss(gates, labels, masks, blocks=None):
    """Equation 4: sum over images and gates of (1[gate in the mask of the image's value] - gate)^2.

    gates : (n, blocks) gates; labels : (n,) attribute values; masks : (values, blocks)
    from `iig_masks`; blocks : the gates this attribute governs (default: all, as
    equation 4; with two attributes each governs its own blocks). A TensorFlow scalar.
    """
    tf = _tf()
    gates = tf.convert_to_tensor(gates, dtype=tf.float32)
    wanted = tf.gather(tf.cast(masks, tf.float32), labels)
    if blocks is not None:
        wanted, gates = tf.gather(wanted, blocks, axis=1), tf.gather(gates, blocks, axis=1)
    return tf.reduce_sum((wanted - gates) ** 2)


def estimate_attribute(gates: np.ndarray, masks: np.ndarray, blocks=None) -> np.ndarray:
    """Equation 5: each image's attribute value is the one whose mask is nearest (squared
    distance) to its gate pattern, over the attribute's blocks; a tie goes to the first value."""
    gates = np.asarray(gates, dtype=float)
    if blocks is not None:
        gates, masks = gates[:, blocks], masks[:, blocks]
    distance = ((masks[None, :, :] - gates[:, None, :]) ** 2).sum(axis=2)
    return distance.argmin(axis=1)


def _tf():
    import tensorflow as tf

    return tf


def build_gated_resnet(spec: GateSpec, *, gated: bool = True, temperature: float = 1.0, seed: int = 0):
    """The Keras model: grey images (n, side, side, 1) in [0, 1] -> (logits, gates (n, blocks)).

    With ``gated=False`` every gate is 1 (the plain ResNet of the same shape).
    """
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.keras import layers

    class Gate(layers.Layer):
        """Pool, dense, dense to two logits (skip, execute); hard Gumbel-softmax sample
        with a straight-through gradient in training, the larger logit at inference."""

        def __init__(self, hidden, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(hidden, activation="relu")
            # start open: the "execute" logit begins 2 above "skip", so training starts
            # from the plain ResNet and learns which blocks to drop
            self.logits = layers.Dense(2, bias_initializer=keras.initializers.Constant([0.0, 2.0]))

        def call(self, x, training=None):
            logits = self.logits(self.hidden(tf.reduce_mean(x, axis=[1, 2])))
            if not training:
                return tf.cast(logits[:, 1] > logits[:, 0], x.dtype)
            u = tf.random.uniform(tf.shape(logits), 1e-6, 1.0 - 1e-6)
            soft = tf.nn.softmax((logits - tf.math.log(-tf.math.log(u))) / temperature)
            hard = tf.one_hot(tf.argmax(soft, axis=1), 2, dtype=soft.dtype)
            # soft - stop_gradient(soft) is exactly 0 forward, so the gate is exactly 0 or 1
            return (hard + (soft - tf.stop_gradient(soft)))[:, 1]

    keras.utils.set_random_seed(seed)
    images = keras.Input((spec.input_size, spec.input_size, 1), name="image")
    x = layers.Conv2D(spec.stem, 3, padding="same", use_bias=False, name="stem")(images)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(momentum=0.9, name="stem_bn")(x))
    gates = []
    for i, b in enumerate(spec.blocks()):
        shortcut = x
        if b["stride"] != 1 or b["in"] != b["out"]:
            shortcut = layers.Conv2D(b["out"], 1, strides=b["stride"], use_bias=False, name=f"block{i}_proj")(x)
            shortcut = layers.BatchNormalization(momentum=0.9, name=f"block{i}_proj_bn")(shortcut)
        r = layers.Conv2D(b["out"], 3, strides=b["stride"], padding="same", use_bias=False, name=f"block{i}_conv1")(x)
        r = layers.ReLU()(layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn1")(r))
        r = layers.Conv2D(b["out"], 3, padding="same", use_bias=False, name=f"block{i}_conv2")(r)
        r = layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn2")(r)
        if gated:
            g = Gate(spec.gate_hidden, name=f"block{i}_gate")(x)
        else:
            g = layers.Lambda(lambda t: tf.ones_like(t[:, 0, 0, 0]), name=f"block{i}_gate")(x)
        gates.append(g)
        x = layers.ReLU(name=f"block{i}_out")(shortcut + g[:, None, None, None] * r)
    logits = layers.Dense(spec.n_classes, name="logits")(layers.GlobalAveragePooling2D()(x))
    gate_matrix = layers.Lambda(lambda gs: tf.stack(gs, axis=1), name="gates")(gates)
    return keras.Model(images, [logits, gate_matrix], name="gated_resnet" if gated else "resnet")


# --------------------------------------------------------------------------- data and training

#: Attributes of the gate analyses: gender and facial hair as drawn, skin tone and hair
#: length split at the median of the identities.
GATE_ATTRIBUTES = ("gender", "skin_tone", "facial_hair", "hair_length")


def gate_faces(*, n_identities: int, images_per_identity: int, size: int = 64, seed: int = 0, progress: bool = False):
    """Identity-classification faces: identities disjoint from the 101 analysis identities,
    each rendered at random views (|yaw| up to 105 degrees), light, framing and expression.

    Returns
    -------
    data : FaceDataset (``identity`` is the class)
    attributes : dict of (n_images,) int arrays, `GATE_ATTRIBUTES`
    """
    from ..data import faces
    from ..data.datasets import pretraining_faces, vpnl_identities

    data = pretraining_faces(vpnl_identities()[1], n_identities=n_identities, images_per_identity=images_per_identity,
                             size=size, seed=seed, progress=progress)
    params = data.identity_params[data.identity]
    column = {name: faces.PARAM_NAMES.index(name) for name in ("skin_tone", "hair_length", "facial_hair")}
    median = {name: np.median(data.identity_params[:, column[name]]) for name in ("skin_tone", "hair_length")}
    attributes = {
        "gender": data.gender.astype(int),
        "skin_tone": (params[:, column["skin_tone"]] > median["skin_tone"]).astype(int),
        "facial_hair": (params[:, column["facial_hair"]] > 0).astype(int),
        "hair_length": (params[:, column["hair_length"]] > median["hair_length"]).astype(int),
    }
    return data, attributes


def split_within_identity(identity: np.ndarray, *, test: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with `test` of every identity's images held out (seeded)."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for ident in np.unique(identity):
        idx = rng.permutation(np.flatnonzero(identity == ident))
        n_test = max(1, int(round(test * len(idx))))
        held.append(idx[:n_test]), train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


def variant_settings(name: str, n_blocks: int) -> dict:
    """The loss of a named variant: ``resnet`` (no gates), ``aig-<rate>`` (target-rate loss,
    first and last blocks at 1.0), ``iig-gender`` (gender on alternating middle blocks),
    ``iig-gender-<attribute>`` (gender on the first half of the middle blocks, the other
    attribute on the second half). IIG variants keep the first and last blocks at rate 1.0.

    Returns ``{"gated", "targets" (blocks,) or None, "iig": [(attribute, masks, blocks)]}``.
    """
    middle = list(range(1, n_blocks - 1))
    ends = np.full(n_blocks, np.nan)
    ends[[0, -1]] = 1.0
    if name == "resnet":
        return {"gated": False, "targets": None, "iig": []}
    if name.startswith("aig-"):
        targets = np.full(n_blocks, float(name[4:]))
        targets[[0, -1]] = 1.0
        return {"gated": True, "targets": targets, "iig": []}
    if name == "iig-gender":
        return {"gated": True, "targets": ends, "iig": [("gender", iig_masks(n_blocks, middle, 2), middle)]}
    if name.startswith("iig-gender-"):
        other = name[len("iig-gender-"):]
        if other not in GATE_ATTRIBUTES:
            raise ValueError(f"variant {name!r}: {other!r} is not one of {GATE_ATTRIBUTES}")
        half = len(middle) // 2
        first, second = middle[:half], middle[half:]
        return {"gated": True, "targets": ends,
                "iig": [("gender", iig_masks(n_blocks, first, 2), first), (other, iig_masks(n_blocks, second, 2), second)]}
    raise ValueError(f"unknown variant {name!r}: resnet, aig-<rate>, iig-gender or iig-gender-<attribute>")


def train_variant(spec: GateSpec, name: str, x: np.ndarray, labels: np.ndarray, attributes: dict, *,
                  epochs: int = 20, batch_size: int = 64, learning_rate: float = 1e-3, seed: int = 0,
                  progress: bool = False):
    """Train one variant with Adam on cross-entropy plus its gate losses.

    The target-rate loss is over the blocks with a target (NaN: none); the IIG loss is
    equation 4 divided by the batch size, so its weight does not depend on the batch.

    Returns the trained Keras model and the per-epoch mean losses.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    settings = variant_settings(name, len(spec.blocks()))
    model = build_gated_resnet(spec, gated=settings["gated"], seed=seed)
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    cross_entropy = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    targets = settings["targets"]
    with_target = None if targets is None else np.flatnonzero(~np.isnan(targets))

    @tf.function
    def step(xb, yb, attrs):
        with tf.GradientTape() as tape:
            logits, g = model(xb, training=True)
            loss = cross_entropy(yb, logits)
            if with_target is not None:
                loss += target_rate_loss(tf.gather(g, with_target, axis=1), targets[with_target])
            for i, (_, masks, blocks) in enumerate(settings["iig"]):
                loss += iig_loss(g, attrs[i], masks, blocks) / tf.cast(tf.shape(xb)[0], tf.float32)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    attribute_columns = np.stack([attributes[a] for a, _, _ in settings["iig"]], axis=0) if settings["iig"] else \
        np.zeros((0, len(x)), dtype=int)
    history = []
    for _ in tqdm(range(epochs), desc=f"training {name}", unit="epoch", disable=not progress):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            losses.append(float(step(x[batch], labels[batch], attribute_columns[:, batch])))
        history.append(float(np.mean(losses)))
    return model, history


def evaluate(model, spec: GateSpec, x: np.ndarray, labels: np.ndarray, *, batch_size: int = 256) -> dict:
    """Deterministic gates, predictions, top-1 accuracy and executed GFLOPs on `x`."""
    logits, g = [], []
    for start in range(0, len(x), batch_size):
        out = model(x[start:start + batch_size], training=False)
        logits.append(out[0].numpy()), g.append(out[1].numpy())
    logits, g = np.concatenate(logits), np.concatenate(g)
    predicted = logits.argmax(axis=1)
    gflops = executed_gflops(g, spec)
    return {"gates": g, "predicted": predicted, "correct": predicted == labels,
            "accuracy": float((predicted == labels).mean()), "gflops": gflops, "mean_gflops": float(gflops.mean())}


def gate_heatmap(gates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n_values, blocks): the fraction of images of each attribute value that execute
    each block (Garg et al., Figures 2 to 4). Values must be 0 .. n_values - 1."""
    values = np.asarray(values)
    return np.stack([np.asarray(gates, dtype=float)[values == v].mean(axis=0) for v in range(values.max() + 1)])


def easy_and_hard(gates: np.ndarray, identity: np.ndarray) -> dict[int, tuple[int, int]]:
    """Per identity, the index of its image with the fewest executed gates ("easy") and
    the one with the most ("hard"), Garg et al.'s Figure 5; ties go to the first image."""
    count = np.asarray(gates).sum(axis=1)
    out = {}
    for ident in np.unique(identity):
        idx = np.flatnonzero(identity == ident)
        out[int(ident)] = (int(idx[np.argmin(count[idx])]), int(idx[np.argmax(count[idx])]))
    return out


def run_table(records: dict[tuple[str, int], dict]) -> pd.DataFrame:
    """Per variant, over its seeds: test accuracy (%) and G multiply-adds per image (mean
    and SD; the records' GFLOPs divided by `FLOPS_PER_MULTIPLY_ADD`, the unit of Garg et
    al.'s table) and training minutes (mean), from the gates stage's records keyed by
    (variant, seed).

    Returns a DataFrame indexed by variant (in `records` order) with columns ``accuracy``,
    ``accuracy_sd``, ``gmacs``, ``gmacs_sd``, ``minutes``."""
    per_run = pd.DataFrame([{"variant": variant, "seed": seed, "accuracy": 100 * record["accuracy"],
                             "gmacs": record["mean_gflops"] / FLOPS_PER_MULTIPLY_ADD,
                             "minutes": record["train_seconds"] / 60}
                            for (variant, seed), record in records.items()])
    return per_run.groupby("variant", sort=False).agg(
        accuracy=("accuracy", "mean"), accuracy_sd=("accuracy", "std"), gmacs=("gmacs", "mean"),
        gmacs_sd=("gmacs", "std"), minutes=("minutes", "mean"))


def attribute_estimation(runs: dict[tuple[str, int], dict], attributes: dict[str, np.ndarray], train: np.ndarray,
                         test: np.ndarray, n_blocks: int, *, within: np.ndarray | None = None) -> pd.DataFrame:
    """Equation 5 on the test images of every gated variant: how often the attribute value
    whose mask is nearest to an image's gate pattern is the image's value.

    For the IIG variants the masks are the ones their loss imposed; AIG imposes none, so
    each value's mask is its mean gate pattern on the training images (a nearest-centroid
    reading of the gates). The plain ``resnet`` has no gates and is skipped.

    Parameters
    ----------
    runs : (variant, seed) -> the gates stage's arrays (``gates``, ``train_gates``)
    attributes : name -> (n_images,) 0/1 values of every gate face
    train, test : indices of the training and test faces
    within : (n_images,) 0/1 values of an attribute to partial out (gender): each reading
        is then made within each of its groups (learned centroids from that group's
        training images) and scored against the larger class *within* the group, so an
        attribute read only through its correlation with `within` scores at its floor; the
        attribute `within` itself is left out

    Returns
    -------
    One row per variant and attribute: ``variant``, ``attribute``, ``masks`` (imposed or
    learned), ``accuracy`` (%, mean over seeds), ``majority class`` (%, always guessing
    the larger class, within each group where `within` is given).
    """
    groups = [np.ones(len(next(iter(attributes.values()))), dtype=bool)] if within is None else \
        [np.asarray(within) == value for value in (0, 1)]
    rows = []
    for variant in dict.fromkeys(v for v, _ in runs):
        if variant == "resnet":
            continue
        imposed = {name: (masks, blocks) for name, masks, blocks in variant_settings(variant, n_blocks)["iig"]}
        for name, values in attributes.items():
            if within is not None and np.array_equal(values, within):
                continue
            scores, floors = [], []
            for group in groups:
                on_train, on_test = train[group[train]], group[test]
                share = values[test][on_test].mean()
                floors.append((on_test.sum(), max(share, 1 - share)))
                for (other, _), arrays in runs.items():
                    if other != variant:
                        continue
                    if name in imposed:
                        masks, blocks = imposed[name]
                    else:
                        masks = gate_heatmap(arrays["train_gates"][group[train]], values[on_train])
                        blocks = list(range(n_blocks))
                    found = estimate_attribute(arrays["gates"][on_test], masks, blocks) == values[test][on_test]
                    scores.append((on_test.sum(), found.mean()))
            weight = np.array([n for n, _ in scores], dtype=float)
            rows.append({"variant": variant, "attribute": name,
                         "masks": "imposed (IIG)" if name in imposed else "learned centroids",
                         "accuracy": 100 * float(np.average([v for _, v in scores], weights=weight)),
                         "majority class": 100 * float(np.average([v for _, v in floors],
                                                                  weights=[n for n, _ in floors]))})
    return pd.DataFrame(rows)


#: A training run has reached a plateau when its loss fell by less than this fraction over
#: its last `PLATEAU_EPOCHS` epochs (fixed before reading the runs).
PLATEAU_DROP, PLATEAU_EPOCHS = 0.05, 5
#: An AIG network meets its target rate when its gated blocks run for a share of the test
#: images within this of the target.
RATE_TOLERANCE = 0.05


def plateau_table(runs: dict[tuple[str, int], tuple[dict, dict]]) -> pd.DataFrame:
    """Per training run: its loss at the end, how much it fell over the last
    `PLATEAU_EPOCHS` epochs (a fraction of the loss then), training and test accuracy (%),
    and ``plateau`` (fell by less than `PLATEAU_DROP`).

    Parameters
    ----------
    runs : (variant, seed) -> (the gates stage's arrays, with ``history``: the loss per
        epoch; its record)
    """
    rows = []
    for (variant, seed), (arrays, record) in runs.items():
        loss = np.asarray(arrays["history"], dtype=float)
        before = loss[-PLATEAU_EPOCHS - 1] if len(loss) > PLATEAU_EPOCHS else loss[0]
        drop = float((before - loss[-1]) / before) if before else 0.0
        rows.append({"variant": variant, "seed": seed, "epochs": len(loss), "final loss": float(loss[-1]),
                     f"loss drop over the last {PLATEAU_EPOCHS} epochs": drop,
                     "train accuracy (%)": 100 * record["train_accuracy"], "test accuracy (%)": 100 * record["accuracy"],
                     "plateau": bool(drop < PLATEAU_DROP)})
    return pd.DataFrame(rows).set_index(["variant", "seed"])


def rate_table(runs: dict[tuple[str, int], tuple[dict, dict]], n_blocks: int) -> pd.DataFrame:
    """Per AIG variant, mean over its seeds: the target rate, the share of the test images
    that ran each gated block (the blocks the target applies to: all but the first and
    last), the share of the full network's multiply-adds executed, and ``target met``
    (achieved within `RATE_TOLERANCE` of the target, for every seed)."""
    rows = {}
    for (variant, seed), (arrays, record) in runs.items():
        if not variant.startswith("aig-"):
            continue
        target = variant_settings(variant, n_blocks)["targets"][1]
        achieved = float(np.asarray(arrays["gates"])[:, 1:-1].mean())
        row = rows.setdefault(variant, {"target rate": target, "achieved": [], "cost share": []})
        row["achieved"].append(achieved)
        row["cost share"].append(record["mean_gflops"] / record["full_gflops"])
    return pd.DataFrame({variant: {"target rate": row["target rate"], "achieved rate": float(np.mean(row["achieved"])),
                                   "executed share of the full cost": float(np.mean(row["cost share"])),
                                   "target met": all(abs(a - row["target rate"]) <= RATE_TOLERANCE
                                                     for a in row["achieved"])}
                         for variant, row in rows.items()}).T


def comparison_reading(plateaus: pd.DataFrame) -> str:
    """Whether the run can compare the variants' accuracies, and what it finds, from
    `plateau_table`: only networks trained to a plateau are compared, and a gap between two
    variants counts only when every seed of one lies above every seed of the other."""
    n_seeds = plateaus.groupby("variant").size()
    if not plateaus["plateau"].all():
        falling = plateaus[~plateaus["plateau"]]
        column = f"loss drop over the last {PLATEAU_EPOCHS} epochs"
        return (f"This run cannot compare the variants: {len(falling)} of its {len(plateaus)} networks had not reached a "
                f"plateau (their loss still fell by {100 * falling[column].min():.0f} to "
                f"{100 * falling[column].max():.0f} % over the last {PLATEAU_EPOCHS} epochs; training accuracy "
                f"{plateaus['train accuracy (%)'].min():.1f} to {plateaus['train accuracy (%)'].max():.1f} %), so their "
                f"accuracies say how far each got in {int(plateaus['epochs'].max())} epochs, not what each variant can "
                f"do. With {int(n_seeds.min())} seeds per variant, a gap counts only where every seed of one variant "
                "lies above every seed of the other.")
    test = plateaus["test accuracy (%)"]
    resnet = test.xs("resnet", level="variant")
    gated = test.drop(index="resnet", level="variant")
    best = gated.groupby("variant").mean().idxmax()
    ours = gated.xs(best, level="variant")
    if ours.min() > resnet.max():
        found = f"every seed of {best} beats every seed of the plain network"
    elif ours.max() < resnet.min():
        found = f"every seed of the plain network beats every seed of the best gated variant, {best}: the gates cost accuracy"
    else:
        found = f"the seeds of the best gated variant, {best}, and of the plain network overlap: no difference this run can show"
    return f"All {len(plateaus)} networks reached a plateau; with {int(n_seeds.min())} seeds per variant, {found}."


def profile_spec(settings: dict, size: int, n_classes: int) -> GateSpec:
    """The `GateSpec` of a profile's ``gates`` settings for `size`-pixel faces."""
    return GateSpec(input_size=size, stem=settings["stem"], stages=tuple(tuple(s) for s in settings["stages"]),
                    gate_hidden=settings["gate_hidden"], n_classes=n_classes)
