import json
import os
import shutil

import h5py
import numpy as np
import pytest

from facelrp.models import pretrain, vgg
from facelrp.models.vgg import TrunkSpec, WeightsError

TINY = TrunkSpec(width=1 / 16, input_size=32, fc_width=16)


@pytest.fixture(scope="module")
def keras():
    from tensorflow import keras

    return keras


def _random_input(n=3, spec=TINY, seed=0):
    return np.random.default_rng(seed).normal(0, 40, (n, spec.input_size, spec.input_size, 3)).astype(np.float32)


def test_topology_and_names():
    model = vgg.build_vgg16(TrunkSpec(width=0.25, input_size=64, fc_width=1024), n_classes=7)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    pools = [layer.name for layer in model.layers if layer.__class__.__name__ == "MaxPooling2D"]
    assert [c.name for c in convs] == vgg.conv_names()
    assert len(convs) == 13 and pools == [f"block{b}_pool" for b in range(1, 6)]
    assert [c.filters for c in convs] == [16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 128, 128, 128]
    assert all(c.activation.__name__ == "relu" for c in convs)
    assert model.get_layer("fc1").units == model.get_layer("fc2").units == 1024
    assert model.get_layer("predictions").activation.__name__ == "linear"
    assert model.output_shape == (None, 7)
    assert model.get_layer("flatten").output_shape == (None, 2 * 2 * 128)


def test_block5_width_widens_block5_and_flatten_only():
    spec = TrunkSpec(width=0.25, input_size=64, fc_width=1024, block5_width=1.0)
    assert spec.channels() == [16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 512, 512, 512]
    assert spec.flat_features == 2 * 2 * 512
    model = vgg.build_vgg16(spec)
    assert model.get_layer("flatten").output_shape == (None, 2048)
    assert model.get_layer("fc1").kernel.shape == (2048, 1024)
    # the same network as block5_width=None at width 1/4, apart from block 5 and fc1
    plain = TrunkSpec(width=0.25, input_size=64, fc_width=1024)
    assert spec.channels()[:10] == plain.channels()[:10]
    assert TrunkSpec(width=0.25, block5_width=0.25).channels() == TrunkSpec(width=0.25).channels()


def test_spec_dict_writes_block5_width_only_when_set():
    assert vgg.spec_dict(TrunkSpec(width=0.25, input_size=64, fc_width=1024)) == {
        "width": 0.25, "input_size": 64, "fc_width": 1024}
    spec = TrunkSpec(width=0.25, input_size=64, fc_width=1024, block5_width=1.0)
    assert TrunkSpec(**vgg.spec_dict(spec)) == spec and vgg.spec_dict(spec)["block5_width"] == 1.0


@pytest.mark.parametrize("bad", [0, 1.5, -0.25])
def test_block5_width_outside_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match="block5_width must be in"):
        TrunkSpec(width=0.25, block5_width=bad)


def test_full_size_spec_matches_vgg16():
    spec = TrunkSpec()
    assert spec.channels()[:2] == [64, 64] and spec.channels()[-1] == 512
    assert spec.flat_features == 25088


@pytest.mark.parametrize("kwargs, message", [
    ({"input_size": 50}, "input_size must be a multiple of 32"),
    ({"width": 0}, r"width must be in \(0, 1\]"),
])
def test_spec_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrunkSpec(**kwargs)


def test_folded_batchnorm_gives_the_same_outputs(keras):
    model = vgg.build_vgg16(TINY, batch_norm=True, dropout=0.5, n_classes=5)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.5, n), rng.normal(0, 2, n), rng.uniform(0.5, 3, n)])
    folded = vgg.fold_batchnorm(model, TINY)
    x = _random_input()
    expected = model(x, training=False).numpy()
    got = folded.predict(x, verbose=0)
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-4)
    kinds = {layer.__class__.__name__ for layer in folded.layers}
    assert kinds == {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"}


def _ordered_arrays(spec, seed=0):
    """Random kernels and biases for the 15 weighted layers, in network order."""
    reference = vgg.build_vgg16(spec)
    rng = np.random.default_rng(seed)
    arrays = []
    for name in vgg.conv_names() + ["fc1", "fc2"]:
        kernel, bias = reference.get_layer(name).get_weights()
        fan_in = np.prod(kernel.shape[:-1])
        arrays.append([rng.normal(0, np.sqrt(2 / fan_in), kernel.shape).astype(np.float32),
                       rng.normal(0, 0.1, bias.shape).astype(np.float32)])
    return arrays


def _write_keras_h5(path, layers):
    """A Keras-2 legacy weight file: root attr layer_names, per layer attr weight_names."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layers]
        f.attrs["backend"] = b"tensorflow"
        for name, weights in layers:
            group = f.require_group(name)
            group.attrs["weight_names"] = [w.encode() for w, _ in weights]
            for weight_name, array in weights:
                group.create_dataset(weight_name, data=array)


def _imagenet_file(path, arrays):
    # keras.applications' file (fchollet deep-learning-models v0.1): block1_conv1_W_1:0 ...
    names = vgg.conv_names() + ["fc1", "fc2"]
    last_conv_of_block = {"block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"}
    layers = [("input_1", [])]
    for name, (kernel, bias) in zip(names, arrays):
        layers.append((name, [(f"{name}_W_1:0", kernel), (f"{name}_b_1:0", bias)]))
        if name in last_conv_of_block:
            layers.append((name.split("_")[0] + "_pool", []))
    layers += [("flatten", []), ("predictions", [("predictions_W_1:0", np.zeros((arrays[-1][0].shape[1], 3), np.float32)),
                                                 ("predictions_b_1:0", np.zeros(3, np.float32))])]
    _write_keras_h5(path, layers)


def _vggface_file(path, arrays):
    # keras-vggface's rcmalli_vggface_tf_vgg16.h5: conv1_1 ... fc6, fc6/relu, fc7, fc7/relu, fc8, fc8/softmax
    theirs = [f"conv{b}_{i}" for b, n in enumerate((2, 2, 3, 3, 3), start=1) for i in range(1, n + 1)] + ["fc6", "fc7"]
    layers = [("input_1", [])]
    for name, (kernel, bias) in zip(theirs, arrays):
        layers.append((name, [(f"{name}/kernel:0", kernel), (f"{name}/bias:0", bias)]))
        if name.startswith("fc"):
            layers.append((f"{name}/relu", []))
    layers += [("fc8", [("fc8/kernel:0", np.zeros((arrays[-1][0].shape[1], 4), np.float32)),
                        ("fc8/bias:0", np.zeros(4, np.float32))]), ("fc8/softmax", [])]
    _write_keras_h5(path, layers)


@pytest.mark.parametrize("source, writer", [("imagenet", _imagenet_file), ("vggface", _vggface_file)])
def test_real_weights_land_in_the_right_layers(tmp_path, source, writer):
    arrays = _ordered_arrays(TINY, seed=2)
    path = tmp_path / f"{source}.h5"
    writer(path, arrays)
    model = vgg.load_real_trunk(source, path=path, spec=TINY)
    names = vgg.conv_names() + ["fc1", "fc2"]
    for name, (kernel, bias) in zip(names, arrays):
        got_kernel, got_bias = model.get_layer(name).get_weights()
        assert np.array_equal(got_kernel, kernel) and np.array_equal(got_bias, bias), name
    # outputs equal a reference network given the same numbers in network order
    reference = vgg.build_vgg16(TINY)
    for name, weights in zip(names, arrays):
        reference.get_layer(name).set_weights(weights)
    x = _random_input(seed=3)
    assert np.allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_real_file_of_another_architecture(tmp_path):
    arrays = _ordered_arrays(TrunkSpec(width=1 / 8, input_size=32, fc_width=16))
    _vggface_file(tmp_path / "wide.h5", arrays)
    with pytest.raises(WeightsError, match=r"layer 'conv1_1' has weights of shapes \[\(3, 3, 3, 8\), \(8,\)\], "
                                           r"VGG-16's block1_conv1 needs \[\(3, 3, 3, 4\), \(4,\)\]"):
        vgg.load_real_trunk("vggface", path=tmp_path / "wide.h5", spec=TINY)


def test_real_file_with_other_layer_names(tmp_path):
    _imagenet_file(tmp_path / "imagenet.h5", _ordered_arrays(TINY))
    with pytest.raises(WeightsError, match=r"layer 'conv1_1' not found \(layers: input_1, block1_conv1, .*is this the vggface"):
        vgg.load_real_trunk("vggface", path=tmp_path / "imagenet.h5", spec=TINY)


def test_not_an_hdf5_file(tmp_path):
    (tmp_path / "x.h5").write_text("hello")
    with pytest.raises(WeightsError, match="not an HDF5 weight file"):
        vgg.load_real_trunk("imagenet", path=tmp_path / "x.h5", spec=TINY)


def test_unknown_source():
    with pytest.raises(ValueError, match=r"source 'places' is not one of \['imagenet', 'vggface'\]"):
        vgg.locate_weights("places")


def test_cached_imagenet_file_with_a_wrong_hash(tmp_path):
    path = tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    path.parent.mkdir()
    path.write_bytes(b"not the real weights")
    with pytest.raises(WeightsError, match=r"md5 [0-9a-f]{32} is not the published 64373286793e3c8b2b4e3219cbf3544b; .*delete it"):
        vgg.locate_weights("imagenet", cache_dir=tmp_path)


def test_missing_weights_offline_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"vggface weights not found; download https://github.com/rcmalli/.* and put it at .*models/vggface/rcmalli_vggface_tf_vgg16.h5"):
        vgg.locate_weights("vggface", cache_dir=tmp_path, download=False)


def test_failed_download_says_where_to_put_them(tmp_path, monkeypatch, keras):
    def no_network(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(FileNotFoundError, match=r"the download failed \(Temporary failure in name resolution\); download .* and put it at"):
        vgg.locate_weights("imagenet", cache_dir=tmp_path)


def test_vggface_has_no_published_hash_so_pin_one(tmp_path):
    path = tmp_path / "models" / "vggface" / "rcmalli_vggface_tf_vgg16.h5"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    with pytest.warns(UserWarning, match="no published hash; this file's sha256 is"):
        assert vgg.locate_weights("vggface", cache_dir=tmp_path) == path
    with pytest.raises(WeightsError, match="is not the expected 00"):
        vgg.locate_weights("vggface", cache_dir=tmp_path, expected_sha256="00" * 32)
    assert vgg.locate_weights("vggface", cache_dir=tmp_path, expected_sha256=vgg.file_sha256(path)) == path


def test_trunk_file_roundtrip_and_tamper_check(tmp_path):
    model = vgg.trunk_of(vgg.build_vgg16(TINY, n_classes=3))
    path = tmp_path / "trunk.h5"
    sha = vgg.save_trunk(model, path, {"note": "test"})
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == sha and record["note"] == "test"
    back = vgg.load_trunk(path)
    x = _random_input()
    assert np.array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trunk.h5", "trunk.json"]
    with open(path, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(WeightsError, match=r"differs from its record trunk\.json .*restore it"):
        vgg.load_trunk(path)


def test_trunks_must_be_h5(tmp_path):
    with pytest.raises(ValueError, match=r"trunks are saved as .h5"):
        vgg.save_trunk(vgg.build_vgg16(TINY), tmp_path / "t.keras", {})


def _pretraining_data():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (48, 32, 32), dtype=np.uint8), np.repeat(np.arange(4), 12)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """One plain pretraining epoch (seed 0) with a checkpoint: (trunk, record, its checkpoint
    folder), shared by the tests that need such a run (each takes seconds of graph tracing)."""
    images, labels = _pretraining_data()
    folder = tmp_path_factory.mktemp("plain") / "ckpt"
    trunk, record = pretrain.pretrain_trunk(images, labels, TINY, epochs=1, batch_size=16, seed=0, progress=False,
                                            checkpoint=folder)
    return trunk, record, folder


def test_smoke_pretraining_is_deterministic_and_exports_plain_layers(plain_run):
    images, labels = _pretraining_data()
    trunk, record, _ = plain_run
    trunk2, _ = pretrain.pretrain_trunk(images, labels, TINY, epochs=1, batch_size=16, seed=0, progress=False)
    assert trunk.output_shape == (None, TINY.fc_width)
    assert {layer.__class__.__name__ for layer in trunk.layers} == {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"}
    assert 0.0 <= record["holdout_accuracy"] <= 1.0 and record["n_holdout"] == 5
    # the same weights again, and with or without a checkpoint
    for a, b in zip(trunk.get_weights(), trunk2.get_weights()):
        assert np.array_equal(a, b)


def test_first_layer_kernels_sum_the_channels():
    model = vgg.build_vgg16(TINY)
    kernel = model.get_layer("block1_conv1").get_weights()[0]
    grey = vgg.first_layer_kernels(model)
    assert grey.shape == (TINY.channels()[0], 3, 3)
    assert np.allclose(grey[1], kernel[:, :, :, 1].sum(axis=2))
    # on a grey image (three equal channels) the conv equals the grey kernel's response
    image = np.random.default_rng(0).normal(size=(3, 3))
    assert np.isclose((kernel[:, :, :, 1] * image[:, :, None]).sum(), (grey[1] * image).sum())


def test_low_frequency_share():
    flat = np.ones((3, 3))
    edge = np.array([[1, 0, -1]] * 3, dtype=float)
    share = vgg.low_frequency_share(np.stack([flat, edge, flat + 0.0 * edge, np.zeros((3, 3))]))
    assert np.allclose(share, [1.0, 0.0, 1.0, 0.0])
    mixed = vgg.low_frequency_share((flat + edge)[None])[0]
    assert 0 < mixed < 1


def test_batchnorm_recalibration_sets_the_statistics_of_the_final_weights():
    model = vgg.build_vgg16(TINY, batch_norm=True, dropout=0.5, n_classes=3)
    x = _random_input(n=400, seed=4)
    pretrain.recalibrate_batchnorm(model, x, n=400)
    bn = model.get_layer("block1_conv1_bn")
    conv_out = model.get_layer("block1_conv1")(x).numpy()
    assert np.allclose(bn.moving_mean.numpy(), conv_out.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-4)
    assert np.allclose(bn.moving_variance.numpy(), conv_out.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)
    assert bn.momentum == 0.9 and model.get_layer("fc1_dropout").rate == 0.5  # restored
    # a deep layer: its statistics are those of its input computed in inference mode
    # through the recalibrated layers before it (up to Keras' n/(n-1) correction of the
    # moving variance, 1.0025 here)
    from tensorflow import keras

    before_fc2_bn = keras.Model(model.input, model.get_layer("fc2").output)(x, training=False).numpy()
    fc2_bn = model.get_layer("fc2_bn")
    scale = before_fc2_bn.std(axis=0).mean()
    assert np.abs(fc2_bn.moving_mean.numpy() - before_fc2_bn.mean(axis=0)).max() < 0.02 * scale
    assert np.allclose(fc2_bn.moving_variance.numpy(), before_fc2_bn.var(axis=0), rtol=0.02)


def test_regularised_pretraining_is_deterministic_and_differs_from_plain(plain_run):
    """Augmentation and weight decay each change the training, stay seeded, and leave the
    exported trunk free of the random layers."""
    images, labels = _pretraining_data()

    def run(**kwargs):
        trunk, record = pretrain.pretrain_trunk(images, labels, TINY, epochs=1, batch_size=16, seed=0,
                                                progress=False, **kwargs)
        return trunk.get_weights(), record, [layer.name for layer in trunk.layers]

    (augmented, aug_record, names), (again, _, _) = run(augment=True), run(augment=True)
    decayed, decay_record, _ = run(weight_decay=0.05)
    plain, plain_record, plain_names = plain_run[0].get_weights(), plain_run[1], [layer.name for layer in plain_run[0].layers]
    assert names == plain_names
    assert "flip" in aug_record["augmentation"] and aug_record["optimizer"].startswith("Adam,")
    assert decay_record["optimizer"].startswith("AdamW") and decay_record["weight_decay"] == 0.05
    assert "augmentation" not in plain_record and "weight_decay" not in plain_record
    assert all(np.array_equal(a, b) for a, b in zip(augmented, again))
    for weights in (augmented, decayed):
        assert not all(np.array_equal(a, b) for a, b in zip(weights, plain))


class _Killed(Exception):
    pass


@pytest.mark.parametrize("kwargs", [{}, {"augment": True}], ids=["plain", "augmented"])
def test_pretraining_killed_after_an_epoch_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch, kwargs):
    images, labels = _pretraining_data()
    settings = dict(epochs=3, batch_size=16, seed=0, progress=False, **kwargs)
    whole, whole_record = pretrain.pretrain_trunk(images, labels, TINY, **settings)

    saved = pretrain._Checkpoint.epoch_done

    def killed_after_first_epoch(self, *args):
        saved(self, *args)
        if self.epoch == 1:
            raise _Killed

    folder = tmp_path / "ckpt"
    with monkeypatch.context() as patch:
        patch.setattr(pretrain._Checkpoint, "epoch_done", killed_after_first_epoch)
        with pytest.raises(_Killed):
            pretrain.pretrain_trunk(images, labels, TINY, checkpoint=folder, **settings)
    assert json.loads((folder / "state.json").read_text())["epoch"] == 1
    resumed, record = pretrain.pretrain_trunk(images, labels, TINY, checkpoint=folder, **settings)
    assert record["resumed_at_epochs"] == [1] and "resumed_at_epochs" not in whole_record
    assert record["history"] == whole_record["history"] and len(record["history"]["loss"]) == 3
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        assert np.array_equal(a, b)
    # one checkpoint on disk, the last epoch's
    assert sorted({p.name.split(".")[0] for p in folder.glob("epoch-*")}) == ["epoch-003"]


def test_a_checkpoint_of_other_settings_or_data_is_refused(tmp_path, plain_run):
    images, labels = _pretraining_data()
    folder = tmp_path / "ckpt"
    shutil.copytree(plain_run[2], folder)  # a finished one-epoch run's checkpoint
    with pytest.raises(ValueError, match=r"ckpt: a checkpoint of another pretraining \(it differs in epochs, seed\); delete"):
        pretrain.pretrain_trunk(images, labels, TINY, epochs=2, seed=1, batch_size=16, progress=False, checkpoint=folder)
    with pytest.raises(ValueError, match=r"differs in data_sha256\)"):
        pretrain.pretrain_trunk(images[::-1], labels, TINY, epochs=1, batch_size=16, progress=False, checkpoint=folder)
    # one made with the other CPU kernels (oneDNN's or TensorFlow's own): the error says how to match them
    state = json.loads((folder / "state.json").read_text())
    made_with = not pretrain.onednn_enabled()
    state["settings"]["onednn"] = made_with
    (folder / "state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=rf"differs in onednn\); delete .*, or set TF_ENABLE_ONEDNN_OPTS={int(made_with)} as"):
        pretrain.pretrain_trunk(images, labels, TINY, epochs=1, batch_size=16, progress=False, checkpoint=folder)
    # one older than the flag: it cannot say which kernels made it, so the error does not guess
    del state["settings"]["onednn"]
    (folder / "state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"differs in onednn\); delete .* from scratch \(it does not say which CPU"):
        pretrain.pretrain_trunk(images, labels, TINY, epochs=1, batch_size=16, progress=False, checkpoint=folder)


@pytest.mark.parametrize("preset, stage, expected", [
    (None, "pretrain", "1"), (None, "execute-page", "1"), (None, "gates", "0"), ("0", "pretrain", "0"), ("1", "gates", "1"),
])
def test_the_command_line_picks_the_kernels_unless_told(monkeypatch, preset, stage, expected):
    from facelrp.__main__ import _choose_kernels

    if preset is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", preset)
    _choose_kernels(stage)
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == expected
