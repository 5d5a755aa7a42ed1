"""Render speed of the synthetic face set (issue target: the 1,515-image demo set in < 10 s on one core).

    python benchmarks/render_faces.py            # demo set, 64 px
    python benchmarks/render_faces.py --size 224 # paper-sized renders (a subset)
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from facelrp.data import datasets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--identities", type=int, default=None, help="default: the full 101 (44 m / 57 f)")
    args = parser.parse_args()
    n_male, n_female = (44, 57) if args.identities is None else (args.identities // 2, args.identities - args.identities // 2)
    start = time.perf_counter()
    data = datasets.synthetic_vpnl(n_male=n_male, n_female=n_female, size=args.size, seed=0)
    seconds = time.perf_counter() - start
    print(f"rendered {len(data)} images at {args.size} px in {seconds:.2f} s: {len(data) / seconds:.0f} images/s (one core)")


if __name__ == "__main__":
    main()
