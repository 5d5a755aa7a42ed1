"""Seconds to build and run an iNNvestigate analyzer, with and without Keras' graph-mode
evaluation of constants (what `facelrp.explain.relevance.graph_mode` switches off), and
whether the maps are bit-identical.

    python benchmarks/analyzer_build.py                       # smoke network, composite + epsilon
    python benchmarks/analyzer_build.py --profile demo --images 8 --repeats 2

Builds a VGG-16 of the profile's trunk spec with random weights and a 2-unit linear readout
(no results needed), then alternates the two settings `--repeats` times per method, so
warm-up falls on both. Prints one line per method: median seconds each way and the check.
"""

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--methods", nargs="+", default=["composite", "epsilon"])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np

    from facelrp.explain import relevance
    from facelrp.models import vgg
    from facelrp.profiles import load_profile

    relevance.graph_mode()
    from keras.src.engine import base_layer_utils
    from tensorflow import keras

    keras.utils.set_random_seed(0)
    spec = vgg.TrunkSpec(**load_profile(args.profile).trunks["spec"])
    model = vgg.build_vgg16(spec, n_classes=2)
    x = np.random.default_rng(0).normal(0, 50, (args.images, spec.input_size, spec.input_size, 3)).astype(np.float32)
    classes = np.zeros(len(x), dtype=np.int64)
    print(f"{args.profile} network ({spec.input_size} px, width {spec.width}), {len(x)} images")
    for method in args.methods:
        seconds, maps = {False: [], True: []}, {}
        for _ in range(args.repeats):
            for unsafe in (False, True):
                base_layer_utils._UNSAFE_GRAPH_OP_LAYER_CREATION = unsafe
                start = time.perf_counter()
                maps[unsafe], _ = relevance.relevance_maps(model, x, classes, method=method)
                seconds[unsafe].append(time.perf_counter() - start)
        before, after = statistics.median(seconds[False]), statistics.median(seconds[True])
        print(f"{method:12s} constants evaluated: {before:6.2f} s   kept in the graph: {after:6.2f} s   "
              f"({before / after:.1f}x)   maps bit-identical: {np.array_equal(maps[False], maps[True])}")
    base_layer_utils._UNSAFE_GRAPH_OP_LAYER_CREATION = True


if __name__ == "__main__":
    main()
