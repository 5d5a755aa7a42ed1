"""The results cache shipped in cache/demo/ is valid for this checkout: a fresh clone's
`make book` restores every expensive job of the demo book instead of recomputing it (hours).

A change of a stage's code, of a profile setting it reads, or of a shipped input re-keys
that stage's entries and those downstream of it; this test then names them, and the fix is
to remake them (README, "Remaking the cache") in the same change."""

from facelrp import cache
from facelrp.artifacts import Results
from facelrp.profiles import load_profile


def test_every_demo_entry_restores_in_a_fresh_clone(tmp_path):
    profile = load_profile("demo")
    found = cache.status(profile, Results(profile, root=tmp_path))  # nothing computed here, as in a fresh clone
    stale = {job: why for job, why in found.items() if why}
    assert len(found) >= 60 and not stale, "\n".join(
        [f"{len(stale)} of the {len(found)} demo cache entries would be recomputed in a fresh clone; remake them "
         "(make cache PROFILE=demo, or only the changed stages: README, Remaking the cache) and commit cache/demo/:"]
        + [f"  {job}: {'; '.join(why)}" for job, why in sorted(stale.items())])
