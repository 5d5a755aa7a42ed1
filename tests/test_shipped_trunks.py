"""The trunks shipped in weights/ (demo and smoke): present, intact, and of their profile's size."""

import json
from pathlib import Path

import pytest

from facelrp.models import vgg
from facelrp.profiles import TRUNK_SOURCES, load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("demo", "smoke")


def _sums():
    lines = (ROOT / "weights" / "SHA256SUMS").read_text().split("\n")
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("source", TRUNK_SOURCES)
def test_shipped_trunk_matches_its_record_and_the_sums(name, source):
    profile = load_profile(name)
    path = ROOT / profile.trunk_path(source)
    record = json.loads(path.with_suffix(".json").read_text())
    assert vgg.file_sha256(path) == record["sha256"] == _sums()[path.name]
    assert record["source"] == source and record["profile"] == name
    assert record["spec"] == profile.trunks["spec"]
    assert 0 < record["holdout_accuracy"] <= 1


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("source", TRUNK_SOURCES)
def test_shipped_trunk_loads_with_plain_layers_of_its_profiles_size(name, source):
    profile = load_profile(name)
    trunk = vgg.load_trunk(ROOT / profile.trunk_path(source))
    spec = vgg.TrunkSpec(**profile.trunks["spec"])
    assert trunk.input_shape == (None, spec.input_size, spec.input_size, 3)
    assert trunk.output_shape == (None, spec.fc_width)
    assert {layer.__class__.__name__ for layer in trunk.layers} == {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"}
    assert [layer.name for layer in trunk.layers if layer.__class__.__name__ == "Conv2D"] == vgg.conv_names()
