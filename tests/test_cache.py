"""The results cache's keys and comparisons (facelrp.cache, facelrp.codehash), on small trees made here; the
store -> restore -> verify round trip on the smoke pipeline's results is in test_book.py."""

import json
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from facelrp import cache, codehash

MODULES = {
    "__init__.py": "__version__ = '0'\n",
    "artifacts.py": "WHERE = 'results'\n",
    "other.py": "UNUSED = 1\n",
    "stages/__init__.py": "",
    "stages/thing.py": '"""A stage."""\nfrom ..models import fit\n\ndef run():\n    from ..data.helper import SCALE\n'
                       "    from .. import artifacts\n    return fit.fit() * SCALE\n",
    "models/__init__.py": "",
    "models/fit.py": '"""Fitting."""\n__all__ = ["fit"]\n\ndef fit():\n    """One."""\n    return 1\n',
    "data/__init__.py": "",
    "data/helper.py": "SCALE = 2\n",
}


def _package(tmp_path, monkeypatch, modules):
    """A small package `modules` (path under lib/facelrp -> text) as the project codehash reads."""
    for name, text in modules.items():
        path = tmp_path / "lib" / "facelrp" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(codehash, "PROJECT_DIR", tmp_path)
    _forget()
    yield tmp_path
    _forget()


@pytest.fixture
def project(tmp_path, monkeypatch):
    yield from _package(tmp_path, monkeypatch, MODULES)


def _edit(project, name, old, new):
    path = project / "lib" / "facelrp" / name
    path.write_text(path.read_text().replace(old, new))
    _forget()


def _forget():
    """Drop what codehash remembers of the files (they are edited under it here)."""
    codehash.code_hash.cache_clear()
    codehash._taken.cache_clear()
    codehash._parsed.cache_clear()


def test_a_stages_code_hash_follows_its_imports_lazy_ones_too(project):
    before = codehash.code_hash("thing")
    _edit(project, "data/helper.py", "SCALE = 2", "SCALE = 3")  # imported inside run()
    assert codehash.code_hash("thing") != before
    changed = codehash.code_hash("thing")
    _edit(project, "models/fit.py", "return 1", "return 1.0")
    assert codehash.code_hash("thing") != changed


def test_docstrings_comments_bookkeeping_and_unused_modules_do_not_enter_the_hash(project):
    before = codehash.code_hash("thing")
    _edit(project, "models/fit.py", '"""One."""', '"""One, said otherwise."""\n    # a comment')
    _edit(project, "models/fit.py", '__all__ = ["fit"]', '__all__ = ["fit", "FIT"]')
    _edit(project, "stages/thing.py", '"""A stage."""', '"""A stage, documented."""')
    _edit(project, "artifacts.py", "'results'", "'elsewhere'")  # where files go, not what they hold
    _edit(project, "other.py", "UNUSED = 1", "UNUSED = 2")
    assert codehash.code_hash("thing") == before


def test_the_model_pages_prose_re_keys_nothing_its_code_does(tmp_path, monkeypatch):
    page = tmp_path / "notebooks" / "model.md"
    page.parent.mkdir()
    page.write_text("---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n# One model\n\nIt fine-tunes.\n\n"
                    "```{code-cell} python\nrun = stage.run(profile)\n```\n")
    for _ in _package(tmp_path, monkeypatch, {"stages/model.py": "def run(profile):\n    return 1\n"}):
        before = codehash.code_hash("model")
        page.write_text(page.read_text().replace("It fine-tunes.", "It fine-tunes the readout, then explains it."))
        codehash.code_hash.cache_clear()
        assert codehash.code_hash("model") == before
        page.write_text(page.read_text().replace("run = stage.run(profile)", "run = stage.run(profile, method='epsilon')"))
        codehash.code_hash.cache_clear()
        assert codehash.code_hash("model") != before


def test_code_hash_at_a_commit_is_that_of_the_files_then(project):
    def git(*args):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    then = codehash.code_hash("thing")
    _edit(project, "data/helper.py", "SCALE = 2", "SCALE = 5")
    assert codehash.code_hash("thing", commit) == then != codehash.code_hash("thing")


def test_an_unknown_stage_is_refused(project):
    with pytest.raises(ValueError, match=r"stage 'nothing': no module facelrp\.stages\.nothing"):
        codehash.code_hash("nothing")


# ------------------------------------------------------------------ lineage and its key


PROFILE = {"faces": {"size": 32}, "finetune": {"epochs": 2}}


def _record(path, stage, *, inputs=None, sections=("faces",), code="c0", values=3):
    """A stage's artifact (an .npz) and its record, as the stages write them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=np.arange(values))
    found = {name: {"path": str(p), "sha256": cache.file_sha256(p)} for name, p in (inputs or {}).items()}
    provenance = {"stage": stage, "parameters": {"n": 1}, "settings": {s: PROFILE[s] for s in sections}, "seed": 0,
                  "code": {"git_commit": "abc-dirty", "stage_sha256": code, "stage_hash_version": cache.CODE_HASH_VERSION}, "libraries": {"numpy": np.__version__},
                  "inputs": found, "created": "2026-01-01T00:00:00+00:00", "host": {}}
    path.with_suffix(".json").write_text(json.dumps({"provenance": provenance}))
    return path


@pytest.fixture
def chain(tmp_path, monkeypatch):
    """faces (a stage) and a shipped trunk -> curves (a stage reading both)."""
    monkeypatch.setattr(cache, "PROJECT_DIR", tmp_path)
    trunk = tmp_path / "weights" / "t.h5"
    trunk.parent.mkdir()
    trunk.write_bytes(b"trunk")
    faces = _record(tmp_path / "results" / "p" / "faces.npz", "render-faces")
    curves = _record(tmp_path / "results" / "p" / "curves.npz", "masking", inputs={"faces": faces, "trunk": trunk},
                     sections=("finetune",), code="c1")
    code = {"render-faces": "c0", "masking": "c1"}
    monkeypatch.setattr(cache, "code_hash", lambda stage, commit=None: code[stage])
    monkeypatch.setattr(cache, "_current_libraries", lambda: {"numpy": np.__version__})
    profile = SimpleNamespace(**json.loads(json.dumps(PROFILE)))
    return SimpleNamespace(root=tmp_path, trunk=trunk, faces=faces, curves=curves, profile=profile, code=code)


def test_lineage_reaches_down_to_source_files(chain):
    node = cache.lineage(chain.curves.with_suffix(".json"))
    assert node["stage"] == "masking" and node["sections"] == ["finetune"]
    assert node["inputs"]["faces"]["stage"] == "render-faces"  # a stage made it: its own lineage
    assert node["inputs"]["faces"]["path"] == "results/p/faces.npz"
    assert node["inputs"]["trunk"] == {"file": "weights/t.h5", "sha256": cache.file_sha256(chain.trunk)}


def test_the_key_is_kept_while_nothing_that_made_it_changed(chain):
    node = cache.keyed(cache.lineage(chain.curves.with_suffix(".json")), chain.profile)
    why = []
    assert cache.lineage_key(node, chain.profile, now=True, why=why) == cache.lineage_key(node, chain.profile)
    assert why == []


@pytest.mark.parametrize("change, reason", [
    ("setting", "the settings of stage render-faces changed"),
    ("upstream code", "the code of stage render-faces changed"),
    ("library", "numpy 0.0 made it, this environment has"),
    ("trunk", "weights/t.h5 changed"),
])
def test_the_key_changes_with_the_code_settings_libraries_and_source_files_of_any_stage_up(chain, monkeypatch, change,
                                                                                             reason):
    node = cache.lineage(chain.curves.with_suffix(".json"))
    if change == "library":
        node["inputs"]["faces"]["libraries"] = {"numpy": "0.0"}
    node = cache.keyed(node, chain.profile)
    stored = cache.lineage_key(node, chain.profile)
    if change == "setting":  # a section an upstream stage read
        chain.profile.faces = {"size": 64}
    elif change == "upstream code":
        chain.code["render-faces"] = "c9"
    else:
        chain.trunk.write_bytes(b"another trunk")
    why = []
    assert cache.lineage_key(node, chain.profile, now=True, why=why) != stored
    assert any(line.startswith(reason) for line in why), why


def _remake_faces(chain, code, values):
    """The faces stage run again by the code of hash `code`, making `values` numbers."""
    chain.code["render-faces"] = code
    _record(chain.faces, "render-faces", code=code, values=values)


@pytest.mark.parametrize("remade, kept", [
    (None, False),  # not made again yet: whether it would be the same is not known
    (3, True),  # made again by the changed code, to the same bytes: nothing below re-keys
    (4, False),  # made again, otherwise
])
def test_an_input_made_again_to_the_same_bytes_keeps_the_key_below_it(chain, remade, kept):
    node = cache.keyed(cache.lineage(chain.curves.with_suffix(".json")), chain.profile)
    stored = cache.lineage_key(node, chain.profile)
    saved = chain.faces.read_bytes(), chain.faces.with_suffix(".json").read_text()
    chain.faces.unlink()
    chain.code["render-faces"] = "c9"  # the faces stage's code changed (faster, a refusal more, ...)
    if remade is not None:
        _remake_faces(chain, "c9", remade)
    why = []
    located = lambda recorded: chain.root / recorded  # noqa: E731 (the results are where they were made)
    assert (cache.lineage_key(node, chain.profile, now=True, why=why, located=located) == stored) is kept, why
    if not kept:
        assert "the code of stage render-faces changed" in why
        assert any(("not made here yet" if remade is None else "is made otherwise here") in line for line in why), why
    # made by the old code, the same bytes do not vouch for the new code
    chain.faces.write_bytes(saved[0])
    chain.faces.with_suffix(".json").write_text(saved[1])
    assert cache.lineage_key(node, chain.profile, now=True, located=located) != stored


def test_a_manifest_of_the_first_key_recipe_is_refused_until_re_keyed(chain, monkeypatch, tmp_path):
    node = cache.lineage(chain.curves.with_suffix(".json"))
    monkeypatch.setenv("FACELRP_CACHE", str(tmp_path / "cache"))
    job = SimpleNamespace(name="curves", rule="masking", record=chain.curves.with_suffix(".json"), keep=[chain.curves],
                          folder=None, outputs=[chain.curves])
    monkeypatch.setattr(cache, "cached_jobs", lambda profile, results: [job])
    manifest = cache.Manifest("p", {"curves": cache.Entry("curves", "masking", cache._legacy_key(node, chain.profile),
                                                           node, {}, {}, {})}, tmp_path / "cache" / "p", key_recipe=1)
    manifest.folder.mkdir(parents=True)
    manifest.save()
    chain.profile.name = "p"
    results = SimpleNamespace(root=chain.root / "results" / "p")
    assert "cache-rekey --profile p" in cache.status(chain.profile, results)["curves"][0]
    code = SimpleNamespace(code_hash=cache.code_hash)
    assert cache.rekey(chain.profile, code) == (["curves"], {})
    entry = cache.load_manifest("p").entries["curves"]
    assert cache.load_manifest("p").key_recipe == cache.KEY_RECIPE and entry.lineage["inputs"]["faces"]["key"]
    assert cache.status(chain.profile, results) == {"curves": []}


def test_refresh_records_an_input_made_again_to_the_same_bytes_so_a_fresh_clone_restores_the_entry(chain, monkeypatch,
                                                                                                    tmp_path):
    node = cache.keyed(cache.lineage(chain.curves.with_suffix(".json")), chain.profile)
    monkeypatch.setenv("FACELRP_CACHE", str(tmp_path / "cache"))
    job = SimpleNamespace(name="curves", rule="masking", record=chain.curves.with_suffix(".json"), keep=[chain.curves],
                          folder=None, outputs=[chain.curves])
    monkeypatch.setattr(cache, "cached_jobs", lambda profile, results: [job])
    key = cache.lineage_key(node, chain.profile)
    cache.Manifest("p", {"curves": cache.Entry("curves", "masking", key, node, {}, {}, {"results": "results/p"})},
                   tmp_path / "cache" / "p").save()
    chain.profile.name = "p"
    here, fresh = SimpleNamespace(root=chain.root / "results" / "p"), SimpleNamespace(root=tmp_path / "fresh")
    _remake_faces(chain, "c9", 3)  # the faces' code changed; made again here, to the same bytes
    assert "not made here yet" in " ".join(cache.status(chain.profile, fresh)["curves"])
    assert cache.status(chain.profile, here) == {"curves": []}
    assert cache.refresh(chain.profile, here) == (["curves"], {})
    entry = cache.load_manifest("p").entries["curves"]
    assert entry.key == key and entry.lineage["inputs"]["faces"]["code"] == "c9"
    assert entry.lineage["inputs"]["faces"]["path"] == "results/p/faces.npz"
    assert cache.status(chain.profile, fresh) == {"curves": []}  # a clone that has not made the faces yet
    chain.code["render-faces"] = "c10"  # and once the faces' code changes again, it is not known again
    assert cache.status(chain.profile, fresh)["curves"]


def test_a_stale_result_cannot_be_keyed(chain):
    np.savez(chain.root / "results" / "p" / "faces.npz", x=np.arange(4))  # the faces made again, otherwise
    with pytest.raises(cache.CacheError, match=r"curves\.json: its input faces \(results/p/faces\.npz\) is changed "
                                               r"since; it is stale"):
        cache.lineage(chain.curves.with_suffix(".json"))


def test_a_record_made_by_uncommitted_code_without_its_hash_cannot_be_keyed(chain):
    record = json.loads(chain.curves.with_suffix(".json").read_text())
    record["provenance"]["code"] = {"git_commit": "abc123-dirty", "stage_sha256": "c1", "stage_hash_version": 0}
    chain.curves.with_suffix(".json").write_text(json.dumps(record))
    with pytest.raises(cache.CacheError, match=r"curves\.json: made by uncommitted code \(abc123-dirty\) whose stage code "
                                               r"hash was not recorded by this version of the cache"):
        cache.lineage(chain.curves.with_suffix(".json"))
    # with the recipe of this version, the recorded hash is used
    record["provenance"]["code"]["stage_hash_version"] = cache.CODE_HASH_VERSION
    chain.curves.with_suffix(".json").write_text(json.dumps(record))
    assert cache.lineage(chain.curves.with_suffix(".json"))["code"] == "c1"


# ------------------------------------------------------------------------- comparisons


def _compare(tmp_path, suffix, write_a, write_b):
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    write_a(a)
    write_b(b)
    problems = []
    return cache._compare_file(a, b, "f", problems), problems


def test_arrays_within_the_tolerance_agree_beyond_it_they_are_named(tmp_path):
    x = np.linspace(0, 1, 50)
    largest, problems = _compare(tmp_path, ".npz", lambda p: np.savez(p, auc=x), lambda p: np.savez(p, auc=x + 1e-9))
    assert problems == [] and 0 < largest < 1e-8
    largest, problems = _compare(tmp_path, ".npz", lambda p: np.savez(p, auc=x), lambda p: np.savez(p, auc=x + 1e-3))
    assert problems == ["f:auc: max |difference| 0.001"]
    _, problems = _compare(tmp_path, ".npz", lambda p: np.savez(p, auc=x), lambda p: np.savez(p, auc=x[:3]))
    assert problems == ["f:auc: shape (50,) instead of (3,)"]


def test_records_are_compared_without_their_dates_hosts_and_timings(tmp_path):
    def record(created, seconds, accuracy):
        return lambda p: p.write_text(json.dumps({"provenance": {"created": created, "host": {"cpus": 2}},
                                                  "seconds": seconds, "lrp_seconds": seconds, "accuracy": accuracy}))

    _, problems = _compare(tmp_path, ".json", record("2026-01-01", 3.0, 0.9), record("2027-05-05", 9.0, 0.9))
    assert problems == []
    _, problems = _compare(tmp_path, ".json", record("2026-01-01", 3.0, 0.9), record("2026-01-01", 3.0, 0.8))
    assert problems == ["f/accuracy: max |difference| 0.1"]


def test_rates_memory_and_provenance_are_never_compared_as_results(tmp_path):
    def record(scale, accuracy):
        return lambda p: p.write_text(json.dumps({
            "seconds_per_model": [1.0 * scale, 2.0], "images_per_second": 100 * scale, "peak_rss_gib": 1.5 * scale,
            "layers": {"fc1": {"seconds": scale, "peak_rss_gib": scale, "shape": [4, 4]}},
            "provenance": {"inputs": {"maps": {"path": "m.npz", "sha256": str(scale)}}}, "accuracy": accuracy}))

    largest, problems = _compare(tmp_path, ".json", record(1.0, 0.9), record(3.0, 0.9))
    assert problems == [] and largest == 0.0
    _, problems = _compare(tmp_path, ".json", record(1.0, 0.9), record(3.0, 0.7))
    assert problems == ["f/accuracy: max |difference| 0.2"]


def test_tables_are_compared_column_by_column(tmp_path):
    frame = pd.DataFrame({"trial": ["a", "b"], "p": [0.5, 0.25]})
    _, problems = _compare(tmp_path, ".csv", lambda p: frame.to_csv(p, index=False),
                           lambda p: frame.assign(trial=["a", "c"]).to_csv(p, index=False))
    assert problems == ["f:trial: differs"]


def test_a_job_is_restored_only_when_every_reader_of_its_left_out_files_is(tmp_path):
    from facelrp.pipeline import Job

    def job(rule, name):
        return Job(rule, name, tmp_path / f"{name}.json", (), ())

    jobs = [job("model", "model-a"), job("model", "model-b"), job("sanity", "sanity-a"), job("masking", "masking"),
            job("digest_sanity", "digest-sanity"), job("planted", "planted"), job("digest_planted", "digest-planted")]
    everything = {j.name for j in jobs}
    assert set(cache._with_readers(jobs, everything)) == everything
    # the masking run must run: it reads the sanity checks' arrays, which read every model's
    # weights: those run too, transitively; the planted control is not concerned
    assert set(cache._with_readers(jobs, everything - {"masking"})) == {"digest-sanity", "planted", "digest-planted"}
    # a digest made by other code: the job whose big output it reads runs again
    assert set(cache._with_readers(jobs, everything - {"digest-planted"})) == everything - {"digest-planted", "planted"}


# The budget for a shipped cache (cache/<profile>/ in the repository).
CACHE_BUDGET_BYTES = 40 * 10**6


def _shipped_caches() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "cache/*/manifest.json"], capture_output=True, text=True,
                            cwd=codehash.PROJECT_DIR).stdout.split()
    return [path.split("/")[1] for path in listed]


@pytest.mark.parametrize("profile_name", _shipped_caches() or [pytest.param("none", marks=pytest.mark.skip(
    reason="no cache is shipped in this checkout"))])
def test_a_shipped_cache_is_whole_in_git_and_within_its_budget(profile_name, monkeypatch):
    monkeypatch.delenv("FACELRP_CACHE", raising=False)  # the cache in the repository, not one set elsewhere
    manifest = cache.load_manifest(profile_name)
    folder = manifest.folder
    tracked = set(subprocess.run(["git", "ls-files", "."], capture_output=True, text=True, cwd=folder).stdout.split())
    listed = {"manifest.json"}
    for entry in manifest.entries.values():
        for relative, sha in entry.files.items():
            assert (folder / relative).is_file() and relative in tracked, (entry.job, relative)
            assert cache.file_sha256(folder / relative) == sha, (entry.job, relative)
            listed.add(relative)
        assert entry.made["commit"] and entry.made["command"] and entry.made["created"], entry.job
    assert tracked == listed  # nothing in git the manifest does not account for
    size = sum((folder / relative).stat().st_size for relative in listed)
    assert size <= CACHE_BUDGET_BYTES, f"cache/{profile_name}: {size / 1e6:.1f} MB"


def test_an_unstable_stage_is_shown_beside_the_other_seeds_in_the_cache(tmp_path):
    """The gated networks swing across CPUs as across seeds: verify shows the fresh accuracy
    beside the cache's and the other seed's, and says why (facelrp.cache.UNSTABLE)."""
    from types import SimpleNamespace

    folder, fresh = tmp_path / "cache" / "demo", tmp_path / "fresh"
    entries = {}
    for seed, accuracy in ((0, 0.61), (1, 0.74)):
        relative = f"gates/resnet-s{seed}.json"
        for root, value in ((folder, accuracy), (fresh, accuracy - 0.1)):
            (root / "gates").mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(json.dumps({"accuracy": value, "train_seconds": 9.0}))
        entries[f"gates-resnet-s{seed}"] = cache.Entry(f"gates-resnet-s{seed}", "gates", "k", {
            "parameters": {"variant": "resnet", "seed": seed}}, {}, {relative: cache.file_sha256(folder / relative)}, {})
    manifest = cache.Manifest("demo", entries, folder)
    c = cache.Comparison("gates-resnet-s1", 1, 0, 0.1, ["gates/resnet-s1.json/accuracy: max |difference| 0.1"], rule="gates")
    c.spread = cache._spread(manifest, entries["gates-resnet-s1"], SimpleNamespace(root=fresh))
    assert c.spread == {"field": "accuracy", "fresh": pytest.approx(0.64), "cached": 0.74, "other_seeds": [0.61]}
    assert c.state == cache.DIFFERENT and "accuracy 0.64 here, 0.74 in the cache, other seeds in the cache 0.61: " \
                                          "unstable stage (the gated networks' training is far from a plateau" in c.result


# ------------------------------------------------- the code hash follows what a stage calls

CALLS = {
    "__init__.py": "",
    "artifacts.py": "",
    "stages/__init__.py": "",
    "stages/curve.py": "from ..evaluate import numerics\nfrom ..evaluate.numerics import area as integral\n\n"
                       "def run(x):\n    return numerics.mean(x) + integral(x)\n",
    "stages/bare.py": "from ..evaluate import numerics\n\ndef run(x):\n    return getattr(numerics, 'mean')(x)\n",
    "evaluate/__init__.py": "",
    "evaluate/numerics.py": "import numpy as np\nfrom . import verdicts\nLEVELS = (0, 1)\n\n"
                            "def mean(x):\n    return np.mean(x) * _scale()\n\n"
                            "def _scale():\n    return len(LEVELS)\n\n"
                            "def area(x):\n    return np.trapz(x)\n\n"
                            "def judged(x):\n    return verdicts.rule(mean(x))\n",
    "evaluate/verdicts.py": "MARGIN = 0.05\n\ndef rule(x):\n    return x > MARGIN\n",
}


@pytest.fixture
def calls(tmp_path, monkeypatch):
    yield from _package(tmp_path, monkeypatch, CALLS)


@pytest.mark.parametrize("module, old, new, rekeys", [
    ("evaluate/numerics.py", "np.mean(x)", "np.median(x)", True),  # a function it calls
    ("evaluate/numerics.py", "len(LEVELS)", "len(LEVELS) + 1", True),  # what that function calls
    ("evaluate/numerics.py", "LEVELS = (0, 1)", "LEVELS = (0, 1, 2)", True),  # a constant it reads
    ("evaluate/numerics.py", "np.trapz(x)", "np.trapz(x, dx=2)", True),  # imported under another name
    ("evaluate/numerics.py", "import numpy as np", "import cupy as np", True),  # an import it uses
    ("evaluate/numerics.py", "verdicts.rule(mean(x))", "not verdicts.rule(mean(x))", False),  # beside it, not called
    ("evaluate/verdicts.py", "MARGIN = 0.05", "MARGIN = 0.1", False),  # a module it imports, never calls
])
def test_a_stages_code_hash_covers_what_it_calls_and_nothing_beside_it(calls, module, old, new, rekeys):
    before = codehash.code_hash("curve")
    _edit(calls, module, old, new)
    assert (codehash.code_hash("curve") != before) is rekeys


def test_a_module_named_bare_enters_whole_and_module_level_calls_always(calls):
    before = codehash.code_hash("bare")
    _edit(calls, "evaluate/numerics.py", "verdicts.rule(mean(x))", "not verdicts.rule(mean(x))")
    assert codehash.code_hash("bare") != before  # getattr(numerics, ...) may reach anything in it
    before = codehash.code_hash("curve")
    _edit(calls, "evaluate/verdicts.py", "MARGIN = 0.05", "MARGIN = 0.05\nnp = __import__('numpy')\nnp.seterr(all='raise')")
    _edit(calls, "evaluate/numerics.py", "LEVELS = (0, 1)", "LEVELS = (0, 1)\nnp.random.seed(1)")  # runs on import
    assert codehash.code_hash("curve") != before


def test_imports_in_a_cycle_and_re_exports_are_followed_once(calls):
    _edit(calls, "evaluate/verdicts.py", "MARGIN = 0.05", "from .numerics import mean\nMARGIN = 0.05")
    (calls / "lib/facelrp/evaluate/__init__.py").write_text("from .numerics import area\n")
    _edit(calls, "stages/curve.py", "from ..evaluate.numerics import area as integral", "from ..evaluate import area as integral")
    before = codehash.code_hash("curve")
    _edit(calls, "evaluate/numerics.py", "np.trapz(x)", "np.trapz(x, dx=2)")  # reached through the package's re-export
    assert codehash.code_hash("curve") != before


def test_in_this_project_the_verdicts_do_not_key_the_digest_and_a_numeric_function_keys_its_stages():
    """What the cache's keys follow, on the package itself (nothing edited: the statements
    each stage's hash covers)."""
    def covers(stage, module, name):
        return name in codehash.stage_definitions(stage).get(f"lib/facelrp/{module}", {})

    assert covers("digest", "evaluate/robustness.py", "model_agreement")
    for module in ("evaluate/verdicts.py", "evaluate/summary.py", "evaluate/statistics.py", "evaluate/comparisons.py"):
        assert f"lib/facelrp/{module}" not in codehash.stage_definitions("digest"), module
    assert covers("masking", "evaluate/masking.py", "masking_curves")
    assert not covers("masking", "evaluate/masking.py", "auc")  # the pages integrate the curves
    assert covers("model", "explain/relevance.py", "relevance_maps")


def test_a_new_recipe_re_keys_the_entries_its_predecessor_finds_unchanged_and_only_those(tmp_path, monkeypatch):
    import shutil

    from facelrp.profiles import load_profile

    profile = load_profile("smoke")
    shipped = cache.load_manifest("smoke")
    copy = tmp_path / "smoke"
    shutil.copytree(shipped.folder, copy)
    monkeypatch.setattr(cache, "cache_dir", lambda name: copy)
    # the same recipe as the one that keyed it: every key stays
    rekeyed, left = cache.rekey(profile, codehash)
    assert (len(rekeyed), left) == (len(shipped.entries), {})
    assert {k: e.key for k, e in cache.load_manifest("smoke").entries.items()} == {k: e.key for k, e in shipped.entries.items()}
    # a recipe under which the masking stage's code is not what made the entries: they stay as they were
    then = SimpleNamespace(code_hash=lambda stage: "other" if stage == "masking" else codehash.code_hash(stage))
    rekeyed, left = cache.rekey(profile, then)
    masking = {name for name, e in shipped.entries.items() if e.lineage["stage"] == "masking"}
    assert masking and set(left) == masking and set(rekeyed) == set(shipped.entries) - masking
    assert set(left.values()) == {"the code of stage masking changed"}


def test_every_function_a_stage_runs_is_in_its_code_hash(tmp_path):
    """Run the smoke profile's first stages in a process that records every package
    function it calls: each must be among the definitions the stage's hash covers (the
    bookkeeping modules and the command line apart)."""
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    commands = [["render-faces", "--profile", "smoke"], ["features", "--profile", "smoke", "--source", "imagenet"]]
    run = subprocess.run([sys.executable, str(root / "tests" / "trace_worker.py"), json.dumps(commands)],
                         capture_output=True, text=True, env={**os.environ, "FACELRP_RESULTS": str(tmp_path)}, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    executed = json.loads(run.stdout.strip().splitlines()[-1])
    # the bookkeeping modules, the command line, and what only they call (the profile's checks)
    outside = {f"lib/facelrp/{name}.py" for name in ("__main__", "__init__", "artifacts", "store", "profiles", "pipeline",
                                                      "codehash", "warm", "settings")}
    covered = {}
    for stage in ("render-faces", "features"):
        for relative, names in codehash.stage_definitions(stage).items():
            covered.setdefault(relative, set()).update(n for joined in names for n in joined.split(","))
    missing = [(relative, name) for relative, name in executed if relative not in outside
               and name.split(".")[0] not in covered.get(relative, set())
               and not name.startswith("<")]  # a module's own code (<module>), a comprehension
    assert len(executed) > 20 and missing == []


@pytest.fixture
def smoke_cache_copy(tmp_path, monkeypatch):
    import shutil

    from facelrp.artifacts import Results
    from facelrp.profiles import load_profile

    copy = tmp_path / "cache" / "smoke"
    shutil.copytree(cache.cache_dir("smoke"), copy)
    monkeypatch.setattr(cache, "cache_dir", lambda name: copy)
    profile = load_profile("smoke")
    return SimpleNamespace(folder=copy, profile=profile, results=Results(profile, tmp_path / "results"))


def test_a_byte_changed_in_the_cache_is_found_by_the_status_and_nothing_of_its_entry_is_restored(smoke_cache_copy):
    c = smoke_cache_copy
    manifest = cache.load_manifest("smoke")
    name = "masking"
    entry = manifest.entries[name]
    damaged = sorted(entry.files)[-1]  # the last file restore would copy
    data = bytearray((c.folder / damaged).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (c.folder / damaged).write_bytes(bytes(data))
    why = cache.status(c.profile, c.results)[name]
    assert len(why) == 1 and why[0].startswith(f"{c.folder / damaged}: changed since it was stored")
    with pytest.raises(cache.CacheError, match="changed since it was stored"):
        cache.restore(c.profile, c.results, name)
    assert not any((c.results.root / f).exists() for f in entry.files)  # not one of its files copied
    assert cache.status(c.profile, c.results)["model-imagenet-gender-s0"] == []  # the others stay usable


def test_a_killed_restores_temporaries_are_swept_and_a_live_ones_kept(smoke_cache_copy):
    import os

    c = smoke_cache_copy
    entry = cache.load_manifest("smoke").entries["masking"]
    target = c.results.root / sorted(entry.files)[0]
    target.parent.mkdir(parents=True)
    dead = target.with_name(f".{target.name}.restore-{2 ** 22 + 12345}")  # above Linux's pid range
    live = target.with_name(f".{target.name}.restore-{os.getppid()}")
    dead.write_text("half")
    live.write_text("half")
    restored = cache.restore(c.profile, c.results, "masking")
    assert len(restored) == len(entry.files) and not dead.exists() and live.exists()
    assert not [p for p in target.parent.glob(f".*restore-{os.getpid()}")]


def test_the_inputs_of_one_stage_not_made_here_are_told_in_one_line():
    why = [f"its input r/models/m{k}/arrays.npz (model) is not made here yet, so whether it would be the same bytes is "
           "not known: `make pipeline` makes such inputs first, then checks the entry again" for k in range(40)]
    why += ["its input r/faces.npz (render-faces) is made otherwise here, or by other code or settings than this "
            "checkout's", "the code of stage masking changed", "the code of stage masking changed"]
    assert cache._grouped(why) == [
        "its 40 inputs of stage model (such as r/models/m0/arrays.npz) are not made here yet, so whether they would be "
        "the same bytes is not known: `make pipeline` makes such inputs first, then checks the entry again",
        "its input r/faces.npz (render-faces) is made otherwise here, or by other code or settings than this checkout's",
        "the code of stage masking changed"]
