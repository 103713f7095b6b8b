"""`perfdsl run`'s table path (perfdsl/frame_io.py) and Parquet in and out.

The table path must write what the row path writes, byte for byte, and word every data
error as it does; Parquet output holds exact Decimal columns that read back as the
reference's values."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from perfdsl import load
from perfdsl.cli import main

ROOT = Path(__file__).resolve().parents[1]
BUDGET = str(ROOT / "policies" / "budget_engineer.perf")
BRANCH = str(ROOT / "policies" / "branch_employees.perf")
CLINIC = str(ROOT / "policies" / "village_clinic.perf")

BUDGET_CSV = """employee_id,rejections,overdue,overrun,papers
e01,0,0,0,0
e02,2,0,0,0
e03,0,0,20,0
e04,5,0,0,0
e05,3,4,2.5,2
e06,6,1,0,0
e07,0,0,150,0
e08,25,0,0,0
e09,20,20,50,0
e10,5,0,0.5,0
"""


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _both(tmp_path, capsys, policy: str, data: Path, suffix: str = ".csv", extra=()):
    """(code, stderr, output bytes) of the default run and of --backend python."""
    got = []
    for backend in ("auto", "python"):
        out = tmp_path / f"out-{backend}{suffix}"
        code, _, err = _run(capsys, policy, "--input", str(data), "--output", str(out), "--backend", backend,
                            "--quiet", *extra)
        got.append((code, err.replace(str(out), "OUT"), out.read_bytes() if out.exists() else None))
    return got


def test_budget_engineer_worked_example_same_bytes(tmp_path, capsys):
    data = tmp_path / "in.csv"
    data.write_text(BUDGET_CSV, encoding="utf-8")
    auto, python = _both(tmp_path, capsys, BUDGET, data)
    assert auto == python
    lines = auto[2].decode("utf-8-sig").splitlines()
    assert lines[0] == "employee_id,quality,efficiency,cost,ability,total,grade,flags"
    assert lines[5] == "e05,85,88,97.5,106,92.3,良好,"  # demoted by the 20% quota
    assert lines[1] == "e01,100,100,100,100,100,优秀,"


HOSTILE = ('employee_id,rejections,overdue,overrun,papers,姓名\n'
           '"=cmd|\' /C calc\'!A0",0,0,0,0,"a,b"\n'
           '"d02\rd03",1,0,1.25,0,"say ""hi"""\n'
           "'+x,2,0,0,1,'@sum\n"
           '"line\nbreak",3,0,0.5,0,-1\n')


def test_hostile_text_written_as_the_row_path_writes_it(tmp_path, capsys):
    data = tmp_path / "in.csv"
    data.write_text(HOSTILE, encoding="utf-8")
    auto, python = _both(tmp_path, capsys, BUDGET, data, extra=("--keep", "姓名"))
    assert auto == python
    text = auto[2].decode("utf-8-sig")
    assert text.split("\n")[1].startswith("'=cmd|' /C calc'!A0,\"a,b\",100,")
    assert '\n"d02\rd03",""say ""hi""",95,' not in text and '\n"d02\rd03","say ""hi""",95,' in text
    assert '\n"line\nbreak",\'-1,85,' in text and "\n'+x,'@sum,90," in text


@pytest.mark.parametrize("body", [
    "e01,0,0,0,0\ne02,x,0,0,0\ne03,0,0,101%,0\ne01,0,0,0,0\ne05,1.5,0,-1,0\n",
    "e01,0,0,0,0\ne02,1e1,0,\" 5 \",0\ne03,0,0,1,000,0\n",
    "e01,0,0,0,0\n\ne02,0,0,1e400,0\n,,,,\ne03,-1,0,0,0\n",
])
def test_data_errors_worded_as_the_row_path_words_them(tmp_path, capsys, body):
    data = tmp_path / "in.csv"
    data.write_text("employee_id,rejections,overdue,overrun,papers\n" + body, encoding="utf-8")
    auto, python = _both(tmp_path, capsys, BUDGET, data)
    assert auto == python


def test_numbers_in_other_forms_read_as_the_row_path_reads_them(tmp_path, capsys):
    data = tmp_path / "in.csv"
    data.write_text("工号,rejections,overdue,overrun,papers\ne01,\" 1 \",0,95%,0\ne02,0,0,\"1,234.5\",0\n"
                    "e03,0,0,1e-1,+2\n", encoding="utf-8")
    auto, python = _both(tmp_path, capsys, BUDGET, data)
    assert auto == python and auto[0] == 0
    assert "e01,95,100,99.05,100,97.81,良好,\ne02,100,100,0,100,80,良好," in auto[2].decode("utf-8-sig")


def _budget_parquet(path: Path) -> None:
    rows = [r.split(",") for r in BUDGET_CSV.splitlines()[1:]]
    pl.DataFrame({"employee_id": [r[0] for r in rows], "rejections": [int(r[1]) for r in rows],
                  "overdue": [int(r[2]) for r in rows],
                  "overrun": pl.Series([Decimal(r[3]) for r in rows], dtype=pl.Decimal(38, 2)),
                  "papers": [int(r[4]) for r in rows]}).write_parquet(path)


@pytest.mark.parametrize("backend", ["auto", "python", "columnar"])
def test_parquet_in_and_out_exact(tmp_path, capsys, backend):
    data, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    _budget_parquet(data)
    code, _, err = _run(capsys, BUDGET, "--input", str(data), "--output", str(out), "--backend", backend, "--quiet")
    assert code == 0, err
    got = pl.read_parquet(out)
    assert isinstance(got.schema["total"], pl.Decimal) and isinstance(got.schema["cost"], pl.Decimal)
    want = load(BUDGET).evaluate_cohort(pl.read_parquet(data).to_dicts(), trace=False)
    for row, r in zip(got.iter_rows(named=True), want):
        assert row["employee_id"] == r.record["employee_id"]
        assert row["total"] == r.values["total"] and row["cost"] == r.values["cost"]
        assert row["grade"] == r.values["grade"] and row["flags"] == []
    assert got.row(4, named=True)["total"] == Decimal("92.3")


@pytest.mark.parametrize("backend", ["auto", "python"])
def test_parquet_rounded_places_and_flags(tmp_path, capsys, backend):
    """village_clinic: standard = round(…, 2) keeps two decimals; flags are a list."""
    csv = tmp_path / "in.csv"
    csv.write_text("clinic_id,basic_medical,public_health,ncms,integration,admin_finance,environment,satisfaction,"
                   "population,top3_last_year,bottom3_fail_last_year,failed_first_half\n"
                   "c1,30,30,10,10,5,5,10,1200,true,false,false\n"
                   "c2,10,10,5,5,2,2,5,1000,false,true,true\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    code, _, err = _run(capsys, CLINIC, "--input", str(csv), "--output", str(out), "--backend", backend, "--quiet")
    assert code == 0, err
    got = pl.read_parquet(out).rows_by_key("clinic_id", named=True, unique=True)
    assert got["c1"]["standard"] == Decimal("8000") and got["c1"]["total"] == Decimal("100")
    assert got["c2"]["standard"] == Decimal("6666.67") and got["c2"]["subsidy"] == Decimal("3250.00")
    assert got["c1"]["flags"] == ["优秀村卫生室", "奖励负责人1000元"]
    assert got["c2"]["flags"][:2] == ["通报批评", "负责人诫勉半年"]


def test_parquet_bad_rows_listed(tmp_path, capsys):
    data = tmp_path / "in.parquet"
    pl.DataFrame({"employee_id": ["a", "b", "a"], "rejections": [0, -1, 0], "overdue": [0, 0, None],
                  "overrun": [1.5, 0.0, 0.0], "papers": [0, 0, 0]}).write_parquet(data)
    auto, python = _both(tmp_path, capsys, BUDGET, data)
    assert auto == python and auto[0] == 1 and auto[2] is None
    assert "row 1, field overrun: binary floats are not accepted" in auto[1]
    assert "row 3, field overdue: missing" in auto[1]


def test_wide_decimals_written_as_text_in_parquet(tmp_path):
    from perfdsl import io
    path = tmp_path / "w.parquet"
    wide = Decimal("1234567890123456789012345.1234567890123456")
    io.write_rows(path, ["k", "v"], [{"k": "a", "v": wide}, {"k": "b", "v": Decimal("1.5")}])
    got = pl.read_parquet(path)
    assert got.schema["v"] == pl.String and got["v"].to_list() == [str(wide), "1.5"]


def test_fuzzed_csv_files_read_and_written_as_the_row_path_does(tmp_path, capsys):
    """Hostile CSV files of perfdsl.datafuzz (title rows, blank lines, ragged rows, odd
    encodings, numbers in every form, hostile text, cut files): the default run gives the
    same exit code, messages and bytes as the row path on every one."""
    from perfdsl import datafuzz, frame_io
    tried = 0
    for policy, i, data in datafuzz.csv_files(tmp_path, 400, seed=15):
        try:
            frame_io._csv_frame(data, ("id",))
        except frame_io._RowWay:
            if i % 8:
                continue  # the row reader's files: a few suffice, the table path's are the point
        tried += 1
        results = []
        for backend in ("auto", "python"):
            out = tmp_path / f"out-{backend}.csv"
            out.write_text("previous\n", encoding="utf-8")
            code, stdout, err = _run(capsys, str(policy), "--input", str(data), "--output", str(out),
                                     "--backend", backend)
            results.append((code, stdout.replace(str(out), "OUT"), err, out.read_bytes()))
        assert results[0] == results[1], f"case {i}: {data.read_bytes()[:300]!r}"
    assert tried > 100


def test_summary_and_workbook_as_the_row_path_gives_them(tmp_path, capsys):
    """The run summary (what the quota moved, from the tiers before the cohort stage) and
    the XLSX output with its 汇总 sheet are the row path's on the columnar backend too."""
    import openpyxl
    data = tmp_path / "in.csv"
    data.write_text(BUDGET_CSV, encoding="utf-8")
    got = []
    for backend in ("auto", "python"):
        out = tmp_path / f"out-{backend}.xlsx"
        code, stdout, err = _run(capsys, BUDGET, "--input", str(data), "--output", str(out), "--backend", backend)
        book = openpyxl.load_workbook(out)
        got.append((code, stdout.replace(str(out), "OUT"), err,
                    {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}))
    assert got[0] == got[1]
    assert "调整：优秀→良好 3 人" in got[0][1]
    assert ["名额 优秀 至多 20%（第 75 行）", "全体", 10, "优秀", 5, 2, 0, 2, "是"] in got[0][3]["汇总"]


@pytest.mark.parametrize("body", ["e01,0,0,0,0\ne02,1,0,0\rx,0\n", "e01,0,0,0,0\n\"e0\"2,1,0,0,0\n",
                                  "e01,0,0,0,0\ne02,1,0,\"1\"  ,0\n", "e01,0,0,0,0\n\n\ne02,1,0,0,0,,\n"])
def test_csv_quirks_read_as_pythons_csv_reads_them(tmp_path, capsys, body):
    """A bare CR ends a record for Python's csv (not for polars), text after a closing
    quote is kept by it (polars refuses), empty trailing cells are no cells: the table path
    leaves such files to the row reader."""
    data = tmp_path / "in.csv"
    data.write_bytes(("employee_id,rejections,overdue,overrun,papers\n" + body).encode())
    auto, python = _both(tmp_path, capsys, BUDGET, data)
    assert auto == python


POLICIES = sorted(p for p in (ROOT / "policies").glob("*.perf")
                  if re.search(r"^policy ", p.read_text(encoding="utf-8"), re.M))  # modules have none


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_bundled_policies_drawn_cohorts_same_on_both_paths(tmp_path, capsys, path):
    """Every bundled policy on a drawn cohort (bench/workloads-style values of every input
    type, written as CSV): the default run gives the row path's output, summary and
    messages, whichever backend it picks."""
    import random

    from perfdsl.check import compile_file
    ir = compile_file(path).policy
    rng = random.Random(path.stem)
    tiers = {d.name: d.tiers.names() for d in ir.definitions if d.tiers is not None}

    def cell(inp, row: int) -> str:
        t, rng_ = inp.type, inp.range
        if inp.name == ir.key:
            return f"s{row:03d}"
        if t.kind == "bool":
            return rng.choice(["true", "false"])
        if inp.choices:
            return rng.choice(inp.choices)
        if t.kind == "tier":
            return rng.choice(tiers[t.tierset])
        if t.kind == "list":
            elem = tiers.get(t.elem.tierset) if t.elem.kind == "tier" else None
            n = int(inp.length.lo) if inp.length is not None and inp.length.lo is not None else rng.randint(0, 2)
            return ";".join(rng.choice(elem) if elem else str(rng.randint(0, 9)) for _ in range(n))
        if t.kind == "num":
            lo = int(rng_.lo) if rng_ is not None and rng_.lo is not None else 0
            hi = int(rng_.hi) if rng_ is not None and rng_.hi is not None else lo + 100
            v = rng.randint(lo * 10, hi * 10) / 10 if not inp.is_int else rng.randint(lo, hi)
            return str(v) if not inp.is_int else str(int(v))
        return rng.choice(["a", "b", "c"])  # text: few values, so groups have members
    lines = [",".join(i.name for i in ir.inputs)]
    lines += [",".join(cell(i, r) for i in ir.inputs) for r in range(40)]
    data = tmp_path / "in.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = []
    for backend in ("auto", "python"):
        out = tmp_path / f"out-{backend}.csv"
        code, stdout, err = _run(capsys, str(path), "--input", str(data), "--output", str(out), "--backend", backend)
        got.append((code, stdout.replace(str(out), "OUT"), err, out.read_bytes() if out.exists() else None))
    assert got[0] == got[1]
