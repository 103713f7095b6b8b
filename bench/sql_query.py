"""The duckdb backend's query alone against the hand-written DuckDB query (issue 11 item 6),
on the same data, in one process, around the input side (reading and validating):

    python bench/sql_query.py [--n 1000000] [--schemes budget_engineer,branch_employees]
                              [--dir /tmp/perfdsl-scale] [--repeat 3] [--explain]

The subjects are loaded once from bench/scale_data.py's Parquet into the table the printed
query reads (numbers as scaled integers, cast in SQL: no Python per row). Then, best of
`--repeat`, wall and CPU seconds of
  hand     bench/hand_duckdb.py over the Parquet file: its checks, its temp tables
           (branch_employees' groups and result) and its output query, fetched as a
           polars frame;
  backend  what perfdsl.sql.engine.evaluate does after loading: the query materialized,
           the fail marks and cohort messages read, the output fetched as polars frames
           with the numbers as exact decimals (Ran.frames).
`--explain` prints DuckDB's EXPLAIN ANALYZE of the backend's materialized query.
Measures only; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hand_duckdb  # noqa: E402
from scale_data import write  # noqa: E402
from workloads import ROOT  # noqa: E402


def _inputs(con, ir, source: str):
    """describe() of the file's subjects, computed in SQL (the same scales and bounds)."""
    from perfdsl.lower import scaled as sc
    from perfdsl.sql.query import Input
    out, schema = [], {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{source}')").fetchall()}
    for inp in ir.inputs:
        t = inp.type
        if t.kind == "list":
            most = con.execute(f'SELECT max(len("{inp.name}")) FROM read_parquet(\'{source}\')').fetchone()[0] or 0
            out.append(Input(inp.name, "list", None, "text" if t.elem.kind == "tier" else t.elem.kind,
                             1 << max(0, most - 1).bit_length()))
        elif t.kind == "num":
            dtype = schema[inp.name]
            scale = int(dtype.split(",")[1].rstrip(")")) if dtype.startswith("DECIMAL") else 0
            lo, hi = con.execute(f'SELECT min("{inp.name}"), max("{inp.name}") FROM read_parquet(\'{source}\')').fetchone()
            out.append(Input(inp.name, "num", sc.Num(scale, sc.unscaled(lo, scale) if scale else int(lo),
                                                     sc.unscaled(hi, scale) if scale else int(hi))))
        else:
            out.append(Input(inp.name, "bool" if t.kind == "bool" else "text"))
    return out


def _load(con, inputs, source: str) -> None:
    """The table the printed query reads, with the row numbers a message would give
    (perfdsl.sql.read's: file_row_number + 1) for the records the reference words."""
    cols = ['CAST(file_row_number AS BIGINT) AS "#row"', 'CAST(file_row_number + 1 AS BIGINT) AS "#number"']
    for i in inputs:
        if i.kind == "num":
            cols.append(f'CAST("{i.name}" * {10 ** i.num.scale} AS HUGEINT) AS "{i.name}"')
        else:
            cols.append(f'"{i.name}"')
    con.execute(f"CREATE OR REPLACE TEMP TABLE subjects AS SELECT {', '.join(cols)} "
                f"FROM read_parquet('{source}', file_row_number = true)")


def _best(f, repeat: int):
    best = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        f()
        r = (time.perf_counter() - w, time.process_time() - c)
        best = r if best is None or r[0] < best[0] else best
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--schemes", default="budget_engineer,branch_employees")
    ap.add_argument("--dir", default="/tmp/perfdsl-scale")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()
    import duckdb
    import polars as pl

    from perfdsl.policy import load
    from perfdsl.lower.lower import lower_policy
    from perfdsl.sql import engine as e
    from perfdsl.sql.query import select
    where = Path(args.dir)
    where.mkdir(parents=True, exist_ok=True)
    print(f"{args.n:,} subjects; best of {args.repeat}; wall / CPU seconds")
    print(f"{'scheme':<18} {'hand':>14} {'backend':>14} {'ratio wall':>11} {'ratio CPU':>10}", flush=True)
    for scheme in args.schemes.split(","):
        source = str(write(scheme, args.n, where))
        policy = load(str(ROOT / "policies" / f"{scheme}.perf"))
        con = duckdb.connect()
        inputs = _inputs(con, policy.ir, source)
        _load(con, inputs, source)
        engine = e.DuckDB(con)
        hand = _best(lambda: (hand_duckdb.compute(con, scheme, source),
                              pl.DataFrame(con.sql(hand_duckdb.output(scheme, source)))), args.repeat)
        program = lower_policy(policy.ir)
        stored = engine.stored(inputs)
        backend = _best(lambda: [f.height for f in e.run_loaded(policy.ir, inputs, args.n, stored, engine,
                                                                 program).frames()], args.repeat)
        print(f"{scheme:<18} {hand[0]:6.2f} / {hand[1]:5.2f} {backend[0]:6.2f} / {backend[1]:5.2f} "
              f"{backend[0] / hand[0]:11.2f} {backend[1] / hand[1]:10.2f}", flush=True)
        if args.explain:
            q = e.query(program, tuple(inputs), "duckdb", 1 << max(0, args.n - 1).bit_length())
            kept = e.Ran(engine, program, q, args.n).kept()
            print(con.execute("EXPLAIN ANALYZE " + select(q, kept).sql("duckdb")).fetchall()[0][1])


if __name__ == "__main__":
    main()
