"""Bad input, table-driven: every case must end in one error that names the file (and row)
and the fix, never in a silent wrong result. The cases are listed, with what each one
checks, in tests/BAD_INPUT.md."""

import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from facelrp import store
from facelrp.artifacts import Results
from facelrp.data import datasets
from facelrp.evaluate import rank2
from facelrp.models import vgg
from facelrp.models.vgg import TrunkSpec, WeightsError
from facelrp.profiles import load_profile

TINY = TrunkSpec(width=1 / 16, input_size=32, fc_width=16)

# --------------------------------------------------------------------------- the profile
PROFILE_CASES = [
    ("misspelt schedule", {"finetune.schedul": "cosine"}, r"finetune has unknown settings 'schedul' \(did you mean 'schedule'\?\)"),
    ("misspelt hash pin", {"trunks.vggface_sha265": "ab"}, r"trunks has unknown settings 'vggface_sha265' \(did you mean 'vggface_sha256'\?\)"),
    ("misspelt observer count", {"observers.nn": 10}, r"observers has unknown settings 'nn' \(did you mean 'n'\?\)"),
    ("misspelt planted key", {"planted.image_per_class": 10}, r"planted has unknown settings 'image_per_class' \(did you mean 'images_per_class'\?\)"),
    ("misspelt faces key", {"faces.n_mael": 3}, r"faces has unknown settings 'n_mael' \(did you mean 'n_male'\?\)"),
    ("misspelt section", {"finetuning": {"epochs": 3}}, r"has unknown settings 'finetuning' \(did you mean 'finetune'\?\)"),
    ("misspelt trunk spec", {"trunks.spec.widht": 0.5}, r"trunks.spec has unknown settings 'widht' \(did you mean 'width'\?\)"),
    ("misspelt pretraining key", {"trunks.pretrain.epoch": 3}, r"trunks.pretrain has unknown settings 'epoch'"),
    ("misspelt gates key", {"gates.epoch": 3}, r"gates has unknown settings 'epoch' \(did you mean 'epochs'\?\)"),
    ("misspelt probing key", {"probing.component": 3}, r"probing has unknown settings 'component' \(did you mean 'components'\?\)"),
    ("required key missing", {"finetune.epochs": None}, r"finetune lacks \['epochs'\]; add them"),
    ("unknown face source", {"faces.source": "web"}, r"faces.source 'web' is not one of \['synthetic', 'folder'\]"),
    ("unknown frozen part", {"finetune.frozen": "all"}, r"finetune.frozen: 'all' is not one of \['convolutions', 'trunk'\]"),
    # types and ranges (the second round): one line naming the setting, the value and what is allowed
    ("learning rate read as text", {"trunks.pretrain.learning_rate": "3e-3"},
     r"trunks.pretrain.learning_rate: '3e-3' is text, not a number \(YAML reads a number such as 3e-3 without a "
     r"decimal point as text: write 3.0e-3 or 0.003\)"),
    ("negative pretraining epochs", {"trunks.pretrain.epochs": -1},
     r"trunks.pretrain.epochs: -1 is out of range: it must be at least 1"),
    ("a source's pretraining override", {"trunks.pretrain.imagenet": {"epochs": 0}},
     r"trunks.pretrain.imagenet.epochs: 0 is out of range: it must be at least 1"),
    ("a seed twice", {"finetune.seeds": [0, 0, 1, 2, 3]}, r"finetune.seeds: seed 0 appears twice; list each once"),
    ("no seeds", {"finetune.seeds": []}, r"finetune.seeds: \[\] is not a non-empty list"),
    ("a negative seed", {"finetune.seeds": [0, -1]}, r"finetune.seeds: -1 is not a seed \(a whole number, at least 0\)"),
    ("face size as text", {"faces.size": "32"}, r"faces.size: '32' is text, not a whole number"),
    ("face size zero", {"faces.size": 0}, r"faces.size: 0 is out of range: it must be from 8 to 1024"),
    ("half a man", {"faces.n_male": 6.5}, r"faces.n_male: 6.5 is not a whole number"),
    ("a yes for a count", {"faces.n_female": True}, r"faces.n_female: True is not a whole number"),
    ("observer count as text", {"observers.n": "46"}, r"observers.n: '46' is text, not a whole number"),
    ("no observers", {"observers.n": 0}, r"observers.n: 0 is out of range: it must be at least 1"),
    ("fewer than no observers", {"observers.n": -3}, r"observers.n: -3 is out of range: it must be at least 1"),
    ("negative observer noise", {"observers.noise": -1}, r"observers.noise: -1 is out of range: it must be at least 0"),
    ("internal weight above one", {"observers.internal_weight": 1.5},
     r"observers.internal_weight: 1.5 is out of range: it must be from 0 to 1"),
    ("an observers source unknown", {"observers.source": "web"},
     r"observers must be 'source: simulated' or 'source: file' with 'file: <csv>'"),
    ("an observers file missing", {"observers.source": "file"}, r"observers lacks \['file'\]; add them"),
    ("zero fine-tuning rate", {"finetune.learning_rate": 0}, r"finetune.learning_rate: 0 is out of range: it must be in \(0, 1\]"),
    ("infinite fine-tuning rate", {"finetune.learning_rate": float("inf")}, r"finetune.learning_rate: inf is not a number"),
    ("zero batch", {"finetune.batch_size": 0}, r"finetune.batch_size: 0 is out of range: it must be at least 1"),
    ("split seed as text", {"finetune.split_seed": "zero"}, r"finetune.split_seed: 'zero' is text, not a whole number"),
    ("trunk width zero", {"trunks.spec.width": 0}, r"trunks.spec.width: 0 is out of range: it must be in \(0, 1\]"),
    ("input size off the grid", {"trunks.spec.input_size": 48, "faces.size": 48},
     r"trunks.spec: input_size must be a multiple of 32 \(five 2x poolings\), got 48"),
    ("a pin that is no hash", {"trunks.vggface_sha256": "abc"}, r"trunks.vggface_sha256: 'abc' is not a SHA-256"),
    ("an unknown trunk source", {"trunks.source": "internet"},
     r"trunks.source: 'internet' is not one of \['pretrain', 'shipped', 'real'\]"),
    ("a planted part that is no part", {"planted.parts": ["beard"]}, r"planted.parts: 'beard' is not a face part"),
    ("planted classes one", {"planted.n_classes": 1}, r"planted.n_classes: 1 is out of range: it must be at least 2"),
    ("probing components zero", {"probing.components": 0}, r"probing.components: 0 is out of range: it must be at least 1"),
    ("probing max features as text", {"probing.max_features": "all"},
     r"probing.max_features: 'all' is text, not a whole number"),
    ("a gates variant unknown", {"gates.variants": ["resnet", "aig-2"]}, r"gates.variants: 'aig-2' is not a variant"),
    ("a gates variant twice", {"gates.variants": ["resnet", "resnet"]}, r"gates.variants: entry 'resnet' appears twice"),
    ("a gates stage malformed", {"gates.stages": [[4, 1]]}, r"gates.stages: \[4, 1\] is not \[channels, blocks, stride\]"),
    ("gates seeds twice", {"gates.seeds": [0, 0]}, r"gates.seeds: seed 0 appears twice"),
    ("a section that is not a mapping", {"planted": [1, 2]}, r"planted: \[1, 2\] is not a mapping of settings"),
    ("a margin without its reason", {"verdicts.margin": 0.05}, r"verdicts.margin is set without verdicts.reason"),
]


@pytest.mark.parametrize("edits, message", [c[1:] for c in PROFILE_CASES], ids=[c[0] for c in PROFILE_CASES])
def test_a_bad_profile_is_refused_naming_the_file_and_the_key(edited_profile, edits, message):
    path = edited_profile(edits)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: profile 'x' .*{message}"):
        load_profile("x", path)


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"profile 'smok' is not one of \['demo', 'paper', 'smoke'\]"):
        load_profile("smok")


# --------------------------------------------------------------------------- CSV files
MANIFEST = "file,identity,gender,view_deg\na.png,anna,female,0\nb.png,ben,male,0\n"
CHOICES = "observer,target,option_a,option_b,chosen\nobs1,1,2,3,2\n"
CSV_CASES = [
    ("manifest empty", "manifest", b"", r"manifest\.csv: the file is empty"),
    ("manifest extra field", "manifest", (MANIFEST + "c.png,cid,female,0,extra\n").encode(),
     r"manifest\.csv, row 4: 5 values where the header has 4; quote values"),
    ("manifest Latin-1", "manifest", MANIFEST.replace("anna", "ren\xe9e").encode("latin-1"),
     r"manifest\.csv, row 2: byte b'\\xe9' is not UTF-8 text; save the file as UTF-8"),
    ("manifest infinite view", "manifest", MANIFEST.replace("ben,male,0", "ben,male,inf").encode(),
     r"manifest\.csv row 3: view_deg 'inf' is not a finite number of degrees"),
    ("choices empty", "choices", b"", r"choices\.csv: the file is empty"),
    ("choices extra field", "choices", (CHOICES + "obs1,2,3,4,3,9\n").encode(),
     r"choices\.csv, row 3: 6 values where the header has 5"),
    ("choices Latin-1", "choices", CHOICES.replace("obs1", "obs\xe91").encode("latin-1"),
     r"choices\.csv, row 2: byte b'\\xe9' is not UTF-8 text"),
    ("choices infinite identity", "choices", CHOICES.replace(",2,3,2", ",inf,3,2").encode(),
     r"choices\.csv, row 2: option_a = 'inf' is not an identity number"),
]


@pytest.mark.parametrize("kind, content, message", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_a_bad_csv_names_the_file_the_row_and_the_fix(tmp_path, kind, content, message):
    if kind == "manifest":
        for name in ("a.png", "b.png", "c.png"):
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / name)
        (tmp_path / "manifest.csv").write_bytes(content)
        with pytest.raises(datasets.DatasetError, match=message):
            datasets.load_folder(tmp_path)
    else:
        (tmp_path / "choices.csv").write_bytes(content)
        with pytest.raises(datasets.DatasetError, match=message):
            rank2.read_choices(tmp_path / "choices.csv")


def test_16_bit_greyscale_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16).reshape(8, 8)
    Image.fromarray(ramp).save(tmp_path / "a.png")  # PIL writes mode I;16
    Image.fromarray(ramp).save(tmp_path / "b.png")
    assert Image.open(tmp_path / "a.png").mode.startswith("I;16")
    (tmp_path / "manifest.csv").write_text(MANIFEST)
    faces = datasets.load_folder(tmp_path)
    np.testing.assert_array_equal(faces.images[0], np.round(ramp * (255 / 65535)).astype(np.uint8))
    assert faces.images[0].min() == 0 and faces.images[0].max() == 255


def _write(tmp_path, image, name="a.png", manifest=MANIFEST, other=True):
    image.save(tmp_path / name)
    if other:  # the manifest's other image, a plain 8-bit one
        Image.fromarray(np.full(np.asarray(image).shape[:2], 128, np.uint8)).save(tmp_path / "b.png")
    (tmp_path / "manifest.csv").write_text(manifest)


RAMP = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
IMAGE_CASES = [  # (case, write(tmp_path), message: the one line the loader must give)
    ("float image outside 0-255", lambda t: _write(t, Image.fromarray(RAMP * 1000), "a.tif",
                                                   MANIFEST.replace("a.png", "a.tif")),
     r"a\.tif: 32-bit float values from 0 to 1000; floats are read in 0-1 or 0-255"),
    ("float image with NaN", lambda t: _write(t, Image.fromarray(np.where(RAMP > 0.5, np.nan, RAMP).astype(np.float32)),
                                              "a.tif", MANIFEST.replace("a.png", "a.tif")),
     r"a\.tif: 32-bit float values .* \(and finite\)"),
    ("transparent pixels", lambda t: _write(t, Image.new("RGBA", (8, 8), (255, 255, 255, 0))),
     r"a\.png: 100% of its pixels are transparent; flatten it onto the background you mean"),
    ("a 1x1 image", lambda t: _write(t, Image.new("L", (1, 1)), other=False),
     r"a\.png is 1x1 pixels; face images from 8x8 to 50 megapixels are read: crop or scale it first"),
    ("a 56-megapixel image", lambda t: _write(t, Image.new("L", (8000, 7000)), other=False),
     r"a\.png is 8000x7000 pixels; face images from 8x8 to 50 megapixels"),
    ("view_deg that int16 would wrap", lambda t: _write(t, Image.new("L", (8, 8)), manifest=MANIFEST.replace(
        "a.png,anna,female,0", "a.png,anna,female,0\nc.png,anna,female,65536")),
     r"manifest\.csv row 3: view_deg '65536' is out of range: a yaw in degrees from -180 to 180"),
    ("view_deg of a full turn", lambda t: _write(t, Image.new("L", (8, 8)), manifest=MANIFEST.replace(
        "a.png,anna,female,0", "a.png,anna,female,0\nc.png,anna,female,360")),
     r"manifest\.csv row 3: view_deg '360' is out of range"),
]


@pytest.mark.parametrize("write, message", [c[1:] for c in IMAGE_CASES], ids=[c[0] for c in IMAGE_CASES])
def test_an_image_the_loader_cannot_read_as_a_person_would_is_refused_in_one_line(tmp_path, write, message):
    write(tmp_path)
    with pytest.raises(datasets.DatasetError, match=message):
        datasets.load_folder(tmp_path)


def test_float_images_in_0_1_are_scaled_and_opaque_alpha_is_kept(tmp_path):
    Image.fromarray(RAMP).save(tmp_path / "a.tif")  # mode F, as scientific software writes it
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), mode="RGBA").save(tmp_path / "b.png")
    (tmp_path / "manifest.csv").write_text(MANIFEST.replace("a.png", "a.tif"))
    faces = datasets.load_folder(tmp_path)
    np.testing.assert_array_equal(faces.images[0], np.round(RAMP.astype(np.float64) * 255).astype(np.uint8))
    np.testing.assert_array_equal(faces.images[1], grey)  # every pixel opaque: the alpha says nothing


def test_an_image_is_read_in_the_orientation_its_exif_gives(tmp_path):
    wide = np.zeros((8, 16), np.uint8)
    wide[:, :8] = 255  # the left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    for name in ("a.jpg", "b.jpg"):
        Image.fromarray(wide).save(tmp_path / name, exif=exif, quality=100)
    (tmp_path / "manifest.csv").write_text(MANIFEST.replace(".png", ".jpg"))
    faces = datasets.load_folder(tmp_path)
    assert faces.images.shape[1:] == (16, 8)  # tall, as shown
    assert faces.images[0][:8].mean() > 200 > 50 > faces.images[0][8:].mean()  # the white half now on top


# --------------------------------------------------------------------------- artifacts
def test_a_file_that_is_not_a_face_set_says_so(tmp_path):
    store.save_npz(tmp_path / "faces.npz", images=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(datasets.DatasetError, match=r"faces\.npz: not a face set \(it lacks \['gender', "):
        datasets.FaceDataset.load(tmp_path / "faces.npz")


def test_a_truncated_face_set_is_named(tmp_path, smoke_faces):
    smoke_faces.save(tmp_path / "faces.npz")
    data = (tmp_path / "faces.npz").read_bytes()
    (tmp_path / "faces.npz").write_bytes(data[:1000])
    with pytest.raises(ValueError, match=r"faces\.npz: not a readable \.npz file .*truncated or corrupt: delete it"):
        datasets.FaceDataset.load(tmp_path / "faces.npz")


def test_faces_of_another_profile_are_refused_by_the_stages(tmp_path, smoke_faces):
    from facelrp.stages import StageError, load_faces

    smoke_faces.provenance["profile"] = "demo"
    smoke_faces.save(tmp_path / "faces.npz")
    with pytest.raises(StageError, match=r"faces\.npz: a face set of profile 'demo', not 'smoke'; .*render-faces --profile smoke"):
        load_faces(tmp_path / "faces.npz", load_profile("smoke"))
    smoke_faces.provenance.pop("profile")
    smoke_faces.save(tmp_path / "faces.npz")
    with pytest.raises(StageError, match=r"faces\.npz: 32-px faces, but profile 'demo' takes 128 px"):
        load_faces(tmp_path / "faces.npz", load_profile("demo"))


def test_a_missing_record_is_named(tmp_path):
    results = Results(load_profile("smoke"), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"planted\.json: no record of planted\.npz; run the pipeline"):
        results.read_record(results.planted)


# --------------------------------------------------------------------------- trunks
@pytest.fixture(scope="module")
def tiny_trunk():
    return vgg.trunk_of(vgg.build_vgg16(TINY, n_classes=3))


def test_a_trunk_without_record_or_checksum_is_refused(tmp_path, tiny_trunk):
    vgg.save_trunk(tiny_trunk, tmp_path / "demo-imagenet.h5", {"source": "imagenet"})
    (tmp_path / "demo-imagenet.json").unlink()
    with pytest.raises(WeightsError, match=r"demo-imagenet\.h5: no record \(demo-imagenet\.json\) beside it and no "
                                           r"SHA256SUMS entry.*restore the pair"):
        vgg.load_trunk(tmp_path / "demo-imagenet.h5")


def test_a_trunk_that_differs_from_sha256sums_is_refused(tmp_path, tiny_trunk):
    vgg.save_trunk(tiny_trunk, tmp_path / "demo-imagenet.h5", {"source": "imagenet"})
    (tmp_path / "demo-imagenet.json").unlink()
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  demo-imagenet.h5\n")
    with pytest.raises(WeightsError, match=r"differs from .*SHA256SUMS \(0{64}\)"):
        vgg.load_trunk(tmp_path / "demo-imagenet.h5")


def test_the_other_sources_trunk_in_its_place_is_refused(edited_profile, tmp_path, tiny_trunk):
    folder = tmp_path / "trunks"
    vgg.save_trunk(tiny_trunk, folder / "x-imagenet.h5", {"source": "vggface"})  # the VGGFace trunk, copied in
    profile = load_profile("x", edited_profile({"trunks.folder": str(folder)}))
    with pytest.raises(WeightsError, match=r"x-imagenet\.h5: its record says it is the vggface trunk, not the imagenet one"):
        vgg.profile_trunk(profile, "imagenet")


def test_a_trunk_pretrained_with_another_spec_is_refused_but_can_be_pretrained_over(edited_profile, tmp_path, tiny_trunk,
                                                                                      monkeypatch):
    folder = tmp_path / "trunks"
    vgg.save_trunk(tiny_trunk, folder / "x-imagenet.h5", {"source": "imagenet", "spec": vgg.spec_dict(TINY)})
    profile = load_profile("x", edited_profile({"trunks.folder": str(folder)}))
    assert TrunkSpec(**profile.trunks["spec"]) != TINY
    with pytest.raises(ValueError, match=r"x-imagenet\.h5: pretrained with trunks.spec \{fc_width: 16\} \(its record "
                                         r"x-imagenet.json\), but the x profile asks for \{fc_width: 64\}; pretrain it with "
                                         r"this profile \(python -m facelrp pretrain --profile x --source imagenet\) or set "
                                         r"trunks.spec back"):
        vgg.profile_trunk(profile, "imagenet")
    # the graph and pretraining still name the file, so the pipeline can make it again
    assert Results(profile).trunk("imagenet") == folder / "x-imagenet.h5"
    import facelrp.__main__ as cli
    from facelrp.stages import pretrain

    asked = {}
    monkeypatch.setenv("FACELRP_PROFILES", str(edited_profile({"trunks.folder": str(folder)})))
    monkeypatch.setattr(pretrain, "run", lambda profile, **options: asked.update(options) or {})
    monkeypatch.setattr(pretrain, "summary", lambda record: "pretrained")
    assert cli.main(["pretrain", "--profile", "x", "--source", "imagenet"]) == 0
    assert asked["out"] == folder / "x-imagenet.h5"
    same = load_profile("x", edited_profile({"trunks.folder": str(folder), "trunks.spec": vgg.spec_dict(TINY)}))
    assert vgg.profile_trunk(same, "imagenet")[1]["spec"] == vgg.spec_dict(TINY)


# --------------------------------------------------------------------------- the command line
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "facelrp", *args], capture_output=True, text=True, cwd=cwd)


def test_an_unwritable_output_is_found_before_the_work_and_told_in_one_line(tmp_path):
    (tmp_path / "taken").write_text("a file")
    run = _cli("render-faces", "--profile", "smoke", "--out", str(tmp_path / "taken" / "faces.npz"), cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == (f"python -m facelrp render-faces: {tmp_path / 'taken'}: cannot write there, "
                          f"{tmp_path / 'taken'} is a file, not a folder; choose another --out\n")


def test_a_missing_input_is_one_line_and_debug_shows_the_traceback(tmp_path):
    args = ("features", "--profile", "smoke", "--source", "vggface", "--faces", "nowhere.npz", "--out", "f.npz")
    run = _cli(*args, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1].startswith("python -m facelrp features: nowhere.npz: no such data-set file; make it")
    assert "Traceback" not in run.stderr
    debug = _cli("--debug", *args, cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_profile_of_your_own_runs_and_an_unknown_one_is_one_line(tmp_path, edited_profile):
    import os

    settings = edited_profile({"faces.n_male": 2, "faces.n_female": 1})  # profile 'x'
    env = dict(os.environ, FACELRP_PROFILES=str(settings))
    run = subprocess.run([sys.executable, "-m", "facelrp", "render-faces", "--profile", "x", "--out", "faces.npz"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert datasets.FaceDataset.load(tmp_path / "faces.npz").n_identities == 3
    run = subprocess.run([sys.executable, "-m", "facelrp", "render-faces", "--profile", "y"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 2
    assert run.stderr == f"python -m facelrp render-faces: profile 'y' is not one of ['x'] (defined in {settings})\n"


def test_a_malformed_page_parameter_is_one_line(tmp_path):
    run = _cli("execute-page", "page.md", "--profile", "smoke", "--out", "p.ipynb", "--param", "seed3", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr == "python -m facelrp execute-page: --param 'seed3': expected name=value\n"


@pytest.mark.parametrize("name", ["vggface_identity_s0", "vgg-identity-s0", "vggface-age-s0", "vggface-identity-0"])
def test_a_bad_model_name_lists_the_form_and_the_choices(name):
    from facelrp.models.finetune import ModelKey

    with pytest.raises(ValueError, match=rf"model '{name}' is not <source>-<task>-s<seed> with a source of "
                                         r"\['imagenet', 'vggface'\] and a task of \['gender', 'identity'\]"):
        ModelKey.parse(name)
    assert ModelKey.parse("vggface-identity-s3") == ModelKey("vggface", "identity", 3)


def test_the_written_list_names_every_case():
    from pathlib import Path

    listed = (Path(__file__).with_name("BAD_INPUT.md")).read_text()
    names = [c[0] for c in PROFILE_CASES + CSV_CASES]
    missing = [name for name in names if name not in listed]
    assert not missing, missing


def test_masking_with_the_floor_refuses_sanity_files_without_randomised_maps(tmp_path, smoke_faces, monkeypatch):
    from facelrp import store
    from facelrp.stages import StageError, masking

    smoke = load_profile("smoke")
    results = Results(smoke, tmp_path)
    smoke_faces.provenance["profile"] = "smoke"
    results.faces.parent.mkdir(parents=True)
    smoke_faces.save(results.faces)
    results.sanity("imagenet-gender-s0").parent.mkdir(parents=True)
    store.save_npz(results.sanity("imagenet-gender-s0"), similarity=np.zeros((2, 9, 3, 12)))  # made before the floor
    monkeypatch.setenv("FACELRP_RESULTS", str(tmp_path))
    with pytest.raises(StageError, match=r"imagenet-gender-s0\.npz: it holds no randomised-model maps of this profile's "
                                         r"frontal faces; remake it with `python -m facelrp sanity --profile smoke "
                                         r"--model imagenet-gender-s0`"):
        masking.run(smoke, randomised=True)


def test_a_full_disk_is_one_line_naming_the_file_and_the_old_file_stays(tmp_path, monkeypatch):
    import errno

    store.save_npz(tmp_path / "a.npz", x=np.arange(3))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    with pytest.raises(store.DiskFullError) as caught:
        store.save_npz(tmp_path / "a.npz", x=np.arange(5))
    assert str(caught.value) == (f"{tmp_path / 'a.npz'}: no space left on the device while writing it (the old file, "
                                 "if any, is untouched); free some space or write elsewhere (FACELRP_RESULTS, --out)")
    np.testing.assert_array_equal(store.load_npz(tmp_path / "a.npz")["x"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


def test_an_output_that_is_a_folder_is_refused_before_the_work(tmp_path):
    (tmp_path / "faces").mkdir()
    run = _cli("render-faces", "--profile", "smoke", "--out", str(tmp_path / "faces"), cwd=tmp_path)
    assert run.returncode == 2 and list((tmp_path / "faces").iterdir()) == []
    assert run.stderr == (f"python -m facelrp render-faces: --out {tmp_path / 'faces'}: a folder is there; name the file "
                          f"to write (e.g. {tmp_path / 'faces' / 'out.npz'})\n")
