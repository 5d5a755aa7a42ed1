"""Masking curves: the trunk-sharing path against the naive path and plain predict throughput.

Runs on a profile whose 20 models the pipeline has made (``make pipeline PROFILE=...``):

    python benchmarks/masking.py --profile smoke             # all 21 masks
    python benchmarks/masking.py --profile demo --masks 3    # 2 model masks + random

Both paths score the same destinations on the same masked images; the script checks
that their accuracies are identical and prints trunk passes, wall times and ratios.
"""

import argparse
import time

import numpy as np

from facelrp.artifacts import Results
from facelrp.data import datasets
from facelrp.evaluate import masking
from facelrp.models import finetune, vgg
from facelrp.profiles import PROFILE_NAMES, TRUNK_SOURCES, load_profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="smoke")
    parser.add_argument("--masks", type=int, default=None, help="use the first N-1 model masks and the random one")
    args = parser.parse_args()

    profile = load_profile(args.profile)
    front = datasets.FaceDataset.load(Results(profile).faces).frontal()
    x = datasets.caffe_preprocess(front.images)
    models, readouts, orders, _ = masking.load_models(profile, front)
    orders["random"] = masking.random_order(len(x), x.shape[1] * x.shape[2])
    if args.masks:
        names = list(orders)[: args.masks - 1] + ["random"]
        orders = {name: orders[name] for name in names}
    layer = finetune.feature_layer(profile.finetune)  # the frozen part each trunk runs
    trunks = {source: finetune.feature_extractor(vgg.profile_trunk(profile, source)[0], layer)
              for source in TRUNK_SOURCES}

    for model in models[:1]:  # warm up TensorFlow's kernels outside the timings
        model.predict(x, verbose=0)
    start = time.perf_counter()
    shared, shared_images = masking.masking_curves(x, orders, trunks, readouts, progress=False)
    shared_seconds = time.perf_counter() - start
    start = time.perf_counter()
    naive, naive_images = masking.naive_curves(x, orders, models, [r.labels for r in readouts], progress=False)
    naive_seconds = time.perf_counter() - start
    repeats = max(1, 2000 // len(x))
    batch = np.concatenate([x] * repeats)
    start = time.perf_counter()
    models[0].predict(batch, batch_size=256, verbose=0)
    predict_rate = len(batch) / (time.perf_counter() - start)

    same = bool((shared == naive).all())
    pairs = shared.shape[0] * shared.shape[1] * shared.shape[2]
    print(f"profile {profile.name}: {len(orders)} masks x {len(models)} destinations x {len(masking.LEVELS)} levels "
          f"x {len(x)} faces ({pairs} accuracies)")
    print(f"trunk-sharing path: {shared_images:>8} trunk images  {shared_seconds:7.1f} s")
    print(f"naive path:         {naive_images:>8} model images  {naive_seconds:7.1f} s")
    print(f"ratio naive/shared: {naive_images / shared_images:.1f}x images, {naive_seconds / shared_seconds:.1f}x time")
    print(f"plain model.predict: {predict_rate:.0f} images/s; shared path {shared_images / shared_seconds:.0f} trunk "
          f"images/s ({shared_images / shared_seconds / predict_rate:.2f}x predict), "
          f"{naive_images / shared_seconds:.0f} destination-images/s ({naive_images / shared_seconds / predict_rate:.1f}x)")
    print(f"identical accuracies: {same}")
    if not same:
        raise SystemExit("the two paths disagree")


if __name__ == "__main__":
    main()
