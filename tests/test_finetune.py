import numpy as np
import pytest

from facelrp import finetune, vgg
from facelrp.datasets import caffe_preprocess

TINY = vgg.TrunkSpec(width=1 / 16, input_size=32, fc_width=16)


@pytest.fixture(scope="module")
def trunk():
    return vgg.trunk_of(vgg.build_vgg16(TINY))


def test_task_labels(smoke_faces):
    labels, n = finetune.task_labels(smoke_faces, "identity")
    assert n == 12 and np.array_equal(labels, smoke_faces.identity)
    labels, n = finetune.task_labels(smoke_faces, "gender")
    assert n == 2 and set(labels.tolist()) == {0, 1}
    with pytest.raises(ValueError, match=r"task 'age' is not one of \['gender', 'identity'\]"):
        finetune.task_labels(smoke_faces, "age")


def test_split_is_80_20_and_keeps_every_identity_on_both_sides(smoke_faces):
    train, val = finetune.split(smoke_faces, seed=0)
    assert len(train) == 144 and len(val) == 36
    assert not set(train) & set(val) and len(set(train) | set(val)) == 180
    assert (np.bincount(smoke_faces.identity[val], minlength=12) == 3).all()
    again, _ = finetune.split(smoke_faces, seed=0)
    assert np.array_equal(train, again)


def test_features_equal_the_trunk_output(trunk, smoke_faces):
    feats = finetune.trunk_features(trunk, smoke_faces.subset(np.arange(5)))
    direct = trunk.predict(caffe_preprocess(smoke_faces.images[:5]), verbose=0)
    assert feats.shape == (5, 16) and np.allclose(feats, direct)


def test_readout_learns_separable_classes_and_seed_sets_the_init():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 8))
    labels = np.repeat(np.arange(4), 50)
    feats = (centres[labels] + rng.normal(0, 0.5, (200, 8))).astype(np.float32)
    train, val = np.arange(0, 200, 2), np.arange(1, 200, 2)
    weights, history = finetune.train_readout(feats, labels, 4, train, val, epochs=25, learning_rate=1e-2, seed=1)
    assert weights[0].shape == (8, 4) and weights[1].shape == (4,)
    assert history["validation_accuracy"] > 0.95 and len(history["val_accuracy"]) == 25
    same, _ = finetune.train_readout(feats, labels, 4, train, val, epochs=1, seed=1)
    again, _ = finetune.train_readout(feats, labels, 4, train, val, epochs=1, seed=1)
    other, _ = finetune.train_readout(feats, labels, 4, train, val, epochs=1, seed=2)
    assert np.array_equal(same[0], again[0]) and not np.array_equal(same[0], other[0])


def test_assembled_model_equals_readout_on_features(trunk, smoke_faces):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    model = finetune.assemble(trunk, weights)
    subset = smoke_faces.subset(np.arange(6))
    logits = model.predict(caffe_preprocess(subset.images), verbose=0)
    feats = finetune.trunk_features(trunk, subset)
    assert np.allclose(logits, feats @ weights[0] + weights[1], rtol=1e-5, atol=1e-5)
    assert model.layers[-1].name == "predictions" and model.layers[-1].activation.__name__ == "linear"


def test_twenty_model_keys_in_book_order():
    from facelrp.profiles import load_profile

    keys = finetune.model_keys(load_profile("demo"))
    assert len(keys) == 20 and len(set(keys)) == 20
    assert keys[0].name == "imagenet-gender-s0" and keys[-1].name == "vggface-identity-s4"
    assert finetune.ModelKey.parse("vggface-gender-s3") == finetune.ModelKey("vggface", "gender", 3)


def test_layer_probes_find_what_a_later_layer_throws_away(smoke_faces):
    """A trunk whose fc2 outputs nothing: the probe falls to chance there, not before."""
    model = vgg.trunk_of(vgg.build_vgg16(TINY))
    fc2 = model.get_layer("fc2")
    fc2.set_weights([np.zeros_like(w) for w in fc2.get_weights()])
    train, val = finetune.split(smoke_faces, seed=0)
    table = finetune.layer_probes(model, smoke_faces, train, val, max_features=100)
    assert list(table.layer) == [layer for layer in finetune.DEPTH_LAYERS for _ in finetune.TASKS]
    width = table.drop_duplicates("layer").set_index("layer")
    # block3_pool of the tiny trunk is 4 x 4 x 16 = 256 values, pooled 2 x 2 to 64 here
    assert width.loc["block3_pool", "features"] == 64 and width.loc["block3_pool", "pool"] == 2
    assert width.loc["fc2", "features"] == 16 and width.loc["fc2", "pool"] == 1
    acc = table.set_index(["layer", "task"])["accuracy"]
    assert acc["fc2", "identity"] == pytest.approx(1 / 12)  # constant features: one class for all
    assert acc["block3_pool", "identity"] > 3 / 12


def test_layer_probe_at_fc2_is_the_linear_probe_on_the_features(trunk, smoke_faces):
    train, val = finetune.split(smoke_faces, seed=0)
    table = finetune.layer_probes(trunk, smoke_faces, train, val, layers=("fc2",), tasks=("gender",))
    labels, _ = finetune.task_labels(smoke_faces, "gender")
    expected = finetune.linear_probe(finetune.trunk_features(trunk, smoke_faces), labels, train, val)
    assert table.accuracy.tolist() == pytest.approx([expected], abs=1e-9)
