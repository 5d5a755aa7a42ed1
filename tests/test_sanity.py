"""Sanity checks: the cascade re-initialises exactly the layers it claims; the similarity
measures behave at their ends; data randomisation shuffles only the training labels."""

import numpy as np
import pytest

from facelrp.explain import sanity
from facelrp.models import vgg


def test_cascade_is_cumulative_from_the_readout_to_the_first_block():
    assert list(sanity.CASCADE) == ["readout", "fc2", "fc1", "block5", "block4", "block3", "block2", "block1"]
    assert sanity.cascade_layers("readout") == ["predictions"]
    assert sanity.cascade_layers("fc1") == ["predictions", "fc2", "fc1"]
    everything = sanity.cascade_layers("block1")
    assert sorted(everything) == sorted(["predictions", "fc1", "fc2", *vgg.conv_names()])
    with pytest.raises(ValueError, match="block6"):
        sanity.cascade_layers("block6")


def test_reinitialise_changes_the_layers_it_names_and_no_others(tmp_path):
    from tensorflow import keras

    spec = vgg.TrunkSpec(width=0.0625, input_size=32, fc_width=16)
    keras.utils.set_random_seed(0)
    model = vgg.build_vgg16(spec, n_classes=3)
    for layer in model.layers:  # non-zero biases, so a bias reset to zeros shows
        if layer.weights:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, bias + 0.5])
    path = tmp_path / "m.h5"
    model.save(path)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers if layer.weights}
    changed = sanity.cascade_layers("block5")
    again = sanity.randomised_model(path, "block5", seed=3)
    for name, weights in before.items():
        after = again.get_layer(name).get_weights()
        if name in changed:
            assert not np.allclose(after[0], weights[0]), name
            assert np.all(after[1] == 0), name  # Keras' bias initialiser: zeros
            # drawn by the layer's own initialiser (Glorot uniform): within its bound
            receptive = np.prod(after[0].shape[:-2])  # 3 x 3 for a convolution, 1 for a dense layer
            fan_in, fan_out = receptive * after[0].shape[-2], receptive * after[0].shape[-1]
            assert np.abs(after[0]).max() <= np.sqrt(6 / (fan_in + fan_out)) + 1e-6, name
        else:
            assert all(np.array_equal(a, b) for a, b in zip(after, weights)), name
    # the same draw whether the cascade got there step by step or at once
    stepwise = sanity.randomised_model(path, None)
    for step in ["readout", "fc2", "fc1", "block5"]:
        sanity.reinitialise(stepwise, sanity.CASCADE[step], seed=3)
    for name in changed:
        assert np.array_equal(stepwise.get_layer(name).get_weights()[0], again.get_layer(name).get_weights()[0])


def test_similarity_is_one_for_identical_maps_and_near_zero_for_independent_ones():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 16, 16))
    same = sanity.map_similarity(a, a.copy())
    for name in sanity.METRICS:
        assert np.allclose(same[name], 1.0), name
    other = sanity.map_similarity(a, rng.normal(size=(4, 16, 16)))
    assert np.abs(other["pearson"]).max() < 0.25 and np.abs(other["spearman_abs"]).max() < 0.25
    flipped = sanity.map_similarity(a, -a)
    assert np.allclose(flipped["pearson"], -1) and np.allclose(flipped["spearman_abs"], 1)  # |R| ignores the sign
    with pytest.raises(ValueError, match="shapes"):
        sanity.map_similarity(a, a[:2])


def test_shuffled_readout_keeps_validation_labels_and_permutes_training_labels(monkeypatch):
    from facelrp.models import finetune

    seen = {}
    trained = [np.ones((3, 4), np.float32), np.zeros(4, np.float32)]

    def fake_train(features, labels, n_classes, train, val, **kwargs):
        seen["labels"], seen["hidden"] = labels, kwargs["hidden"]
        return trained, {"train_accuracy": 0.0}

    model = object()
    monkeypatch.setattr(finetune, "train_readout", fake_train)
    monkeypatch.setattr(finetune, "set_trained_layers", lambda m, w: seen.update(model=m, weights=w))
    monkeypatch.setattr(sanity, "randomised_model", lambda path, step: model)
    labels = np.arange(20) % 4
    train, val = np.arange(15), np.arange(15, 20)
    hidden = [[np.eye(3, dtype=np.float32), np.zeros(3, np.float32)]]
    out, _ = sanity.shuffled_readout_model("m.h5", np.zeros((20, 3)), labels, 4, train, val,
                                           {"epochs": 1, "batch_size": 4, "learning_rate": 0.1}, hidden=hidden, seed=0)
    # the retrained layers (from the trunk's hidden weights) go into the saved model
    assert out is model and seen["model"] is model and seen["weights"] is trained and seen["hidden"] is hidden
    shuffled = seen["labels"]
    assert np.array_equal(shuffled[val], labels[val])
    assert sorted(shuffled[train]) == sorted(labels[train]) and not np.array_equal(shuffled[train], labels[train])


def _checks(values: dict, n_faces=40, spread=0.05, seed=0):
    """Two models' sanity arrays whose Spearman similarity per face is `values[(method,
    step)]` plus noise of `spread` (steps: the last cascade step and shuffled labels)."""
    rng = np.random.default_rng(seed)
    methods, steps, metrics = ["composite", "gradient"], ["readout", "block1", "shuffled labels"], ["spearman_abs"]
    checks = {}
    for model in ("a", "b"):
        similarity = np.full((2, 3, 1, n_faces), np.nan)
        for (method, step), value in values.items():
            similarity[methods.index(method), steps.index(step), 0] = value + rng.normal(0, spread, n_faces)
        checks[model] = {"similarity": similarity, "methods": np.array(methods), "steps": np.array(steps),
                         "metrics": np.array(metrics)}
    return checks


def _reading(composite, gradient, composite_shuffled, gradient_shuffled, spread=0.05):
    from facelrp.evaluate import randomisation

    checks = _checks({("composite", "block1"): composite, ("gradient", "block1"): gradient,
                      ("composite", "shuffled labels"): composite_shuffled,
                      ("gradient", "shuffled labels"): gradient_shuffled}, spread=spread)
    found = [randomisation.similarity_over_faces(checks, m, s) for s, m in (
        ("block1", "composite"), ("block1", "gradient"), ("shuffled labels", "composite"), ("shuffled labels", "gradient"))]
    return randomisation.reading(*found), found


def test_the_chapter_s_reading_follows_the_similarities_and_their_interval_over_faces():
    from facelrp.evaluate import randomisation

    insensitive, _ = _reading(0.93, 0.12, 0.95, 0.2)
    assert insensitive["cascade"].startswith("the composite's maps still rank the pixels much as before (Spearman "
                                             "correlation of |R| 0.9")
    assert "the gradient's no longer rank the pixels alike (0.1" in insensitive["cascade"]
    assert insensitive["sixt"].startswith("This run's composite maps behave so")
    assert "bound to carry over" in insensitive["consequence"]
    assert insensitive["passes"].startswith("The composite's maps fail the sanity check")
    sensitive, _ = _reading(0.2, 0.5, 0.2, 0.4)
    assert "the composite's maps no longer rank the pixels alike" in sensitive["cascade"]
    assert "the gradient's rank the pixels only partly alike (0.5" in sensitive["cascade"]
    assert sensitive["sixt"].startswith("This run's composite maps do not behave so")
    assert "no reason to discount" in sensitive["consequence"] and sensitive["passes"].startswith("The composite's maps pass")
    # the old reversal: a cascade just below 0.7 on average, its interval across it, and a
    # shuffled-label check that leaves the maps unchanged: the maps do not pass
    near, found = _reading(0.699, 0.30, 0.84, 0.59, spread=0.1)
    assert found[0]["low"] < 0.7 < found[0]["high"] and found[0]["state"] == randomisation.OPEN
    assert found[2]["state"] == randomisation.KEPT
    assert "cannot be told apart from the threshold" in near["cascade"]
    assert near["sixt"].startswith("Whether this run's composite maps behave so it cannot tell")
    assert near["passes"].startswith("The composite's maps fail the sanity check in this run: label shuffling left them")
    assert "bound to carry over" in near["consequence"]
    # an interval wholly between the thresholds is 'partly changed'; across both open
    assert _reading(0.5, 0.5, 0.5, 0.5, spread=0.02)[1][0]["state"] == randomisation.PARTLY
    assert _reading(0.3, 0.5, 0.5, 0.5, spread=0.1)[1][0]["state"] == randomisation.OPEN
    assert [randomisation.shown(v) for v in (0.7, 0.3, 0.6951, 0.70004, 0.25)] == ["0.70", "0.30", "0.695", "0.70004", "0.25"]
