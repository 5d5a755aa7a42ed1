"""Seconds of a few smoke jobs started cold and forked from the warm server (facelrp.warm),
and whether both make the same bytes.

    python benchmarks/warm_start.py            # after `make book PROFILE=smoke` (it reads results/smoke)

Each job runs `--repeat` times each way, alternating, so that a machine whose speed drifts
(a shared host) drifts for both; the medians are printed. Run it on an idle machine.
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facelrp import warm

ROOT = Path(__file__).resolve().parents[1]


def jobs(out: Path) -> dict[str, list[str]]:
    faces = str(ROOT / "results" / "smoke" / "data" / "faces.npz")
    return {
        "digest (no TensorFlow work)": ["digest", "--profile", "smoke", "--kind", "sanity", "--out", str(out / "sanity.npz")],
        "masking (20 models' masks)": ["masking", "--profile", "smoke", "--faces", faces, "--out", str(out / "curves.npz")],
        "model page (fine-tune + LRP)": ["execute-page", "notebooks/model.md", "--profile", "smoke", "--out",
                                         str(out / "model.ipynb"), "--cwd", str(ROOT), "--param", "source=imagenet",
                                         "--param", "task=gender", "--param", "seed=0"],
    }


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "facelrp", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1",
                TF_NUM_INTEROP_THREADS="1")
    with tempfile.TemporaryDirectory() as scratch, warm.started() as env:
        env = {**env, **{k: base[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                                "TF_NUM_INTEROP_THREADS")}}
        cold_env = {k: v for k, v in env.items() if k != warm.ENV}
        print(f"{'job':32s} {'cold (s)':>9s} {'warm (s)':>9s}  same bytes")
        for name in jobs(Path(scratch)):
            times = {"cold": [], "warm": []}
            digests = {}
            for _ in range(args.repeat):
                for way, way_env in (("cold", cold_env), ("warm", env)):
                    out = Path(scratch) / way
                    out.mkdir(exist_ok=True)
                    job = jobs(out)[name]
                    times[way].append(timed(job, way_env))
                    made = Path(job[job.index("--out") + 1])
                    digests[way] = hashlib.sha256(made.read_bytes()).hexdigest() if made.suffix == ".npz" else None
            same = "n/a (a page)" if digests["cold"] is None else str(digests["cold"] == digests["warm"])
            print(f"{name:32s} {statistics.median(times['cold']):9.1f} {statistics.median(times['warm']):9.1f}  {same}")


if __name__ == "__main__":
    main()
