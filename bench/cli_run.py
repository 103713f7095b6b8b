"""`perfdsl run` CSV → CSV as a user runs it: wall, CPU and peak memory (issue 15 item 2).

    python bench/cli_run.py [--n 100000] [--schemes budget_engineer,branch_employees] [--dir DIR]
                            [--backend python] [--repeat 1] [--explain]

Writes n subjects per scheme as CSV (bench/workloads.py's scheme_records: the same
subjects bench/run.py scores), then runs `perfdsl run policy data.csv out.csv` in a child
under `/usr/bin/time -v` and prints wall seconds, CPU seconds (user + sys), peak RSS and
µs per subject. The outputs stay in DIR (out-<scheme>.csv) so two versions can be compared
byte for byte. Measures only; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import ROOT, scheme_records  # noqa: E402


def _cell(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ";".join(str(x) for x in v)
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


_RATINGS = ("优秀", "良好", "合格", "欠佳")


def cohort_records(scheme: str, n: int) -> list[dict]:
    """scheme_records made fit for a cohort run: branch_employees' forced distribution
    reads dept_rating, which must be one value per dist_group (one per group here)."""
    records = scheme_records(scheme, n)
    if scheme == "branch_employees":
        for r in records:
            r["dept_rating"] = _RATINGS[int(r["dist_group"][1:]) % 4]
    return records


def write_csv(path: Path, records: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(list(records[0]))
        for r in records:
            w.writerow([_cell(v) for v in r.values()])


def _field(text: str, label: str) -> str:
    m = re.search(rf"^\s*{re.escape(label)}: (.*)$", text, re.M)
    return m.group(1).strip() if m else ""


def _wall(text: str) -> float:
    parts = [float(p) for p in _field(text, "Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    secs = 0.0
    for p in parts:
        secs = secs * 60 + p
    return secs


def run_once(scheme: str, data: Path, out: Path, backend: str, explain: bool) -> dict:
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "perfdsl", "run", "--quiet",
           str(ROOT / "policies" / f"{scheme}.perf"), "--input", str(data), "--output", str(out),
           "--backend", backend]
    if explain:
        cmd.append("--explain")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{scheme}: perfdsl run failed:\n{p.stderr[-3000:]}")
    user, system = float(_field(p.stderr, "User time (seconds)")), float(_field(p.stderr, "System time (seconds)"))
    return {"wall": _wall(p.stderr) or wall, "cpu": user + system,
            "peak_mb": int(_field(p.stderr, "Maximum resident set size (kbytes)")) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--schemes", default="budget_engineer,branch_employees")
    ap.add_argument("--dir", default=None, help="where the data and outputs go (default: a temporary directory)")
    ap.add_argument("--backend", default="python")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scheme; the best is shown")
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="perfdsl-cli-run-"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"{args.n:,} subjects, backend {args.backend}{', --explain' if args.explain else ''}, files in {where}")
    print(f"{'scheme':<18} {'wall s':>8} {'CPU s':>8} {'peak MB':>9} {'µs/subject':>11} {'KB/subject':>11}", flush=True)
    for scheme in args.schemes.split(","):
        data = where / f"{scheme}-{args.n}.csv"
        if not data.exists():
            write_csv(data, cohort_records(scheme, args.n))
        out = where / f"out-{scheme}{'-explain' if args.explain else ''}.csv"
        runs = [run_once(scheme, data, out, args.backend, args.explain) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall"])
        print(f"{scheme:<18} {best['wall']:8.2f} {best['cpu']:8.2f} {best['peak_mb']:9.0f} "
              f"{best['cpu'] / args.n * 1e6:11.1f} {best['peak_mb'] * 1024 / args.n:11.2f}", flush=True)


if __name__ == "__main__":
    main()
