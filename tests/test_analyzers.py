"""An analyzer built once follows its model's weights: re-initialised in place (the sanity
cascade) or loaded from another saved model of the same architecture (the method maps)
gives the maps a freshly built analyzer gives, to the bit."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from facelrp.explain import analyzers


@pytest.fixture(scope="module")
def graph_mode_run(tmp_path_factory):
    # iNNvestigate needs graph mode for the whole process: one fresh interpreter for all checks
    folder = tmp_path_factory.mktemp("analyzers")
    script = textwrap.dedent(f"""
        import json
        from pathlib import Path
        import numpy as np
        from facelrp.explain import analyzers, relevance, sanity
        from facelrp.models import vgg
        relevance.graph_mode()
        from tensorflow import keras
        folder = Path({str(folder)!r})
        spec = vgg.TrunkSpec(0.0625, 32, 16)
        files = []
        for seed, n_classes in [(0, 3), (1, 2), (2, 3)]:
            keras.backend.clear_session()
            keras.utils.set_random_seed(seed)
            model = vgg.build_vgg16(spec, n_classes=n_classes)
            model._name = f"model{{seed}}"
            files.append(folder / f"m{{seed}}.h5")
            model.save(files[-1])
        x = np.random.default_rng(0).normal(0, 50, (5, 32, 32, 3)).astype(np.float32)
        classes = [np.arange(5) % n for n in (3, 2, 3)]
        out = {{"architectures": [analyzers.architecture(f) for f in files]}}
        for method in ("composite", "gradient"):
            once, _ = analyzers.maps_of_models(files, x, classes, method=method)
            fresh, _ = relevance.maps_of_models(files, x, classes, method=method)  # an analyzer per model
            out[f"models_{{method}}"] = [bool(np.array_equal(once, fresh)), float(np.abs(fresh).max())]
            out[f"fresh_{{method}}"] = fresh
        # the sanity checks (cascade in place) against each model re-initialised afresh
        checks = sanity.sanity_checks(files[0], x, classes[0], methods=("composite", "gradient"), seed=3, progress=False)
        out["similarity_shape"], out["examples_shape"] = checks["similarity"].shape, checks["examples"].shape
        out["last_spearman"] = float(np.nanmean(checks["similarity"][0, -1, 0]))
        for m, method in enumerate(checks["methods"]):
            model = sanity.randomised_model(files[0], "block1", seed=3)
            anew = relevance.relevance_maps(model, x, classes[0], method=method)[0]
            out[f"cascade_{{method}}"] = [bool(np.array_equal(checks["randomised"][m], anew)),
                                         bool(np.array_equal(checks["examples"][m, 0], out.pop(f"fresh_{{method}}")[0][0])),
                                         bool(not np.allclose(checks["examples"][m, 0], checks["examples"][m, -1]))]
        try:
            analyzers.Explainer(model, "saliency")
        except ValueError as error:
            out["unknown"] = str(error)
        print(json.dumps(out))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("method", ["composite", "gradient"])
def test_one_analyzer_per_architecture_gives_each_model_s_own_maps(graph_mode_run, method):
    identical, peak = graph_mode_run[f"models_{method}"]
    assert identical and peak > 0  # bit-identical to an analyzer built per model, and not all zero


@pytest.mark.parametrize("method", ["composite", "gradient"])
def test_the_sanity_cascade_in_place_equals_the_model_re_initialised_afresh(graph_mode_run, method):
    every_layer, original, moved = graph_mode_run[f"cascade_{method}"]
    assert every_layer  # the last step's maps: every layer re-initialised, at once or step by step
    assert original  # before any step: the saved model's own maps
    assert moved  # and the steps did change the maps


def test_sanity_checks_cover_every_step_and_move_the_composite_s_maps(graph_mode_run):
    assert graph_mode_run["similarity_shape"] == [2, 8, 3, 5]  # methods, steps, metrics, faces
    assert graph_mode_run["examples_shape"] == [2, 9, 32, 32]  # the original first
    assert graph_mode_run["last_spearman"] < 0.9  # all layers random: the maps have changed


def test_architecture_ignores_the_model_s_name_and_sees_the_readout_width(graph_mode_run):
    first, other_width, same = graph_mode_run["architectures"]
    assert first == same and first != other_width
    assert "model0" not in first


def test_unknown_method_lists_the_valid_ones(graph_mode_run):
    assert graph_mode_run["unknown"].startswith("method 'saliency' is not one of ['composite', ")


def test_a_weights_only_file_is_refused_with_its_name_and_the_fix(tmp_path):
    import h5py

    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("w", data=np.zeros(3))
    with pytest.raises(ValueError, match=r"weights\.h5: no model in this \.h5 file, only weights; save the whole model"):
        analyzers.architecture(path)
