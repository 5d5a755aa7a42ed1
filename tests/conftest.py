"""Shared fixtures: small data made in code, never downloaded."""

import numpy as np
import pytest

from facelrp import datasets, faces


@pytest.fixture(scope="session")
def smoke_faces():
    """The smoke profile's face set: 12 identities x 15 views at 32 px."""
    return datasets.synthetic_vpnl(n_male=6, n_female=6, size=32, seed=0)


@pytest.fixture(scope="session")
def identities():
    """A few identities, alternating female and male."""
    return faces.sample_identities(np.array([0, 1, 0, 1, 0, 1]), np.random.default_rng(3))
