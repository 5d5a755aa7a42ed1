"""The paper-vs-this-run table: its verdicts follow the statistics."""

import numpy as np
import pandas as pd

from facelrp.evaluate import comparisons, summary
from facelrp.models import finetune
from facelrp.profiles import load_profile

KEYS = finetune.model_keys(load_profile("demo"))


def _inputs(vggface_effect, low_model=None):
    rng = np.random.default_rng(0)
    auc = rng.normal(0.5, 0.02, (20, 20))
    for j, dest in enumerate(KEYS):
        auc[:, j] += vggface_effect * (dest.source == "vggface")
    table = comparisons.auc_table(auc, KEYS, comparisons.sample_sources(KEYS, n_draws=20, seed=0))
    accuracy = pd.DataFrame({"pretraining": [k.source for k in KEYS], "task": [k.task for k in KEYS],
                             "validation": [0.99] * 20})
    if low_model is not None:
        accuracy.loc[low_model, "validation"] = 0.95
    return accuracy, table


def _verdict(frame, result):
    return frame.set_index("result").loc[result, "conclusion holds"]


def test_verdicts_follow_the_statistics_and_the_accuracy_bar():
    accuracy, table = _inputs(vggface_effect=0.1, low_model=0)
    observers = {"mean": 53.0, "sem": 0.5, "t": 6.0, "dof": 45.0, "p": 1e-6}
    frame = summary.paper_vs_run(accuracy, table, observers, simulated=True)
    assert _verdict(frame, "Fig. 5, identity: effect of pretraining on AUC") == "yes"
    assert _verdict(frame, f"fine-tuning accuracy, {KEYS[0].source} {KEYS[0].task} (lowest of 5)") == "no"
    assert _verdict(frame, "fine-tuning accuracy, vggface identity (lowest of 5)") == "yes"
    assert _verdict(frame, "observers choosing the VGGFace-side face (simulated here)") == "not comparable"
    assert frame.set_index("result").loc["Fig. 5, gender: effect of pretraining on AUC", "this run"].startswith("F(1, 16) = ")

    accuracy, table = _inputs(vggface_effect=0.0)
    frame = summary.paper_vs_run(accuracy, table, observers, simulated=False)
    assert _verdict(frame, "Fig. 5, identity: effect of pretraining on AUC") == "no"
    assert _verdict(frame, "observers choosing the VGGFace-side face") == "yes"
    assert len(frame) == 4 + 4 + 4 * 4 + 1
