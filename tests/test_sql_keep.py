"""`perfdsl run --backend duckdb --keep COLS` of a file the engine reads (CSV, Parquet):
the kept cells ride through the query to the result table and are streamed with the
outputs (perfdsl.run_sql), never fetched a row at a time into Python; the output is
the python backend's, byte for byte (CSV) or value for value (Parquet). Where a kept
column is not text (a Parquet file's typed column, or one of nulls only) the row path
still writes it, the same output."""
from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from perfdsl import run_sql
from perfdsl.sql import read

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_hostile import NASTY, PAYLOAD  # noqa: E402
from test_sql_spark import spark  # noqa: E402,F401 — the session fixture, shared
from test_sql_validate import BRANCH, BRANCH_HEAD, BUDGET, _both, _parquet_values  # noqa: E402

# budget_engineer with a column `name` no input reads: a formula, a guarded formula, an empty cell, quotes, a comma
BUDGET_NAMED = ("employee_id,rejections,overdue,overrun,papers,name\n"
                'e01,0,0,0,0,"a,b"\ne02,2,0,0,0,=1+1\ne03,0,0,20,0,\'=x\ne04,5,0,0,0,\n'
                'e05,3,4,2.5,2,"q""t"\ne06,6,1,0,0,张三\n')
# branch_employees with a `note` column; FALSE, 是 and a spaced list are doubtful cells the validator
# accepts (rows put back into the table of subjects: their kept cells too)
BRANCH_NOTED = (BRANCH_HEAD.rstrip("\n") + ",note\n"
                "a,g1,90,90,优秀,false,false,良好;优秀,first\n"
                "b,g1,80.5,80,优秀,FALSE,False,\" 良好 ； 优秀 \",\n"
                "c,g2,70,75,合格,是,false,优秀,=SUM(A1)\n"
                "d,g2,60.25,65,合格,false,true,良好,\"x,y\"\n")


@pytest.fixture
def streamed(monkeypatch):
    """The row path, and the fetch of the kept cells it reads, fail the run if taken."""
    def no(*args, **kwargs):
        raise AssertionError("the row path was taken")
    monkeypatch.setattr(run_sql, "_write_rows", no)
    monkeypatch.setattr(read.Loaded, "kept_rows", no)


def _data(tmp_path, text: str, suffix: str) -> Path:
    """The CSV text as a CSV file, or as Parquet with every column text (a text column stays text)."""
    path = tmp_path / f"in{suffix}"
    csv = tmp_path / "in.csv"
    csv.write_bytes(text.encode("utf-8"))
    if suffix == ".parquet":
        pl.read_csv(csv, infer_schema=False).write_parquet(path)
    return path


def _same(duck, python, suffix: str) -> None:
    assert duck[0] == 0 and python[0] == 0, (duck[2], python[2])
    if suffix == ".parquet":
        assert _parquet_values(duck[3]) == _parquet_values(python[3])
        assert duck[:3] == python[:3]
    else:
        assert duck == python


@pytest.mark.parametrize("out", [".csv", ".parquet"])
@pytest.mark.parametrize("policy,text,keep,inp", [
    (BUDGET, BUDGET_NAMED, "name", ".csv"),
    (BUDGET, BUDGET_NAMED, "name", ".parquet"),
    (BUDGET, BUDGET_NAMED, "rejections,name", ".csv"),  # a number input's text (typed Parquet: the row path's)
    (BRANCH, BRANCH_NOTED, "note,dept_rating", ".csv"),
    (BRANCH, BRANCH_NOTED, "note,dept_rating", ".parquet"),
    (BRANCH, BRANCH_NOTED, "history,violation_minor", ".csv"),
    (BRANCH, BRANCH_NOTED, "history,violation_minor", ".parquet"),
])
def test_kept_columns_streamed_as_the_python_backend(tmp_path, capsys, streamed, inp, out, policy, text, keep):
    """An input and a column no input reads, from a CSV file and from a Parquet file of
    text columns (a file every row of which is sure, budget's, and one with doubtful rows
    put back, branch's), into CSV and Parquet."""
    duck, python = _both(tmp_path, capsys, policy, _data(tmp_path, text, inp), out, ("--keep", keep))
    _same(duck, python, out)


def test_kept_cells_written_as_read(tmp_path, capsys, streamed):
    """The cells by hand: an input's text as written (2.5, not a number), a guarded formula
    read without its guard and written with it, an empty cell empty, quotes doubled."""
    duck, python = _both(tmp_path, capsys, BUDGET, _data(tmp_path, BUDGET_NAMED, ".csv"), ".csv",
                         ("--keep", "overrun,name"))
    assert duck == python
    lines = duck[3].decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["employee_id", "overrun", "name"]
    assert [line.split(",", 1)[1].rsplit(",", 7)[0] for line in lines[1:]] == [
        '0,"a,b"', "0,'=1+1", "20,'=x", "0,", '2.5,"q""t"', "0,张三"]


def test_hostile_kept_name_and_cells_stay_data(tmp_path, capsys, streamed):
    """A kept column named like SQL and code, holding quotes, braces, a line break and a
    right-to-left mark: written back as they are, nothing run (no file made)."""
    name = 'x"); DROP TABLE subjects; --'
    rows = "".join(f"e{k:02d},{k},0,0,0,\"{cell.replace(chr(34), chr(34) * 2)}\"\n" for k, cell in enumerate(NASTY))
    text = f'employee_id,rejections,overdue,overrun,papers,"{name.replace(chr(34), chr(34) * 2)}"\n' + rows
    for suffix in (".csv", ".parquet"):
        duck, python = _both(tmp_path, capsys, BUDGET, _data(tmp_path, text, ".csv"), suffix, ("--keep", name))
        _same(duck, python, suffix)
    got = pl.read_parquet(tmp_path / "out-duckdb.parquet")
    assert got.columns[1] == name and got.get_column(name).to_list() == NASTY
    assert PAYLOAD in NASTY and not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


@pytest.mark.parametrize("out", [".csv", ".parquet"])
def test_typed_parquet_kept_column_takes_the_row_path(tmp_path, capsys, monkeypatch, out):
    """A Parquet file's integer column and a text column of nulls only: perfdsl.io's
    writers type them by their Python values (a DECIMAL column, a boolean one), so the row
    path writes them, fetching the kept cells once; the output is the python backend's."""
    fetched = []
    kept_rows = read.Loaded.kept_rows
    monkeypatch.setattr(read.Loaded, "kept_rows", lambda self, engine: fetched.append(1) or kept_rows(self, engine))
    data = tmp_path / "in.parquet"
    pl.DataFrame({"employee_id": ["e01", "e02"], "rejections": [0, 5], "overdue": [0, 1], "overrun": [0, 2],
                  "papers": [0, 1], "none": pl.Series([None, None], dtype=pl.String)}).write_parquet(data)
    for keep in ("rejections", "none"):
        duck, python = _both(tmp_path, capsys, BUDGET, data, out, ("--keep", keep))
        _same(duck, python, out)
    assert fetched == [1, 1]


def test_missing_kept_column_named_nothing_written(tmp_path, capsys, streamed):
    duck, python = _both(tmp_path, capsys, BUDGET, _data(tmp_path, BUDGET_NAMED, ".csv"), ".csv",
                         ("--keep", "name,nope"))
    assert duck == python and duck[0] == 1 and duck[3] is None
    assert duck[2].splitlines()[0] == ("field nope: --keep: no such column; the file's columns: "
                                       "employee_id, rejections, overdue, overrun, papers, name")


def test_spark_keeps_by_the_row_path(tmp_path, capsys, spark):
    duck, python = _both(tmp_path, capsys, BRANCH, _data(tmp_path, BRANCH_NOTED, ".csv"), ".csv",
                         ("--keep", "note,dept_rating"), engine="spark")
    _same(duck, python, ".csv")


@pytest.mark.parametrize("out", [".json", ".xlsx"])
def test_row_formats_keep_from_the_engine(tmp_path, capsys, monkeypatch, out):
    """A JSON or XLSX output is written from rows: the kept cells are fetched from the
    table of subjects once, the output the python backend's."""
    fetched = []
    kept_rows = read.Loaded.kept_rows
    monkeypatch.setattr(read.Loaded, "kept_rows", lambda self, engine: fetched.append(1) or kept_rows(self, engine))
    duck, python = _both(tmp_path, capsys, BRANCH, _data(tmp_path, BRANCH_NOTED, ".csv"), out,
                         ("--keep", "note,dept_rating"))
    assert fetched == [1]
    if out == ".xlsx":
        import openpyxl
        def cells(data: bytes):
            import io
            return [list(r) for r in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]
        assert duck[:3] == python[:3] and cells(duck[3]) == cells(python[3])
        assert cells(duck[3])[0][1:3] == ["note", "dept_rating"]
    else:
        assert duck == python
