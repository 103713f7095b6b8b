"""`perfdsl compile --sql duckdb` of every bundled policy, run in DuckDB over ordinary data
loaded into a table `subjects` (each `example` of the policy, and the sample files in
policies/data), gives the python backend's values cell by cell, with no `#error`; hostile
cells (too many decimals, a huge value, a zero divisor) leave their row without values and
name the field and the reason in `#error`."""
from __future__ import annotations

import csv
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.lower import scaled as sc
from perfdsl.policy import Policy
from perfdsl.run_read import read_subjects
from perfdsl.sql import ERROR, WARNING, compile_sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from lower_policies import TIED  # noqa: E402
from test_hostile import PAYLOAD, hostile_policy  # noqa: E402
from test_sql import CROSSED, DIVIDE, WHEN_FAILS  # noqa: E402

BUNDLED = [p for p in sorted((ROOT / "policies").glob("*.perf")) if compile_file(p).policy is not None]
_TYPES = {"num": "DECIMAL(38,10)", "bool": "BOOLEAN", "text": "VARCHAR", "tier": "VARCHAR"}


def _table(con, ir, records: list[dict]) -> None:
    """The records as the table `subjects`, typed as a warehouse holds them."""
    def sql_type(t):
        return _TYPES[t.elem.kind] + "[]" if t.kind == "list" else _TYPES[t.kind]
    cols = ", ".join(f'"{i.name}" ' + ("BIGINT" if i.is_int and i.type.kind == "num" else sql_type(i.type))
                     for i in ir.inputs)
    con.execute(f"CREATE OR REPLACE TABLE subjects ({cols})")
    con.executemany(f"INSERT INTO subjects VALUES ({', '.join('?' * len(ir.inputs))})",
                    [[list(r[i.name]) if isinstance(r[i.name], tuple) else r[i.name] for i in ir.inputs]
                     for r in records])


def _compiled(con, ir, scale: int = 4) -> list[dict]:
    cur = con.execute(compile_sql(ir, "duckdb", scale=scale))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _places(records: list[dict]) -> int:
    """The decimals the data has (the --scale it is compiled with), at least 4."""
    def of(v):
        if isinstance(v, tuple):
            return max([of(x) for x in v], default=0)
        return sc.places(v) if isinstance(v, Decimal) else 0
    return max([4] + [of(v) for r in records for v in r.values()])


def _same(got, want) -> bool:
    if isinstance(want, (tuple, list)):  # flags
        return got == ";".join(want)
    if isinstance(want, Decimal):
        return isinstance(got, Decimal) and got == want
    return got == want


def _examples(path: Path):
    ir = compile_file(path).policy
    return [(ir, f"{path.stem}:{ex.span.line}", [r for _, r in ex.records]) for ex in ir.examples]


EXAMPLES = [case for p in BUNDLED for case in _examples(p)]


@pytest.mark.parametrize("ir,where,records", EXAMPLES, ids=[w for _, w, _ in EXAMPLES])
def test_compiled_query_gives_the_python_backends_values_on_every_example(ir, where, records):
    con = duckdb.connect()
    _table(con, ir, records)
    rows = _compiled(con, ir, _places(records))
    policy = Policy(ir, backend="python")
    python = policy.evaluate_cohort(records, trace=False)
    assert len(rows) == len(python)
    by_key = {str(r.record[ir.key]): r for r in python} if ir.key else dict(enumerate(python))
    assert any(row.get(WARNING) for row in rows) == bool(policy.last_warnings), (where, policy.last_warnings)
    for i, row in enumerate(rows):
        want = by_key[row[ir.key] if ir.key else i]
        assert row[ERROR] is None, (where, row[ERROR])
        for name, got in row.items():
            if name in ("#row", ERROR, WARNING, ir.key):
                continue
            expected = want.flags if name == "flags" else want.values[name]
            assert _same(got, expected), (where, name, got, expected)


def test_budget_manager_means_by_hand():
    """Hand-checked: (88 + 90 + 86) / 3 = 88, + 8 + 9.5 = 105.5; (33 + 33 + 34) / 3 =
    33.33… to 28 significant digits (26 decimals), + 1 + 1 = 35.33… (26 decimals)."""
    ir = compile_file(ROOT / "policies" / "budget_manager.perf").policy
    con = duckdb.connect()
    _table(con, ir, [{"manager_id": "m1", "team_scores": (Decimal(88), Decimal(90), Decimal(86)),
                      "impression": Decimal(8), "retention": Decimal("9.5")},
                     {"manager_id": "m2", "team_scores": (Decimal(33), Decimal(33), Decimal(34)),
                      "impression": Decimal(1), "retention": Decimal(1)}])
    m1, m2 = _compiled(con, ir)
    assert (m1["team_average"], m1["total"], m1[ERROR]) == (Decimal(88), Decimal("105.5"), None)
    assert m2["team_average"] == Decimal("33." + "3" * 26)
    assert m2["total"] == Decimal("35." + "3" * 26) and m2[ERROR] is None


DATA = [("budget_engineer", "budget_engineer.csv"), ("county_departments", "county_departments.xlsx")]


@pytest.mark.parametrize("name,data", DATA)
def test_compiled_query_on_the_sample_data_is_perfdsl_run_python_cell_by_cell(name, data, tmp_path):
    policy = Policy(compile_file(ROOT / "policies" / f"{name}.perf").policy, backend="python")
    ir = policy.ir
    out = tmp_path / "python.csv"
    assert main(["run", str(ROOT / "policies" / f"{name}.perf"), "--input", str(ROOT / "policies" / "data" / data),
                 "--output", str(out), "--backend", "python", "--quiet"]) in (0, None)
    with open(out, encoding="utf-8-sig", newline="") as f:
        written = list(csv.DictReader(f))
    read = read_subjects(policy, str(ROOT / "policies" / "data" / data))
    good, problems, _ = policy._validator.many([(r.number, r.values) for r in read], policy._check)
    assert not problems
    con = duckdb.connect()
    _table(con, ir, good)
    rows = {r[ir.key]: r for r in _compiled(con, ir)}
    assert len(rows) == len(written) > 0
    compared = 0
    for cells in written:
        row = rows[cells[ir.key]]
        assert row[ERROR] is None
        for name_, cell in cells.items():
            if name_ == ir.key or name_ not in row:
                continue
            got = row[name_]
            if isinstance(got, Decimal):
                assert got == Decimal(cell), (cells[ir.key], name_, got, cell)
            else:
                assert (got or "") == cell, (cells[ir.key], name_, got, cell)
            compared += 1
    assert compared == len(written) * (len(written[0]) - 1)  # every cell but the key's


def test_hostile_cells_leave_their_row_without_values_and_name_the_field():
    ir = compile_file(ROOT / "policies" / "budget_manager.perf").policy
    con = duckdb.connect()
    good = {"team_scores": (Decimal(96), Decimal(88), Decimal(80)), "impression": Decimal(8), "retention": Decimal("9.5")}
    _table(con, ir, [{"manager_id": "a", **good},
                     {**good, "manager_id": "b", "retention": Decimal("9.12345")},  # 5 decimals, --scale 4
                     {**good, "manager_id": "c", "team_scores": (Decimal("123456789012.5"),)},  # beyond 10^9
                     {**good, "manager_id": "d", "impression": Decimal("1234567890123456789.5")},  # × 10^4 is past BIGINT
                     {**good, "manager_id": "e", "team_scores": (Decimal(0), Decimal(0), Decimal("0.1"))}])  # mean 0.0333…
    a, b, c, d, e = _compiled(con, ir)
    assert (a["team_average"], a["total"], a[ERROR]) == (Decimal(88), Decimal("105.5"), None)
    assert b[ERROR] == "retention: more than 4 decimals (compile with a larger --scale to hold them)"
    assert c[ERROR].startswith("team_scores: an item outside 0..1000000000, the range this query holds")
    assert d[ERROR] == "impression: outside 0..10, its declared range"
    assert e[ERROR].startswith("team_average: the quotient lies below 10^-1, outside the span one scale holds")
    assert e[ERROR].endswith("(policies/budget_manager.perf:31:22)") or "budget_manager.perf:31:22" in e[ERROR]
    for row in (b, c, d, e):  # no partial row
        assert (row["team_average"], row["total"], row["flags"]) == (None, None, None)
        assert row["manager_id"] is not None


def test_a_zero_divisor_names_the_field_and_the_reason(tmp_path):
    path = tmp_path / "div.perf"
    path.write_text(DIVIDE, encoding="utf-8")
    ir = compile_file(path).policy
    con = duckdb.connect()
    _table(con, ir, [{"id": "x", "a": Decimal(1), "b": Decimal(3)}, {"id": "y", "a": Decimal(1), "b": Decimal(0)}])
    x, y = _compiled(con, ir)
    assert (x["q"], x[ERROR]) == (Decimal("0.3333333333333333333333333333"), None)
    assert y[ERROR] == f"q: division by zero ({path}:7:17)" and y["q"] is None


def test_a_bad_row_in_a_cohort_leaves_every_row_without_values():
    """A quota ranks every row: one row without a total would move the others' tiers."""
    ir = compile_file(ROOT / "policies" / "budget_engineer.perf").policy
    con = duckdb.connect()
    _table(con, ir, [{"employee_id": "e1", "rejections": 0, "overdue": 0, "overrun": Decimal(0), "papers": 0},
                     {"employee_id": "e2", "rejections": 0, "overdue": 0, "overrun": Decimal("0.00001"), "papers": 0}])
    e1, e2 = _compiled(con, ir)
    assert e2[ERROR].startswith("overrun: more than 4 decimals")
    assert e1[ERROR].startswith("no value: the cohort stage reads every row") and e1["total"] is None


@pytest.mark.parametrize("name", ["tied_quota", "tied_distribute"])
def test_a_group_the_reference_refuses_leaves_every_row_without_values(name, tmp_path):
    """Four equal scores where a 25% quota cuts one (ties an error): the reference refuses
    the cohort (CohortError), so the compiled query gives no row values and says why."""
    path = tmp_path / f"{name}.perf"
    path.write_text(TIED[name], encoding="utf-8")
    ir = compile_file(path).policy
    con = duckdb.connect()
    extra = {"rating": "好", "minor": False, "late": False} if name == "tied_distribute" else {}
    records = [{"id": f"s{i}", "dept": "甲", "score": Decimal(95), "severe": False, **extra} for i in range(4)]
    _table(con, ir, records)
    with pytest.raises(Exception, match="tie|并列"):
        Policy(ir, backend="python").evaluate_cohort(records, trace=False)
    rows = _compiled(con, ir)
    assert all(r["grade"] is None for r in rows)
    assert all("grade: the cohort step" in r[ERROR] and "fails in this row's group" in r[ERROR] for r in rows)


def test_hostile_names_and_choices_stay_literals_in_the_checks(tmp_path):
    """The input checks print a policy's choices and names only as string literals: a cell
    that is no choice is named in #error, and nothing it holds runs."""
    ir = compile_file(tmp_path / "hostile.perf", hostile_policy()).policy
    con = duckdb.connect()
    _table(con, ir, [{"eval": "a", "exec": Decimal(60), "self": False, "os": PAYLOAD},
                     {"eval": "b", "exec": Decimal(60), "self": False, "os": "'); DROP TABLE subjects; --"}])
    a, b = _compiled(con, ir)
    assert a[ERROR] is None and a["Decimal"] == Decimal(61)
    assert b[ERROR] == f"os: not one of {PAYLOAD}, a\"b, 正常" and b["Decimal"] is None
    assert con.execute("SELECT count(*) FROM subjects").fetchone() == (2,)


def test_a_warned_group_is_named_in_warning_and_the_others_not(tmp_path):
    """Two departments: d's last tier is left below its lower bound (the reference warns,
    tests/test_sql.py), e's counts meet their bounds: only d's rows name the step."""
    path = tmp_path / "crossed.perf"
    path.write_text(CROSSED, encoding="utf-8")
    ir = compile_file(path).policy
    con = duckdb.connect()
    scores = {"a": 95, "b": 91, "c": 85, "d": 70, "e1": 95, "e2": 85}
    _table(con, ir, [{"id": k, "dept": "d" if len(k) == 1 else "e", "score": Decimal(v)} for k, v in scores.items()])
    rows = {r["id"]: r for r in _compiled(con, ir)}
    assert {k: r[WARNING] for k, r in rows.items()} == {
        **dict.fromkeys("abcd", "grade: the cohort step distribute (line 8) has a warning for this row's group, "
                               "or a tie it shares at a cut; perfdsl run words it"),
        "e1": None, "e2": None}
    assert [rows[k]["grade"] for k in scores] == ["A", "A", "B", "C", "A", "C"]


def test_a_when_line_that_fails_leaves_every_row_without_values_and_says_why(tmp_path):
    path = tmp_path / "whenfail.perf"
    path.write_text(WHEN_FAILS, encoding="utf-8")
    ir = compile_file(path).policy
    con = duckdb.connect()
    _table(con, ir, [{"id": "a", "dept": "d", "cap": Decimal(0), "score": Decimal(95)},
                     {"id": "c", "dept": "e", "cap": Decimal(1), "score": Decimal(95)}])
    rows = {r["id"]: r for r in _compiled(con, ir)}
    assert rows["a"]["grade"] is None and rows["c"]["grade"] is None
    assert "a `when` line fails" in rows["a"][ERROR]
    assert rows["c"][ERROR].startswith("no value: the cohort stage reads every row")

