"""The floor of the masking test: how much of the masks' carry-over between models remains
beyond what masks from models that learnt nothing do, and each model's own masks against
random ones.

A masking run with ``randomised=True`` (`facelrp.stages.masking`) scores every destination
under the composite maps of the sanity stage's fully re-initialised models: their maps
depend on the image and on random weights only. If masks from another model hurt a
destination no more than those, the carry-over says nothing about shared strategies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg

from . import comparisons, verdicts

__all__ = ["RANDOMISED_PREFIX", "RANDOM", "FLOOR", "PIXELS", "per_destination", "floor_tables", "floor_reading",
           "own_against_random", "validity", "GATE_COLUMNS", "randomised_names"]

#: How a masking run names the masks of the randomised models, and its random-pixel masks.
RANDOMISED_PREFIX, RANDOM = "randomised ", "random"
#: Column names of the two references.
FLOOR, PIXELS = "randomised models", "random pixels"


def randomised_names(profile) -> list[str]:
    """The names a masking run made with ``randomised=True`` gives the randomised models'
    masks: one per model type, its first seed's."""
    from ..models.finetune import first_seed_keys

    return [f"{RANDOMISED_PREFIX}{key.name}" for key in first_seed_keys(profile)]


def _rows(masks) -> tuple[list[int], int]:
    names = [str(m) for m in masks]
    randomised = [i for i, m in enumerate(names) if m.startswith(RANDOMISED_PREFIX)]
    if not randomised:
        raise ValueError("this masking run has no masks of randomised models; run the masking stage with --randomised")
    return randomised, names.index(RANDOM)


def per_destination(auc: np.ndarray, masks, keys: list, table: pd.DataFrame) -> pd.DataFrame:
    """Each destination's AUC per kind of mask source (mean over the draws of `table`), under
    the randomised models' masks (mean over those models) and under random pixels.

    Parameters
    ----------
    auc : (masks, destinations) of a masking run made with ``randomised=True``
    masks : the run's mask names
    keys : the destinations' `finetune.ModelKey`, in the run's order
    table : `comparisons.auc_table` of the same run's model masks
    """
    randomised, random_row = _rows(masks)
    wide = table.groupby(["destination", "bin"])["auc"].mean().unstack("bin")[list(comparisons.BINS)]
    wide.columns = [comparisons.BIN_LABELS[b] for b in wide.columns]
    names = [k.name for k in keys]
    wide = wide.loc[names]
    wide[FLOOR] = auc[randomised].mean(axis=0)
    wide[PIXELS] = auc[random_row]
    wide.insert(0, "pretraining", [k.source for k in keys])
    wide.insert(1, "task", [k.task for k in keys])
    return wide


def floor_tables(destinations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per destination type, mean AUC per source kind beside the two references, and each
    kind's masks against the randomised models' masks.

    Parameters
    ----------
    destinations : `per_destination`

    Returns
    -------
    means : (pretraining, task) x source kinds, then `FLOOR` and `PIXELS`: mean AUC
    against_floor : one row per (pretraining, task, source kind): ``ΔAUC vs floor`` (the
        kind's AUC minus the randomised models', negative: the kind's masks hurt more) with
        its 95 % interval, the paired t test over the type's destinations (p Holm-corrected
        within the type), and ``beyond the floor``: (floor - kind) / (floor - same init.), the
        share of the own masks' advantage over the floor that the kind keeps (1: as much as
        the own masks, 0: no more than masks from a model that learnt nothing)
    """
    kinds = [comparisons.BIN_LABELS[b] for b in comparisons.BINS]
    means = destinations.groupby(["pretraining", "task"], sort=False)[[*kinds, FLOOR, PIXELS]].mean()
    rows = []
    for (pretraining, task), group in destinations.groupby(["pretraining", "task"], sort=False):
        tested = [verdicts.difference(group[kind], group[FLOOR], paired=True) for kind in kinds]
        corrected = pg.multicomp([d["p"] for d in tested], method="holm")[1]
        own_gap = means.loc[(pretraining, task), FLOOR] - means.loc[(pretraining, task), kinds[0]]
        for kind, d, p in zip(kinds, tested, corrected):
            gap = means.loc[(pretraining, task), FLOOR] - means.loc[(pretraining, task), kind]
            rows.append({"pretraining": pretraining, "task": task, "mask source": kind,
                         "ΔAUC vs floor (95 % CI)": verdicts.interval_text(d),
                         "t test": f"t({d['dof']:g}) = {d['t']:.2f}, p = {p:.2g} (Holm)", "p": float(p),
                         "beyond the floor": gap / own_gap if own_gap > 0 else np.nan})
    return means, pd.DataFrame(rows).set_index(["pretraining", "task", "mask source"])


def floor_reading(means: pd.DataFrame, against_floor: pd.DataFrame) -> str:
    """What the floor says in this run, one or two sentences chosen by the numbers of
    `floor_tables`: over the destination types whose own masks beat the floor, how much of
    that advantage masks from the other task and from the other pretraining keep."""
    own = comparisons.BIN_LABELS["same_model"]
    gap = means[FLOOR] - means[own]  # > 0: the own masks hurt more than the floor
    beats = gap[gap > 0].index
    if len(beats) == 0:
        return (f"For none of the {len(means)} destination types do the models' own masks hurt more than the "
                f"randomised models' masks (own minus floor: {-gap.max():+.3f} to {-gap.min():+.3f} AUC): in this run "
                f"the masking test does not tell the models' maps from maps of models that learnt nothing, so the "
                f"carry-over between models cannot be read as shared strategies.")
    beyond = against_floor["beyond the floor"].unstack("mask source").loc[beats]
    task, pre = comparisons.BIN_LABELS["other_task"], comparisons.BIN_LABELS["other_pretraining"]
    kept = (f"masks from the same pretraining and the other task keep {beyond[task].mean():.2f} of the own masks' "
            f"advantage over the floor, and masks from the other pretraining and the same task "
            f"{beyond[pre].mean():.2f}")
    if len(beats) == len(means):
        return f"The own masks hurt more than the floor for all {len(means)} destination types. Averaged over them, {kept}."
    return (f"The own masks hurt more than the floor for {len(beats)} of the {len(means)} destination types "
            f"({', '.join(' '.join(b) for b in beats)}); averaged over those, {kept}. For the others the share is "
            f"undefined (—).")


def own_against_random(destinations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each model's AUC under its own masks against random-pixel masks, and the test over models.

    Returns
    -------
    per_model : per destination, own-mask AUC, random-pixel AUC, randomised-model AUC and
        ``own - random`` (negative: the own masks hurt more, as a valid map should)
    tests : per pretraining source and for all models: models with own below random, the
        mean difference with its 95 % interval, and the Wilcoxon signed-rank test (pingouin)
    """
    own = comparisons.BIN_LABELS["same_model"]
    per_model = pd.DataFrame({"pretraining": destinations["pretraining"], "task": destinations["task"],
                              "own masks": destinations[own], PIXELS: destinations[PIXELS],
                              FLOOR: destinations[FLOOR]})
    per_model["own - random"] = per_model["own masks"] - per_model[PIXELS]
    rows = []
    for label, group in [*per_model.groupby("pretraining", sort=False), ("all models", per_model)]:
        d = verdicts.difference(group["own masks"], group[PIXELS], paired=True)
        test = pg.wilcoxon(group["own masks"], group[PIXELS]).iloc[0]
        rows.append({"models": label, "n": len(group), "own below random": int((group["own - random"] < 0).sum()),
                     "ΔAUC own - random (95 % CI)": verdicts.interval_text(d),
                     "Wilcoxon": f"W = {test['W_val']:g}, p = {test['p_val']:.2g}", "p": float(test["p_val"])})
    return per_model, pd.DataFrame(rows).set_index("models")


#: The columns of `validity`.
GATE_COLUMNS = ["n", "own masks", PIXELS, FLOOR, "own − random pixels", "own − randomised models", "valid"]


def validity(auc: np.ndarray, masks, keys: list, *, margin: float) -> pd.DataFrame:
    """The validity gate of the masking test, per destination type (pretraining x task):
    do the type's own masks hurt more (lower AUC) than random-pixel masks and than the
    randomised models' masks, by a difference that counts (`verdicts.judge` with the
    margin)? Where either fails, the masking test cannot tell the type's maps from noise,
    and the claims about how masks carry over to it are not testable in this run.

    Parameters
    ----------
    auc : (masks, destinations) of one masking run; its masks include every destination's
        own (named as the destination) and ``random``; the randomised models' masks where
        the run has them (without, the gate tests random pixels alone and says so)
    masks : the run's mask names
    keys : the destinations' `finetune.ModelKey`, in the run's order
    margin : the smallest difference in AUC that counts

    Returns
    -------
    DataFrame indexed by (pretraining, task) with `GATE_COLUMNS`: the mean AUCs, the two
    differences (own minus reference) with their intervals at the levels matched to their
    Holm correction over the type's comparisons, and ``valid``.
    """
    import pingouin as pg

    names = [str(m) for m in masks]
    own = np.array([auc[names.index(k.name), j] for j, k in enumerate(keys)])
    references = {PIXELS: auc[names.index(RANDOM)]}
    randomised = [i for i, m in enumerate(names) if m.startswith(RANDOMISED_PREFIX)]
    if randomised:
        references[FLOOR] = auc[randomised].mean(axis=0)
    rows = {}
    for kind in dict.fromkeys((k.source, k.task) for k in keys):
        at = [j for j, k in enumerate(keys) if (k.source, k.task) == kind]
        raw = {name: verdicts.difference(own[at], ref[at], paired=True) for name, ref in references.items()}
        corrected = dict(zip(raw, pg.multicomp([d["p"] for d in raw.values()], method="holm")[1]))
        tested = {name: verdicts.difference(own[at], references[name][at], paired=True,
                                            level=verdicts.matched_level(d["p"], corrected[name]))
                  for name, d in raw.items()}
        passed = all(verdicts.judge(verdicts.DIFFERENCE, d["low"], d["high"], margin=margin, sign=-1)
                     == verdicts.REPRODUCED for d in tested.values())
        rows[kind] = {"n": len(at), "own masks": own[at].mean(), PIXELS: references[PIXELS][at].mean(),
                      FLOOR: references[FLOOR][at].mean() if FLOOR in references else np.nan,
                      "own − random pixels": verdicts.interval_text(tested[PIXELS]),
                      "own − randomised models": (verdicts.interval_text(tested[FLOOR]) if FLOOR in tested
                                                  else "not measured in this run"),
                      "valid": bool(passed)}
    table = pd.DataFrame.from_dict(rows, orient="index")[GATE_COLUMNS]
    table.index.names = ["pretraining", "task"]
    return table
