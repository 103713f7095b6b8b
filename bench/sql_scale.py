"""perfdsl at 10M and 100M subjects from Parquet (issue 11 item 6): time and peak memory of
`perfdsl run --backend duckdb`, the polars (columnar) backend and a hand-written DuckDB
query doing the same exact work, with ratios to the hand-written query.

    python bench/sql_scale.py [--n 10000000] [--schemes budget_engineer,branch_employees]
                              [--runs hand,duckdb,polars] [--dir /tmp/perfdsl-scale] [--timeout 1800]

The inputs come from bench/scale_data.py (streamed in chunks; kept in DIR for the next
run). Each contender runs in a child under `/usr/bin/time -v` and writes Parquet; each
perfdsl output is compared value by value with the hand-written query's. Where perfdsl
has no duckdb backend (it is built on branch `sql`), the table says so and measures
nothing for it. Measures only; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cli_run import timed  # noqa: E402
from scale_data import write  # noqa: E402
from workloads import ROOT  # noqa: E402

BACKENDS = {"duckdb": "duckdb", "polars": "columnar"}


def has_backend(name: str) -> bool:
    """Whether this perfdsl's `run --backend` accepts `name` (from its own --help)."""
    p = subprocess.run([sys.executable, "-m", "perfdsl", "run", "--help"], capture_output=True, text=True, cwd=ROOT)
    return name in p.stdout.split("--backend", 1)[-1].split("\n", 1)[0] if "--backend" in p.stdout else False


def same(hand: Path, out: Path) -> str:
    """Whether two Parquet outputs hold the same values (numbers compared as numbers)."""
    import polars as pl
    a, b = pl.scan_parquet(hand), pl.scan_parquet(out)
    columns = a.collect_schema().names()
    if b.collect_schema().names() != columns:
        return "columns differ"
    def norm(lf, c):
        dtype = lf.collect_schema()[c]
        e = pl.col(c)
        if isinstance(dtype, pl.Decimal) or dtype.is_integer():
            return e.cast(pl.Decimal(38, 8)).alias(c)
        return e.list.join(";").alias(c) if isinstance(dtype, pl.List) else e.alias(c)
    diff = pl.concat([a.select([norm(a, c) for c in columns]).with_row_index(),
                      b.select([norm(b, c) for c in columns]).with_row_index()], how="vertical") \
        .group_by(["index", *columns]).len().filter(pl.col("len") != 2).select(pl.len()).collect().item()
    return "same values" if diff == 0 else f"{diff} row versions differ"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--schemes", default="budget_engineer,branch_employees")
    ap.add_argument("--runs", default="hand,duckdb,polars")
    ap.add_argument("--dir", default="/tmp/perfdsl-scale")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a contender may take (default 1800)")
    ap.add_argument("--memory-gb", type=float, default=None, help="cap each contender's address space (GiB)")
    args = ap.parse_args()
    where = Path(args.dir)
    where.mkdir(parents=True, exist_ok=True)
    print(f"{args.n:,} subjects from Parquet, files in {where}")
    print(f"{'scheme':<18} {'run':<8} {'wall s':>8} {'CPU s':>8} {'peak MB':>9} {'× hand wall':>12}  output", flush=True)
    for scheme in args.schemes.split(","):
        data = write(scheme, args.n, where)
        hand = None
        for run in args.runs.split(","):
            out = where / f"out-{scheme}-{args.n}-{run}.parquet"
            if run == "hand":
                cmd = [sys.executable, str(HERE / "hand_duckdb.py"), scheme, str(data), str(out)]
            elif not has_backend(BACKENDS[run]):
                print(f"{scheme:<18} {run:<8} not measured: perfdsl run has no --backend {BACKENDS[run]} here "
                      f"(the duckdb backend is built on branch `sql`)", flush=True)
                continue
            else:
                cmd = [sys.executable, "-m", "perfdsl", "run", str(ROOT / "policies" / f"{scheme}.perf"),
                       "--input", str(data), "--output", str(out), "--backend", BACKENDS[run], "--quiet"]
            try:
                r = timed(cmd, scheme, args.timeout, args.memory_gb)
            except SystemExit as failed:  # a contender that fails (its memory cap, say) is reported, not fatal
                print(f"{scheme:<18} {run:<8} failed: {str(failed).splitlines()[-1][:160]}", flush=True)
                continue
            if "timeout" in r:
                print(f"{scheme:<18} {run:<8} stopped after {args.timeout:.0f} s", flush=True)
                continue
            if run == "hand":
                hand = r
            ratio = f"{r['wall'] / hand['wall']:12.2f}" if hand and run != "hand" else " " * 12
            verdict = same(where / f"out-{scheme}-{args.n}-hand.parquet", out) if hand and run != "hand" else ""
            print(f"{scheme:<18} {run:<8} {r['wall']:8.1f} {r['cpu']:8.1f} {r['peak_mb']:9.0f} {ratio}  {verdict}",
                  flush=True)


if __name__ == "__main__":
    main()
