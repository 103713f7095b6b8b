"""`perfdsl run` CSV → CSV as a user runs it: wall, CPU and peak memory (issue 15 item 2),
beside a hand-written polars script doing the same work (bench/hand_polars.py).

    python bench/cli_run.py [--n 1000000] [--schemes budget_engineer,branch_employees,village_clinic]
                            [--dir DIR] [--backend B] [--repeat 1] [--explain]

Writes n subjects per scheme as CSV (bench/workloads.py's scheme_records: the same
subjects bench/run.py scores), then runs `perfdsl run policy --input data.csv --output
out.csv` (the default command: no --backend unless given) and `python
bench/hand_polars.py` in children under `/usr/bin/time -v`, and prints for each wall
seconds, CPU seconds (user + sys), peak RSS, µs per subject, and perfdsl's wall and CPU
as a ratio to the hand script's. The two outputs must be byte-identical (the table says
so); they stay in DIR (out-<scheme>.csv, hand-<scheme>.csv). Measures only.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
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


def run_once(scheme: str, data: Path, out: Path, backend: str | None, explain: bool) -> dict:
    cmd = [sys.executable, "-m", "perfdsl", "run", str(ROOT / "policies" / f"{scheme}.perf"),
           "--input", str(data), "--output", str(out)]
    if backend:
        cmd += ["--backend", backend]
    if explain:
        cmd.append("--explain")
    return timed(cmd, scheme)


def measure(cmd: list[str], timeout: float | None = None, memory_gb: float | None = None,
            env: dict[str, str] | None = None) -> dict:
    """Run cmd under /usr/bin/time -v: {"rc", "wall", "cpu", "peak_mb", "said"} (peak RSS in
    MB, what the command said on stderr), also for a command that failed; a run past
    `timeout` seconds is stopped: {"timeout": seconds}. With `memory_gb`, the child's
    address space is capped there, so a run that would exhaust a shared machine fails
    instead. `env` adds to the environment the command runs in."""
    cmd = ["/usr/bin/time", "-v", *cmd]

    def cap() -> None:
        import resource
        limit = int(memory_gb * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    t0 = time.perf_counter()
    # its own process group, so that a timeout stops the command and not only /usr/bin/time
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         preexec_fn=cap if memory_gb else None, start_new_session=True,
                         env={**os.environ, **(env or {})})
    try:
        _, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return {"timeout": timeout}
    wall = time.perf_counter() - t0
    said = "\n".join(line for line in stderr.split("\tCommand being timed")[0].splitlines()
                     if not line.startswith("Command exited")).strip()
    user, system = _field(stderr, "User time (seconds)"), _field(stderr, "System time (seconds)")
    peak = _field(stderr, "Maximum resident set size (kbytes)")
    return {"rc": p.returncode, "wall": _wall(stderr) or wall, "cpu": float(user or 0) + float(system or 0),
            "peak_mb": int(peak or 0) / 1024, "said": said}


def timed(cmd: list[str], scheme: str, timeout: float | None = None, memory_gb: float | None = None) -> dict:
    """measure(), exiting with what the command said when it failed."""
    r = measure(cmd, timeout, memory_gb)
    if r.get("rc"):
        said = r["said"] or f"exit {r['rc']}"
        raise SystemExit(f"{scheme}: {' '.join(cmd[:3])} failed:\n{said[-3000:]}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--schemes", default="budget_engineer,branch_employees,village_clinic")
    ap.add_argument("--dir", default=None, help="where the data and outputs go (default: a temporary directory)")
    ap.add_argument("--backend", default=None, help="default: none given (perfdsl picks)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scheme; the best is shown")
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="perfdsl-cli-run-"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"{args.n:,} subjects, backend {args.backend or '(default)'}{', --explain' if args.explain else ''}, "
          f"files in {where}")
    print(f"{'scheme':<18} {'run':<8} {'wall s':>8} {'CPU s':>8} {'peak MB':>9} {'µs/subject':>11} {'KB/subject':>11} "
          f"{'× hand wall':>12} {'× hand CPU':>11}", flush=True)
    for scheme in args.schemes.split(","):
        data = where / f"{scheme}-{args.n}.csv"
        if not data.exists():
            write_csv(data, cohort_records(scheme, args.n))
        out = where / f"out-{scheme}{'-explain' if args.explain else ''}.csv"
        hand_out = where / f"hand-{scheme}.csv"
        best = min((run_once(scheme, data, out, args.backend, args.explain) for _ in range(args.repeat)),
                   key=lambda r: r["wall"])
        hand = min((timed([sys.executable, str(HERE / "hand_polars.py"), scheme, str(data), str(hand_out)], scheme)
                    for _ in range(args.repeat)), key=lambda r: r["wall"])
        for name, r in (("perfdsl", best), ("hand", hand)):
            ratio = (f"{r['wall'] / hand['wall']:12.2f} {r['cpu'] / hand['cpu']:11.2f}" if name == "perfdsl" else "")
            print(f"{scheme:<18} {name:<8} {r['wall']:8.2f} {r['cpu']:8.2f} {r['peak_mb']:9.0f} "
                  f"{r['cpu'] / args.n * 1e6:11.1f} {r['peak_mb'] * 1024 / args.n:11.2f} {ratio}", flush=True)
        if not args.explain:
            same = out.read_bytes() == hand_out.read_bytes()
            print(f"{scheme:<18} outputs {'byte-identical' if same else 'DIFFER'}", flush=True)


if __name__ == "__main__":
    main()
