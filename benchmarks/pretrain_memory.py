"""Peak memory of pretraining a stand-in trunk, by input size.

`facelrp.models.pretrain.pretrain_trunk` holds the corpus as float32 (VGG-16's input); at
higher resolutions that dominates memory. This runs one epoch on random images of the
given size and count and prints the process's peak resident memory:

    python benchmarks/pretrain_memory.py --size 128 --images 16000   # the demo corpus at 128 px

(the demo's ImageNet stand-in corpus is 400 classes x 40 images). One JSON line.
"""

import argparse
import json
import resource
import time

import numpy as np

from facelrp.models import pretrain, vgg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images", type=int, default=16000)
    parser.add_argument("--classes", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size), dtype=np.uint8)
    labels = np.arange(args.images) % args.classes
    spec = vgg.TrunkSpec(width=0.25, input_size=args.size, fc_width=1024)
    start = time.perf_counter()
    pretrain.pretrain_trunk(images, labels, spec, epochs=1, batch_size=128, seed=0, progress=False)
    corpus_gb = args.images * args.size**2 * 3 * 4 / 1e9
    print(json.dumps({
        "size": args.size, "images": args.images, "float32_corpus_gb": round(corpus_gb, 2),
        # ru_maxrss is in KiB on Linux
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, 2),
        "seconds": round(time.perf_counter() - start),
    }))


if __name__ == "__main__":
    main()
