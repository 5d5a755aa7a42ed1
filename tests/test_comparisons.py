import numpy as np

from facelrp.evaluate import comparisons
from facelrp.models.finetune import ModelKey
from facelrp.models.finetune import model_keys
from facelrp.profiles import load_profile


def test_relations_of_the_paper():
    a = ModelKey("imagenet", "gender", 0)
    assert comparisons.relation(a, a) == "same_model"
    assert comparisons.relation(a, ModelKey("imagenet", "gender", 3)) == "other_seed"
    assert comparisons.relation(a, ModelKey("imagenet", "identity", 0)) == "other_task"
    assert comparisons.relation(a, ModelKey("vggface", "gender", 0)) == "other_pretraining"
    assert comparisons.relation(a, ModelKey("vggface", "identity", 2)) == "other_both"


def test_bin_sizes_for_twenty_models():
    keys = model_keys(load_profile("demo"))
    counts = {name: 0 for name in comparisons.BINS}
    for a in keys:
        for b in keys:
            counts[comparisons.relation(a, b)] += 1
    # per destination: 1 same, 4 other seeds, 5 other task, 5 other pretraining, 5 both
    assert counts == {"same_model": 20, "other_seed": 80, "other_task": 100, "other_pretraining": 100, "other_both": 100}


def test_mean_by_bin():
    keys = [ModelKey("imagenet", "gender", 0), ModelKey("imagenet", "gender", 1), ModelKey("vggface", "gender", 0)]
    matrix = np.array([[1.0, 0.8, 0.2], [0.6, 1.0, 0.4], [0.3, 0.5, 1.0]])
    means = comparisons.mean_by_bin(matrix, keys)
    assert means["same_model"] == 1.0
    assert np.isclose(means["other_seed"], 0.7)
    assert np.isclose(means["other_pretraining"], np.mean([0.2, 0.4, 0.3, 0.5]))
    assert np.isnan(means["other_task"])
