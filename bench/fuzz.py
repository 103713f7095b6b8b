"""Long fuzz run of the checker: `python bench/fuzz.py --count 20000 [--seed 1]`.

Mutates the bundled policies (perfdsl.fuzz.mutants) and checks each mutant; prints
how many ran, how many checked clean, how many gave diagnostics, and any internal
error with the mutant that caused it (exit 1 then).
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from perfdsl.fuzz import check_mutant, mutants

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sources = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "policies").glob("*.perf"))]
    stats = {"ran": 0, "clean": 0, "diagnosed": 0}
    crashes: list[tuple[str, str]] = []

    @seed(args.seed)
    @settings(max_examples=args.count, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(mutants(sources))
    def run(text):
        stats["ran"] += 1
        try:
            diags = check_mutant(ROOT / "policies" / "mutant.perf", text)
        except Exception:  # the point of the fuzzer: any internal error is a finding
            crashes.append((text, traceback.format_exc()))
            return
        stats["diagnosed" if any(d.is_error for d in diags) else "clean"] += 1

    start = time.perf_counter()
    run()
    took = time.perf_counter() - start
    print(f"{stats['ran']} mutants in {took:.0f} s: {stats['clean']} checked clean, "
          f"{stats['diagnosed']} rejected with positioned diagnostics, {len(crashes)} internal errors")
    for text, tb in crashes[:3]:
        print("---- mutant ----\n" + text[:2000] + "\n---- error ----\n" + tb)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
