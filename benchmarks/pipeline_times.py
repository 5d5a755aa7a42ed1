"""Wall time of each stage of a pipeline run, read from Snakemake's log.

    python benchmarks/pipeline_times.py results/demo/pipeline.log

A job's time runs from its "rule <name>:" block to its "Finished job <id>." line (Snakemake
stamps both); jobs of one rule are summed (core-seconds when they ran side by side) and
the span of the whole run is printed last. Run it on a log of a run that had the machine
to itself: a run beside other work measures the other work too.
"""

import argparse
import datetime
import re
from collections import defaultdict
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


def job_times(log: str) -> tuple[dict[str, list[float]], float]:
    """Seconds of every finished job by rule, and the run's span in seconds."""
    started, rules, times = {}, {}, defaultdict(list)
    stamp, first, last, rule = None, None, None, None
    for line in log.splitlines():
        found = STAMP.match(line.strip())
        if found:
            stamp = datetime.datetime.strptime(found.group(1), "%a %b %d %H:%M:%S %Y")
            first, last = first or stamp, stamp
            continue
        if line.startswith(("rule ", "localrule ")) and line.rstrip().endswith(":"):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("jobid:") and rule is not None:
            job = line.split(":")[1].strip()
            started[job], rules[job] = stamp, rule
            rule = None
        elif line.startswith("Finished job"):
            job = line.split()[2].rstrip(".")
            if job in started:
                times[rules[job]].append((stamp - started[job]).total_seconds())
    return dict(times), (last - first).total_seconds() if first else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", nargs="+", help="Snakemake logs (several: a run resumed)")
    args = parser.parse_args()
    total, span = defaultdict(list), 0.0
    for path in args.log:
        times, seconds = job_times(Path(path).read_text())
        span += seconds
        for rule, found in times.items():
            total[rule] += found
    print(f"{'rule':24s} {'jobs':>5s} {'sum (s)':>9s} {'mean (s)':>9s} {'max (s)':>8s}")
    for rule, found in sorted(total.items(), key=lambda item: -sum(item[1])):
        print(f"{rule:24s} {len(found):5d} {sum(found):9.0f} {sum(found) / len(found):9.1f} {max(found):8.0f}")
    print(f"{'all jobs':24s} {sum(len(f) for f in total.values()):5d} {sum(sum(f) for f in total.values()):9.0f}")
    print(f"wall time of the run(s): {span:.0f} s ({span / 3600:.2f} h)")


if __name__ == "__main__":
    main()
