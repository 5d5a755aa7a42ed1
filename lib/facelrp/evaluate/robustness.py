"""The paper's masking conclusions under other fills, orders and attribution methods: the
curves -> AUC table -> conclusions loop of the robustness and summary chapters, own masks
against random ones, and how close other methods' maps come to the paper's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..explain import relevance
from . import comparisons, floor, masking, summary

__all__ = ["PAPER_COLUMN", "conclusions", "verdict_table", "own_and_random_auc", "order_table", "own_vs_random",
           "agreement"]

#: The column of `conclusions` that quotes the paper.
PAPER_COLUMN = "paper"


def conclusions(curves: dict[str, dict], keys: list, draws: np.ndarray, *, margin: float,
                ungated: tuple[str, ...] = ()) -> pd.DataFrame:
    """The masking conclusions of `summary.masking_conclusions` for each set of curves, each
    gated by its own run's validity gate (`floor.validity`).

    Parameters
    ----------
    curves : label -> a masking run's arrays: ``accuracy`` (masks, destinations, levels),
        whose first ``len(keys)`` masks are the models' own, in `keys` order, and ``masks``
        (names; ``random`` among them, and the randomised models' where the run has them)
    keys : the profile's `finetune.ModelKey` list
    draws : `comparisons.sample_sources` of `keys` (the same draws for every label)
    margin : the smallest difference in AUC that counts (the profile's ``verdicts.margin``)
    ungated : labels judged without the gate (random maps: what the rule alone would say)

    Returns
    -------
    DataFrame indexed by ``result``: column `PAPER_COLUMN` (the paper's statistic), then one
    column per label holding ``"<this run's statistic> — <verdict>"``.
    """
    if PAPER_COLUMN in curves:
        raise ValueError(f"curves: the label {PAPER_COLUMN!r} is taken by the paper's column; name the run otherwise")
    columns = {}
    for label, arrays in curves.items():
        auc = masking.auc(arrays["accuracy"])
        gate = None if label in ungated else floor.validity(auc, arrays["masks"], keys, margin=margin)
        rows = summary.masking_conclusions(comparisons.auc_table(auc[: len(keys)], keys, draws), margin=margin,
                                           gate=gate).set_index("result")
        columns.setdefault(PAPER_COLUMN, rows["paper"])
        columns[label] = rows["this run"] + " — " + rows["verdict"]
    return pd.DataFrame(columns)[[PAPER_COLUMN, *curves]]


def verdict_table(table: pd.DataFrame) -> pd.DataFrame:
    """The verdict (`verdicts.VERDICTS`) of each conclusion per label of a `conclusions` table."""
    return pd.DataFrame({label: table[label].str.rsplit(" — ", n=1).str[-1]
                         for label in table.columns if label != PAPER_COLUMN})


def own_and_random_auc(arrays: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each destination's AUC under its own map's masks and under the random masks.

    Parameters
    ----------
    arrays : a masking run: ``accuracy`` (masks, destinations, levels), ``masks`` and
        ``destinations`` (names); the masks include every destination and ``random``

    Returns
    -------
    own, random : (destinations,) AUCs in [0, 1]
    """
    auc = masking.auc(arrays["accuracy"])
    masks = [str(m) for m in arrays["masks"]]
    own = np.array([auc[masks.index(str(name)), j] for j, name in enumerate(arrays["destinations"])])
    return own, auc[masks.index("random")]


def order_table(runs: dict[str, tuple[dict, dict]], keys: list) -> pd.DataFrame:
    """Most relevant first (MoRF) against least relevant first (LeRF), per model and fill.

    Parameters
    ----------
    runs : fill label -> (MoRF run arrays, LeRF run arrays) of the same models
    keys : the profile's models, in the runs' destination order

    Returns
    -------
    One row per fill and model: ``fill``, ``pretraining``, ``task``, ``MoRF``, ``LeRF``
    (own-mask AUCs), ``random`` (random-mask AUC, MoRF run), ``LeRF − MoRF``, ``MoRF below
    random`` (bool).
    """
    rows = []
    for fill, (morf_run, lerf_run) in runs.items():
        morf, random_auc = own_and_random_auc(morf_run)
        lerf, _ = own_and_random_auc(lerf_run)
        for j, key in enumerate(keys):
            rows.append({"fill": fill, "pretraining": key.source, "task": key.task, "MoRF": morf[j], "LeRF": lerf[j],
                         "random": random_auc[j]})
    table = pd.DataFrame(rows)
    table["LeRF − MoRF"] = table["LeRF"] - table["MoRF"]
    table["MoRF below random"] = table["MoRF"] < table["random"]
    return table


def own_vs_random(runs: dict[str, dict]) -> pd.DataFrame:
    """Per method, the mean own-mask AUC, the mean random-mask AUC, and how many models'
    own masks hurt them more than random ones (a lower AUC).

    `runs` maps a method's label to its masking run (see `own_and_random_auc`)."""
    rows = []
    for label, arrays in runs.items():
        own, random_auc = own_and_random_auc(arrays)
        rows.append({"method": label, "own-mask AUC": own.mean(), "random-mask AUC": random_auc.mean(),
                     "models with own AUC below random": int((own < random_auc).sum())})
    return pd.DataFrame(rows)


def model_agreement(reference: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """(models,) how close each model's maps `maps` come to its `reference` maps: the mean
    Pearson r over faces (`relevance.similarity`; faces with a constant map left out).

    Parameters
    ----------
    reference, maps : (models, n, h, w) the same models' maps of the same faces by two methods
    """
    return np.array([float(np.nanmean(relevance.similarity(reference[j], maps[j]))) for j in range(len(reference))])


def agreement(per_model: dict[str, np.ndarray], keys: list) -> pd.DataFrame:
    """Each method's `model_agreement` with the reference method, averaged per model type.

    Parameters
    ----------
    per_model : label -> (models,) `model_agreement` of that method's maps
    keys : the models, in that order

    Returns
    -------
    DataFrame: one row per label, one column per model type (``"<source> <task>"``).
    """
    rows = [{"method": label, "model type": f"{key.source} {key.task}", "r": float(r[j])}
            for label, r in per_model.items() for j, key in enumerate(keys)]
    return pd.DataFrame(rows).pivot_table(index="method", columns="model type", values="r", aggfunc="mean")
