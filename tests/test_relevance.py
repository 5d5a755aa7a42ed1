import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facelrp.explain import relevance


@pytest.fixture(scope="module")
def graph_mode_run():
    worker = Path(__file__).with_name("relevance_worker.py")
    run = subprocess.run([sys.executable, str(worker)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_lrp_0_conserves_the_explained_logit(graph_mode_run):
    logits = np.array(graph_mode_run["logits"])
    predicted = logits.argmax(axis=1)
    assert graph_mode_run["classes"] == predicted.tolist()
    assert np.allclose(graph_mode_run["z_sums"], logits[np.arange(5), predicted], rtol=1e-3, atol=1e-3)
    # an explicitly chosen unit is the one explained
    assert np.allclose(graph_mode_run["z_sums_class0"], logits[:, 0], rtol=1e-3, atol=1e-3)


def test_maps_have_the_input_shape_and_normalise_to_unit_peak(graph_mode_run):
    assert graph_mode_run["shape"] == [5, 32, 32]
    assert graph_mode_run["composite_finite"] and graph_mode_run["composite_nonzero"]
    assert np.allclose(graph_mode_run["normalised_max"], 1.0)


def test_unknown_method_lists_the_valid_ones(graph_mode_run):
    assert graph_mode_run["unknown_method"].startswith("method 'saliency' is not one of ['composite', ")


def test_eager_mode_is_refused_with_the_fix():
    with pytest.raises(RuntimeError, match=r"call facelrp.explain.relevance.graph_mode\(\) at the start of the process"):
        relevance.relevance_maps(None, np.zeros((1, 32, 32, 3), np.float32), classes=np.zeros(1, int))


def test_normalise_bounds_and_zero_maps():
    maps = np.stack([np.array([[2.0, -4.0], [1.0, 0.0]]), np.zeros((2, 2)), np.array([[0.5, 0.25], [0, 0]])])
    out = relevance.normalise(maps)
    assert np.allclose(out[0], [[0.5, -1.0], [0.25, 0.0]])
    assert np.array_equal(out[1], np.zeros((2, 2)))
    assert np.allclose(out[2], [[1.0, 0.5], [0, 0]])
    assert np.abs(out).max() <= 1.0


def test_similarity_is_pearson_per_image():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 6, 6))
    b = rng.normal(size=(4, 6, 6))
    got = relevance.similarity(a, b)
    expected = [np.corrcoef(a[i].ravel(), b[i].ravel())[0, 1] for i in range(4)]
    assert np.allclose(got, expected)
    assert np.allclose(relevance.similarity(a, 3 * a + 1), 1.0)
    assert np.isnan(relevance.similarity(np.ones((1, 2, 2)), a[:1, :2, :2]))[0]


def test_similarity_matrix_equals_the_pairwise_loop():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(7, 5, 5))
    maps = np.stack([base + rng.normal(0, s, base.shape) for s in (0.1, 0.5, 2.0, 0.1)])
    got = relevance.similarity_matrix(maps)
    expected = np.array([[relevance.similarity(maps[a], maps[b]).mean() for b in range(4)] for a in range(4)])
    assert got.shape == (4, 4)
    assert np.allclose(got, expected)
    assert np.allclose(np.diag(got), 1.0) and np.allclose(got, got.T)
    assert got[0, 3] > got[0, 2]  # less noise, more similar
