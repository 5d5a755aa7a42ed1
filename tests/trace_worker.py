"""Run pipeline commands in this process and print, as JSON, every function of the package
they executed: [[file relative to the project, qualified name], ...] (test_cache.py checks
them against the stages' code hashes)."""

import inspect
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
executed = set()


def _profile(frame, event, arg):
    if event == "call":
        code = frame.f_code
        # functions only (a class body runs on import whether or not anything uses the class)
        if code.co_flags & inspect.CO_OPTIMIZED and code.co_filename.startswith(str(ROOT / "lib" / "facelrp")):
            executed.add((Path(code.co_filename).relative_to(ROOT).as_posix(), code.co_qualname))


if __name__ == "__main__":
    from facelrp.__main__ import main

    for command in json.loads(sys.argv[1]):
        sys.setprofile(_profile)
        try:
            code = main(command)
        finally:
            sys.setprofile(None)
        if code:
            raise SystemExit(f"{command}: exit {code}")
    print(json.dumps(sorted(executed)))
