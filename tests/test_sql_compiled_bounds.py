"""A compiled query (perfdsl compile --sql) has no data to size its numbers from: it holds
them at the declared ranges, open sides assumed at most 10^9 in magnitude, with --scale
decimals. Where a quotient spreads wider than one scale holds, a row outside the span it
holds, or with an input beyond what it assumes, is named in the `#error` column with no
values (never a silent wrong value); rows inside give the reference's digits."""
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


def test_budget_manager_mean_of_an_open_list_gives_the_reference_or_names_the_row():
    ir = compile_file(str(ROOT / "policies" / "budget_manager.perf")).policy
    rows = _run(ir, "('m01', [96, 88, 80]::DECIMAL(38,4)[], 8::DECIMAL(38,4), 9.5::DECIMAL(38,4)),"
                    "('m02', [100, 0, 0]::DECIMAL(38,4)[], 0::DECIMAL(38,4), 0::DECIMAL(38,4)),"
                    "('m03', [123456789012, 3]::DECIMAL(38,4)[], 1::DECIMAL(38,4), 0.0001::DECIMAL(38,4))")
    ref = Policy(ir, backend="reference")
    records = [{"manager_id": "m01", "team_scores": (Decimal(96), Decimal(88), Decimal(80)), "impression": Decimal(8),
                "retention": Decimal("9.5")},
               {"manager_id": "m02", "team_scores": (Decimal(100), Decimal(0), Decimal(0)), "impression": Decimal(0),
                "retention": Decimal(0)}]
    for row, record in zip(rows, records):  # 264 / 3 = 88; 100 / 3 = 33.33… (28 digits): both held
        want = ref.evaluate(record).values
        assert row[ERROR] is None
        assert row["team_average"] == want["team_average"] and row["total"] == want["total"]
    assert rows[0]["team_average"] == 88 and rows[1]["team_average"] == Decimal("33." + "3" * 26)
    # 123456789012 lies beyond the 10^9 an open range is assumed within: named, no values
    assert rows[2][ERROR].startswith("team_scores: an item outside 0..1000000000") and rows[2]["total"] is None
