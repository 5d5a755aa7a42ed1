"""What the book says of the sanity checks (`facelrp.explain.sanity`, computed by the
pipeline's ``sanity`` stage): their curves, method names and the sentences the run's
similarities choose. Only pages call these, so their wording can change without re-keying
any cached result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["method_label", "cascade_curves", "UNCHANGED", "CHANGED", "shown", "reading", "similarity_over_faces",
           "STATES", "sanity_table"]


def method_label(method: str) -> str:
    """A method's name as the book writes it (``composite`` is the paper's LRP composite)."""
    return "LRP composite" if method == "composite" else method


def cascade_curves(checks: dict) -> dict[str, dict[str, np.ndarray]]:
    """The cascading-randomisation curves of several models' sanity checks.

    Parameters
    ----------
    checks : model key (with ``source`` and ``task``) -> the sanity stage's arrays
        (``similarity`` (methods, steps, metrics, faces), ``steps``, ``metrics``, ``methods``)

    Returns
    -------
    ``"<source> <task>, <method>"`` -> metric -> (cascade steps,) mean similarity over the
    faces; the data-randomisation step (``shuffled labels``) is left out.
    """
    curves = {}
    for key, arrays in checks.items():
        steps = [str(s) for s in arrays["steps"] if str(s) != "shuffled labels"]
        for m, method in enumerate(arrays["methods"]):
            curves[f"{key.source} {key.task}, {method_label(str(method))}"] = {
                str(metric): np.nanmean(arrays["similarity"][m, : len(steps), j], axis=-1)
                for j, metric in enumerate(arrays["metrics"])}
    return curves


#: Spearman correlation of |R| with the original maps at or above which a check leaves the
#: maps "unchanged", and at or below which it "changed" them (fixed before any run).
UNCHANGED, CHANGED = 0.7, 0.3


def shown(value: float) -> str:
    """`value` to two decimals, or to as many more as it takes not to print a threshold it
    is not at (0.698 is below `UNCHANGED` and must not read "0.70")."""
    for digits in range(2, 6):
        text = f"{value:.{digits}f}"
        if float(text) not in (UNCHANGED, CHANGED) or float(text) == value:
            return text
    return text


#: What a randomisation did to the maps, judged by the 95 % interval over faces of their
#: Spearman correlation with the original maps against the two thresholds.
KEPT, PARTLY, CHANGED_STATE, OPEN = "unchanged", "partly changed", "changed", "undetermined"
STATES = (KEPT, PARTLY, CHANGED_STATE, OPEN)


def similarity_over_faces(checks: dict, method: str, step: str, metric: str = "spearman_abs") -> dict:
    """The similarity of the maps to the original ones after one randomisation, per face
    (mean over the checked models), its mean with a 95 % t interval over the faces, and
    what the interval says against the thresholds: `KEPT` (wholly at or above `UNCHANGED`),
    `CHANGED_STATE` (wholly at or below `CHANGED`), `PARTLY` (wholly between) or `OPEN`
    (across a threshold: the run cannot tell).

    Parameters
    ----------
    checks : model key -> the sanity stage's arrays (``similarity`` (methods, steps,
        metrics, faces), ``steps``, ``metrics``, ``methods``)
    method : ``composite`` or ``gradient``
    step : a cascade step (the last, every layer re-initialised) or ``shuffled labels``
    """
    from scipy import stats

    per_model = []
    for arrays in checks.values():
        m = [str(x) for x in arrays["methods"]].index(method)
        k = [str(x) for x in arrays["steps"]].index(step)
        j = [str(x) for x in arrays["metrics"]].index(metric)
        per_model.append(np.asarray(arrays["similarity"][m, k, j], dtype=np.float64))
    faces = np.nanmean(np.stack(per_model), axis=0)
    faces = faces[np.isfinite(faces)]
    mean = float(faces.mean())
    half = float(stats.t.ppf(0.975, len(faces) - 1) * faces.std(ddof=1) / np.sqrt(len(faces))) if len(faces) > 1 else np.inf
    low, high = mean - half, mean + half
    if low >= UNCHANGED:
        state = KEPT
    elif high <= CHANGED:
        state = CHANGED_STATE
    elif CHANGED < low and high < UNCHANGED:
        state = PARTLY
    else:
        state = OPEN
    return {"mean": mean, "low": low, "high": high, "n_faces": len(faces), "n_models": len(per_model), "state": state}


def sanity_table(checks: dict, last_step: str) -> "pd.DataFrame":
    """`similarity_over_faces` for both methods and both randomisations (the full cascade
    and shuffled labels), one row each."""
    import pandas as pd

    methods = [str(x) for x in next(iter(checks.values()))["methods"]]
    rows = []
    for method in methods:
        for label, step in (("every layer re-initialised", last_step), ("shuffled labels", "shuffled labels")):
            found = similarity_over_faces(checks, method, step)
            rows.append({"method": method_label(method), "randomisation": label,
                         "Spearman |R| (95 % CI over faces)": f"{shown(found['mean'])} [{found['low']:.3f}, {found['high']:.3f}]",
                         "faces": found["n_faces"], "the maps": found["state"]})
    return pd.DataFrame(rows).set_index(["method", "randomisation"])


_STATE_WORDS = {KEPT: "still rank the pixels much as before", PARTLY: "rank the pixels only partly alike",
                CHANGED_STATE: "no longer rank the pixels alike",
                OPEN: "cannot be told apart from the threshold (their interval over faces crosses it)"}


def _said(found: dict) -> str:
    return f"{shown(found['mean'])} [{found['low']:.3f}, {found['high']:.3f}]"


def reading(composite: dict, gradient: dict, composite_shuffled: dict, gradient_shuffled: dict) -> dict[str, str]:
    """The sanity chapter's sentences, chosen by the run's similarities.

    Parameters
    ----------
    composite, gradient : `similarity_over_faces` once every layer is re-initialised, per method
    composite_shuffled, gradient_shuffled : the same for the model fine-tuned on shuffled labels

    Returns
    -------
    ``cascade`` (what the full cascade did to each method's maps), ``shuffled`` (what
    label shuffling did), ``sixt`` (whether the composite behaves as Sixt et al. predicted:
    |R| barely depending on the later layers), ``consequence`` (what that means for the
    masking test) and ``passes`` (the composite's verdict: its maps depend on the parameters
    only if both randomisations changed them).
    """
    cascade = (f"the composite's maps {_STATE_WORDS[composite['state']]} (Spearman correlation of |R| "
               f"{_said(composite)}, mean over the faces of the models' mean, 95 % interval), and the gradient's "
               f"{_STATE_WORDS[gradient['state']]} ({_said(gradient)})")
    shuffled = (f"a model fine-tuned on shuffled labels leaves the composite's maps at {_said(composite_shuffled)} "
                f"({composite_shuffled['state']}) and the gradient's at {_said(gradient_shuffled)} "
                f"({gradient_shuffled['state']})")
    states = {composite["state"], composite_shuffled["state"]}
    if KEPT in states:
        which = " and ".join(name for name, found in (("the cascade", composite), ("label shuffling", composite_shuffled))
                             if found["state"] == KEPT)
        passes = (f"The composite's maps fail the sanity check in this run: {which} left them unchanged, so they do "
                  "not depend on what the models learned as the check requires.")
    elif OPEN in states:
        passes = ("Whether the composite's maps pass the sanity check this run cannot tell: the interval over faces of "
                  "at least one randomisation crosses a threshold.")
    else:
        passes = ("The composite's maps pass the sanity check in this run: both randomisations changed them, at least "
                  "partly.")
    if composite["state"] == KEPT:
        sixt = "This run's composite maps behave so: they survive the re-initialisation of every layer."
    elif composite["state"] == OPEN:
        sixt = (f"Whether this run's composite maps behave so it cannot tell: with every layer re-initialised their "
                f"|R| keeps a Spearman correlation of {_said(composite)} with the original, an interval across the "
                f"{UNCHANGED} taken here for 'unchanged'.")
    else:
        sixt = (f"This run's composite maps do not behave so: with every layer re-initialised their |R| keeps a "
                f"Spearman correlation of {_said(composite)} with the original, below the {UNCHANGED} taken here for "
                f"'unchanged'.")
    if KEPT in states or OPEN in states:
        consequence = (
            "The masking test ranks pixels by |R|, so the maps of different models may share a large component that "
            "does not depend on what the models learned, and masks made from them are bound to carry over between "
            "models to some degree. The paper's findings of generalisation should be read with that component in "
            "mind; the masking chapter's source of maps from randomised models measures how much of the carry-over "
            "it alone produces.")
    else:
        consequence = ("The composite's maps depend on the models' parameters here, so this check gives no reason to "
                       "discount the masks' carry-over between models.")
    return {"cascade": cascade, "shuffled": shuffled, "sixt": sixt, "consequence": consequence, "passes": passes}
