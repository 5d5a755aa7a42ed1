"""What the book says of the sanity checks (`facelrp.explain.sanity`, computed by the
pipeline's ``sanity`` stage): their curves, method names and the sentences the run's
similarities choose. Only pages call these, so their wording can change without re-keying
any cached result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["method_label", "cascade_curves", "UNCHANGED", "CHANGED", "shown", "reading"]


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


def _ranks(value: float) -> str:
    if value >= UNCHANGED:
        return "still rank the pixels much as before"
    if value <= CHANGED:
        return "no longer rank the pixels alike"
    return "rank the pixels only partly alike"


def reading(composite: float, gradient: float, composite_shuffled: float, gradient_shuffled: float) -> dict[str, str]:
    """The sanity chapter's sentences, chosen by the run's similarities.

    Parameters
    ----------
    composite, gradient : Spearman correlation of |R| with the original maps once every
        layer is re-initialised (mean over models and faces), per method
    composite_shuffled, gradient_shuffled : the same for the model fine-tuned on shuffled labels

    Returns
    -------
    ``cascade`` (what the full cascade did to each method's maps), ``shuffled`` (what
    label shuffling did), ``sixt`` (whether the composite behaves as Sixt et al. predicted:
    |R| barely depending on the later layers) and ``consequence`` (what that means for the
    masking test).
    """
    cascade = (f"the composite's maps {_ranks(composite)} (Spearman correlation of |R| {shown(composite)}, mean of the "
               f"models), and the gradient's {_ranks(gradient)} ({shown(gradient)})")
    shuffled = (f"a model fine-tuned on shuffled labels leaves the composite's maps at {shown(composite_shuffled)} "
                f"and the gradient's at {shown(gradient_shuffled)}")
    insensitive = composite >= UNCHANGED
    if insensitive:
        sixt = "This run's composite maps behave so: they survive the re-initialisation of every layer."
        consequence = (
            "The masking test ranks pixels by |R|, so the maps of different models share a large component that "
            "does not depend on what the models learned, and masks made from them are bound to carry over between "
            "models to some degree. The paper's findings of generalisation should be read with that component in "
            "mind; the masking chapter's source of maps from randomised models measures how much of the carry-over "
            "it alone produces.")
    else:
        sixt = (f"This run's composite maps do not behave so: with every layer re-initialised their |R| keeps a "
                f"Spearman correlation of {shown(composite)} with the original, below the {UNCHANGED} taken here for "
                f"'unchanged'.")
        consequence = ("The composite's maps depend on the models' parameters here, so this check gives no reason to "
                       "discount the masks' carry-over between models.")
    return {"cascade": cascade, "shuffled": shuffled, "sixt": sixt, "consequence": consequence}
