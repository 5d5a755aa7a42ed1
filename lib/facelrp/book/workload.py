"""What a run costs and whether a machine is ready for the ``paper`` profile.

`stage_images` counts the images each heavy stage sends through a trunk (the readouts
train on stored features and cost next to nothing). `estimate_hours` turns a run's own
measured rates into hours for another trunk size, scaled by the ratio of multiply-adds
(`vgg.TrunkSpec.multiply_adds`); `measure_rates` times a VGG-16 of any size directly, so
`benchmarks/paper_size.py` can check that scaling. `readiness` lists what the ``paper``
profile needs on disk and where each item goes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluate.masking import LEVELS
from ..models import vgg

__all__ = ["stage_rate", "stage_images", "measure_rates", "estimate_hours", "readiness"]


def stage_images(
    *, n_images: int, n_frontal: int, n_models: int = 20, n_trunks: int = 2, n_levels: int = len(LEVELS),
    n_masking_variants: int = 0, n_extra_methods: int = 0, n_probe: int = 0, n_probe_layers: int = 15,
    n_randomised: int = 0,
) -> dict[str, int]:
    """Images through a trunk per stage of one profile run.

    features: every image once per trunk. relevance: one LRP pass per frontal face per
    model. masking: per trunk, every mask (the models', the random one and, in the paper's
    run, `n_randomised` randomised models') at every level on every frontal face, as
    `facelrp.evaluate.masking.masking_curves` does it. The chapters beyond
    the paper, when asked for: `n_masking_variants` more masking runs (other fills, orders
    and methods' maps), `n_extra_methods` more relevance passes per model and face, and
    attribute probing of `n_probe` faces per trunk, counted as one full pass per probed
    layer (an upper bound: a layer's sub-model stops at that layer).
    """
    counts = {
        "features": n_trunks * n_images,
        "relevance": n_models * n_frontal,
        "masking": n_trunks * (n_models + 1 + n_randomised) * n_levels * n_frontal,
    }
    if n_masking_variants:
        counts["robustness: masking"] = n_masking_variants * n_trunks * (n_models + 1) * n_levels * n_frontal
    if n_extra_methods:
        counts["robustness: relevance"] = n_extra_methods * counts["relevance"]
    if n_probe:
        counts["probing"] = n_trunks * n_probe * n_probe_layers
    return counts


def measure_rates(spec: vgg.TrunkSpec, *, n_images: int = 4, n_classes: int = 101, seed: int = 0) -> dict[str, float]:
    """Speed of a randomly initialised VGG-16 of size `spec` on this machine.

    Returns ``forward`` and ``relevance`` (images per second, the book's LRP composite)
    and ``analyzer_seconds`` (building the LRP analyzer, once per model). The LRP rate is
    the marginal one: the time of `n_images` maps minus that of one map, each call
    building its analyzer. Needs graph mode (`facelrp.explain.relevance.graph_mode`).
    """
    from tensorflow import keras

    from ..explain import relevance

    if n_images < 2:
        raise ValueError(f"n_images must be at least 2 to separate the analyzer's build from the maps, got {n_images}")
    keras.utils.set_random_seed(seed)
    model = vgg.build_vgg16(spec, n_classes=n_classes, name="timing")
    x = np.random.default_rng(seed).normal(0, 50, (n_images, spec.input_size, spec.input_size, 3)).astype(np.float32)
    model.predict(x[:1], verbose=0)  # warm-up
    start = time.perf_counter()
    model.predict(x, batch_size=n_images, verbose=0)
    forward = n_images / (time.perf_counter() - start)
    classes = np.zeros(n_images, dtype=np.int64)
    start = time.perf_counter()
    relevance.relevance_maps(model, x[:1], classes[:1])
    one = time.perf_counter() - start
    start = time.perf_counter()
    relevance.relevance_maps(model, x, classes, batch_size=n_images)
    many = time.perf_counter() - start
    per_map = max(many - one, 1e-9) / (n_images - 1)
    return {"forward": forward, "relevance": 1 / per_map, "analyzer_seconds": max(one - per_map, 0.0)}


def stage_rate(stage: str, rates: dict[str, float]) -> float:
    """The rate (images per second) a stage runs at: the ``relevance`` rate for a stage
    computing relevance maps (its name says ``relevance``), else the ``forward`` rate."""
    return rates["relevance"] if "relevance" in stage else rates["forward"]


def estimate_hours(images: dict[str, int], rates: dict[str, float], *, scale: float = 1.0) -> dict[str, float]:
    """Hours per stage at its `stage_rate`, divided by `scale` (the target trunk's
    multiply-adds over those of the trunk the rates were measured on)."""
    return {stage: count * scale / stage_rate(stage, rates) / 3600 for stage, count in images.items()}


def readiness(profile, *, cache_dir: str | Path | None = None, root: str | Path = ".") -> pd.DataFrame:
    """What the ``paper`` profile reads, whether it is here, and where it goes.

    One row per item (faces manifest, the two weight files, the observers' choices) with
    ``status`` "found" or "missing" and ``where`` (the path to fill). Only looks: nothing
    is downloaded or loaded.
    """
    root = Path(root)
    rows = []
    folder = root / profile.faces.get("folder", "data/vpnl-faces")
    manifest = folder / profile.faces.get("manifest", "manifest.csv")
    found = manifest.is_file()
    detail = f"{len(pd.read_csv(manifest))} rows" if found else "a CSV with file,identity,gender,view_deg"
    rows.append({"item": "faces (VPNL-faces layout)", "where": str(manifest), "status": "found" if found else "missing", "detail": detail})
    for source, weights in vgg.REAL_WEIGHTS.items():
        path = vgg._keras_home(cache_dir) / weights.cache_subdir / weights.name
        found = path.is_file()
        detail = f"{path.stat().st_size / 2**20:.0f} MiB" if found else f"from {weights.url}"
        rows.append({"item": f"{source} weights", "where": str(path), "status": "found" if found else "missing", "detail": detail})
    observers = getattr(profile, "observers", {}) or {}
    if observers.get("source") == "file":
        path = root / observers["file"]
        found = path.is_file()
        rows.append({
            "item": "observers' choices (optional)", "where": str(path), "status": "found" if found else "missing",
            "detail": "read by facelrp.evaluate.rank2.read_choices" if found else "observer,target,option_a,option_b,chosen",
        })
    return pd.DataFrame(rows)
