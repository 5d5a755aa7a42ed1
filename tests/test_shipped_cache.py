"""The results caches shipped in cache/demo/ and cache/smoke/ are valid for this checkout: a
fresh clone's `make book` restores every expensive job of the book instead of recomputing it
(hours for the demo; for the smoke book, numbers that differ from CPU to CPU, which the
snapshot test of tests/test_book.py could not compare).

A change of a stage's code, of a profile setting it reads, or of a shipped input re-keys
that stage's entries and those downstream of it; this test then names them, and the fix is
to remake them (README, "Remaking the cache") in the same change."""

import pytest

from facelrp import cache
from facelrp.artifacts import Results
from facelrp.profiles import load_profile


@pytest.mark.parametrize("name, at_least", [("demo", 60), ("smoke", 55)])
def test_every_entry_restores_in_a_fresh_clone(tmp_path, name, at_least):
    profile = load_profile(name)
    found = cache.status(profile, Results(profile, root=tmp_path))  # nothing computed here, as in a fresh clone
    stale = {job: why for job, why in found.items() if why}
    assert len(found) >= at_least and not stale, "\n".join(
        [f"{len(stale)} of the {len(found)} {name} cache entries would be recomputed in a fresh clone; remake them "
         f"(make cache PROFILE={name}, or only the changed stages: README, Remaking the cache) and commit cache/{name}/:"]
        + [f"  {job}: {'; '.join(why)}" for job, why in sorted(stale.items())])
