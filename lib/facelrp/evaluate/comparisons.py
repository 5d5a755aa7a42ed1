"""The paper's five comparison bins between a source model and a destination model."""

from __future__ import annotations

import numpy as np

__all__ = ["BINS", "BIN_LABELS", "relation", "mean_by_bin", "members", "sample_sources", "auc_table", "sampled_curves"]

#: The five bins, in the paper's order (Figure 3).
BINS = ("same_model", "other_seed", "other_task", "other_pretraining", "other_both")
BIN_LABELS = {
    "same_model": "same model",
    "other_seed": "same pretraining and task, other seed",
    "other_task": "same pretraining, other task",
    "other_pretraining": "other pretraining, same task",
    "other_both": "other pretraining, other task",
}


def relation(source, destination) -> str:
    """The bin of a (source, destination) pair of `finetune.ModelKey`s."""
    same_pretraining = source.source == destination.source
    same_task = source.task == destination.task
    if same_pretraining and same_task:
        return "same_model" if source.seed == destination.seed else "other_seed"
    if same_pretraining:
        return "other_task"
    return "other_pretraining" if same_task else "other_both"


def mean_by_bin(matrix: np.ndarray, keys: list) -> dict:
    """Mean of a (models x models) matrix over the pairs of each bin."""
    values = {name: [] for name in BINS}
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            values[relation(a, b)].append(matrix[i, j])
    return {name: float(np.mean(v)) if v else float("nan") for name, v in values.items()}


def members(keys: list, destination: int) -> dict[str, list[int]]:
    """For destination `keys[destination]`, the indices of the source models in each bin."""
    out = {name: [] for name in BINS}
    for i, key in enumerate(keys):
        out[relation(key, keys[destination])].append(i)
    return out


def sample_sources(keys: list, *, n_draws: int = 100, seed: int = 0) -> np.ndarray:
    """The paper's sampling: per destination and bin, `n_draws` sources drawn with replacement.

    Returns
    -------
    (len(keys), len(BINS), n_draws) int, indices into `keys`
    """
    rng = np.random.default_rng(seed)
    draws = np.empty((len(keys), len(BINS), n_draws), dtype=int)
    for j in range(len(keys)):
        for b, sources in enumerate(members(keys, j).values()):
            if not sources:
                raise ValueError(f"no source model in bin {BINS[b]!r} for {keys[j].name}")
            draws[j, b] = rng.choice(sources, size=n_draws, replace=True)
    return draws


def auc_table(auc: np.ndarray, keys: list, draws: np.ndarray):
    """Long table of the sampled AUCs: one row per (destination, bin, draw).

    `auc[i, j]` is the AUC of destination j under source i's masks; `draws` comes from
    `sample_sources`. Columns: destination, pretraining, task, seed, bin, draw, source, auc.
    """
    import pandas as pd

    rows = []
    for j, dest in enumerate(keys):
        for b, name in enumerate(BINS):
            for d, i in enumerate(draws[j, b]):
                rows.append((dest.name, dest.source, dest.task, dest.seed, name, d, keys[i].name, auc[i, j]))
    return pd.DataFrame(rows, columns=["destination", "pretraining", "task", "seed", "bin", "draw", "source", "auc"])


def sampled_curves(accuracy: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Mean curve per (destination, bin) over the drawn sources.

    `accuracy[i, j]` is destination j's curve under source i's masks (levels last);
    `draws` comes from `sample_sources`. Returns (destinations, len(BINS), levels).
    """
    n_dest = draws.shape[0]
    return np.stack([accuracy[draws[j], j].mean(axis=-2) for j in range(n_dest)])
