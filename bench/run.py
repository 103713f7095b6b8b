"""perfdsl benchmark: everything issue 15 asks for, in one table, written to bench/results.json.

    python bench/run.py                 # everything, 10M peak-memory run included
    python bench/run.py --no-big        # skip the 10,000,000-subject run
    python bench/run.py --quick         # small sizes: a few minutes

The first table is issue 15's: per bundled scheme, `evaluate(record)`, `evaluate_many`
and the engine alone against the hand-written Decimal function (bench/baselines.py),
in µs per subject, seconds per million (the same number: µs × 10⁶ subjects), the ratio
and MB per subject held; `perfdsl check` start-up in CPU seconds (bench/startup.py);
and `perfdsl run` CSV → CSV as a user runs it (bench/cli_run.py, in a child: wall and CPU
seconds, peak memory, against a hand-written polars script where cli_run.py runs one).

Per-subject contenders (the individual stage, one subject at a time) run on
--subjects records: perfdsl's generated Python (`Policy.evaluate(trace=False,
validate=False)`), the reference interpreter, a hand-written Decimal function, a
hand-written float function and zen-engine (if installed; `evaluate_batch`, on fewer records).
Whole-cohort contenders (quota included) run on a --table-row DataFrame: perfdsl
columnar (`run_table`) and hand-written polars with floats and with exact decimals.
Each runs --repeat times; the table shows medians and ratios to the hand-written
baselines. The 10M run happens in a child process per contender so its peak RSS
(`resource.getrusage`) is its own. Results go to bench/results.json.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import polars as pl  # noqa: E402

import baselines  # noqa: E402
import startup  # noqa: E402
import workloads  # noqa: E402
import perfdsl  # noqa: E402
from perfdsl.columnar import run_table  # noqa: E402
from perfdsl.policy import Policy  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def rounds(contenders: dict, repeat: int) -> dict[str, list[float]]:
    """Each contender once per round, rounds repeated: load on a shared machine hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            times[name] += timed(fn, 1)
    return times


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---- the 10M child ------------------------------------------------------------------------
def child(which: str, path: str, repeat: int) -> None:
    """Load the saved frame, run one contender, print time and memory as JSON."""
    df = pl.read_parquet(path)
    gc.collect()
    before = _rss_now_mb()
    if which == "columnar":
        policy = perfdsl.load(workloads.POLICY)
        fn = lambda: run_table(policy, df, validate=False)  # noqa: E731
    else:
        fn = lambda: baselines.polars_decimal(df)  # noqa: E731
    times = timed(fn, repeat)
    print(json.dumps({"n": df.height, "times": times, "rss_before_mb": before, "peak_rss_mb": _peak_mb()}))


def big_runs(n: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "cohort.parquet")
        workloads.frame(n).write_parquet(path)
        gc.collect()
        out = {}
        for which in ("columnar", "polars_decimal"):
            proc = subprocess.run([sys.executable, __file__, "--child", which, "--path", path, "--repeat", str(repeat)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                out[which] = {"error": proc.stderr.strip().splitlines()[-1:]}
            else:
                out[which] = json.loads(proc.stdout.strip().splitlines()[-1])
        return out


# ---- the main run -------------------------------------------------------------------------
def _add(rows: list[dict], name: str, kind: str, n: int, times: list[float], **extra) -> None:
    med = statistics.median(times)
    rows.append({"contender": name, "kind": kind, "n": n, "times_s": times, "median_s": med,
                 "us_per_subject": med / n * 1e6, **extra})
    print(f"  {name:<42} n={n:>9,}  median {med:8.3f} s  {med / n * 1e6:8.3f} µs/subject", flush=True)


def per_subject(policy, args, repeat: int, rows: list[dict]) -> None:
    """The individual stage, one subject at a time."""
    reference = Policy(policy.ir, backend="reference")
    n = args.subjects
    small = max(1, n // 4)  # the slow Python contenders run on a quarter of the records
    print(f"per-subject contenders ({n:,} records; reference and evaluate_cohort on {small:,}; "
          f"{repeat} rounds)", flush=True)
    records, floats = workloads.records(n), workloads.float_records(n)
    zen = baselines.zen_engine()
    subject = {
        "perfdsl generated Python": (n, lambda: [policy.evaluate(r, trace=False, validate=False) for r in records]),
        "perfdsl reference interpreter": (small, lambda: [reference.evaluate(r, trace=False, validate=False)
                                                          for r in records[:small]]),
        "hand-written Decimal": (n, lambda: baselines.decimal_all(records)),
        "hand-written float": (n, lambda: baselines.float_all(floats)),
        "perfdsl generated Python + cohort stage": (small, lambda: policy.evaluate_cohort(
            records[:small], trace=False, validate=False)),
    }
    if zen is not None:
        zn = min(n, args.zen_subjects)
        subject["zen-engine (evaluate_batch)"] = (zn, lambda: baselines.zen_all(zen, floats[:zn]))
    else:
        print("  zen-engine: not installed, skipped")
    times = rounds({k: fn for k, (_, fn) in subject.items()}, repeat)
    for name, (size, _) in subject.items():
        _add(rows, name, "subject", size, times[name], quota=name.endswith("cohort stage"))


def _held_mb(fn, n: int) -> float:
    """MB per subject that what `fn()` returns keeps alive (tracemalloc, in a separate run)."""
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del out
    return held / n / 2**20


def schemes(args, repeat: int) -> list[dict]:
    """The four bundled individual schemes: the hand-written Decimal function against
    `Policy.evaluate` as users call it (validated, explanation on demand), the batch API
    `evaluate_many` (validated, output rows) and the engine alone (no validation, no trace).
    Every contender gets the same raw records; the outputs are checked equal first."""
    n = args.scheme_subjects
    out = []
    for scheme in workloads.SCHEMES:
        policy = perfdsl.load(ROOT / "policies" / f"{scheme}.perf")
        records = workloads.scheme_records(scheme, n)
        _same_as_hand(scheme, policy, records[:2000])
        contenders = {
            "hand-written Decimal": lambda: baselines.hand_all(scheme, records),
            "evaluate(record)": lambda: [policy.evaluate(r) for r in records],
            "evaluate_many(records)": lambda: policy.evaluate_many(records),
            "engine only (no validation, no trace)": lambda: [policy.evaluate(r, trace=False, validate=False)
                                                              for r in records],
        }
        print(f"{scheme} ({n:,} records, {repeat} rounds)", flush=True)
        times = rounds(contenders, repeat)
        small = min(n, 20_000)
        part = records[:small]
        memory = {
            "hand-written Decimal": lambda: baselines.hand_all(scheme, part),
            "evaluate(record)": lambda: [policy.evaluate(r) for r in part],
            "evaluate_many(records)": lambda: policy.evaluate_many(part),
            "engine only (no validation, no trace)": lambda: [policy.evaluate(r, trace=False, validate=False)
                                                              for r in part],
        }
        base = statistics.median(times["hand-written Decimal"])
        for name in contenders:
            med = statistics.median(times[name])
            row = {"scheme": scheme, "contender": name, "kind": "scheme", "n": n, "times_s": times[name],
                   "median_s": med, "us_per_subject": med / n * 1e6, "s_per_million": med / n * 1e6,
                   "vs_hand_decimal": med / base, "mb_per_subject": _held_mb(memory[name], small)}
            out.append(row)
            print(f"  {name:<40} {row['us_per_subject']:8.3f} µs/subject  {row['vs_hand_decimal']:6.2f}× hand",
                  flush=True)
    return out


def _same_as_hand(scheme: str, policy, records: list[dict]) -> None:
    """The hand-written function computes what perfdsl does (numerically: it may keep
    fewer trailing zeros), or the benchmark would compare different work."""
    hand = baselines.hand_all(scheme, records)
    names = {"budget_engineer": ("quality", "efficiency", "cost", "ability", "total", "grade")}
    for r, h in zip(records, hand):
        res = policy.evaluate(r)
        if scheme in names:
            got = tuple(res[k] for k in names[scheme])
        else:
            got = tuple(res.values.values()) + ((bool(res.flags),) if len(h) > len(res.values) else ())
        if got != h:
            raise SystemExit(f"{scheme}: the hand-written baseline disagrees with perfdsl on {r}: {h} != {got}")


def whole_cohort(policy, args, repeat: int, rows: list[dict]) -> tuple[dict, bool]:
    """Whole-cohort contenders, quota included; returns the columnar stage profile and
    whether its output equals the hand-written exact polars one."""
    print(f"whole-cohort contenders ({args.table_rows:,} rows, quota included, {repeat} rounds)", flush=True)
    df = workloads.frame(args.table_rows)
    df_float = workloads.frame(args.table_rows, overrun="float")
    stages: list[dict] = []

    def columnar(validate: bool):
        res = run_table(policy, df, validate=validate)
        if not validate:
            stages.append(res.timings)
    table = {
        "polars hand-written float": lambda: baselines.polars_float(df_float),
        "polars hand-written Decimal": lambda: baselines.polars_decimal(df),
        "perfdsl columnar": lambda: columnar(False),
        "perfdsl columnar, validated": lambda: columnar(True),
    }
    times = rounds(table, repeat)
    for name in table:
        _add(rows, name, "table", df.height, times[name], quota=True)
    profile = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    mine = run_table(policy, df, validate=False).frame
    hand = baselines.polars_decimal(df)
    return profile, all(mine[c].to_list() == hand[c].to_list() for c in hand.columns)


def cli_runs(n: int, schemes: str) -> list[dict]:
    """Run bench/cli_run.py in a child and read its table (see cli_rows)."""
    proc = subprocess.run([sys.executable, str(HERE / "cli_run.py"), "--n", str(n), "--schemes", schemes],
                          capture_output=True, text=True, cwd=ROOT)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        print(f"  bench/cli_run.py failed: {proc.stderr.strip()[-500:]}", flush=True)
        return []
    return cli_rows(proc.stdout, n, schemes.split(","))


def cli_rows(printed: str, n: int, schemes: list[str]) -> list[dict]:
    """The rows of bench/cli_run.py's table: one line per scheme and contender (`perfdsl`
    or `hand`, or no name for perfdsl alone) with wall s, CPU s, peak MB, µs and KB per
    subject, and a line saying whether the two outputs are byte-identical."""
    rows: list[dict] = []
    for line in printed.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] not in schemes:
            continue
        if words[1] == "outputs":
            for r in rows:
                if r["scheme"] == words[0]:
                    r["outputs_identical"] = "byte-identical" in line
            continue
        who, numbers = (words[1], words[2:]) if words[1] in ("perfdsl", "hand") else ("perfdsl", words[1:])
        wall, cpu, peak_mb = (float(x) for x in numbers[:3])
        rows.append({"scheme": words[0], "contender": "perfdsl run CSV → CSV" if who == "perfdsl" else
                     "hand-written polars CSV → CSV", "kind": "cli", "n": n, "wall_s": wall, "cpu_s": cpu,
                     "peak_mb": peak_mb, "us_per_subject": cpu / n * 1e6, "s_per_million": wall / n * 1e6,
                     "mb_per_subject": peak_mb / n})
    for r in rows:
        hand = next((h for h in rows if h["scheme"] == r["scheme"] and h["contender"].startswith("hand")), None)
        r["vs_hand_wall"] = r["wall_s"] / hand["wall_s"] if hand else None
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=200_000, help="records for per-subject contenders")
    ap.add_argument("--zen-subjects", type=int, default=50_000, help="records for zen-engine")
    ap.add_argument("--table-rows", type=int, default=1_000_000, help="rows for whole-cohort contenders")
    ap.add_argument("--scheme-subjects", type=int, default=100_000, help="records per bundled scheme")
    ap.add_argument("--startup-repeat", type=int, default=3, help="runs of each `perfdsl check` start-up")
    ap.add_argument("--cli-subjects", type=int, default=1_000_000, help="subjects per `perfdsl run` CSV → CSV")
    ap.add_argument("--cli-schemes", default="budget_engineer,branch_employees,village_clinic")
    ap.add_argument("--big", type=int, default=10_000_000, help="rows of the peak-memory run")
    ap.add_argument("--no-big", action="store_true", help="skip the peak-memory run")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--out", default=str(HERE / "results.json"))
    ap.add_argument("--child", choices=["columnar", "polars_decimal"], help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.path, args.repeat)
        return
    if args.quick:
        args.subjects, args.zen_subjects, args.table_rows, args.big, args.repeat = 20_000, 2_000, 100_000, 300_000, 3
        args.scheme_subjects, args.startup_repeat, args.cli_subjects = 20_000, 1, 50_000
    repeat = max(3, args.repeat)

    scheme_rows = schemes(args, repeat)
    print("start-up: perfdsl check, CPU seconds of a fresh process", flush=True)
    startup_rows = startup.run(args.startup_repeat)
    print(f"perfdsl run CSV → CSV, {args.cli_subjects:,} subjects (bench/cli_run.py)", flush=True)
    cli_rows = cli_runs(args.cli_subjects, args.cli_schemes)
    policy = perfdsl.load(workloads.POLICY)
    rows: list[dict] = []
    per_subject(policy, args, repeat, rows)
    profile, same = whole_cohort(policy, args, repeat, rows)

    base = {r["contender"]: r["us_per_subject"] for r in rows}
    for r in rows:
        r["vs_decimal_fn"] = r["us_per_subject"] / base["hand-written Decimal"]
        r["vs_float_fn"] = r["us_per_subject"] / base["hand-written float"]
        r["vs_polars_decimal"] = r["us_per_subject"] / base["polars hand-written Decimal"]
        r["vs_polars_float"] = r["us_per_subject"] / base["polars hand-written float"]

    big = {}
    if not args.no_big:
        print(f"peak memory at {args.big:,} rows (one child process per contender)", flush=True)
        big = big_runs(args.big, 2)

    result = {"machine": {"python": platform.python_version(), "polars": pl.__version__, "cpus": os.cpu_count(),
                          "platform": platform.platform(), "loadavg": os.getloadavg()},
              "repeat": repeat, "contenders": rows, "columnar_stages_s": profile,
              "columnar_equals_polars_decimal": same, "big": big,
              "schemes": scheme_rows, "startup": startup_rows, "cli": cli_rows,
              "pythondontwritebytecode_in_environment": os.environ.get("PYTHONDONTWRITEBYTECODE")}
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print_table(result)
    print(f"\nwritten {args.out}")


def print_table(result: dict) -> None:
    """Issue 15's table, then budget_engineer's contenders in detail."""
    print()
    head = (f"{'item':<5}{'scheme':<18}{'contender':<44}{'µs/subj':>9}{'s/1M':>8}{'× base':>8}{'MB/subj':>10}"
            f"  goal")
    print(head)
    print("-" * len(head))
    for r in result.get("schemes", []):
        goal = "≤ 1.3× hand" if r["contender"] == "evaluate(record)" else ""
        print(f"{'1':<5}{r['scheme']:<18}{r['contender']:<44}{r['us_per_subject']:>9.2f}{r['s_per_million']:>8.2f}"
              f"{r['vs_hand_decimal']:>8.2f}{r['mb_per_subject']:>10.6f}  {goal}")
    for r in result.get("cli", []):
        ratio = f"{r['vs_hand_wall']:>8.2f}" if r.get("vs_hand_wall") else f"{'':>8}"
        goal = "≤ 2× hand, < 0.001 MB + data" if r["contender"].startswith("perfdsl") else ""
        print(f"{'2':<5}{r['scheme']:<18}{r['contender'] + ' (' + format(r['n'], ',') + ')':<44}"
              f"{r['us_per_subject']:>9.2f}{r['s_per_million']:>8.2f}{ratio}{r['mb_per_subject']:>10.6f}  {goal}")
    for r in result.get("startup", []):
        print(f"{'3':<5}{'start-up':<18}{r['contender'] + ' (.pyc ' + r['pyc'] + ')':<44}"
              f"{'CPU ' + format(r['cpu_s'], '.3f') + ' s':>25}         ≤ {r['goal_s']} s")
    print("(item 1: CPU µs per subject, ratio to the hand-written Decimal function; item 2: CPU µs per subject,\n"
          " wall seconds per million, ratio of wall times to the hand-written polars script, peak MB per subject)")
    print()
    head = f"{'contender':<42}{'n':>11}{'median s':>10}{'µs/subj':>10}{'÷Dec fn':>9}{'÷float fn':>10}{'÷pl Dec':>9}{'÷pl float':>10}"
    print(head)
    print("-" * len(head))
    for r in result["contenders"]:
        print(f"{r['contender']:<42}{r['n']:>11,}{r['median_s']:>10.3f}{r['us_per_subject']:>10.3f}"
              f"{r['vs_decimal_fn']:>9.2f}{r['vs_float_fn']:>10.2f}{r['vs_polars_decimal']:>9.2f}{r['vs_polars_float']:>10.2f}")
    st = result["columnar_stages_s"]
    print("\nperfdsl columnar stages (median s): " + ", ".join(f"{k} {v:.3f}" for k, v in st.items()))
    print(f"columnar output equals hand-written polars Decimal: {result['columnar_equals_polars_decimal']}")
    for which, b in result["big"].items():
        if "error" in b:
            print(f"{which} at big size: failed: {b['error']}")
        else:
            print(f"{which} at {b['n']:,} rows: best of {len(b['times'])} {min(b['times']):.2f} s, "
                  f"peak RSS {b['peak_rss_mb']:,.0f} MiB "
                  f"(input frame loaded: {b['rss_before_mb']:,.0f} MiB)")
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in result['machine']['loadavg'])}")


if __name__ == "__main__":
    main()
