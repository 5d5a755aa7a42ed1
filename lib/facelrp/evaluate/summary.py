"""Every statistic the paper reports beside this run's value, and whether its conclusion holds."""

from __future__ import annotations

import pandas as pd

from .. import paper
from . import statistics

__all__ = ["paper_vs_run", "masking_conclusions"]

_ALPHA = 0.05


def _fmt(f: float, df1: int, df2: int, p: float) -> str:
    return f"F({int(df1)}, {int(df2)}) = {f:.2f}, p = {p:.2g}"


def paper_vs_run(accuracy: pd.DataFrame, table: pd.DataFrame, observers: dict | None, *, simulated: bool) -> pd.DataFrame:
    """The paper-vs-this-run table.

    Parameters
    ----------
    accuracy : one row per model with columns ``pretraining``, ``task``, ``validation`` (0-1),
        e.g. `finetune.run_table`
    table : the sampled AUC table of `comparisons.auc_table`
    observers : `rank2.observer_summary` of the observers' choices, or None
    simulated : whether the observers were simulated (their row is then not a test of the paper)

    Returns
    -------
    DataFrame with columns ``result``, ``paper``, ``this run``, ``conclusion holds``
    (``yes``/``no``, or ``not comparable`` for simulated observers).
    """
    rows = []

    def add(result, paper, run, holds):
        rows.append({"result": result, "paper": paper, "this run": run,
                     "conclusion holds": holds if isinstance(holds, str) else ("yes" if holds else "no")})

    for (pretraining, task), group in accuracy.groupby(["pretraining", "task"], sort=False):
        low = 100 * group["validation"].min()
        add(f"fine-tuning accuracy, {pretraining} {task} (lowest of {len(group)})", paper.FINETUNE_ACCURACY,
            f"{low:.1f} %", low >= 98)

    rows.extend(masking_conclusions(table).to_dict("records"))

    paper_obs = paper.OBSERVERS_TEXT
    if observers is None:
        add("observers choosing the VGGFace-side face", paper_obs, "no observer data", "not comparable")
    else:
        run = f"{observers['mean']:.1f} % ± {observers['sem']:.2f}, t({observers['dof']:.0f}) = {observers['t']:.3f}, p = {observers['p']:.2g}"
        if simulated:
            add("observers choosing the VGGFace-side face (simulated here)", paper_obs, run, "not comparable")
        else:
            add("observers choosing the VGGFace-side face", paper_obs, run, observers["mean"] > 50 and observers["p"] < _ALPHA)
    return pd.DataFrame(rows)


def masking_conclusions(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `paper_vs_run` that come from masking (Figures 5 and 6), from one AUC
    table (`comparisons.auc_table`); the robustness checks call it with other fills."""
    rows = []

    def add(result, paper, run, holds):
        rows.append({"result": result, "paper": paper, "this run": run, "conclusion holds": "yes" if holds else "no"})

    fig5 = statistics.figure5_tests(table).set_index(["task", "design", "effect"])
    for task in ("identity", "gender"):
        row = fig5.loc[(task, "between", "pretraining")]
        add(f"Fig. 5, {task}: effect of pretraining on AUC", paper.FIGURE5[(task, "pretraining")],
            _fmt(row.F, row.df1, row.df2, row.p), row.p < _ALPHA)
        row = fig5.loc[(task, "between", "mask source")]
        add(f"Fig. 5, {task}: same vs different init. (no effect)", paper.FIGURE5[(task, "mask source")],
            _fmt(row.F, row.df1, row.df2, row.p), row.p >= _ALPHA)

    anova, pairs = statistics.figure6_tests(table)
    anova = anova.set_index(["pretraining", "task", "design"])
    means = statistics.bin_means(table, statistics.FIGURE6_SOURCES)
    by_type = means.groupby(["pretraining", "task", "mask source"])["auc"].mean()
    labels = statistics.FIGURE6_SOURCES
    for pretraining, task in anova.index.droplevel("design").unique():
        row = anova.loc[(pretraining, task, "between")]
        add(f"Fig. 6, {pretraining} {task}: effect of mask source", paper.FIGURE6_ANOVA,
            _fmt(row.F, row.df1, row.df2, row.p), row.p < _ALPHA)
        here = pairs[(pairs.pretraining == pretraining) & (pairs.task == task)]

        def pair_p(a, b):
            match = here[((here.A == a) & (here.B == b)) | ((here.A == b) & (here.B == a))]
            return float(match["p_corr"].iloc[0])

        same, other_task = labels["same_model"], labels["other_task"]
        other_pre, other_both = labels["other_pretraining"], labels["other_both"]
        p = pair_p(same, other_task)
        add(f"Fig. 6, {pretraining} {task}: same init. vs same pretraining, other task (no difference)",
            paper.FIGURE6_PAIR_CLAIMS["same init. vs other task"], f"p = {p:.2g} (Holm)", p >= _ALPHA)
        p = pair_p(same, other_pre)
        higher = by_type[(pretraining, task, other_pre)] > by_type[(pretraining, task, same)]
        if (pretraining, task) == ("imagenet", "gender"):
            add(f"Fig. 6, {pretraining} {task}: other pretraining vs same init. (no difference)",
                paper.FIGURE6_PAIR_CLAIMS["other pretraining vs same init., ImageNet gender"], f"p = {p:.2g} (Holm)", p >= _ALPHA)
        else:
            add(f"Fig. 6, {pretraining} {task}: masks from the other pretraining hurt less (higher AUC)",
                paper.FIGURE6_PAIR_CLAIMS["other pretraining vs same init."], f"p = {p:.2g} (Holm), {'higher' if higher else 'lower'}", p < _ALPHA and higher)
        p = pair_p(other_pre, other_both)
        add(f"Fig. 6, {pretraining} {task}: other pretraining, same vs other task (no difference)",
            paper.FIGURE6_PAIR_CLAIMS["other pretraining, same vs other task"], f"p = {p:.2g} (Holm)", p >= _ALPHA)
    return pd.DataFrame(rows)
