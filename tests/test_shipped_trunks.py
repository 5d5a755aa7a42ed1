"""The demo trunks shipped in weights/: present, intact, and of the demo profile's size."""

import json
from pathlib import Path

import pytest

from facelrp.models import vgg
from facelrp.profiles import TRUNK_SOURCES, load_profile

ROOT = Path(__file__).resolve().parents[1]
DEMO = load_profile("demo")


def _sums():
    lines = (ROOT / "weights" / "SHA256SUMS").read_text().split("\n")
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


@pytest.mark.parametrize("source", TRUNK_SOURCES)
def test_shipped_trunk_matches_its_record_and_the_sums(source):
    path = ROOT / DEMO.trunk_path(source)
    record = json.loads(path.with_suffix(".json").read_text())
    assert vgg.file_sha256(path) == record["sha256"] == _sums()[path.name]
    assert record["source"] == source and record["profile"] == "demo"
    assert record["spec"] == DEMO.trunks["spec"]
    assert 0 < record["holdout_accuracy"] <= 1


@pytest.mark.parametrize("source", TRUNK_SOURCES)
def test_shipped_trunk_loads_with_plain_layers_of_the_demo_size(source):
    trunk = vgg.load_trunk(ROOT / DEMO.trunk_path(source))
    spec = vgg.TrunkSpec(**DEMO.trunks["spec"])
    assert trunk.input_shape == (None, spec.input_size, spec.input_size, 3)
    assert trunk.output_shape == (None, spec.fc_width)
    assert {layer.__class__.__name__ for layer in trunk.layers} == {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"}
    assert [layer.name for layer in trunk.layers if layer.__class__.__name__ == "Conv2D"] == vgg.conv_names()
