"""A compiled query (perfdsl compile --sql) has no data to size its numbers from: it holds
them at the declared ranges, open ones assumed below 10^15 with --scale decimals. Where a
quotient spreads wider than one scale holds, a row outside the span it holds is marked in
the `#error` column (never a silent wrong value); rows inside give the reference's digits."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from perfdsl.check import compile_file
from perfdsl.policy import Policy
from perfdsl.sql import ERROR, compile_sql

ROOT = Path(__file__).resolve().parent.parent


def test_every_bundled_policy_compiles_in_both_dialects():
    compiled = 0
    for path in sorted((ROOT / "policies").glob("*.perf")):
        ir = compile_file(str(path)).policy
        if ir is None:  # a module of shared declarations (county_common)
            continue
        for dialect in ("duckdb", "spark"):
            assert "SELECT" in compile_sql(ir, dialect)
            compiled += 1
    assert compiled == 2 * 11


def _run(ir, rows_sql: str):
    con = duckdb.connect()
    con.execute("CREATE TABLE subjects AS SELECT * FROM (VALUES " + rows_sql + ") t(manager_id, team_scores, impression, retention)")
    cur = con.execute(compile_sql(ir, "duckdb"))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_budget_manager_mean_of_an_open_list_gives_the_reference_or_marks_the_row():
    ir = compile_file(str(ROOT / "policies" / "budget_manager.perf")).policy
    rows = _run(ir, "('m01', [96, 88, 80]::DECIMAL(38,4)[], 8::DECIMAL(38,4), 9.5::DECIMAL(38,4)),"
                    "('m02', [100, 0, 0]::DECIMAL(38,4)[], 0::DECIMAL(38,4), 0::DECIMAL(38,4)),"
                    "('m03', [123456789012, 3]::DECIMAL(38,4)[], 1::DECIMAL(38,4), 0.0001::DECIMAL(38,4))")
    ref = Policy(ir, backend="reference")
    records = [{"manager_id": "m01", "team_scores": (Decimal(96), Decimal(88), Decimal(80)), "impression": Decimal(8),
                "retention": Decimal("9.5")},
               {"manager_id": "m02", "team_scores": (Decimal(100), Decimal(0), Decimal(0)), "impression": Decimal(0),
                "retention": Decimal(0)},
               {"manager_id": "m03", "team_scores": (Decimal(123456789012), Decimal(3)), "impression": Decimal(1),
                "retention": Decimal("0.0001")}]
    marked = 0
    for row, record in zip(rows, records):
        want = ref.evaluate(record).values
        if row[ERROR] is not None:
            marked += 1
            assert "recompile" in row[ERROR]
            continue
        assert row["team_average"] == want["team_average"] and row["total"] == want["total"]
    # 100 / 3 has 28 digits the query cannot hold at the scale the open range leaves: marked
    assert rows[1][ERROR] is not None and marked < 3
