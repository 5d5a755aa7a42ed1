"""Shared fixtures: small data made in code, never downloaded; and the smoke book, built
in the background while the other tests run."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facelrp.data import datasets, faces

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "results" / "smoke"
#: Where the background build of the smoke book writes its output.
BOOK_LOG = ROOT / "results" / "smoke-book.log"
_BUILD = pytest.StashKey[subprocess.Popen]()


def _start_smoke_book() -> subprocess.Popen:
    """`make book PROFILE=smoke CACHE=off WARM=1` from nothing (the shipped cache/smoke/
    is not read: tests/test_snapshot.py builds the book from it), in the background, its
    output in results/smoke-book.log (the jobs fork from one warm process: facelrp.warm)."""
    shutil.rmtree(SMOKE, ignore_errors=True)
    BOOK_LOG.parent.mkdir(exist_ok=True)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with open(BOOK_LOG, "w") as out:
        return subprocess.Popen(["make", "book", "PROFILE=smoke", "CACHE=off", "WARM=1"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def pytest_collection_modifyitems(config, items):
    """The end-to-end tests (tests/test_book.py) last, and the smoke book they read started
    now: the build keeps both cores busy while the other tests run beside it."""
    book = [item for item in items if item.nodeid.split("::")[0].endswith("test_book.py")]
    items[:] = [item for item in items if item not in book] + book
    if not config.option.collectonly and any("smoke_book" in getattr(item, "fixturenames", ()) for item in book):
        config.stash[_BUILD] = _start_smoke_book()


def pytest_unconfigure(config):
    build = config.stash.get(_BUILD, None)
    if build is not None and build.poll() is None:  # the session ended early (Ctrl-C, -x)
        os.killpg(build.pid, signal.SIGTERM)
        build.wait()


@pytest.fixture(scope="session")
def smoke_book(request):
    """The smoke profile's book made from nothing (results/smoke/, its HTML under _build/)."""
    build = request.config.stash.get(_BUILD, None) or _start_smoke_book()
    build.wait()
    assert build.returncode == 0, BOOK_LOG.read_text()[-6000:]
    return SMOKE / "_build" / "html"


@pytest.fixture(scope="session")
def smoke_faces():
    """The smoke profile's face set: 12 identities x 15 views at 32 px."""
    return datasets.synthetic_vpnl(n_male=6, n_female=6, size=32, seed=0)


@pytest.fixture(scope="session")
def identities():
    """A few identities, alternating female and male."""
    return faces.sample_identities(np.array([0, 1, 0, 1, 0, 1]), np.random.default_rng(3))


@pytest.fixture
def edited_profile(tmp_path):
    """Write the package's smoke profile, edited, as profile 'x' of a profiles.yml in
    `tmp_path`; returns that file. ``edited_profile({"finetune.schedul": "cosine"})`` sets a
    (dotted) key, a value of None deletes it."""
    from pathlib import Path

    import yaml

    import facelrp

    def write(edits: dict) -> Path:
        entries = yaml.safe_load((Path(facelrp.__file__).with_name("profiles.yml")).read_text())
        entry = entries["smoke"]
        for dotted, value in edits.items():
            *parents, last = dotted.split(".")
            section = entry
            for name in parents:
                section = section.setdefault(name, {})
            if value is None:
                del section[last]
            else:
                section[last] = value
        path = tmp_path / "profiles.yml"
        path.write_text(yaml.safe_dump({"x": entry}))
        return path

    return write
