import numpy as np
import pytest

from facelrp.data.datasets import caffe_preprocess
from facelrp.models import finetune, vgg
from facelrp.studies import probing

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


def test_cosine_schedule_starts_at_the_rate_and_halves_it_halfway():
    # one batch per epoch, so epoch k is Adam's step k: the first step is the same under
    # both schedules; at step 1 of 2 the cosine rate is half the rate, and Adam's step is
    # linear in its rate, so the second update is half the constant schedule's
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    feats = (rng.normal(0, 3, (3, 6))[labels] + rng.normal(0, 0.5, (60, 6))).astype(np.float32)
    train, val = np.arange(0, 60, 2), np.arange(1, 60, 2)
    run = lambda epochs, schedule: finetune.train_readout(  # noqa: E731
        feats, labels, 3, train, val, epochs=epochs, batch_size=64, learning_rate=1e-2, seed=0, schedule=schedule)[0][0]
    first = run(1, "constant")
    np.testing.assert_allclose(run(1, "cosine"), first, atol=1e-6)
    constant, cosine = run(2, "constant") - first, run(2, "cosine") - first
    assert np.abs(constant).max() > 1e-3
    np.testing.assert_allclose(cosine, 0.5 * constant, atol=1e-5)
    with pytest.raises(ValueError, match=r"schedule 'step' is not one of \['constant', 'cosine'\]"):
        run(1, "step")


def test_training_options_come_from_the_profile():
    from facelrp.profiles import load_profile

    demo = load_profile("demo").finetune
    options = finetune.training_options(demo)
    assert options == {"epochs": demo["epochs"], "batch_size": demo["batch_size"],
                       "learning_rate": demo["learning_rate"], "schedule": demo.get("schedule", "constant")}
    assert finetune.training_options({"epochs": 1, "batch_size": 2, "learning_rate": 0.1})["schedule"] == "constant"


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
    table = probing.layer_probes(model, smoke_faces, train, val, max_features=100)
    assert list(table.layer) == [layer for layer in probing.DEPTH_LAYERS for _ in finetune.TASKS]
    width = table.drop_duplicates("layer").set_index("layer")
    # block3_pool of the tiny trunk is 4 x 4 x 16 = 256 values, pooled 2 x 2 to 64 here
    assert width.loc["block3_pool", "features"] == 64 and width.loc["block3_pool", "pool"] == 2
    assert width.loc["fc2", "features"] == 16 and width.loc["fc2", "pool"] == 1
    acc = table.set_index(["layer", "task"])["accuracy"]
    assert acc["fc2", "identity"] == pytest.approx(1 / 12)  # constant features: one class for all
    assert acc["block3_pool", "identity"] > 3 / 12


def test_layer_probe_at_fc2_is_the_linear_probe_on_the_features(trunk, smoke_faces):
    train, val = finetune.split(smoke_faces, seed=0)
    table = probing.layer_probes(trunk, smoke_faces, train, val, layers=("fc2",), tasks=("gender",))
    labels, _ = finetune.task_labels(smoke_faces, "gender")
    expected = probing.linear_probe(finetune.trunk_features(trunk, smoke_faces), labels, train, val)
    assert table.accuracy.tolist() == pytest.approx([expected], abs=1e-9)


def test_feature_layer_follows_the_profiles_frozen_setting():
    from facelrp.profiles import load_profile

    assert finetune.feature_layer({"frozen": "convolutions"}) == "flatten"
    assert finetune.feature_layer({"frozen": "trunk"}) == finetune.feature_layer({}) == "fc2"
    # the paper's section 2.2 froze the convolutions only
    assert all(finetune.feature_layer(load_profile(p).finetune) == "flatten" for p in ("smoke", "demo", "paper"))
    with pytest.raises(ValueError, match=r"finetune.frozen is 'all'; expected one of \['convolutions', 'trunk'\]"):
        finetune.feature_layer({"frozen": "all"})


def test_flatten_features_and_the_hidden_layers_after_them(trunk, smoke_faces):
    subset = smoke_faces.subset(np.arange(5))
    flat = finetune.trunk_features(trunk, subset, layer="flatten")
    assert flat.shape == (5, trunk.get_layer("flatten").output_shape[-1])
    hidden = finetune.hidden_weights(trunk, "flatten")
    assert [k.shape for k, _ in hidden] == [(flat.shape[1], 16), (16, 16)]
    assert np.array_equal(hidden[1][0], trunk.get_layer("fc2").get_weights()[0])
    # the hidden layers on the flatten features give the trunk's own output (fc2)
    identity_readout = [np.eye(16, dtype=np.float32), np.zeros(16, np.float32)]
    through = finetune.head_logits(flat, [w for pair in hidden for w in pair] + identity_readout)
    assert np.allclose(through, finetune.trunk_features(trunk, subset), rtol=1e-4, atol=1e-4)
    assert finetune.hidden_weights(trunk, "fc2") == []
    with pytest.raises(ValueError, match="layer block5_conv1 after block4_pool is not a ReLU Dense layer"):
        finetune.hidden_weights(trunk, "block4_pool")


def test_training_with_hidden_layers_trains_them_from_the_given_start(trunk):
    rng = np.random.default_rng(0)
    width = trunk.get_layer("flatten").output_shape[-1]
    centres = rng.normal(0, 3, (3, width))
    labels = np.repeat(np.arange(3), 40)
    feats = np.maximum(centres[labels] + rng.normal(0, 0.5, (120, width)), 0).astype(np.float32)
    train, val = np.arange(0, 120, 2), np.arange(1, 120, 2)
    hidden = finetune.hidden_weights(trunk, "flatten")
    weights, history = finetune.train_readout(feats, labels, 3, train, val, epochs=25, learning_rate=1e-2,
                                              seed=0, hidden=hidden)
    assert [w.shape for w in weights] == [(width, 16), (16,), (16, 16), (16,), (16, 3), (3,)]
    assert not np.array_equal(weights[0], hidden[0][0])  # fc1 was trained
    logits = finetune.head_logits(feats[val], weights)
    assert history["validation_accuracy"] == pytest.approx(float((logits.argmax(1) == labels[val]).mean()))
    assert history["validation_accuracy"] > 0.9
    still, _ = finetune.train_readout(feats, labels, 3, train, val, epochs=1, learning_rate=0.0, seed=0, hidden=hidden)
    assert np.array_equal(still[0], hidden[0][0]) and np.array_equal(still[2], hidden[1][0])
    with pytest.raises(ValueError, match="hidden layer 0 takes"):
        finetune.train_readout(feats[:, :5], labels, 3, train, val, epochs=1, hidden=hidden)


def test_assembled_model_with_trained_hidden_layers_leaves_the_trunk_alone(trunk, smoke_faces, tmp_path):
    from facelrp.evaluate import masking

    rng = np.random.default_rng(1)
    before = [w.copy() for w in trunk.get_layer("fc1").get_weights()]
    hidden = finetune.hidden_weights(trunk, "flatten")
    weights = [w + rng.normal(0, 0.1, w.shape).astype(np.float32) for pair in hidden for w in pair]
    weights += [rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    model = finetune.assemble(trunk, weights, name="m")
    subset = smoke_faces.subset(np.arange(6))
    logits = model.predict(caffe_preprocess(subset.images), verbose=0)
    flat = finetune.trunk_features(trunk, subset, layer="flatten")
    assert np.allclose(logits, finetune.head_logits(flat, weights), rtol=1e-4, atol=1e-4)
    assert np.array_equal(model.get_layer("fc1").get_weights()[0], weights[0])
    assert np.array_equal(trunk.get_layer("fc1").get_weights()[0], before[0])
    # masking reads the same trained layers back from the model
    labels = logits.argmax(1)
    readout = masking.Readout.from_model(model, "m", "t", labels, layer="flatten")
    assert len(readout.hidden) == 2 and readout.accuracy(flat) == 1.0
    with pytest.raises(ValueError, match="no readout named 'predictions' after layer fc1"):
        masking.Readout.from_model(trunk, "t", "t", labels, layer="fc1")
    # the same weights read from the saved model, without building it
    model.save(tmp_path / "m.h5")
    from_file = masking.Readout.from_h5(tmp_path / "m.h5", "m", "t", labels, layer="flatten")
    assert len(from_file.hidden) == 2 and np.array_equal(from_file.logits(flat), readout.logits(flat))
    with pytest.raises(ValueError, match=r"m\.h5: model m has no layer 'fc9'"):
        masking.Readout.from_h5(tmp_path / "m.h5", "m", "t", labels, layer="fc9")


def test_features_of_another_layer_are_refused(tmp_path):
    from facelrp import store
    from facelrp.profiles import load_profile

    path = store.save_npz(tmp_path / "imagenet.npz", features=np.zeros((2, 3), np.float32), layer=np.array("fc2"))
    with pytest.raises(ValueError, match=r"imagenet.npz: features of layer fc2, but profile demo fine-tunes on flatten"):
        finetune.load_features(path, load_profile("demo"))
    store.save_npz(tmp_path / "ok.npz", features=np.ones((2, 3), np.float32), layer=np.array("flatten"))
    assert finetune.load_features(tmp_path / "ok.npz", load_profile("demo")).shape == (2, 3)
