"""perfdsl at 10M and 100M subjects from Parquet (issue 11 item 6): time and peak memory of
`perfdsl run --backend duckdb`, the polars (columnar) backend and a hand-written DuckDB
query doing the same exact work (bench/hand_duckdb.py), with ratios to the hand-written query.

    python bench/sql_scale.py --n N [--runs hand,polars,duckdb] [--schemes budget_engineer,branch_employees]
                              [--dir /tmp/perfdsl-scale] [--timeout 1800] [--memory-gb 9]
                              [--duckdb-memory 5GB] [--results bench/scale_results.json]
    python bench/sql_scale.py --table        # only print the table of what the results file holds

The full table of issue 11 item 6, as the lead makes it (each command adds its rows to the
results file, a later run of the same scheme, n and contender replacing the earlier in the
table; the big runs one at a time):

    python bench/sql_scale.py --n 10000000 --runs hand,polars --memory-gb 9
    python bench/sql_scale.py --n 100000000 --runs hand,polars --memory-gb 9
    python bench/sql_scale.py --n 10000000 --runs duckdb --memory-gb 9
    python bench/sql_scale.py --n 100000000 --runs duckdb --memory-gb 9
    python bench/sql_scale.py --table

The inputs come from bench/scale_data.py (written in chunks; kept in DIR for the next
run). Each contender runs in a child under `/usr/bin/time -v` (wall, CPU = user + sys,
peak RSS) and writes Parquet into DIR; each perfdsl output is compared value by value
(numbers as numbers, rows by position) with the hand-written query's output of the same
scheme and n, by DuckDB out of core. `--memory-gb` caps each child's address space, so a
contender that would take the shared machine's memory fails instead: the table says "did
not complete: out of memory at X GiB". The hand-written query runs under DuckDB settings
of hand_duckdb.settings (memory_limit = --duckdb-memory, temp_directory in DIR,
preserve_insertion_order = false, threads = the cores); the duckdb backend is compared
fairly only under the same settings. The machine's load average before each run is kept
with its row. Measures only; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cli_run import measure  # noqa: E402
from hand_duckdb import settings  # noqa: E402
from scale_data import write  # noqa: E402
from workloads import ROOT  # noqa: E402

BACKENDS = {"duckdb": "duckdb", "polars": "columnar"}
RESULTS = HERE / "scale_results.json"
_OOM = ("memory", "cannot allocate", "bad_alloc", "signal 6", "signal 9")


def has_backend(name: str) -> bool:
    """Whether this perfdsl's `run --backend` accepts `name` (from its own --help)."""
    p = subprocess.run([sys.executable, "-m", "perfdsl", "run", "--help"], capture_output=True, text=True, cwd=ROOT)
    return name in p.stdout.split("--backend", 1)[-1].split("\n", 1)[0] if "--backend" in p.stdout else False


def same(hand: Path, out: Path, spill: Path, memory: str) -> str:
    """Whether two Parquet outputs hold the same values row by row (numbers compared as
    numbers, whatever their decimal scale), by DuckDB's positional join (out of core)."""
    import duckdb
    con = duckdb.connect()
    for s in settings(memory, str(spill)):
        con.execute(s)
    read = "SELECT * FROM read_parquet(?)"
    a, b = con.sql(read, params=[str(hand)]), con.sql(read, params=[str(out)])
    if a.columns != b.columns:
        return f"different columns: {b.columns} (hand {a.columns})"
    rows = [con.execute("SELECT count(*) FROM read_parquet(?)", [str(f)]).fetchone()[0] for f in (hand, out)]
    if rows[0] != rows[1]:
        return f"different: {rows[1]:,} rows (hand {rows[0]:,})"
    names = [f'"{c}"' for c in a.columns]
    differ = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in names)
    n = con.execute(f"SELECT count(*) FROM (SELECT {', '.join(names)} FROM read_parquet(?)) a POSITIONAL JOIN "
                    f"(SELECT {', '.join(names)} FROM read_parquet(?)) b WHERE {differ}",
                    [str(hand), str(out)]).fetchone()[0]
    return "same" if n == 0 else f"different: {n:,} rows"


def command(run: str, scheme: str, data: Path, out: Path, args) -> list[str]:
    if run == "hand":
        return [sys.executable, str(HERE / "hand_duckdb.py"), scheme, str(data), str(out),
                "--memory", args.duckdb_memory, "--temp", str(Path(args.dir))]
    return [sys.executable, "-m", "perfdsl", "run", str(ROOT / "policies" / f"{scheme}.perf"),
            "--input", str(data), "--output", str(out), "--backend", BACKENDS[run], "--quiet"]


def status(r: dict, args) -> str:
    """'ok', or how the run did not complete."""
    if "timeout" in r:
        return f"did not complete: stopped after {args.timeout:.0f} s"
    if not r["rc"]:
        return "ok"
    said = r["said"].lower()
    if args.memory_gb and any(w in said for w in _OOM):
        return f"did not complete: out of memory at {args.memory_gb:g} GiB"
    last = r["said"].strip().splitlines()[-1] if r["said"].strip() else f"exit {r['rc']}"
    return f"did not complete: {last[:160]}"


def measure_one(run: str, scheme: str, args) -> dict:
    where = Path(args.dir)
    data = write(scheme, args.n, where)
    out = where / f"out-{scheme}-{args.n}-{run}.parquet"
    out.unlink(missing_ok=True)
    row = {"scheme": scheme, "n": args.n, "contender": run, "load": [round(x, 2) for x in os.getloadavg()],
           "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "memory_gb": args.memory_gb, "duckdb_memory": args.duckdb_memory}
    if run != "hand" and not has_backend(BACKENDS[run]):
        return {**row, "status": f"not measured: perfdsl run has no --backend {BACKENDS[run]} here"}
    # the duckdb backend under the hand-written query's memory limit (PERFDSL_DUCKDB_MEMORY)
    env = {"PERFDSL_DUCKDB_MEMORY": args.duckdb_memory} if run == "duckdb" else None
    r = measure(command(run, scheme, data, out, args), args.timeout, args.memory_gb, env)
    row |= {k: round(r[k], 2) for k in ("wall", "cpu", "peak_mb") if k in r}
    row["status"] = status(r, args)
    if row["status"] != "ok":
        row["said"] = r.get("said", "")[-2000:]
        return row
    hand = where / f"out-{scheme}-{args.n}-hand.parquet"
    if run != "hand":
        row["output"] = same(hand, out, where, args.duckdb_memory) if hand.exists() else "no hand output to compare"
    return row


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def table(rows: list[dict]) -> str:
    """The markdown table: the latest row of each scheme, n and contender."""
    latest: dict[tuple, dict] = {}
    for r in rows:
        latest[(r["scheme"], r["n"], r["contender"])] = r
    order = {"hand": 0, "duckdb": 1, "polars": 2}
    lines = ["| scheme | n | contender | wall s | CPU s | peak MB | × hand wall | output | limits | load before |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(latest, key=lambda k: (k[0], k[1], order.get(k[2], 9))):
        r = latest[key]
        hand = latest.get((key[0], key[1], "hand"))
        load_avg = "/".join(f"{x:.1f}" for x in r.get("load", []))
        limits = ", ".join(([f"{r['memory_gb']:g} GiB address space"] if r.get("memory_gb") else [])
                           + ([f"DuckDB memory_limit {r['duckdb_memory']}"] if key[2] == "hand" else []))
        if r["status"] != "ok":
            peak = f" after {r['wall']:,.0f} s (peak {r['peak_mb']:,.0f} MB)" if r.get("peak_mb") else ""
            lines.append(f"| {key[0]} | {key[1]:,} | {key[2]} | {r['status']}{peak} | | | | | {limits} | {load_avg} |")
            continue
        ratio = f"{r['wall'] / hand['wall']:.2f}" if hand and hand["status"] == "ok" and key[2] != "hand" else ""
        output = "(reference)" if key[2] == "hand" else r.get("output", "")
        lines.append(f"| {key[0]} | {key[1]:,} | {key[2]} | {r['wall']:,.1f} | {r['cpu']:,.1f} | {r['peak_mb']:,.0f} "
                     f"| {ratio} | {output} | {limits} | {load_avg} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--schemes", default="budget_engineer,branch_employees")
    ap.add_argument("--runs", default="hand,duckdb,polars", help="contenders, in order (hand first for the ratios)")
    ap.add_argument("--dir", default="/tmp/perfdsl-scale")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a contender may take (default 1800)")
    ap.add_argument("--memory-gb", type=float, default=None, help="cap each contender's address space (GiB)")
    ap.add_argument("--duckdb-memory", default="5GB",
                    help="DuckDB memory_limit of the hand-written query (default 5GB: DuckDB also allocates outside "
                         "its buffer pool, so keep it well under --memory-gb; 8GB under a 9 GiB cap ran out at 100M)")
    ap.add_argument("--results", type=Path, default=RESULTS, help=f"JSON file the rows are added to ({RESULTS.name})")
    ap.add_argument("--table", action="store_true", help="print the results file's table and run nothing")
    args = ap.parse_args()
    if not args.table:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        print(f"{args.n:,} subjects from Parquet, files in {args.dir}", flush=True)
        for scheme in args.schemes.split(","):
            for run in args.runs.split(","):
                row = measure_one(run, scheme, args)
                args.results.write_text(json.dumps(load(args.results) + [row], ensure_ascii=False, indent=1) + "\n")
                print(json.dumps({k: v for k, v in row.items() if k != "said"}, ensure_ascii=False), flush=True)
                if run == "hand" and row["status"] == "ok":
                    compare_earlier(scheme, args)
    print(table(load(args.results)))


def compare_earlier(scheme: str, args) -> None:
    """A contender measured before the hand-written query of the same scheme and n (a
    100M run takes long: each is run when the machine is free) is compared now, its
    output still in DIR, and its latest row updated."""
    rows, where = load(args.results), Path(args.dir)
    latest = {r["contender"]: r for r in rows if (r["scheme"], r["n"]) == (scheme, args.n)}
    for run, r in latest.items():
        out = where / f"out-{scheme}-{args.n}-{run}.parquet"
        if r.get("output") == "no hand output to compare" and out.exists():
            r["output"] = same(where / f"out-{scheme}-{args.n}-hand.parquet", out, where, args.duckdb_memory)
    args.results.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
