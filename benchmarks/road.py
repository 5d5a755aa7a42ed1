"""Speed of ROAD's noisy linear imputation on a profile's frontal faces.

Imputes every frontal face at every masking level for a few masks (the first model's map
and random orders) and prints images per second, and the time the imputation adds to a
full masking run (21 masks x levels x faces, each filled once and shared by all 20
destination models):

    python benchmarks/road.py --profile demo
    python benchmarks/road.py --profile smoke --masks 1
"""

import argparse
import time

from facelrp.artifacts import Results
from facelrp.data import datasets
from facelrp.evaluate import masking
from facelrp.evaluate.fills import ImageFill
from facelrp.models import finetune
from facelrp.profiles import PROFILE_NAMES, load_profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    parser.add_argument("--masks", type=int, default=2, help="masks to time (the first model's, then random ones)")
    args = parser.parse_args()

    profile = load_profile(args.profile)
    results = Results(profile)
    front = datasets.FaceDataset.load(results.faces).frontal()
    key = finetune.model_keys(profile)[0]
    maps = finetune.load_run(results.model(key.name))[0]["maps"]
    n, h, w = front.images.shape
    orders = [masking.pixel_order(maps)] + [masking.random_order(n, h * w, seed=s) for s in range(args.masks - 1)]
    counts = masking.n_masked(masking.LEVELS, h * w)
    for kind in ("road", "blur"):
        fill = ImageFill(kind, front.images)
        start = time.perf_counter()
        for order in orders[: args.masks]:
            fill.levels(order, counts)
        seconds = time.perf_counter() - start
        images = args.masks * len(counts) * n
        rate = images / seconds
        full = 21 * len(counts) * n
        print(f"{kind:4s}: {images} images ({h}x{w}) in {seconds:.1f} s = {rate:.0f} img/s; "
              f"a full masking run fills {full} images: +{full / rate:.0f} s (one core)")


if __name__ == "__main__":
    main()
