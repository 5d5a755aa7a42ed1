"""Measurements of `facelrp.explain.relevance` in graph mode, printed as JSON.

Run by tests/test_relevance.py in a subprocess: iNNvestigate needs TensorFlow's graph
mode for the whole process, and the rest of the test suite runs eagerly.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from facelrp.explain import relevance
from facelrp.models import vgg

relevance.graph_mode()
from tensorflow import keras  # noqa: E402

spec = vgg.TrunkSpec(width=1 / 16, input_size=32, fc_width=16)
rng = np.random.default_rng(0)
model = vgg.build_vgg16(spec, n_classes=3)
# He-scaled weights and zero biases: LRP-0 (lrp.z) must then conserve the logit exactly
for layer in model.layers:
    weights = layer.get_weights()
    if weights:
        kernel = rng.normal(0, np.sqrt(2 / np.prod(weights[0].shape[:-1])), weights[0].shape)
        layer.set_weights([kernel.astype(np.float32), np.zeros_like(weights[1])])
with tempfile.TemporaryDirectory() as scratch:  # round-trip through .h5 as the pipeline does
    path = Path(scratch) / "m.h5"
    model.save(path)
    model = keras.models.load_model(path, compile=False)

x = rng.normal(0, 50, (5, 32, 32, 3)).astype(np.float32)
logits = model.predict(x, verbose=0)
out = {"logits": logits.tolist()}
maps, classes = relevance.relevance_maps(model, x, method="z", batch_size=2)
out["z_sums"] = maps.reshape(5, -1).sum(axis=1).tolist()
out["classes"] = classes.tolist()
out["shape"] = list(maps.shape)
fixed, _ = relevance.relevance_maps(model, x, classes=np.zeros(5, int), method="z")
out["z_sums_class0"] = fixed.reshape(5, -1).sum(axis=1).tolist()
composite, _ = relevance.relevance_maps(model, x, method="composite")
out["composite_finite"] = bool(np.isfinite(composite).all())
out["composite_nonzero"] = bool((np.abs(composite).reshape(5, -1).max(axis=1) > 0).all())
normalised = relevance.normalise(composite)
out["normalised_max"] = np.abs(normalised).reshape(5, -1).max(axis=1).tolist()
try:
    relevance.relevance_maps(model, x, method="saliency")
except ValueError as err:
    out["unknown_method"] = str(err)
json.dump(out, sys.stdout)
