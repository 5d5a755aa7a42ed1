"""Two runs' conclusions side by side (facelrp.evaluate.conclusions): the statistics read back
from the summary table's text, and the rule that makes a rerun a reproduction."""

import math

import pandas as pd
import pytest

from facelrp.evaluate import conclusions, verdicts


def test_statistic_reads_back_what_the_summary_table_writes():
    d = {"difference": 0.03149, "low": -0.00049, "high": 0.0635}
    assert conclusions.statistic(verdicts.interval_text(d)) == (0.031, -0.0, 0.064)
    assert conclusions.statistic("partial η² = 0.41 [0.10, 0.60]") == (0.41, 0.10, 0.60)
    assert conclusions.statistic("53.6 % [52.1, 55.0]") == (53.6, 52.1, 55.0)
    assert all(math.isnan(v) for v in conclusions.statistic(""))


def _run(rows):
    """A `Conclusions` holding only the statistics table the comparison reads."""
    table = pd.DataFrame(rows, columns=["run", "result", "verdict", "estimate", "low", "high"])
    return conclusions.Conclusions(pd.DataFrame(), pd.DataFrame(), table)


REFERENCE = _run([("mean colour", "a", "reproduced", 0.10, 0.08, 0.12),
                  ("mean colour", "b", "inconclusive", 0.01, -0.01, 0.03),
                  ("mean colour", "c", "not comparable", math.nan, math.nan, math.nan),
                  ("blur", "a", "reproduced", 0.09, 0.07, 0.11)])


def test_a_rerun_with_the_same_verdicts_and_statistics_within_the_intervals_is_a_reproduction():
    fresh = _run([("mean colour", "a", "reproduced", 0.115, 0.1, 0.13), ("mean colour", "b", "inconclusive", -0.009, 0, 0),
                  ("mean colour", "c", "not comparable", math.nan, math.nan, math.nan)])
    table = conclusions.compare(REFERENCE, fresh)
    assert list(table["within"]) == [True, True, None, None]
    assert list(table["verdict agrees"]) == [True, True, True, None]  # blur: not in the fresh run
    assert conclusions.reproduced(table)
    assert "blur: not in the fresh run" in conclusions.text_table(table)


@pytest.mark.parametrize("change, column", [({"verdict": "contradicted"}, "verdict agrees"), ({"estimate": 0.125}, "within")])
def test_a_turned_verdict_or_a_statistic_outside_its_interval_is_not(change, column):
    row = {"run": "mean colour", "result": "a", "verdict": "reproduced", "estimate": 0.1, "low": 0.0, "high": 0.2, **change}
    table = conclusions.compare(REFERENCE, _run([tuple(row.values())]))
    assert table.loc[0, column] is False and not conclusions.reproduced(table)
    assert "  x a" in conclusions.text_table(table)


def test_an_interval_that_misses_its_own_estimate_gives_no_tolerance():
    reference = _run([("mean colour", "η", "reproduced", 0.02, 0.0, 0.0)])  # as partial η² can come out
    table = conclusions.compare(reference, _run([("mean colour", "η", "reproduced", 0.3, 0.1, 0.4)]))
    assert table.loc[0, "within"] is None and conclusions.reproduced(table)


def test_nothing_compared_is_no_reproduction():
    assert not conclusions.reproduced(conclusions.compare(REFERENCE, _run([])))


def test_the_demo_caches_conclusions_are_gated_counted_and_marked_from_the_run():
    """The summary chapter's conclusions of the shipped demo cache: a masking claim is judged
    only on destination types whose own masks pass the gate, the counts in the opening
    sentence are the table's, and the random maps' column marks exactly the claims both
    reproduce."""
    import re

    from facelrp import cache
    from facelrp.artifacts import Results
    from facelrp.profiles import load_profile

    profile = load_profile("demo")
    drawn = conclusions.draw(profile, Results(profile, cache.cache_dir("demo").parent))
    table = drawn.comparison.set_index("result")
    gate = drawn.gates[conclusions.MAIN]
    assert len(gate) == 4 and drawn.margin == profile.verdicts["margin"]
    for (pretraining, task), valid in gate["valid"].items():
        rows = table[table.index.str.startswith(f"Fig. 6, {pretraining} {task}:")]
        assert len(rows) == 5 and ((rows["verdict"] == verdicts.NOT_TESTABLE) == (not valid)).all()
    counts = table["verdict"].value_counts()
    numbers = [int(n) for n in re.findall(r"\d+", conclusions.headline(drawn))]
    assert numbers[:6] == [len(table) - counts.get(verdicts.NOT_COMPARABLE, 0), counts.get(verdicts.NOT_COMPARABLE, 0), sum(counts.get(v, 0) for v in verdicts.JUDGED), counts.get(verdicts.REPRODUCED, 0),
                           counts.get(verdicts.CONTRADICTED, 0), counts.get(verdicts.INCONCLUSIVE, 0)]
    marked = table[conclusions.RANDOM_MAPS] == conclusions.NOT_SPECIFIC
    assert (table.loc[marked, "verdict"] == verdicts.REPRODUCED).all()
    assert not ((table[conclusions.RANDOM_MAPS] == verdicts.REPRODUCED) & (table["verdict"] == verdicts.REPRODUCED)).any()
    sensitivity = drawn.sensitivity
    assert len(sensitivity) == 3 and sensitivity["changed"].iloc[1] == 0
    assert (sensitivity[list(verdicts.VERDICTS)].sum(axis=1) == len(table)).all()


def test_the_conclusions_command_prints_the_verdicts_of_the_shipped_cache(capsys, monkeypatch):
    from pathlib import Path

    from facelrp.__main__ import main

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(["conclusions", "--profile", "smoke", "--results", "cache"]) == 0
    out = capsys.readouterr().out
    assert "validity gate:" in out and "the verdicts at other margins:" in out
    assert "could be judged" in out and "Fig. 6, vggface identity: effect of mask source" in out
    with pytest.raises(SystemExit, match="holds no model records or masking curves"):
        main(["conclusions", "--profile", "smoke", "--results", "/nonexistent-folder"])
