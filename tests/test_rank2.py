"""Rank-2 choices, the observer CSV loader, the t-test and the simulated observers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from facelrp.data import faces
from facelrp.data.datasets import DatasetError
from facelrp.evaluate import rank2


def test_rank2_is_the_runner_up_where_the_target_wins():
    logits = np.array([
        [5.0, 1.0, 3.0, 0.0],  # target 0 wins, runner-up 2
        [1.0, 4.0, 0.0, 2.0],  # target 1 wins, runner-up 3
        [9.0, 0.0, 1.0, 0.0],  # target 2 loses to 0: no rank-2 choice
    ])
    assert list(rank2.rank2_choices(logits, np.array([0, 1, 2]))) == [2, 3, -1]


def test_a_side_takes_the_majority_then_the_larger_summed_logit():
    targets = np.array([0, 1])
    seeds = np.zeros((5, 2, 4))
    seeds[:, 0, 0] = 10  # target 0 always wins
    seeds[:3, 0, 2] = 5  # three seeds pick 2
    seeds[3:, 0, 3] = 5  # two pick 3
    seeds[:, 1, 1] = 10
    seeds[0, 1, 0] = 6  # one seed each for 0 and 2 (tie), 0 with the larger logit
    seeds[1, 1, 2] = 5
    seeds[2:, 1, 1] = -1  # the other three seeds get target 1 wrong
    seeds[2:, 1, 3] = 9
    side = rank2.side_choices(seeds, targets)
    assert side.loc[0, "choice"] == 2 and side.loc[0, "agreement"] == pytest.approx(0.6)
    assert side.loc[1, "choice"] == 0 and side.loc[1, "valid_seeds"] == 2 and side.loc[1, "agreement"] == 0.5


def test_trials_keep_the_targets_where_both_sides_chose_differently():
    imagenet = pd.DataFrame({"choice": [3, 4, -1, 7]}, index=pd.Index([0, 1, 2, 5], name="target"))
    vggface = pd.DataFrame({"choice": [3, 6, 8, 9]}, index=pd.Index([0, 1, 2, 5], name="target"))
    trials = rank2.trial_list(imagenet, vggface)
    assert trials.to_dict("list") == {"target": [1, 5], "imagenet_choice": [4, 7], "vggface_choice": [6, 9]}


def _write(tmp_path, text):
    path = tmp_path / "choices.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("observer,target,option_a,option_b\nx,1,2,3\n", "missing column"),
    ("observer,target,option_a,option_b,chosen\n", "no trials"),
    ("observer,target,option_a,option_b,chosen\nx,1,2,3,2\ny,1,2,,2\n", "row 3: column 'option_b' is empty"),
    ("observer,target,option_a,option_b,chosen\nx,1,2,three,2\n", "row 2: option_b = 'three' is not an identity"),
    ("observer,target,option_a,option_b,chosen\nx,1,2,3,4\n", "row 2: chosen 4 is neither"),
    ("observer,target,option_a,option_b,chosen\nx,1,2,2,2\n", "the same face"),
    ("observer,target,option_a,option_b,chosen\nx,1,2,3,2\nx,1,3,2,3\n", "judged target 1 twice"),
    ("", "empty"),
])
def test_bad_choice_files_are_named_with_row_and_fix(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(DatasetError, match=message) as error:
        rank2.read_choices(path)
    assert str(path) in str(error.value)


def test_a_missing_choice_file_says_where_to_put_it(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        rank2.read_choices(tmp_path / "nope.csv")


def test_choices_off_the_trial_list_are_refused(tmp_path):
    trials = pd.DataFrame({"target": [1], "imagenet_choice": [2], "vggface_choice": [3]})
    choices = rank2.read_choices(_write(tmp_path, "observer,target,option_a,option_b,chosen\nx,1,2,4,2\n"))
    with pytest.raises(DatasetError, match="not this run's rank-2 pair"):
        rank2.score_choices(choices, trials)
    path = _write(tmp_path, "observer,target,option_a,option_b,chosen\nx,1,2,3,2\ny,7,2,3,2\n")
    with pytest.raises(DatasetError, match=r"choices.csv, row 3: observer 'y', target 7: is not a target of this run's "
                                           r"trial list; were the choices made on another run's trial list\? Run the "
                                           r"observers on the trials.csv this run wrote"):
        rank2.score_choices(rank2.read_choices(path), trials, path=path)


def test_summary_matches_a_one_sample_t_test_against_50_percent(tmp_path):
    trials = pd.DataFrame({"target": [1, 2, 3, 4], "imagenet_choice": [5, 6, 7, 8], "vggface_choice": [9, 10, 11, 12]})
    rng = np.random.default_rng(0)
    rows = []
    for k in range(12):
        for t, i, v in trials.itertuples(index=False):
            rows.append((f"o{k}", t, i, v, v if rng.random() < 0.6 else i))
    text = "observer,target,option_a,option_b,chosen\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    scored = rank2.score_choices(rank2.read_choices(_write(tmp_path, text)), trials)
    summary = rank2.observer_summary(scored)
    per_observer = [100 * np.mean([r[4] == r[3] for r in rows if r[0] == f"o{k}"]) for k in range(12)]
    expected = sps.ttest_1samp(per_observer, 50.0)
    assert summary["n"] == 12 and summary["mean"] == pytest.approx(np.mean(per_observer))
    assert summary["t"] == pytest.approx(expected.statistic) and summary["p"] == pytest.approx(expected.pvalue)
    assert summary["sem"] == pytest.approx(sps.sem(per_observer))
    assert list(summary["per_target"]) == sorted(summary["per_target"])


def _planted(n=30, seed=0):
    """Targets, an option that shares the target's internal features (VGGFace side) and
    one that shares its external features (ImageNet side)."""
    rng = np.random.default_rng(seed)
    genders = rng.integers(0, 2, 3 * n)
    params = faces.sample_identities(genders, rng)
    internal = [faces.PARAM_NAMES.index(p) for p in rank2.INTERNAL_PARAMS]
    external = [faces.PARAM_NAMES.index(p) for p in rank2.EXTERNAL_PARAMS]
    for t in range(n):
        same_inside, same_outside = n + t, 2 * n + t
        params[same_inside, internal] = params[t, internal]
        params[same_outside, external] = params[t, external]
    trials = pd.DataFrame({"target": np.arange(n), "imagenet_choice": 2 * n + np.arange(n),
                           "vggface_choice": n + np.arange(n)})
    return params, trials


@pytest.mark.parametrize("weight, direction", [(0.85, 1), (0.15, -1)])
def test_the_analysis_recovers_a_planted_preference(weight, direction):
    params, trials = _planted()
    choices = rank2.simulate_observers(params, trials, n_observers=20, internal_weight=weight, weight_sd=0.05, seed=1)
    summary = rank2.observer_summary(rank2.score_choices(choices, trials))
    assert direction * (summary["mean"] - 50) > 20 and summary["p"] < 1e-6


def test_simulated_observers_write_the_csv_format_and_are_seeded(tmp_path):
    params, trials = _planted(n=5)
    a = rank2.simulate_observers(params, trials, n_observers=3, seed=2)
    assert list(a.columns[:5]) == list(rank2.CHOICE_COLUMNS) and len(a) == 15
    a.to_csv(tmp_path / "c.csv", index=False)
    back = rank2.read_choices(tmp_path / "c.csv")
    assert (back.chosen == a.chosen).all()
    assert a.equals(rank2.simulate_observers(params, trials, n_observers=3, seed=2))
