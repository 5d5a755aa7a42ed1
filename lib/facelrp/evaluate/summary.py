"""Every claim of the paper beside this run's statistic, its effect with a 95 % interval,
and the verdict: reproduced, contradicted or inconclusive (`verdicts`)."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from .. import paper
from . import statistics, verdicts

__all__ = ["COLUMNS", "paper_vs_run", "masking_conclusions"]

#: The columns of `paper_vs_run` and `masking_conclusions`.
COLUMNS = ["result", "paper", "this run", "effect (95 % CI)", "equivalence bound", "verdict"]

#: The paper's bar for every fine-tuned model's validation accuracy (section 2.2), in %.
ACCURACY_BAR = 98


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
    DataFrame with `COLUMNS`; ``verdict`` is one of `verdicts.VERDICTS` (``not comparable``
    for simulated or missing observers).
    """
    rows = []

    def add(result, claim, run, verdict, effect_text=""):
        rows.append(dict(zip(COLUMNS, (result, claim, run, effect_text, "", verdict))))

    for (pretraining, task), group in accuracy.groupby(["pretraining", "task"], sort=False):
        low = 100 * group["validation"].min()
        add(f"fine-tuning accuracy, {pretraining} {task} (lowest of {len(group)})", paper.FINETUNE_ACCURACY,
            f"{low:.1f} %", verdicts.REPRODUCED if low >= ACCURACY_BAR else verdicts.CONTRADICTED)

    rows.extend(masking_conclusions(table).to_dict("records"))

    paper_obs = paper.OBSERVERS_TEXT
    if observers is None:
        add("observers choosing the VGGFace-side face", paper_obs, "no observer data", verdicts.NOT_COMPARABLE)
    else:
        run = (f"{observers['mean']:.1f} % ± {observers['sem']:.2f}, t({observers['dof']:.0f}) = {observers['t']:.3f}, "
               f"p = {observers['p']:.2g}")
        half = stats.t.ppf(0.975, observers["dof"]) * observers["sem"]
        interval = f"{observers['mean']:.1f} % [{observers['mean'] - half:.1f}, {observers['mean'] + half:.1f}]"
        if simulated:
            add("observers choosing the VGGFace-side face (simulated here)", paper_obs, run, verdicts.NOT_COMPARABLE,
                interval)
        else:
            add("observers choosing the VGGFace-side face", paper_obs, run,
                verdicts.effect(observers["p"], observers["mean"] - 50, sign=+1), interval)
    return pd.DataFrame(rows, columns=COLUMNS)


def masking_conclusions(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `paper_vs_run` that come from masking (Figures 5 and 6), from one AUC
    table (`comparisons.auc_table`); the robustness checks call it with other fills.

    Tests are the within-model designs (mixed ANOVA for Figure 5, repeated measures and
    Holm-corrected paired t tests for Figure 6); each row has the effect with its 95 %
    interval and, for a claim of no difference, the equivalence bound: `verdicts.EQUIVALENCE_FRACTION`
    of the same task's pretraining effect.
    """
    rows = []

    def add(result, claim, run, d=None, verdict=None, *, effect_text=None):
        rows.append({"result": result, "paper": claim, "this run": run,
                     "effect (95 % CI)": effect_text if effect_text is not None else verdicts.interval_text(d),
                     "equivalence bound": f"±{d['bound']:.3f}" if d is not None and "bound" in d else "",
                     "verdict": verdict})

    fig5 = statistics.figure5_tests(table).set_index(["task", "design", "effect"])
    means5 = statistics.bin_means(table, statistics.FIGURE5_SOURCES)
    labels5 = statistics.FIGURE5_SOURCES
    bounds = {}
    for task in ("identity", "gender"):
        wide = means5[means5.task == task].pivot_table(index=["destination", "pretraining"], columns="mask source",
                                                       values="auc").reset_index()
        per_model = wide[[labels5["same_model"], labels5["other_seed"]]].mean(axis=1)
        # the paper: AUC higher for the VGGFace-pretrained destinations
        pre = verdicts.difference(per_model[wide.pretraining == "vggface"], per_model[wide.pretraining == "imagenet"],
                                  paired=False)
        row = fig5.loc[(task, "mixed", "pretraining")]
        add(f"Fig. 5, {task}: VGGFace-pretrained models more tolerant (higher AUC)",
            paper.FIGURE5[(task, "pretraining")], statistics.f_text(row) + " (mixed)", pre,
            verdicts.effect(row.p, pre["difference"], sign=+1))
        bounds[task] = verdicts.EQUIVALENCE_FRACTION * abs(pre["difference"])
        same = verdicts.difference(wide[labels5["same_model"]], wide[labels5["other_seed"]], paired=True,
                                   bound=bounds[task])
        row = fig5.loc[(task, "mixed", "mask source")]
        add(f"Fig. 5, {task}: same vs different init. (no difference)", paper.FIGURE5[(task, "mask source")],
            statistics.f_text(row) + f" (mixed); TOST p = {same['equivalent_p']:.2g}", same, verdicts.no_difference(same["equivalent_p"], row.p))

    anova, pairs = statistics.figure6_tests(table)
    anova = anova.set_index(["pretraining", "task", "design"])
    means6 = statistics.bin_means(table, statistics.FIGURE6_SOURCES)
    labels = statistics.FIGURE6_SOURCES
    same, other_task = labels["same_model"], labels["other_task"]
    other_pre, other_both = labels["other_pretraining"], labels["other_both"]
    for pretraining, task in anova.index.droplevel("design").unique():
        kind = f"Fig. 6, {pretraining} {task}"
        here = pairs[(pairs.pretraining == pretraining) & (pairs.task == task)]
        wide = means6[(means6.pretraining == pretraining) & (means6.task == task)].pivot(
            index="destination", columns="mask source", values="auc")

        tested = {}  # every pair of sources once: difference, its Holm-corrected paired test, TOST
        for i, a in enumerate(labels.values()):
            for b in list(labels.values())[i + 1:]:
                match = here[((here.A == a) & (here.B == b)) | ((here.A == b) & (here.B == a))]
                d = verdicts.difference(wide[a], wide[b], paired=True, bound=bounds[task])
                tested[a, b] = d, float(match["p_corr"].iloc[0])

        def pair(a, b):
            """Difference a - b with its paired test (p Holm-corrected within the type) and TOST."""
            d, p = tested[a, b] if (a, b) in tested else tested[b, a]
            if (a, b) not in tested:  # the same test with the sides swapped
                d = dict(d, difference=-d["difference"], low=-d["high"], high=-d["low"], t=-d["t"])
            text = f"t({d['dof']:g}) = {d['t']:.2f}, p = {p:.2g} (Holm); TOST p = {d['equivalent_p']:.2g}"
            return dict(d, text=text), p

        row = anova.loc[(pretraining, task, "repeated")]
        eta, low, high = verdicts.partial_eta_squared(row.F, row.df1, row.df2)
        add(f"{kind}: effect of mask source", paper.FIGURE6_ANOVA, statistics.f_text(row) + " (repeated)", None,
            verdicts.effect(row.p, equivalent_p=max(d["equivalent_p"] for d, _ in tested.values())),
            effect_text=f"partial η² = {eta:.2f} [{low:.2f}, {high:.2f}]")

        d, p = pair(other_task, same)
        add(f"{kind}: same init. vs same pretraining, other task (no difference)",
            paper.FIGURE6_PAIR_CLAIMS["same init. vs other task"], d["text"], d,
            verdicts.no_difference(d["equivalent_p"], p))
        for source, name in ((other_pre, "same task"), (other_both, "other task")):
            d, p = pair(source, same)
            if (pretraining, task) == ("imagenet", "gender"):
                add(f"{kind}: other pretraining, {name}, vs same init. (no difference)",
                    paper.FIGURE6_PAIR_CLAIMS["other pretraining vs same init., ImageNet gender"], d["text"],
                    d, verdicts.no_difference(d["equivalent_p"], p))
            else:
                add(f"{kind}: masks from the other pretraining, {name}, hurt less (higher AUC)",
                    paper.FIGURE6_PAIR_CLAIMS["other pretraining vs same init."], d["text"], d,
                    verdicts.effect(p, d["difference"], sign=+1, equivalent_p=d["equivalent_p"]))
        d, p = pair(other_both, other_pre)
        add(f"{kind}: other pretraining, same vs other task (no difference)",
            paper.FIGURE6_PAIR_CLAIMS["other pretraining, same vs other task"], d["text"], d,
            verdicts.no_difference(d["equivalent_p"], p))
    return pd.DataFrame(rows, columns=COLUMNS)
