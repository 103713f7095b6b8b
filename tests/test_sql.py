"""The SQL backends (perfdsl/sql) on DuckDB: the policies of tests/ agree with the reference
on drawn cohorts (the bundled ones and the stdlib fixtures are in tests/test_agreement.py
through BACKENDS); the
printed SQL carries numbers as scaled integers with no engine decimal division, ROUND or
POWER; the compiled query reads as named steps and runs on a warehouse-style table;
`perfdsl run --backend duckdb` writes the python backend's files cell by cell; hostile
names and strings stay identifiers and literals."""
from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from perfdsl import io
from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.policy import Policy
from perfdsl.sql import compile_sql
from perfdsl.sql.engine import DuckDB, evaluate
from perfdsl.verify import disagreements

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from lower_policies import TIED, TIGHT  # noqa: E402
from test_cohort import DIST_POLICY  # noqa: E402
from test_hostile import PAYLOAD, hostile_policy  # noqa: E402

TEST_POLICIES = {"dist_test": DIST_POLICY, "tight": TIGHT, **TIED}
BUNDLED = [p for p in sorted((ROOT / "policies").glob("*.perf")) if not compile_file(p).module]


def policy_of(name: str, text: str):
    ir = compile_file(ROOT / "tests" / f"{name}.perf", text).policy
    assert ir is not None
    return ir


@pytest.mark.parametrize("name", sorted(TEST_POLICIES))
def test_test_policies_agree_with_reference_on_duckdb(name):
    """Ties at the cuts (error or shared), `when` lines, vetoes and limits, tight bounds."""
    ir = policy_of(name, TEST_POLICIES[name])
    assert disagreements(Policy(ir, backend="reference"), examples=12, seed=3, backends=["duckdb"]) == []


def test_tie_error_names_the_tied_subjects_as_the_reference_does():
    ir = policy_of("tied_quota", TIED["tied_quota"])
    rows = [{"id": f"s{i}", "dept": "甲", "score": Decimal(95), "severe": False} for i in range(4)]
    said = _refused_alike(ir, rows)
    assert "s0" in said and "s3" in said


def _refused_alike(ir, rows: list[dict]) -> str:
    """The DataError duckdb gives the rows, which must be the reference's word for word."""
    with pytest.raises(io.DataError) as sql_err:
        evaluate(ir, rows, DuckDB())
    with pytest.raises(io.DataError) as ref_err:
        Policy(ir, backend="reference").evaluate_cohort(rows, trace=False)
    assert str(sql_err.value) == str(ref_err.value)
    return str(sql_err.value)


CROSSED = """
policy crossed "末档上下限交叉" {
  key id
  input id: text
  input dept: text
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 80  C otherwise }
  distribute per dept rank by score desc then id asc { A 0..  B 0..  C 50%..1 }
}
"""


def test_a_count_only_the_last_cut_leaves_outside_its_bounds_is_warned_as_the_reference_does():
    """The engine finds the groups with something to say from each cut's k as it goes; the
    last tier's count is what the last cut leaves, which here (C at least 2 of 4, at most
    1) is below its lower bound with no short or tied cut to give it away."""
    ir = policy_of("crossed", CROSSED)
    rows = [{"id": i, "dept": "d", "score": Decimal(s)} for i, s in zip("abcd", (95, 91, 85, 70))]
    out, warnings = evaluate(ir, rows, DuckDB())
    reference = Policy(ir, backend="reference")
    expected = reference.evaluate_cohort(rows, trace=False)
    assert [r["grade"] for r in out] == ["A", "A", "B", "C"] == [r.grade for r in expected]
    assert warnings == reference.last_warnings == ["d：C 1 人，低于下限 2 人"]


WHEN_FAILS = """
policy whenfail "when 除零" {
  key id
  input id: text
  input dept: text
  input cap: decimal in 0..10
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 80  C otherwise }
  distribute per dept rank by score desc then id asc {
    A 0..  B 0..  C 0..
    when 1 / cap > 1: A 0..0
  }
}
"""


def test_a_when_line_the_reference_fails_on_is_its_problem_not_a_silent_bound():
    """Department d's cap is 0, so its `when` divides by zero: the reference refuses the
    cohort naming the group and the place; the engine must not read the failed test as
    false and place d by the other bounds. Department e alone is placed as usual."""
    ir = policy_of("whenfail", WHEN_FAILS)
    rows = [{"id": "a", "dept": "d", "cap": Decimal(0), "score": Decimal(95)},
            {"id": "b", "dept": "d", "cap": Decimal(0), "score": Decimal(85)},
            {"id": "c", "dept": "e", "cap": Decimal(1), "score": Decimal(95)}]
    said = _refused_alike(ir, rows)
    assert "d：" in said and "division by zero" in said
    out, _ = evaluate(ir, rows[2:], DuckDB())
    assert [r["grade"] for r in out] == ["A"]


DIVIDE = """
policy div "除法" {
  key id
  input id: text
  input a: decimal in 0..100
  input b: decimal in 0..100
  score q "商" = a / b
}
"""  # q = a / b: row y's b is 0 (also tests/test_sql_compile_bundled.py)


def test_a_division_by_zero_is_the_rows_error_as_the_reference_words_it():
    ir = policy_of("div", DIVIDE)
    rows = [{"id": "x", "a": Decimal(1), "b": Decimal(3)}, {"id": "y", "a": Decimal(1), "b": Decimal(0)},
            {"id": "z", "a": Decimal(2), "b": Decimal(0)}]
    with pytest.raises(io.DataError) as err:
        evaluate(ir, rows, DuckDB())
    where = f"{ROOT / 'tests' / 'div.perf'}:7:17"
    assert [(p.row, p.message) for p in err.value.problems] == [(2, f"{where}: division by zero"),
                                                                (3, f"{where}: division by zero")]
    good, _ = evaluate(ir, rows[:1], DuckDB())
    assert good[0]["q"] == Decimal("0.3333333333333333333333333333")  # 28 digits, half even


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_no_engine_decimal_division_round_or_power(dialect):
    """Issue 11 item 2: every number is a scaled integer; division and rounding are integer
    operations (DuckDB's `//`, Spark's DIV), never the engine's decimal ones."""
    printed = 0
    for path in BUNDLED:
        try:
            sql = compile_sql(compile_file(path).policy, dialect)
        except ValueError as err:  # said, not printed inexactly
            assert "cannot be computed exactly in SQL" in str(err)
            continue
        printed += 1
        body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        assert not re.search(r"\b(ROUND|POWER|POW|EXP|LN|LOG)\s*\(", body, re.I), path.name
        if dialect == "duckdb":
            assert " / " not in body, path.name
    assert printed >= 7


def test_branch_employees_reads_as_named_steps():
    sql = compile_sql(compile_file(ROOT / "policies" / "branch_employees.perf").policy, "duckdb")
    steps = re.findall(r'^(?:WITH |\), )"([^"]+)" AS \(', sql, re.M)
    assert steps[0] == "input" and steps[1] == "total"
    assert steps.index("grade: position") < steps.index("distribute grade (1): group")
    placed = [s for s in steps if s.endswith(" placed")]
    assert placed == ["distribute grade (1): 优秀 placed", "distribute grade (1): 良好 placed",
                      "distribute grade (1): 合格 placed", "distribute grade (1): placed"]
    assert steps[-2:] == ["flags", "#error"]  # the row's #error last: its outputs read it
    assert "ROW_NUMBER() OVER" in sql and "PARTITION BY" in sql


def test_compiled_query_runs_on_a_table_of_decimals():
    """`compile --sql duckdb` over a table as a warehouse holds it (DECIMAL numbers, text,
    booleans, arrays): branch_employees' first cohort example, graded as its example says."""
    ir = compile_file(ROOT / "policies" / "branch_employees.perf").policy
    sql = compile_sql(ir, "duckdb", table="staff")
    con = duckdb.connect()
    con.execute("CREATE TABLE staff (employee_id VARCHAR, dist_group VARCHAR, performance DECIMAL(10,2), "
                "behavior DECIMAL(10,2), dept_rating VARCHAR, violation_minor BOOLEAN, violation_severe BOOLEAN, "
                "history VARCHAR[])")
    scores = [95, 92, 91, 88, 85, 82, 78, 70, 65, 55]
    history = {8: ["欠佳", "欠佳", "良好", "欠佳"], 9: ["欠佳", "合格"], 10: ["良好", "欠佳"]}
    for i, x in enumerate(scores, start=1):
        con.execute("INSERT INTO staff VALUES (?, '营业部', ?, ?, '良好', false, false, ?)",
                    [f"a{i:02d}", x, x, history.get(i, [])])
    got = {r[1]: (r[2], r[3], r[4]) for r in con.execute(sql.rstrip().rstrip(";")).fetchall()}
    assert [got[f"a{i:02d}"][1] for i in range(1, 11)] == ["优秀", "优秀", "良好", "良好", "良好", "良好", "合格",
                                                         "合格", "合格", "欠佳"]
    assert got["a03"][0] == Decimal("91.0000")
    assert got["a10"][2] == "解除或终止劳动合同" and got["a08"][2] == "解除或终止劳动合同" and got["a09"][2] == ""


DATA = [(ROOT / "policies" / "budget_engineer.perf", ROOT / "policies" / "data" / "budget_engineer.csv"),
        (ROOT / "policies" / "county_departments.perf", ROOT / "policies" / "data" / "county_departments.xlsx")]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx"])
@pytest.mark.parametrize("policy,data", DATA, ids=[p.stem for p, _ in DATA])
def test_run_duckdb_writes_the_python_backends_file(policy, data, suffix, tmp_path):
    """Every bundled scheme with data in policies/data: the same cells, in every format."""
    out = {}
    for backend in ("python", "duckdb"):
        path = tmp_path / f"{backend}{suffix}"
        assert main(["run", str(policy), "--input", str(data), "--output", str(path), "--backend", backend, "--quiet"]) == 0
        out[backend] = io.read_rows(path)
    assert out["duckdb"].columns == out["python"].columns
    assert [r.values for r in out["duckdb"]] == [r.values for r in out["python"]]
    assert len(out["python"]) in (10, 32)  # budget_engineer.csv, county_departments.xlsx


def test_run_duckdb_reads_parquet_itself(tmp_path):
    """DuckDB reads the file: a Parquet copy of the CSV gives the CSV's results."""
    policy = ROOT / "policies" / "budget_engineer.perf"
    csv = ROOT / "policies" / "data" / "budget_engineer.csv"
    parquet = tmp_path / "in.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")
    for src, name in ((csv, "a.csv"), (parquet, "b.csv")):
        assert main(["run", str(policy), "--input", str(src), "--output", str(tmp_path / name), "--backend", "duckdb",
                     "--quiet"]) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_run_duckdb_lists_every_bad_row_and_writes_nothing(tmp_path, capsys):
    policy = ROOT / "policies" / "budget_engineer.perf"
    lines = (ROOT / "policies" / "data" / "budget_engineer.csv").read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], lines[1:]
    cells = header.split(",")
    bad = [r.split(",") for r in rows]
    bad[1][cells.index("rejections")] = "many"
    bad[3][cells.index("overdue")] = "-5"
    bad[4][0] = bad[0][0]  # a duplicate key
    data = tmp_path / "bad.csv"
    data.write_text("\n".join([header] + [",".join(r) for r in bad]) + "\n", encoding="utf-8")
    said = {}
    for backend in ("python", "duckdb"):
        out = tmp_path / f"{backend}.csv"
        assert main(["run", str(policy), "--input", str(data), "--output", str(out), "--backend", backend]) == 1
        assert not out.exists()
        said[backend] = capsys.readouterr().err
    assert said["duckdb"] == said["python"]
    assert "row 3" in said["duckdb"] and "row 5" in said["duckdb"] and "duplicate key" in said["duckdb"]


def test_explain_on_duckdb_says_where_explanations_come_from(tmp_path, capsys):
    policy = ROOT / "policies" / "budget_engineer.perf"
    data = ROOT / "policies" / "data" / "budget_engineer.csv"
    for backend in ("python", "duckdb"):
        assert main(["run", str(policy), "--input", str(data), "--output", str(tmp_path / f"{backend}.csv"),
                     "--backend", backend, "--explain", "--quiet"]) == 0
    assert "explanations come from the python backend" in capsys.readouterr().err
    assert (tmp_path / "duckdb.csv").read_bytes() == (tmp_path / "python.csv").read_bytes()


def test_hostile_policy_stays_data_in_sql(tmp_path):
    """Names become quoted identifiers and strings literals, in both dialects; the query
    runs and gives the reference's rows."""
    ir = compile_file(tmp_path / "hostile.perf", hostile_policy()).policy
    for dialect in ("duckdb", "spark"):
        sql = compile_sql(ir, dialect)
        assert "PWNED" in sql  # the payload is there, as a string literal only
    rows = [{"eval": PAYLOAD, "exec": Decimal(60), "self": False, "os": PAYLOAD},
            {"eval": "'; DROP TABLE subjects; --", "exec": Decimal("0.5"), "self": True, "os": 'a"b'}]
    got, _ = evaluate(ir, rows, DuckDB())
    want = Policy(ir, backend="reference").evaluate_cohort(rows, trace=False)
    assert got == [r.as_row() for r in want]


def test_duckdb_spills_under_the_system_temporary_directory(tmp_path, monkeypatch):
    """Not into the working directory (DuckDB's own `.tmp`): a directory of its own under
    TMPDIR, which DuckDB makes when it first spills and removes on close."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    monkeypatch.chdir(tmp_path)
    engine = DuckDB()
    spill = Path(engine.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert spill.parent == tmp_path / "temp" and spill.name.startswith("perfdsl-duckdb-")
    engine.con.execute("SET memory_limit = '20MB'")
    engine.con.execute("SET threads = 1")
    engine.con.execute("CREATE TEMP TABLE t AS SELECT md5(range::VARCHAR) AS h FROM range(1000000) ORDER BY h")
    assert spill.is_dir() and not (tmp_path / ".tmp").exists()
    engine.con.close()
    assert not spill.exists()
