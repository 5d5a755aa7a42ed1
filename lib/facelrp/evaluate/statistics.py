"""The paper's tests on masking AUCs (Figures 5 and 6), computed with pingouin.

Input is the long table of `comparisons.auc_table`; each destination model's AUC for a
bin is the mean over its sampled sources (the paper's 100 draws with replacement).

The paper reports F(1, 16) for Figure 5 and F(3, 16) for Figure 6: the degrees of freedom
of between-subjects ANOVAs over the 20 AUCs of a panel. But the mask source varies
*within* each destination model (every destination is scored under every source), so the
design is mixed (Figure 5: source within, pretraining between) or repeated measures
(Figure 6: source within). Both forms are computed and labelled; the within-subject
forms are the ones that match the design.
"""

from __future__ import annotations

import pandas as pd

from .. import paper
import pingouin as pg

__all__ = ["FIGURE5_SOURCES", "FIGURE6_SOURCES", "bin_means", "figure5_tests", "figure6_tests", "f_text",
           "figure5_shown", "figure6_shown"]

#: Figure 5: the same model's own masks against another seed's (same pretraining and task).
FIGURE5_SOURCES = {"same_model": "same init.", "other_seed": "different init."}
#: Figure 6: the four mask sources per destination type.
FIGURE6_SOURCES = {
    "same_model": "same init.",
    "other_both": "other pretraining, other task",
    "other_pretraining": "other pretraining, same task",
    "other_task": "same pretraining, other task",
}



def bin_means(table: pd.DataFrame, sources: dict[str, str]) -> pd.DataFrame:
    """Mean AUC per (destination, bin) over the draws, for the bins in `sources`, with a
    ``mask source`` column holding their labels."""
    picked = table[table["bin"].isin(list(sources))]
    means = picked.groupby(["destination", "pretraining", "task", "seed", "bin"], as_index=False)["auc"].mean()
    means["mask source"] = means["bin"].map(sources)
    return means


def figure5_tests(table: pd.DataFrame) -> pd.DataFrame:
    """Per task: effects of mask source (same vs different init.) and pretraining on AUC.

    Returns one row per (task, design, effect) with df1, df2, F, p. Designs: ``between``
    (two-way between-subjects ANOVA over the 20 AUCs, the paper's F(1, 16)) and ``mixed``
    (source within destination, pretraining between destinations).
    """
    means = bin_means(table, FIGURE5_SOURCES)
    rows = []
    for task, data in means.groupby("task", sort=False):
        between = pg.anova(data=data, dv="auc", between=["mask source", "pretraining"], detailed=True)
        residual = int(between.set_index("Source").loc["Residual", "DF"])
        for source, effect in (("pretraining", "pretraining"), ("mask source", "mask source"),
                               ("mask source * pretraining", "interaction")):
            row = between.set_index("Source").loc[source]
            rows.append({"task": task, "design": "between", "effect": effect, "df1": int(row["DF"]),
                         "df2": residual, "F": float(row["F"]), "p": float(row["p_unc"])})
        mixed = pg.mixed_anova(data=data, dv="auc", within="mask source", between="pretraining", subject="destination")
        for source, effect in (("pretraining", "pretraining"), ("mask source", "mask source"),
                               ("Interaction", "interaction")):
            row = mixed.set_index("Source").loc[source]
            rows.append({"task": task, "design": "mixed", "effect": effect, "df1": int(row["DF1"]),
                         "df2": int(row["DF2"]), "F": float(row["F"]), "p": float(row["p_unc"])})
    return pd.DataFrame(rows)


def figure6_tests(table: pd.DataFrame, *, padjust: str = "holm") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per destination type (pretraining x task): effect of the four mask sources on AUC.

    Returns
    -------
    anova : one row per (pretraining, task, design): ``between`` (one-way, the paper's
        F(3, 16)) and ``repeated`` (source within destination, F(3, 12)); df1, df2, F, p
    pairs : paired t-tests between the sources per destination type, p corrected by
        `padjust` (pingouin's name: holm, bonf, fdr_bh, ...) within each type
    """
    means = bin_means(table, FIGURE6_SOURCES)
    anovas, pairs = [], []
    for (pretraining, task), data in means.groupby(["pretraining", "task"], sort=False):
        one_way = pg.anova(data=data, dv="auc", between="mask source", detailed=True).set_index("Source")
        anovas.append({"pretraining": pretraining, "task": task, "design": "between",
                       "df1": int(one_way.loc["mask source", "DF"]), "df2": int(one_way.loc["Within", "DF"]),
                       "F": float(one_way.loc["mask source", "F"]), "p": float(one_way.loc["mask source", "p_unc"])})
        repeated = pg.rm_anova(data=data, dv="auc", within="mask source", subject="destination", detailed=True)
        row = repeated.set_index("Source")
        anovas.append({"pretraining": pretraining, "task": task, "design": "repeated",
                       "df1": int(row.loc["mask source", "DF"]), "df2": int(row.loc["Error", "DF"]),
                       "F": float(row.loc["mask source", "F"]), "p": float(row.loc["mask source", "p_unc"])})
        tests = pg.pairwise_tests(data=data, dv="auc", within="mask source", subject="destination", padjust=padjust)
        tests.insert(0, "task", task)
        tests.insert(0, "pretraining", pretraining)
        pairs.append(tests)
    return pd.DataFrame(anovas), pd.concat(pairs, ignore_index=True)


def f_text(row) -> str:
    """An ANOVA row (``F``, ``df1``, ``df2``, ``p``) as the book prints it: ``F(1, 16) = 49.60, p = 2.8e-06``."""
    return f"F({row.df1:g}, {row.df2:g}) = {row.F:.2f}, p = {row.p:.2g}"


def figure5_shown(tests: pd.DataFrame) -> pd.DataFrame:
    """The Figure 5 ANOVAs of `figure5_tests` as the book shows them: per task, effect and
    design, this run's statistic beside the paper's (between-subjects rows only)."""
    shown = tests[tests.effect != "interaction"].copy()
    shown["this run"] = shown.apply(f_text, axis=1)
    shown["paper"] = [paper.FIGURE5.get((t, e), "") if d == "between" else ""
                      for t, e, d in zip(shown.task, shown.effect, shown.design)]
    shown["design"] = shown.design.map({"between": "between-subjects (paper's df)", "mixed": "mixed: source within model"})
    return shown.set_index(["task", "effect", "design"])[["this run", "paper"]]


def figure6_shown(anova: pd.DataFrame, pairs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Figure 6 ANOVAs and pairwise tests of `figure6_tests` as the book shows them,
    this run's statistic beside the paper's."""
    shown = anova.copy()
    shown["this run"] = shown.apply(f_text, axis=1)
    shown["paper"] = [paper.FIGURE6_ANOVA if d == "between" else "" for d in shown.design]
    shown["design"] = shown.design.map({"between": "one-way between (paper's df)", "repeated": "repeated measures"})
    tests = pairs.copy()
    tests["paper"] = [paper.FIGURE6_PAIRS.get((a, b)) or paper.FIGURE6_PAIRS.get((b, a), "")
                      for a, b in zip(tests.A, tests.B)]
    tests["pair"] = tests.A + " vs " + tests.B
    tests["this run"] = [f"t({d:.0f}) = {t:.2f}, p = {p:.2g} (Holm)" for d, t, p in zip(tests.dof, tests["T"], tests.p_corr)]
    return (shown.set_index(["pretraining", "task", "design"])[["this run", "paper"]],
            tests.set_index(["pretraining", "task", "pair"])[["this run", "paper"]])
