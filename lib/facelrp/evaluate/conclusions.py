"""The book's conclusions drawn from one run's results folder (the summary chapter's
tables), and two runs' conclusions side by side: every verdict, and the statistic each
rests on against the spread that the models' seeds give it in the reference run.

This is what `facelrp.cache.verify` reports above its table of files: a fresh run on
another machine whose arrays differ (other CPU kernels round differently) but whose
conclusions agree is a reproduction.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import pandas as pd

from ..pipeline import FLOOR_METHOD, RANDOM_MAPS_RUN, READING, SUMMARY_RUNS
from . import comparisons, floor, masking, rank2, summary, verdicts

__all__ = ["MAIN", "RUNS", "RANDOM_MAPS", "RANDOM_MAPS_RUN", "NOT_SPECIFIC", "MARGIN_FACTORS", "Conclusions", "draw",
           "statistic", "compare", "reproduced", "text_table", "ACCURACY_SDS", "headline"]

#: The label of the paper's own masking run (mean-colour fill, the LRP composite).
MAIN = "mean colour"
#: label -> masking run (`facelrp.artifacts.Results.masking` variant) whose verdicts the
#: summary chapter shows: the paper's run, the frozen-trunk reading, two other fills and
#: three other attribution methods (the chapter "How robust are the conclusions").
RUNS = SUMMARY_RUNS
#: The column of the summary table holding the verdict that random maps get (ungated), and
#: the masking run it comes from (the robustness chapter's floor of maps that know nothing).
RANDOM_MAPS = FLOOR_METHOD.label
#: How a claim that random maps reproduce as well is marked in that column.
NOT_SPECIFIC = "reproduced: not specific to relevance"
#: The margins of the sensitivity table, as multiples of the profile's.
MARGIN_FACTORS = (0.5, 1.0, 2.0)
#: A fine-tuning row's tolerance: its lowest accuracy may move by this many standard
#: deviations of the seeds' accuracies in the reference run (about a 95 % band for one seed).
ACCURACY_SDS = 2.0

# The summary module writes each effect with `verdicts.interval_text` ("ΔAUC = +0.031
# [+0.012, +0.050]"), partial eta squared as "partial η² = 0.41 [0.10, 0.60] (90 %)" and the
# observers as "61.2 % [57.0, 65.3]"; the numbers are read back from the text the reader
# sees, so the comparison is of what the book shows. The round trip is tested
# (tests/test_conclusions.py).
_INTERVAL = re.compile(r"(?P<estimate>[-+]?\d+(?:\.\d+)?)(?: %)? \[(?P<low>[-+]?\d+(?:\.\d+)?), "
                       r"(?P<high>[-+]?\d+(?:\.\d+)?)\]")


@dataclass
class Conclusions:
    """What a run concludes.

    Attributes
    ----------
    comparison : the summary chapter's table (`summary.paper_vs_run` and, where the run has
        the frozen-trunk reading, its column of verdicts); empty without the models' records
        or the main masking run
    others : the masking verdicts under each other run of `RUNS` it has, indexed by result
        (each gated by that run's own validity gate)
    gates : label -> `floor.validity` of that masking run
    sensitivity : the verdicts of the summary table counted at each margin of
        `MARGIN_FACTORS` (rows: margin; columns: each verdict, and ``changed``, the rows whose
        verdict differs from the profile's margin's)
    margin : the profile's margin
    statistics : long table, one row per (run, result): ``run``, ``result``, ``verdict``,
        ``estimate``, ``low``, ``high`` (the statistic and its 95 % interval; NaN where the
        row has none)
    """

    comparison: pd.DataFrame
    others: pd.DataFrame
    statistics: pd.DataFrame
    gates: dict = None
    sensitivity: pd.DataFrame = None
    margin: float = None


def statistic(text: str) -> tuple[float, float, float]:
    """``(estimate, low, high)`` read from an effect text of the summary table; NaNs when
    the text holds no interval."""
    found = _INTERVAL.search(text or "")
    if found is None:
        return math.nan, math.nan, math.nan
    return float(found["estimate"]), float(found["low"]), float(found["high"])


def _records(results, keys) -> dict | None:
    paths = {key: results.model(key.name) / "record.json" for key in keys}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {key: json.loads(p.read_text()) for key, p in paths.items()}


def _observers(results):
    trials, choices = results.rank2 / "trials.csv", results.rank2 / "choices.csv"
    if not trials.is_file():
        return None
    table = pd.read_csv(trials)
    if not choices.is_file() or not len(table):
        return None
    return rank2.observer_summary(rank2.score_choices(rank2.read_choices(choices), table, path=choices))


def _accuracy_rows(accuracy: pd.DataFrame, comparison: pd.DataFrame) -> list[dict]:
    rows = []
    for (pretraining, task), group in accuracy.groupby(["pretraining", "task"], sort=False):
        values = 100 * group["validation"].to_numpy(dtype=float)
        spread = ACCURACY_SDS * (values.std(ddof=1) if len(values) > 1 else 0.0)
        result = f"fine-tuning accuracy, {pretraining} {task} (lowest of {len(group)})"
        verdict = comparison.set_index("result").loc[result, "verdict"]
        low = values.min()
        rows.append({"run": MAIN, "result": result, "verdict": verdict, "estimate": low,
                     "low": low - spread, "high": low + spread})
    return rows


def draw(profile, results, *, n_draws: int = 100, sample_seed: int = 0, runs: dict | None = None,
         margin: float | None = None) -> Conclusions:
    """The conclusions of the run under `results` (`facelrp.artifacts.Results`; a cache
    folder has the same layout), from whichever of its masking runs are there.

    Parameters
    ----------
    n_draws, sample_seed : the comparison bins' sampling (`comparisons.sample_sources`), as
        the summary chapter's parameters
    runs : label -> masking run, default `RUNS`
    margin : the smallest difference in AUC that counts; default the profile's
        (``verdicts.margin``)
    """
    from ..models import finetune
    from ..store import load_npz

    runs = RUNS if runs is None else runs
    margin = profile.verdicts["margin"] if margin is None else margin
    keys = finetune.model_keys(profile)
    draws = comparisons.sample_sources(keys, n_draws=n_draws, seed=sample_seed)
    found = {label: load_npz(results.masking(variant)) for label, variant in
             {**runs, RANDOM_MAPS: RANDOM_MAPS_RUN}.items() if results.masking(variant).is_file()}
    tables, gates = {}, {}
    for label, arrays in found.items():
        auc = masking.auc(arrays["accuracy"])
        tables[label] = comparisons.auc_table(auc[: len(keys)], keys, draws)
        gates[label] = floor.validity(auc, arrays["masks"], keys, margin=margin)
    statistics = []
    comparison = pd.DataFrame(columns=summary.COLUMNS)
    sensitivity = pd.DataFrame()
    records = _records(results, keys)
    if records is not None and MAIN in tables:
        accuracy = finetune.run_table(records)
        observers = _observers(results)
        simulated = profile.observers["source"] == "simulated"

        def table_at(m):
            return summary.paper_vs_run(accuracy, tables[MAIN], observers, simulated=simulated, margin=m,
                                        gate=floor.validity(masking.auc(found[MAIN]["accuracy"]), found[MAIN]["masks"],
                                                            keys, margin=m))

        comparison = table_at(margin)
        at = {factor: comparison if factor == 1.0 else table_at(factor * margin) for factor in MARGIN_FACTORS}
        sensitivity = pd.DataFrame(
            {f"{factor:g} × margin ({factor * margin:.4g})": {
                **{v: int((t["verdict"] == v).sum()) for v in verdicts.VERDICTS},
                "changed": int((t["verdict"].to_numpy() != comparison["verdict"].to_numpy()).sum())}
             for factor, t in at.items()}).T
        statistics += _accuracy_rows(accuracy, comparison)
        for _, row in comparison.iterrows():
            if not row["result"].startswith("fine-tuning accuracy"):
                statistics.append({"run": MAIN, "result": row["result"], "verdict": row["verdict"],
                                   **dict(zip(("estimate", "low", "high"), statistic(row[summary.EFFECT])))})
    others = {}
    for label, table in tables.items():
        if label == MAIN:
            continue
        # random maps: the verdict the rule gives without the gate (their own gate fails by design)
        rows = summary.masking_conclusions(table, margin=margin,
                                           gate=None if label == RANDOM_MAPS else gates[label]).set_index("result")
        others[label] = rows["verdict"]
        statistics += [{"run": label, "result": result, "verdict": row["verdict"],
                        **dict(zip(("estimate", "low", "high"), statistic(row[summary.EFFECT])))}
                       for result, row in rows.iterrows()]
    others = pd.DataFrame(others)
    frozen = next((label for label, variant in runs.items() if variant == READING), None)
    for column in (frozen, RANDOM_MAPS):
        if column in others and len(comparison):
            comparison[column] = comparison["result"].map(others[column]).fillna("")
    if RANDOM_MAPS in comparison:
        both = (comparison[RANDOM_MAPS] == verdicts.REPRODUCED) & (comparison["verdict"] == verdicts.REPRODUCED)
        comparison.loc[both, RANDOM_MAPS] = NOT_SPECIFIC
    return Conclusions(comparison, others.drop(columns=[frozen, RANDOM_MAPS], errors="ignore"),
                       pd.DataFrame(statistics, columns=["run", "result", "verdict", "estimate", "low", "high"]),
                       gates, sensitivity, margin)


def headline(drawn: Conclusions) -> str:
    """The summary's opening sentences, from the counts: how many claims each verdict got,
    which destination types the masking test can judge, and how many reproduced claims random
    maps reproduce as well."""
    table = drawn.comparison
    counts = table["verdict"].value_counts()
    n = {v: int(counts.get(v, 0)) for v in verdicts.VERDICTS}
    masking_rows = table[table["result"].str.startswith("Fig.")]
    gate = drawn.gates.get(MAIN)
    passed = [" ".join(t) for t, ok in gate["valid"].items() if ok] if gate is not None else []
    failed = [" ".join(t) for t, ok in gate["valid"].items() if not ok] if gate is not None else []
    judged = sum(n[v] for v in verdicts.JUDGED)
    checkable = len(table) - n[verdicts.NOT_COMPARABLE]
    text = (f"Of the {checkable} claims this run can check ({n[verdicts.NOT_COMPARABLE]} more not comparable: "
            f"simulated or missing observers), {judged} could be judged: {n[verdicts.REPRODUCED]} reproduced, "
            f"{n[verdicts.CONTRADICTED]} contradicted, {n[verdicts.INCONCLUSIVE]} inconclusive; "
            f"{n[verdicts.NOT_TESTABLE]} of the {len(masking_rows)} masking claims are not testable here")
    if failed:
        text += (f", because for {len(failed)} of the {len(gate)} destination types ({', '.join(failed)}) the models' "
                 "own masks do not hurt more than random masks and the randomised models' masks by a difference that "
                 "counts, so the masking test cannot tell their maps from noise")
    text += "."
    if passed:
        text += f" The masking test can judge {', '.join(passed)}."
    else:
        text += " The masking test can judge no destination type in this run."
    if RANDOM_MAPS in table:
        specific = int((table[RANDOM_MAPS] == NOT_SPECIFIC).sum())
        fine_tuning = int((table["result"].str.startswith("fine-tuning") & (table["verdict"] == verdicts.REPRODUCED)).sum())
        text += (f" Of the {n[verdicts.REPRODUCED]} reproduced, {fine_tuning} are fine-tuning accuracies (no masking), and "
                 f"{specific} masking claims are reproduced by random maps as well (not specific to relevance).")
    return text


def compare(reference: Conclusions, fresh: Conclusions) -> pd.DataFrame:
    """Two runs' conclusions side by side, one row per (run, result) of `reference`.

    A statistic agrees when the fresh estimate lies within the reference's 95 % interval of
    it: the spread the models' seeds give that statistic (for a fine-tuning row,
    `ACCURACY_SDS` standard deviations of the seeds' accuracies). Columns: ``run``,
    ``result``, ``reference``, ``fresh`` (verdicts; ``fresh`` empty where the fresh run lacks
    the row), ``verdict agrees``, ``reference statistic``, ``fresh statistic``, ``within``
    (True, False, or None where the row has no statistic, its reference interval does not
    hold its own estimate, or the fresh run has no such row).
    """
    ref = reference.statistics.set_index(["run", "result"])
    new = fresh.statistics.set_index(["run", "result"])
    rows = []
    for (run, result), r in ref.iterrows():
        f = new.loc[(run, result)] if (run, result) in new.index else None
        within = None
        # an interval that does not hold its own estimate (partial eta squared's upper bound
        # can fall below it when F is small, see `verdicts.partial_eta_squared`) gives no tolerance
        if f is not None and not math.isnan(r["estimate"]) and r["low"] <= r["estimate"] <= r["high"]:
            within = bool(r["low"] - 1e-9 <= f["estimate"] <= r["high"] + 1e-9)
        rows.append({"run": run, "result": result, "reference": r["verdict"],
                     "fresh": "" if f is None else f["verdict"],
                     "verdict agrees": None if f is None else bool(f["verdict"] == r["verdict"]),
                     "reference statistic": _shown(r), "fresh statistic": "" if f is None else _shown(f, interval=False),
                     "within": within})
    return pd.DataFrame(rows)


def reproduced(table: pd.DataFrame) -> bool:
    """Whether a `compare` table reads as a reproduction: every compared verdict the same,
    every compared statistic within its reference interval, and at least one compared."""
    compared = table[table["verdict agrees"].notna()]
    return bool(len(compared)) and bool(compared["verdict agrees"].all()) and (compared["within"] != False).all()  # noqa: E712


def text_table(table: pd.DataFrame) -> str:
    """A `compare` table for a terminal: per masking run, one line per result with both
    verdicts and both statistics; ``=`` where they agree, ``x`` where not, ``.`` where the
    fresh run has no such row."""
    lines = []
    for run, rows in table.groupby("run", sort=False):
        lines.append(f"{run}:" + ("" if rows["verdict agrees"].notna().any() else " not in the fresh run"))
        if not rows["verdict agrees"].notna().any():
            continue
        lines.append(f"    {'result':72s} {'cache':>14s} {'fresh':>14s}  statistic: cache [95 % interval] -> fresh")
        for _, r in rows.iterrows():
            agrees = r["verdict agrees"]
            mark = "." if agrees is None else "=" if agrees and r["within"] is not False else "x"
            statistic = f"{r['reference statistic']} -> {r['fresh statistic']}" if r["reference statistic"] else ""
            lines.append(f"  {mark} {r['result'][:72]:72s} {r['reference']:>14s} {r['fresh'] or '-':>14s}  {statistic}")
    return "\n".join(lines)


def _shown(row, *, interval: bool = True) -> str:
    if math.isnan(row["estimate"]):
        return ""
    digits = 3 if abs(row["estimate"]) < 2 else 1
    text = f"{row['estimate']:.{digits}f}"
    return text + (f" [{row['low']:.{digits}f}, {row['high']:.{digits}f}]" if interval else "")

