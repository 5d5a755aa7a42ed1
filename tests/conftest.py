"""Shared fixtures: small data made in code, never downloaded."""

import numpy as np
import pytest

from facelrp.data import datasets, faces


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
