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

from ..pipeline import READING
from . import comparisons, masking, rank2, summary

__all__ = ["MAIN", "RUNS", "Conclusions", "draw", "statistic", "compare", "reproduced", "text_table", "ACCURACY_SDS"]

#: The label of the paper's own masking run (mean-colour fill, the LRP composite).
MAIN = "mean colour"
#: label -> masking run (`facelrp.artifacts.Results.masking` variant) whose verdicts the
#: summary chapter shows: the paper's run, the frozen-trunk reading, two other fills and
#: three other attribution methods (the chapter "How robust are the conclusions").
RUNS = {MAIN: None, "frozen: trunk": READING, "blur": "blur", "ROAD": "road", "LRP-epsilon": "method-epsilon",
        "preset B": "method-composite_b", "gradient x input": "method-gradient_x_input"}
#: A fine-tuning row's tolerance: its lowest accuracy may move by this many standard
#: deviations of the seeds' accuracies in the reference run (about a 95 % band for one seed).
ACCURACY_SDS = 2.0

# The summary module writes each effect with `verdicts.interval_text` ("ΔAUC = +0.031
# [+0.012, +0.050]"), partial eta squared as "partial η² = 0.41 [0.10, 0.60]" and the
# observers as "61.2 % [57.0, 65.3]"; the numbers are read back from that text because
# `summary` is part of the digest stage's code (`facelrp.codehash`), and a numeric column
# there would re-key the shipped digests. The round trip is tested (tests/test_conclusions.py).
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
    others : the masking verdicts under each other run of `RUNS` it has
        (`robustness.verdict_table`), indexed by result
    statistics : long table, one row per (run, result): ``run``, ``result``, ``verdict``,
        ``estimate``, ``low``, ``high`` (the statistic and its 95 % interval; NaN where the
        row has none)
    """

    comparison: pd.DataFrame
    others: pd.DataFrame
    statistics: pd.DataFrame


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
    return rank2.observer_summary(rank2.score_choices(rank2.read_choices(choices), table))


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


def draw(profile, results, *, n_draws: int = 100, sample_seed: int = 0, runs: dict | None = None) -> Conclusions:
    """The conclusions of the run under `results` (`facelrp.artifacts.Results`; a cache
    folder has the same layout), from whichever of its masking runs are there.

    Parameters
    ----------
    n_draws, sample_seed : the comparison bins' sampling (`comparisons.sample_sources`), as
        the summary chapter's parameters
    runs : label -> masking run, default `RUNS`
    """
    from ..models import finetune
    from ..store import load_npz

    runs = RUNS if runs is None else runs
    keys = finetune.model_keys(profile)
    draws = comparisons.sample_sources(keys, n_draws=n_draws, seed=sample_seed)
    curves = {label: load_npz(results.masking(variant))["accuracy"]
              for label, variant in runs.items() if results.masking(variant).is_file()}
    statistics = []
    comparison = pd.DataFrame(columns=summary.COLUMNS)
    records = _records(results, keys)
    if records is not None and MAIN in curves:
        accuracy = finetune.run_table(records)
        table = comparisons.auc_table(masking.auc(curves[MAIN][: len(keys)]), keys, draws)
        observers = _observers(results)
        comparison = summary.paper_vs_run(accuracy, table, observers, simulated=profile.observers["source"] == "simulated")
        statistics += _accuracy_rows(accuracy, comparison)
        for _, row in comparison.iterrows():
            if not row["result"].startswith("fine-tuning accuracy"):
                statistics.append({"run": MAIN, "result": row["result"], "verdict": row["verdict"],
                                   **dict(zip(("estimate", "low", "high"), statistic(row["effect (95 % CI)"])))})
    others = {}
    for label, accuracy in curves.items():
        if label == MAIN:
            continue
        rows = summary.masking_conclusions(
            comparisons.auc_table(masking.auc(accuracy[: len(keys)]), keys, draws)).set_index("result")
        others[label] = rows["verdict"]
        statistics += [{"run": label, "result": result, "verdict": row["verdict"],
                        **dict(zip(("estimate", "low", "high"), statistic(row["effect (95 % CI)"])))}
                       for result, row in rows.iterrows()]
    others = pd.DataFrame(others)
    frozen = next((label for label, variant in runs.items() if variant == READING), None)
    if frozen in others and len(comparison):
        comparison[frozen] = comparison["result"].map(others[frozen]).fillna("")
    return Conclusions(comparison, others.drop(columns=[frozen], errors="ignore"),
                       pd.DataFrame(statistics, columns=["run", "result", "verdict", "estimate", "low", "high"]))


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

