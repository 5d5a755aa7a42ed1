import pytest

from facelrp.profiles import PROFILE_NAMES, load_profile


def test_the_three_profiles_load():
    smoke, demo, paper = (load_profile(n) for n in PROFILE_NAMES)
    assert smoke.faces["n_male"] + smoke.faces["n_female"] == 12 and smoke.faces["size"] == 32
    assert (demo.faces["n_male"], demo.faces["n_female"], demo.faces["size"]) == (44, 57, 128)
    assert paper.faces["source"] == "folder" and paper.faces["size"] == 224
    assert smoke.stand_in and demo.stand_in and not paper.stand_in
    assert "stand-ins" in demo.setting and "paper's data" in paper.setting


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"profile 'dmeo' is not one of \['demo', 'paper', 'smoke'\]"):
        load_profile("dmeo")


def test_bad_face_source(tmp_path):
    path = tmp_path / "profiles.yml"
    path.write_text("x:\n  description: d\n  stand_in: true\n  faces: {source: web}\n  trunks: {source: real}\n  finetune: {}\n")
    with pytest.raises(ValueError, match=r"faces.source 'web' is not one of \['synthetic', 'folder'\]"):
        load_profile("x", path)


def test_results_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FACELRP_RESULTS", str(tmp_path))
    assert load_profile("smoke").results_dir() == tmp_path / "smoke"


@pytest.mark.parametrize("edits, message", [
    ({"finetune.frozen": "everything"}, r"finetune.frozen: 'everything' is not one of \['convolutions', 'trunk'\]"),
    ({"finetune.schedule": "linear"}, r"finetune.schedule: 'linear' is not one of \['constant', 'cosine'\]"),
])
def test_bad_finetune_setting_names_the_file_and_the_choices(edited_profile, edits, message):
    with pytest.raises(ValueError, match=r"profiles.yml: profile 'x' " + message):
        load_profile("x", edited_profile(edits))


def test_the_synthetic_chapters_are_captioned_as_synthetic_in_every_profile():
    smoke, paper = load_profile("smoke"), load_profile("paper")
    # the paper profile's own pages come from its data; attribute probing and the gated
    # networks use synthetic faces in every profile, and say so
    assert paper.setting == "paper profile: the paper's data and weights"
    assert paper.probing_setting == "paper profile: synthetic faces (in every profile) on the published ImageNet and VGGFace weights"
    assert "synthetic faces and networks trained here" in paper.gates_setting
    assert smoke.probing_setting.endswith("on stand-in trunks pretrained here")
    assert (smoke.trunk_label("vggface"), paper.trunk_label("vggface")) == ("VGGFace stand-in", "VGGFace")


def test_the_margin_is_the_smoke_pilots_seed_to_seed_spread_as_its_reason_says():
    """verdicts.margin: the pooled seed-to-seed SD of own-mask AUC over the smoke pilot's four
    destination types (from the shipped smoke cache), to the 0.005 it is written with."""
    import numpy as np

    from facelrp import cache
    from facelrp.evaluate import masking
    from facelrp.models import finetune

    smoke = load_profile("smoke")
    arrays = np.load(cache.cache_dir("smoke") / "masking" / "curves.npz")
    auc = masking.auc(arrays["accuracy"])
    masks = [str(m) for m in arrays["masks"]]
    keys = finetune.model_keys(smoke)
    own = np.array([auc[masks.index(k.name), j] for j, k in enumerate(keys)])
    variances = [own[[j for j, k in enumerate(keys) if (k.source, k.task) == t]].var(ddof=1)
                 for t in {(k.source, k.task) for k in keys}]
    pooled = float(np.sqrt(np.mean(variances)))
    for name in PROFILE_NAMES:
        margin = load_profile(name).verdicts["margin"]
        assert margin == pytest.approx(pooled, abs=0.0025), (name, pooled)
        assert "smoke pilot" in load_profile(name).verdicts["reason"]


@pytest.mark.parametrize("value, message", [
    ("0.03", "verdicts.margin: '0.03' is text, not a number"),
    (-0.1, "verdicts.margin: -0.1 is out of range: it must be from 0 to 1"),
    (True, "verdicts.margin: True is not a number"),
])
def test_a_bad_margin_is_refused_with_the_setting_named(tmp_path, value, message):
    import yaml

    from facelrp.profiles import profiles_file

    entries = yaml.safe_load(profiles_file().read_text())
    entries["demo"]["verdicts"] = {"margin": value, "reason": "a test"}
    path = tmp_path / "profiles.yml"
    path.write_text(yaml.safe_dump(entries))
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        load_profile("demo", path)
    entries["demo"]["verdicts"] = {"margin": 0.05}
    path.write_text(yaml.safe_dump(entries))
    with pytest.raises(ValueError, match="verdicts.margin is set without verdicts.reason"):
        load_profile("demo", path)
