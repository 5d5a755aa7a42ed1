"""The cost model of the reproducing chapter and the readiness check of the paper profile."""

import numpy as np
import pytest

from facelrp.book import workload
from facelrp.evaluate.masking import LEVELS
from facelrp.models import vgg
from facelrp.profiles import load_profile


def _macs_from_keras(spec):
    """Multiply-adds counted from a built model's own layer shapes (an independent count)."""
    model = vgg.trunk_of(vgg.build_vgg16(spec, n_classes=2))
    total = 0
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv2D":
            kh, kw, c_in, c_out = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += h * w * kh * kw * c_in * c_out
        elif layer.__class__.__name__ == "Dense":
            total += int(np.prod(layer.kernel.shape))
    return total


@pytest.mark.parametrize("spec", [vgg.TrunkSpec(0.0625, 32, 64), vgg.TrunkSpec(0.25, 64, 1024)])
def test_multiply_adds_match_the_built_models_layers(spec):
    assert spec.multiply_adds() == _macs_from_keras(spec)


def test_full_vgg16_trunk_costs_the_published_15_5_giga_multiply_adds():
    # Simonyan & Zisserman's VGG-16 (D): about 15.5 G multiply-adds at 224 px; without the
    # 1000-way fc8 (4.1 M) the trunk is 15.466 G.
    assert vgg.TrunkSpec().multiply_adds() == pytest.approx(15.466e9, rel=1e-3)


def test_stage_images_count_what_the_masking_stage_sends_through_the_trunks():
    counts = workload.stage_images(n_images=1515, n_frontal=101)
    assert counts == {"features": 3030, "relevance": 2020, "masking": 2 * 21 * len(LEVELS) * 101}
    assert counts["masking"] == 55146  # the demo run's recorded trunk_images
    more = workload.stage_images(n_images=1515, n_frontal=101, n_masking_variants=8, n_extra_methods=3, n_probe=8192)
    assert more["robustness: masking"] == 8 * 55146 and more["robustness: relevance"] == 3 * 2020
    floor = workload.stage_images(n_images=1515, n_frontal=101, n_masking_variants=1, n_randomised=4)
    assert floor["masking"] == 2 * 25 * len(LEVELS) * 101 and floor["robustness: masking"] == 55146
    assert more["probing"] == 2 * 8192 * 15
    hours = workload.estimate_hours(more, {"forward": 1.0, "relevance": 0.5})
    assert hours["robustness: relevance"] == pytest.approx(3 * 2020 / 0.5 / 3600)


def test_estimate_hours_scales_each_stage_by_its_rate_and_the_size_ratio():
    hours = workload.estimate_hours(
        {"features": 3600, "relevance": 360, "masking": 7200}, {"forward": 2.0, "relevance": 0.1}, scale=3
    )
    assert hours == pytest.approx({"features": 1.5, "relevance": 3.0, "masking": 3.0})


def test_readiness_names_where_each_missing_item_goes_and_finds_present_ones(tmp_path):
    paper = load_profile("paper")
    cache = tmp_path / "keras"
    table = workload.readiness(paper, cache_dir=cache, root=tmp_path)
    assert list(table["status"]) == ["missing"] * 4
    assert table.loc[0, "where"] == str(tmp_path / "data" / "vpnl-faces" / "manifest.csv")
    assert table.loc[1, "where"].endswith("keras/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    assert table.loc[2, "where"].endswith("keras/models/vggface/rcmalli_vggface_tf_vgg16.h5")

    (tmp_path / "data" / "vpnl-faces").mkdir(parents=True)
    (tmp_path / "data" / "vpnl-faces" / "manifest.csv").write_text("file,identity,gender,view_deg\na.png,p1,f,0\nb.png,p1,f,15\n")
    (cache / "models" / "vggface").mkdir(parents=True)
    (cache / "models" / "vggface" / "rcmalli_vggface_tf_vgg16.h5").write_bytes(b"\0" * 2**21)
    table = workload.readiness(paper, cache_dir=cache, root=tmp_path)
    assert list(table["status"]) == ["found", "missing", "found", "missing"]
    assert table.loc[0, "detail"] == "2 rows" and table.loc[2, "detail"] == "2 MiB"


def test_each_stage_is_shown_at_the_rate_its_hours_are_estimated_at():
    from facelrp.book import workload

    images = workload.stage_images(n_images=1515, n_frontal=101, n_masking_variants=8, n_extra_methods=3)
    rates = {"forward": 120.0, "relevance": 9.0}
    hours = workload.estimate_hours(images, rates, scale=2.0)
    assert workload.stage_rate("robustness: relevance", rates) == 9.0 == workload.stage_rate("relevance", rates)
    for stage, count in images.items():
        assert hours[stage] == count * 2.0 / workload.stage_rate(stage, rates) / 3600
