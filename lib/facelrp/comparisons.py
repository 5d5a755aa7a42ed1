"""The paper's five comparison bins between a source model and a destination model."""

from __future__ import annotations

import numpy as np

__all__ = ["BINS", "BIN_LABELS", "relation", "mean_by_bin"]

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
