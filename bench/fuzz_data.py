"""Long hostile-data fuzz run: `python bench/fuzz_data.py --count 100000 [--files N] [--seed 1]`.

`--count` inputs in all: `--files` of them (default a tenth) are whole CSV / JSON / JSONL
/ XLSX files read through the CLI's path (5% of those also by `perfdsl run`), the rest
single cells through the number reader and the policy's validator (perfdsl.datafuzz).
Prints inputs, tracebacks, silent accepts, wrong readings and time for each part and
the first failures; exits 1 if there is any.
"""
from __future__ import annotations

import argparse
import sys

from perfdsl.datafuzz import fuzz_cells, fuzz_files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    files = args.count // 10 if args.files is None else args.files
    failures = 0
    for name, tally in (("cells", fuzz_cells(args.count - files, args.seed)), ("files", fuzz_files(files, args.seed))):
        print(f"{name}: {tally}", flush=True)
        for example in tally.examples:
            print("  " + example)
        failures += tally.failures
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
