"""How fast a full-size VGG-16 runs here, and whether scaling by multiply-adds predicts it.

The reproducing chapter estimates the `paper` profile's time from the demo run's own
rates scaled by the ratio of multiply-adds. This script times both sizes directly
(randomly initialised weights: the speed does not depend on them) and prints the rates,
the measured slow-down and the one the multiply-adds predict:

    python benchmarks/paper_size.py                  # demo size vs paper size, 2 threads
    python benchmarks/paper_size.py --threads 1 --images 8

Takes a few minutes: building iNNvestigate's analyzer for a full VGG-16 is slow.
"""

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=4, help="images per timed call (at least 2)")
    args = parser.parse_args()

    import tensorflow as tf

    from facelrp.book import workload
    from facelrp.explain import relevance
    from facelrp.models import vgg
    from facelrp.profiles import load_profile

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    relevance.graph_mode()
    sizes = {name: vgg.TrunkSpec(**load_profile(name).trunks["spec"]) for name in ("demo", "paper")}
    rates = {}
    for name, spec in sizes.items():
        rates[name] = workload.measure_rates(spec, n_images=args.images)
        print(f"{name:5s} {spec.multiply_adds() / 1e9:7.3f} G multiply-adds: forward {rates[name]['forward']:8.2f} img/s, "
              f"LRP {rates[name]['relevance']:8.2f} img/s, analyzer built in {rates[name]['analyzer_seconds']:.1f} s")
    predicted = sizes["paper"].multiply_adds() / sizes["demo"].multiply_adds()
    for kind in ("forward", "relevance"):
        measured = rates["demo"][kind] / rates["paper"][kind]
        print(f"{kind:9s} paper size is {measured:6.1f}x slower than demo size (multiply-adds predict {predicted:.1f}x)")


if __name__ == "__main__":
    main()
