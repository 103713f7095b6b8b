"""Data validation in the engine (issue 11 items 1, 3 and 4): `perfdsl run --backend duckdb`
reads a CSV or Parquet file with DuckDB, `--backend spark` with spark.read, and tests its
cells in SQL (perfdsl.sql.read); only rows the tests doubt go through the Python
validator. Whatever the file holds, the run gives the python backend's exit code,
messages (row, field, every bad row listed) and output bytes, and writes nothing when a
row is bad. Spark starts once (tests/test_sql_spark.py's session fixture) for its few tests.
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from perfdsl import io
from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.lower import scaled as sc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_sql_spark import spark  # noqa: E402,F401 — the session fixture, shared
BUDGET = str(ROOT / "policies" / "budget_engineer.perf")
BRANCH = str(ROOT / "policies" / "branch_employees.perf")
BUDGET_HEAD = "employee_id,rejections,overdue,overrun,papers\n"
BUDGET_BODY = ("e01,0,0,0,0\ne02,2,0,0,0\ne03,0,0,20,0\ne04,5,0,0,0\ne05,3,4,2.5,2\n"
               "e06,6,1,0,0\ne07,0,0,150,0\ne08,25,0,0,0\ne09,20,20,50,0\ne10,5,0,0.5,0\n")
BRANCH_HEAD = ("employee_id,dist_group,performance,behavior,dept_rating,violation_minor,"
               "violation_severe,history\n")


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _both(tmp_path, capsys, policy: str, data: Path, suffix: str = ".csv", extra=(), engine: str = "duckdb"):
    """(code, stdout, stderr, output bytes or None) of --backend `engine` and --backend python
    (--quiet: the SQL backends' summary lacks the moves line, issue 11); each output starts
    as a previous file, which a failed run must leave as it was."""
    got = []
    for backend in (engine, "python"):
        out = tmp_path / f"out-{backend}{suffix}"
        out.write_bytes(b"previous\n")
        code, stdout, err = _run(capsys, policy, "--input", str(data), "--output", str(out), "--backend", backend,
                                 "--quiet", "--spark-master", "local[2]", *extra)
        written = out.read_bytes()
        got.append((code, stdout.replace(str(out), "OUT"), err.replace(str(out), "OUT"),
                    None if written == b"previous\n" else written))
    return got


def _csv(tmp_path, text: str) -> Path:
    data = tmp_path / "in.csv"
    data.write_bytes(text.encode("utf-8"))
    return data


def test_good_file_same_bytes_and_summary(tmp_path, capsys):
    duck, python = _both(tmp_path, capsys, BUDGET, _csv(tmp_path, BUDGET_HEAD + BUDGET_BODY))
    assert duck == python
    lines = duck[3].decode("utf-8-sig").splitlines()
    assert lines[5] == "e05,85,88,97.5,106,92.3,良好,"  # demoted by the 20% quota


BAD_BUDGET = [
    "e01,0,0,0,0\ne02,x,0,0,0\ne03,0,0,101%,0\ne01,0,0,0,0\ne05,1.5,0,-1,0\n",  # text, range, duplicate, fraction
    "e01,0,0,0,0\ne02,1e1,0,\" 5 \",0\ne03,0,0,1,000,0\n",  # other forms, a ragged row
    "e01,0,0,0,0\n\ne02,0,0,1e400,0\n,,,,\ne03,-1,0,0,0\n",  # blank lines, a huge exponent
    "e01,0,0,0,0\ne02,,0,0,0\ne03,0,0,,0\n",  # missing values
    "e01,0,0,0,0\ne02,１２,0,０.５,0\ne03,0,0,99999999999999999999999,0\n",  # full-width digits, too wide
    "e01,0,0,0,0\ne02,-0,0,-0.0,0\ne03,+3,0,007.50,0\ne04,0,0,.5,0\ne05,0,0,5.,0\n",  # signs, zeros
    "e01,0,0,0,0\ne02,0,0,0,0\ne01,1,0,0,0\ne02,0,0,0,0\ne03,0,0,0,0\n",  # two repeated keys
    "e01,0,0,0,0\n\"e02\",\"1\",0,\"2.5\",0\ne03,0,0,1.234567890123456789012,0\n",  # quotes, long fraction
    "1000,0,0,0,0\n\"1,000\",0,0,0,0\n",  # keys are text: both kept
    "'=1,0,0,0,0\n'@x,0,0,0,0\n'=1,0,0,0,0\n",  # formula guards read off, then repeated
    "e01,0,0,1e-1,0\ne02,0,0,95%,0\ne03,0,0,\"1,234.5\",0\n",  # accepted doubtful rows, rescaled
    "e01,0,0,0,0\ne02,1,0,0\rx,0\n",  # a bare CR ends a record for Python's csv
    "e01,0,0,0,0\n\"e0\"2,1,0,0,0\n",  # text after a closing quote
    "e01,0,0,0,0\ne02,1,0,\"1\"  ,0\n",
    "e01,0,0,0,0\ne02,1,0,0,0,,\n",  # empty trailing cells are no cells
    "e01,0,0,0,0\ne02,1,0,0\n",  # a short row
    "e01,0,0,0,0\r\ne02,1,0,\"0\r\n\",0\r\n",  # CRLF, a line break in a quoted number
    "e01,0,0,0,0\ne" + "x" * 140000 + ",0,0,0,0\n",  # a cell past Python's csv field limit
]


@pytest.mark.parametrize("body", BAD_BUDGET)
def test_budget_csv_as_the_python_backend(tmp_path, capsys, body):
    duck, python = _both(tmp_path, capsys, BUDGET, _csv(tmp_path, BUDGET_HEAD + body))
    assert duck == python


def _engine_reads(monkeypatch) -> list:
    """What each engine-side read returned (a read.Loaded, None for the row reader's files,
    or the DataError it raised)."""
    from perfdsl.sql import read
    got, load = [], read.load_file

    def counted(*args, **kwargs):
        try:
            got.append(load(*args, **kwargs))
        except Exception as err:
            got.append(err)
            raise
        return got[-1]

    monkeypatch.setattr(read, "load_file", counted)
    return got


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_data_errors_name_every_bad_row_and_field_and_write_nothing(tmp_path, capsys, monkeypatch, request, engine):
    """A CSV file with a wrong type, an out-of-range number, a repeated key and a bad choice
    in two rows: the engine reads and checks it itself, and the run says what the python
    backend says, every bad row and field, with no traceback and no output file."""
    if engine == "spark":
        request.getfixturevalue("spark")
    reads = _engine_reads(monkeypatch)
    body = ("a,g1,90,90,优秀,false,false,良好\n"
            "b,g1,x,90,最好,false,false,\n"
            "c,g1,80,101,合格,false,false,优秀\n"
            "a,g1,70,70,良好,false,false,良好\n")
    got, python = _both(tmp_path, capsys, BRANCH, _csv(tmp_path, BRANCH_HEAD + body), engine=engine)
    assert len(reads) == 1 and isinstance(reads[0], Exception)  # the engine's check raised the problems
    assert got == python
    code, stdout, err, written = got
    assert code == 1 and stdout == "" and written is None and "Traceback" not in err
    assert err.splitlines() == [
        "row 3, field performance: expected a number, got 'x'",
        "row 3, field dept_rating: expected one of '优秀', '良好', '合格' or '欠佳', got '最好'",
        "row 4, field behavior: 101 is outside the declared range 0..100",
        "row 5, field employee_id: duplicate key 'a' (first at row 2)",
        "4 problem(s); nothing was written"]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_number_past_38_digits_at_its_scale_is_refused_by_the_plan(tmp_path, capsys, monkeypatch, request, engine):
    """A doubtful row the validator accepts with 37 decimals makes 12345 need 42 digits at
    that scale: the engine's read leaves the file to the row reader (no engine error, no
    Java trace) and the plan refuses it, saying to use the python backend."""
    if engine == "spark":
        request.getfixturevalue("spark")
    reads = _engine_reads(monkeypatch)
    body = "e01,0,0,12345,0\ne02,0,0,1.0000000000000000000000000000000000001,0\n"
    got, python = _both(tmp_path, capsys, BUDGET, _csv(tmp_path, BUDGET_HEAD + body), engine=engine)
    assert reads == [None] and python[0] == 0
    assert got[0] == 1 and got[3] is None and "Traceback" not in got[2]
    assert got[2].startswith("the SQL backends cannot compute this exactly") and "--backend python" in got[2]


def test_bad_rows_listed_and_nothing_written(tmp_path, capsys):
    body = "e01,0,0,0,0\ne02,x,0,0,0\ne03,0,0,101%,0\ne01,0,0,0,0\ne05,1.5,0,-1,0\n"
    duck, python = _both(tmp_path, capsys, BUDGET, _csv(tmp_path, BUDGET_HEAD + body))
    assert duck == python and duck[0] == 1 and duck[3] is None
    err = duck[2]
    for row, field in [(3, "rejections"), (5, "employee_id"), (6, "rejections"), (6, "overrun")]:
        assert f"row {row}, field {field}" in err
    assert "duplicate key 'e01' (first at row 2)" in err


BAD_BRANCH = [
    "a,g1,90,90,优秀,false,false,良好;优秀\nb,g1,101,90,良好,no,no,\nc,g1,80,80,最好,0,1,良好\n",  # range, choice
    "a,g1,90,90,优秀,false,false,良好;差\nb,g1,80,80,良好,maybe,否,[\"良好\"]\n",  # list item, bool word, JSON list
    "a,g1,90,90,优秀,FALSE,False,\" 良好 ； 优秀 \"\nb,g1,80,80,良好,是,假,良好;;\n",  # spellings, spaces
    "a,g1,90,90,优秀,false,false,\"良好\t\"\nb,g1,80,80,良好,false,false,\u3000良好\n",  # other whitespace
    "a,g1,90.5,90.25,优秀,true,false,\nb,g1,80.125,80,良好,false,false,良好\n",  # scales
]


@pytest.mark.parametrize("body", BAD_BRANCH)
def test_branch_csv_as_the_python_backend(tmp_path, capsys, body):
    duck, python = _both(tmp_path, capsys, BRANCH, _csv(tmp_path, BRANCH_HEAD + body))
    assert duck == python


MANAGER = str(ROOT / "policies" / "budget_manager.perf")
MANAGER_HEAD = "manager_id,team_scores,impression,retention\n"
BAD_MANAGER = [
    "m1,90;80.5,5,5\nm2,70；60.25 ; 50,5.5,5\nm3,100,0,10\n",  # number lists in SQL, rescaled
    "m1,90;80.5,5,5\nm2,,5,5\nm3,90;x,5,5\nm4,-1;2,5,5\n",  # too short, an item no number, out of range
    "m1,90;80.5,5,5\nm2,\"[1, 2.5]\",5,5\nm3,1.5e1;95%,5,5\nm4,\"1,5\",5,5\n",  # JSON, other forms
    "m1,90;80.5,5,5\nm2,1.123456789012345678901;2,5,5\nm3,007.50;+3,5,5\n",  # a long fraction, signs
]


@pytest.mark.parametrize("body", BAD_MANAGER)
def test_number_list_csv_as_the_python_backend(tmp_path, capsys, body):
    duck, python = _both(tmp_path, capsys, MANAGER, _csv(tmp_path, MANAGER_HEAD + body))
    assert duck == python


def test_hostile_cells_and_kept_columns(tmp_path, capsys):
    text = ('employee_id,rejections,overdue,overrun,papers,姓名\n'
            '"=cmd|\' /C calc\'!A0",0,0,0,0,"a,b"\n'
            '"x\'); DROP TABLE subjects; --",1,0,1.25,0,"say ""hi"""\n'
            "'+x,2,0,0,1,'@sum\n"
            '"line\nbreak",3,0,0.5,0,-1\n')
    duck, python = _both(tmp_path, capsys, BUDGET, _csv(tmp_path, text), extra=("--keep", "姓名"))
    assert duck == python and duck[0] == 0
    assert "x'); DROP TABLE subjects; --" in duck[3].decode("utf-8-sig")


def test_hostile_labels_name_the_columns(tmp_path, capsys):
    """Column titles matched by a policy's labels are quoted identifiers, never SQL."""
    label = "x\"); DROP TABLE subjects; --'"
    policy = tmp_path / "p.perf"
    escaped = label.replace("\\", "\\\\").replace('"', '\\"')
    policy.write_text('policy p "p" {\n  key id\n  input id: text\n  input n: int in 0..10 "' + escaped + '"\n'
                      "  score total = n\n  tiers grade by total {\n    high >= 5\n    low otherwise\n  }\n}\n",
                      encoding="utf-8")
    assert main(["check", str(policy)]) == 0
    capsys.readouterr()
    header = '"' + label.replace('"', '""') + '"'
    for body in ("a,1\nb,2\n", "a,1\nb,11\na,3\n"):
        data = _csv(tmp_path, f"id,{header}\n{body}")
        duck, python = _both(tmp_path, capsys, str(policy), data)
        assert duck == python


def _budget_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame({"employee_id": [r[0] for r in rows], "rejections": [r[1] for r in rows],
                         "overdue": [r[2] for r in rows],
                         "overrun": pl.Series([r[3] for r in rows], dtype=pl.Decimal(38, 2)),
                         "papers": [r[4] for r in rows]})


@pytest.mark.parametrize("frame", [
    _budget_frame([("a", 0, 0, Decimal("1.50"), 0), ("b", 2, 1, Decimal("0"), 1), ("c", 0, 0, Decimal("20.25"), 2)]),
    _budget_frame([("a", 0, 0, Decimal("1.50"), 0), ("b", -1, None, Decimal("0"), 1), ("a", 0, 0, None, 0)]),
    pl.DataFrame({"employee_id": ["a", "b", "a"], "rejections": [0, -1, 0], "overdue": [0, 0, None],
                  "overrun": [1.5, 0.0, 0.0], "papers": [0, 0, 0]}),  # binary floats
    pl.DataFrame({"employee_id": ["a", "b"], "rejections": ["1", "2.0"], "overdue": [0, 0],
                  "overrun": ["1.5", "95%"], "papers": pl.Series([Decimal("1.00"), Decimal("1.5")],
                                                                   dtype=pl.Decimal(38, 2))}),  # text, decimals
    pl.DataFrame({"employee_id": [1, 2], "rejections": [0, 0], "overdue": [0, 0], "overrun": [0, 0],
                  "papers": [0, 0]}),  # a key that is no text
    _budget_frame([("a", 0, 0, Decimal("1234567890123456789.25"), 0), ("b", 2, 1, Decimal("0.5"), 1)]),  # past 64 bits
], ids=["good", "bad", "floats", "text-and-decimals", "int-keys", "wide"])
def test_parquet_as_the_python_backend(tmp_path, capsys, frame):
    data = tmp_path / "in.parquet"
    frame.write_parquet(data)
    duck, python = _both(tmp_path, capsys, BUDGET, data)
    assert duck == python
    duck, python = _both(tmp_path, capsys, BUDGET, data, ".parquet")
    assert duck[:3] == python[:3]
    assert _parquet_values(duck[3]) == _parquet_values(python[3])


def _parquet_values(data: bytes | None):
    """A Parquet output's rows, numbers as numbers (a Decimal column's scale follows the
    values' exponents, which the python backend carries from its inputs: not compared)."""
    import io
    if data is None:
        return None
    frame = pl.read_parquet(io.BytesIO(data))
    return frame.columns, [tuple(v.normalize() if isinstance(v, Decimal) else v for v in r) for r in frame.rows()]


def _branch_lists() -> pl.DataFrame:
    """branch_employees subjects in typed Parquet columns, `history` lists among them:
    two items, none, and a missing list."""
    return pl.DataFrame({"employee_id": ["a", "b", "c"], "dist_group": ["g", "g", "g"],
                         "performance": pl.Series([Decimal("90.5"), Decimal("80"), Decimal("70")], dtype=pl.Decimal(38, 1)),
                         "behavior": pl.Series([Decimal("90"), Decimal("80"), Decimal("70")], dtype=pl.Decimal(38, 1)),
                         "dept_rating": ["优秀", "良好", "合格"], "violation_minor": [False, True, False],
                         "violation_severe": [False, False, False],
                         "history": [["良好", "优秀"], [], None]})


def test_branch_parquet_lists(tmp_path, capsys):
    data = tmp_path / "in.parquet"
    _branch_lists().write_parquet(data)
    duck, python = _both(tmp_path, capsys, BRANCH, data)
    assert duck == python


def test_json_as_the_python_backend(tmp_path, capsys):
    data = tmp_path / "in.json"
    data.write_text(json.dumps([{"employee_id": "a", "rejections": 0, "overdue": 0, "overrun": 1.5, "papers": 0},
                                {"employee_id": "b", "rejections": "x", "overdue": 0, "overrun": "2", "papers": 0},
                                {"employee_id": "c", "rejections": 0, "overdue": 0, "papers": 0, "extra": 1}]),
                    encoding="utf-8")
    duck, python = _both(tmp_path, capsys, BUDGET, data)
    assert duck == python


def _fuzzed_as_the_python_backend(tmp_path, capsys, engine: str, count: int, clean_quotes: bool) -> int:
    """perfdsl.datafuzz's CSV files on `engine` against the python backend: the same exit
    code, messages and bytes on each (numbers past 38 digits are refused, nothing written).
    Of the files the engine would leave to the row reader, duckdb tries one in eight and
    spark none (the duckdb test covers them). How many were compared."""
    from perfdsl import datafuzz
    from perfdsl.sql.read import _csv_header
    compared = 0
    for policy, i, data in datafuzz.csv_files(tmp_path, count, seed=11):
        if _csv_header(data, ("id",), clean_quotes=clean_quotes) is None and (clean_quotes or i % 8):
            continue
        got, python = _both(tmp_path, capsys, str(policy), data, engine=engine)
        if "the SQL backends cannot compute this exactly" in got[2]:
            assert got[0] == 1 and got[3] is None
            continue
        compared += 1
        assert got == python, f"case {i}: {data.read_bytes()[:300]!r}"
    return compared


def test_fuzzed_csv_files_as_the_python_backend(tmp_path, capsys):
    """Hostile CSV files of perfdsl.datafuzz (title rows, blank lines, ragged rows, odd
    encodings, numbers in every form, hostile text, cut files): duckdb gives the python
    backend's exit code, messages and bytes on every one."""
    assert _fuzzed_as_the_python_backend(tmp_path, capsys, "duckdb", 240, clean_quotes=False) > 30


def _counting(monkeypatch) -> list[int]:
    """The rows the Python validator is given, by number, however it is called."""
    from perfdsl.validate import Validator
    seen: list[int] = []
    many, one = Validator.many, Validator.one

    def counted_many(self, rows, check=None):
        seen.extend(n for n, _ in rows)
        return many(self, rows, check)

    monkeypatch.setattr(Validator, "many", counted_many)
    monkeypatch.setattr(Validator, "one", lambda self, raw, row: one(self, raw, row))
    return seen


def test_sure_rows_never_reach_the_python_validator(tmp_path, capsys, monkeypatch):
    seen = _counting(monkeypatch)
    out = tmp_path / "out.csv"
    code, _, err = _run(capsys, BUDGET, "--input", str(_csv(tmp_path, BUDGET_HEAD + BUDGET_BODY)),
                        "--output", str(out), "--backend", "duckdb", "--quiet")
    assert code == 0, err
    assert seen == []
    data = tmp_path / "in.parquet"
    _budget_frame([(f"e{i}", i % 3, 0, Decimal(i) / 4, 1) for i in range(500)]).write_parquet(data)
    code, _, err = _run(capsys, BUDGET, "--input", str(data), "--output", str(out),
                        "--backend", "duckdb", "--quiet")
    assert code == 0, err
    assert seen == []
    code, _, err = _run(capsys, MANAGER, "--input", str(_csv(tmp_path, MANAGER_HEAD + BAD_MANAGER[0])),
                        "--output", str(out), "--backend", "duckdb", "--quiet")  # number lists
    assert code == 0, err
    assert seen == []
    assert out.read_text(encoding="utf-8-sig").splitlines()[2].startswith("m2,")


def test_a_sure_parquet_file_is_converted_in_one_pass_and_a_doubtful_one_checked_into_a_table(tmp_path):
    """Every row sure and the keys unique: `subjects` is a view of the converted cells and
    nothing else (no checked table with its `#ok` marks), described in the pass that
    found them sure; a row in doubt: the checked table, as for CSV."""
    from perfdsl.sql.engine import DuckDB
    ir = compile_file(Path(BUDGET)).policy
    kinds = {}
    for name, rows in (("sure", [("a", 0, 0, Decimal("1.50"), 0), ("b", 2, 1, Decimal("20.25"), 3)]),
                       ("doubt", [("a", 0, 0, Decimal("1.50"), 0), ("a", 2, 1, Decimal("20.25"), 3)])):
        data = tmp_path / f"{name}.parquet"
        _budget_frame(rows).write_parquet(data)
        engine = DuckDB()
        try:
            loaded = engine.load_file(ir, str(data))
        except io.DataError as err:
            assert "duplicate key 'a'" in str(err)
            loaded = None
        kinds[name] = [c for c, in engine.rows("SELECT column_name FROM information_schema.columns c JOIN "
                                                "information_schema.tables USING (table_name) WHERE table_name = "
                                                "'subjects' AND table_type = 'VIEW' ORDER BY ordinal_position")]
        if loaded is not None:
            assert {i.name: i.num for i in loaded.inputs if i.num} == {
                "rejections": sc.Num(0, 0, 2), "overdue": sc.Num(0, 0, 1), "overrun": sc.Num(2, 150, 2025),
                "papers": sc.Num(0, 0, 3)}
            assert engine.rows("SELECT * FROM subjects ORDER BY 1") == [(0, 1, "a", 0, 0, 150, 0), (1, 2, "b", 2, 1, 2025, 3)]
    assert kinds == {"sure": ["#row", "#number", "employee_id", "rejections", "overdue", "overrun", "papers"], "doubt": []}


def test_only_doubtful_rows_reach_the_python_validator(tmp_path, capsys, monkeypatch):
    seen = _counting(monkeypatch)
    body = "e01,0,0,0,0\ne02,0,0,95%,0\ne03,1,0,0,0\ne04,0,0,0,0\ne03,0,0,0,0\n"
    code, _, err = _run(capsys, BUDGET, "--input", str(_csv(tmp_path, BUDGET_HEAD + body)),
                        "--output", str(tmp_path / "out.csv"), "--backend", "duckdb", "--quiet")
    assert code == 1 and "row 6, field employee_id: duplicate key 'e03' (first at row 4)" in err
    assert seen == [3, 4, 6]  # the percent, and both rows of the repeated key


DIVIDE = """policy div "div" {
  key id
  input id: text
  input a: decimal in 0..100
  input b: decimal in 0..100
  score total = a / b
  tiers grade by total {
    high >= 2
    low otherwise
  }
}
"""


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_rows_the_engine_marks_are_worded_from_its_table(tmp_path, capsys, monkeypatch, request, engine):
    """A row the engine marks as possibly failing is fetched from the engine's table (by a
    table of positions) and run through the reference, which names it by the file's row
    number (an empty row skipped in between counts, as perfdsl.io counts it)."""
    if engine == "spark":
        request.getfixturevalue("spark")
    reads = _engine_reads(monkeypatch)
    policy = tmp_path / "div.perf"
    policy.write_text(DIVIDE, encoding="utf-8")
    data = _csv(tmp_path, "id,a,b\nx1,1,2\n,,\nx2,3,0\nx3,4,1.5\nx4,5,0\n")
    duck, python = _both(tmp_path, capsys, str(policy), data, engine=engine)
    assert duck == python and duck[0] == 1 and duck[3] is None
    assert duck[2].startswith("row 4: ") and "\nrow 6: " in duck[2] and "division by zero" in duck[2]
    parquet = tmp_path / "in.parquet"
    pl.DataFrame({"id": ["x1", "x2", "x3"], "a": ["1", "3", "4"], "b": ["2", "0.5", "0"]}).write_parquet(parquet)
    duck, python = _both(tmp_path, capsys, str(policy), parquet, engine=engine)
    assert duck == python and duck[2].startswith("row 3: ")
    good = _csv(tmp_path, "id,a,b\nx1,1,2\n,,\nx2,3,0.25\n")
    duck, python = _both(tmp_path, capsys, str(policy), good, engine=engine)
    assert duck == python and duck[0] == 0
    assert len(reads) == 3 and all(r is not None for r in reads)  # each file read by the engine


def test_duckdb_memory_limit_from_the_environment(monkeypatch):
    """PERFDSL_DUCKDB_MEMORY bounds DuckDB (it spills past it); a value DuckDB cannot read
    is a message, not a traceback."""
    from perfdsl.io import DataError
    from perfdsl.sql.engine import DuckDB
    monkeypatch.setenv("PERFDSL_DUCKDB_MEMORY", "512MB")
    assert DuckDB().con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("488.2 MiB", "512.0 MB")
    monkeypatch.setenv("PERFDSL_DUCKDB_MEMORY", "lots")
    with pytest.raises(DataError, match="PERFDSL_DUCKDB_MEMORY='lots': not an amount of memory"):
        DuckDB()


def test_duckdb_out_of_memory_is_a_line_saying_what_to_do_and_nothing_is_written(monkeypatch, tmp_path, capsys):
    """DuckDB out of memory (here a limit of 100KB) is the run's error, not a traceback:
    the engine's line and the setting to change; no output file."""
    monkeypatch.setenv("PERFDSL_DUCKDB_MEMORY", "100KB")
    out = tmp_path / "out.parquet"
    code = main(["run", str(ROOT / "policies" / "budget_engineer.perf"), "--input",
                 str(ROOT / "policies" / "data" / "budget_engineer.csv"), "--output", str(out), "--backend", "duckdb"])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists() and list(tmp_path.iterdir()) == []
    assert err.startswith("DuckDB ran out of memory (Out of Memory Error")
    assert "set PERFDSL_DUCKDB_MEMORY (e.g. PERFDSL_DUCKDB_MEMORY=4GB) below the memory this machine has free" in err
    assert "Traceback" not in err and err.rstrip().endswith("1 problem(s); nothing was written")


def test_fuzzed_csv_files_on_spark_as_the_python_backend(spark, tmp_path, capsys):  # noqa: F811
    """perfdsl.datafuzz's CSV files that Spark reads itself (the others are the row
    reader's, which the duckdb fuzz test covers): the python backend's code, messages, bytes."""
    assert _fuzzed_as_the_python_backend(tmp_path, capsys, "spark", 120, clean_quotes=True) > 15


def test_spark_reads_files_as_the_python_backend(spark, tmp_path, capsys, monkeypatch):  # noqa: F811
    """--backend spark on a choice of the files above (CSV: bad cells, other forms, ragged
    and quoted rows, spellings, number lists, hostile cells and kept columns; Parquet:
    typed, text and wide columns, lists): the python backend's exit code, messages and
    bytes on each, and spark.read read all but three of them itself."""
    reads = _engine_reads(monkeypatch)
    cases = ([(BUDGET, BUDGET_HEAD + BAD_BUDGET[k], ()) for k in (0, 1, 5, 6, 9, 10, 13)]
             + [(BRANCH, BRANCH_HEAD + body, ()) for body in BAD_BRANCH]
             + [(MANAGER, MANAGER_HEAD + body, ()) for body in BAD_MANAGER[:3]]
             + [(BUDGET, 'employee_id,rejections,overdue,overrun,papers,姓名\n"=cmd|\' /C calc\'!A0",0,0,0,0,"a,b"\n'
                         '"x\'); DROP TABLE subjects; --",1,0,1.25,0,"say ""hi"""\n' "'+x,2,0,0,1,'@sum\n",
                 ("--keep", "姓名"))])
    for policy, text, extra in cases:
        got, python = _both(tmp_path, capsys, policy, _csv(tmp_path, text), extra=extra, engine="spark")
        assert got == python, text
    frames = [_budget_frame([("a", 0, 0, Decimal("1.50"), 0), ("b", 2, 1, Decimal("0"), 1)]),
              _budget_frame([("a", 0, 0, Decimal("1.50"), 0), ("b", -1, None, Decimal("0"), 1), ("a", 0, 0, None, 0)]),
              pl.DataFrame({"employee_id": ["a", "b"], "rejections": ["1", "2.0"], "overdue": [0, 0],
                            "overrun": ["1.5", "95%"], "papers": pl.Series([Decimal("1.00"), Decimal("1.5")],
                                                                             dtype=pl.Decimal(38, 2))}),
              _budget_frame([("a", 0, 0, Decimal("1234567890123456789.25"), 0), ("b", 2, 1, Decimal("0.5"), 1)])]
    data = tmp_path / "in.parquet"
    for frame in frames:
        frame.write_parquet(data)
        got, python = _both(tmp_path, capsys, BUDGET, data, engine="spark")
        assert got == python, frame
    _branch_lists().write_parquet(data)
    got, python = _both(tmp_path, capsys, BRANCH, data, engine="spark")
    assert got == python
    assert len(reads) == len(cases) + len(frames) + 1
    # the row reader's: a ragged row, text after a closing quote, a quote inside an unquoted cell
    assert [k for k, r in enumerate(reads) if r is None] == [1, 6, 8]
