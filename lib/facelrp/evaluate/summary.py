"""Every claim of the paper beside this run's statistic, its effect with its interval, and
the verdict of the one rule (`verdicts.judge`): reproduced, contradicted, inconclusive, or
not testable here where the validity gate fails (`floor.validity`)."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from .. import paper
from . import statistics, verdicts

__all__ = ["COLUMNS", "EFFECT", "paper_vs_run", "masking_conclusions", "gate_types"]

#: The effect column: the difference with its interval (its level where not 95 %).
EFFECT = "effect (interval)"
#: The columns of `paper_vs_run` and `masking_conclusions`.
COLUMNS = ["result", "paper", "this run", EFFECT, "verdict"]

#: The paper's bar for every fine-tuned model's validation accuracy (section 2.2), in %.
ACCURACY_BAR = 98


def paper_vs_run(accuracy: pd.DataFrame, table: pd.DataFrame, observers: dict | None, *, simulated: bool,
                 margin: float, gate: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper-vs-this-run table.

    Parameters
    ----------
    accuracy : one row per model with columns ``pretraining``, ``task``, ``validation`` (0-1),
        e.g. `finetune.run_table`
    table : the sampled AUC table of `comparisons.auc_table`
    observers : `rank2.observer_summary` of the observers' choices, or None
    simulated : whether the observers were simulated (their row is then not a test of the paper)
    margin, gate : as for `masking_conclusions`

    Returns
    -------
    DataFrame with `COLUMNS`; ``verdict`` is one of `verdicts.VERDICTS` (``not comparable``
    for simulated or missing observers).
    """
    rows = []

    def add(result, claim, run, verdict, effect_text=""):
        rows.append(dict(zip(COLUMNS, (result, claim, run, effect_text, verdict))))

    for (pretraining, task), group in accuracy.groupby(["pretraining", "task"], sort=False):
        low = 100 * group["validation"].min()
        add(f"fine-tuning accuracy, {pretraining} {task} (lowest of {len(group)})", paper.FINETUNE_ACCURACY,
            f"{low:.1f} %", verdicts.REPRODUCED if low >= ACCURACY_BAR else verdicts.CONTRADICTED)

    rows.extend(masking_conclusions(table, margin=margin, gate=gate).to_dict("records"))

    paper_obs = paper.OBSERVERS_TEXT
    if observers is None:
        add("observers choosing the VGGFace-side face", paper_obs, "no observer data", verdicts.NOT_COMPARABLE)
    else:
        run = (f"{observers['mean']:.1f} % ± {observers['sem']:.2f}, t({observers['dof']:.0f}) = {observers['t']:.3f}, "
               f"p = {observers['p']:.2g}")
        half = stats.t.ppf(0.975, observers["dof"]) * observers["sem"]
        low, high = observers["mean"] - half, observers["mean"] + half
        interval = f"{observers['mean']:.1f} % [{low:.1f}, {high:.1f}]"
        if simulated:
            add("observers choosing the VGGFace-side face (simulated here)", paper_obs, run, verdicts.NOT_COMPARABLE,
                interval)
        else:  # in percent of choices, not AUC: no margin, any preference counts
            add("observers choosing the VGGFace-side face", paper_obs, run,
                verdicts.judge(verdicts.DIFFERENCE, low - 50, high - 50, margin=0.0, sign=+1), interval)
    return pd.DataFrame(rows, columns=COLUMNS)


def gate_types(gate: pd.DataFrame | None, types) -> bool:
    """Whether every destination type of `types` ((pretraining, task) pairs) passes the gate
    (`floor.validity`); True without a gate."""
    return gate is None or all(bool(gate.loc[t, "valid"]) for t in types)


def masking_conclusions(table: pd.DataFrame, *, margin: float, gate: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of `paper_vs_run` that come from masking (Figures 5 and 6), from one AUC
    table (`comparisons.auc_table`); the robustness checks call it with other fills.

    Each row's verdict is `verdicts.judge` of its difference's interval against `margin`
    (the smallest difference in AUC that counts: ``verdicts.margin`` of the profile). The
    interval is the paired or two-sample t test's over the destinations (Figure 5: per task,
    10 destinations; Figure 6: per destination type, 5), at 95 % for a single test and at the
    level matched to the Holm correction of the Figure 6 pairwise tests. The ANOVAs (mixed
    for Figure 5, repeated measures for Figure 6) are shown beside them. With `gate`
    (`floor.validity` of the same run), a row on destination types that fail it reads
    `verdicts.NOT_TESTABLE`; without, every row is judged.
    """
    rows = []

    def add(result, claim, run, d=None, verdict=None, *, types, effect_text=None):
        rows.append({"result": result, "paper": claim, "this run": run,
                     EFFECT: effect_text if effect_text is not None else verdicts.interval_text(d),
                     "verdict": verdict if gate_types(gate, types) else verdicts.NOT_TESTABLE})

    def t_text(d, p=None, note=""):
        return f"t({d['dof']:g}) = {d['t']:.2f}, p = {d['p'] if p is None else p:.2g}{note}"

    fig5 = statistics.figure5_tests(table).set_index(["task", "design", "effect"])
    means5 = statistics.bin_means(table, statistics.FIGURE5_SOURCES)
    labels5 = statistics.FIGURE5_SOURCES
    for task in ("identity", "gender"):
        wide = means5[means5.task == task].pivot_table(index=["destination", "pretraining"], columns="mask source",
                                                       values="auc").reset_index()
        types = [(pretraining, task) for pretraining in wide.pretraining.unique()]
        per_model = wide[[labels5["same_model"], labels5["other_seed"]]].mean(axis=1)
        # the paper: AUC higher for the VGGFace-pretrained destinations (the pooled two-sample
        # t test is the mixed ANOVA's between-subjects F of two groups: F = t²)
        pre = verdicts.difference(per_model[wide.pretraining == "vggface"], per_model[wide.pretraining == "imagenet"],
                                  paired=False)
        row = fig5.loc[(task, "mixed", "pretraining")]
        add(f"Fig. 5, {task}: VGGFace-pretrained models more tolerant (higher AUC)",
            paper.FIGURE5[(task, "pretraining")], statistics.f_text(row) + " (mixed)", pre,
            verdicts.judge(verdicts.DIFFERENCE, pre["low"], pre["high"], margin=margin, sign=+1), types=types)
        same = verdicts.difference(wide[labels5["same_model"]], wide[labels5["other_seed"]], paired=True)
        row = fig5.loc[(task, "mixed", "mask source")]
        add(f"Fig. 5, {task}: same vs different init. (no difference)", paper.FIGURE5[(task, "mask source")],
            statistics.f_text(row) + f" (mixed); paired {t_text(same)}", same,
            verdicts.judge(verdicts.NO_DIFFERENCE, same["low"], same["high"], margin=margin), types=types)

    anova, pairs = statistics.figure6_tests(table)
    anova = anova.set_index(["pretraining", "task", "design"])
    means6 = statistics.bin_means(table, statistics.FIGURE6_SOURCES)
    labels = statistics.FIGURE6_SOURCES
    same, other_task = labels["same_model"], labels["other_task"]
    other_pre, other_both = labels["other_pretraining"], labels["other_both"]
    for pretraining, task in anova.index.droplevel("design").unique():
        kind = f"Fig. 6, {pretraining} {task}"
        types = [(pretraining, task)]
        here = pairs[(pairs.pretraining == pretraining) & (pairs.task == task)]
        wide = means6[(means6.pretraining == pretraining) & (means6.task == task)].pivot(
            index="destination", columns="mask source", values="auc")

        tested = {}  # every pair of sources once: difference at the level matched to its Holm-corrected p
        for i, a in enumerate(labels.values()):
            for b in list(labels.values())[i + 1:]:
                match = here[((here.A == a) & (here.B == b)) | ((here.A == b) & (here.B == a))].iloc[0]
                p, p_holm = float(match["p_unc"]), float(match["p_corr"])
                d = verdicts.difference(wide[a], wide[b], paired=True, level=verdicts.matched_level(p, p_holm))
                tested[a, b] = d, p_holm

        def pair(a, b):
            """Difference a - b with its paired test (p Holm-corrected within the type)."""
            d, p = tested[a, b] if (a, b) in tested else tested[b, a]
            if (a, b) not in tested:  # the same test with the sides swapped
                d = dict(d, difference=-d["difference"], low=-d["high"], high=-d["low"], t=-d["t"])
            return dict(d, text=t_text(d, p, " (Holm)"))

        row = anova.loc[(pretraining, task, "repeated")]
        eta, low, high = verdicts.partial_eta_squared(row.F, row.df1, row.df2)
        add(f"{kind}: effect of mask source", paper.FIGURE6_ANOVA, statistics.f_text(row) + " (repeated)", None,
            verdicts.judge(verdicts.DIFFERENCE, margin=margin, pairs=[(d["low"], d["high"]) for d, _ in tested.values()]),
            types=types, effect_text=f"partial η² = {eta:.2f} [{low:.2f}, {high:.2f}] (90 %)")

        d = pair(other_task, same)
        add(f"{kind}: same init. vs same pretraining, other task (no difference)",
            paper.FIGURE6_PAIR_CLAIMS["same init. vs other task"], d["text"], d,
            verdicts.judge(verdicts.NO_DIFFERENCE, d["low"], d["high"], margin=margin), types=types)
        for source, name in ((other_pre, "same task"), (other_both, "other task")):
            d = pair(source, same)
            if (pretraining, task) == ("imagenet", "gender"):
                add(f"{kind}: other pretraining, {name}, vs same init. (no difference)",
                    paper.FIGURE6_PAIR_CLAIMS["other pretraining vs same init., ImageNet gender"], d["text"],
                    d, verdicts.judge(verdicts.NO_DIFFERENCE, d["low"], d["high"], margin=margin), types=types)
            else:
                add(f"{kind}: masks from the other pretraining, {name}, hurt less (higher AUC)",
                    paper.FIGURE6_PAIR_CLAIMS["other pretraining vs same init."], d["text"], d,
                    verdicts.judge(verdicts.DIFFERENCE, d["low"], d["high"], margin=margin, sign=+1), types=types)
        d = pair(other_both, other_pre)
        add(f"{kind}: other pretraining, same vs other task (no difference)",
            paper.FIGURE6_PAIR_CLAIMS["other pretraining, same vs other task"], d["text"], d,
            verdicts.judge(verdicts.NO_DIFFERENCE, d["low"], d["high"], margin=margin), types=types)
    return pd.DataFrame(rows, columns=COLUMNS)
