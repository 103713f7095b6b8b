"""§12.2 office files in and out, looked at as a clerk would: Chinese headers, GBK CSV,
title rows, money with its decimals, the XLSX opened with openpyxl (cell types, formats,
bold frozen header, widths, wrapping, the 汇总 sheet), JSON flags, --headers labels read
back, --keep, the run summary and --quiet."""
from __future__ import annotations

import csv
import json
from decimal import Decimal as D

import openpyxl
import pytest

from perfdsl import io
from perfdsl.cli import main

POLICY = """
policy bonus "部门奖金考核" {
  key id
  input id: text "工号"
  input dept: text "部门"
  input score: decimal in 0..100 "考核得分"
  input late: int in 0..31 "迟到次数"
  input pay: decimal in 0.. "基本工资"
  score total "总分" = score - late
  let money "奖金" = round(pay * total / 100, 2)
  let ratio "系数" = total / 3
  tiers grade "等次" by total { 优秀 >= 90  合格 >= 60  不合格 otherwise }
  quota 优秀 at most 50% per dept rank by total desc then id asc
  outcome full "全勤" = late == 0
  flag "迟到过多" if late >= 3
  flag "需面谈" if total < 60
}
"""
HEADER = "工号,部门,考核得分,迟到次数,基本工资,姓名\n"
DATA = ("a1,办公室,95,0,10000,张三\n"
        "a2,办公室,93,1,8000,李四\n"
        "a3,财务科,91,0,9000.5,王五\n"
        "a4,财务科,50,4,7000,赵六\n")


@pytest.fixture
def run(tmp_path, policy_file, capsys):
    policy = policy_file(POLICY)

    def go(data: str | bytes, out: str, *extra, name="in.csv"):
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        code = main(["run", str(policy), "--input", str(path), "--output", str(tmp_path / out), *extra])
        captured = capsys.readouterr()
        return code, captured.out, captured.err, tmp_path / out
    return go


def csv_rows(path, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


# ---- headers by label -------------------------------------------------------------------
def test_labels_as_headers_and_one_warning_per_unknown_column(run):
    code, out, err, path = run(HEADER + DATA, "o.csv")
    assert code == 0
    assert err.count("warning:") == 1 and "warning: column 姓名: unknown field, ignored" in err
    rows = csv_rows(path)
    assert rows[0] == ["id", "money", "ratio", "total", "grade", "full", "flags"]
    assert rows[1] == ["a1", "9500.00", "31.66666666666666666666666667", "95", "优秀", "true", ""]
    assert rows[4] == ["a4", "3220.00", "15.33333333333333333333333333", "46", "不合格", "false", "迟到过多;需面谈"]


def test_an_input_without_a_column_is_one_error_naming_label_and_columns(run):
    code, out, err, path = run("工号,部门,考核得分,基本工资\n" + "a1,办公室,95,10000\n" * 1 + "a2,办公室,90,1\n", "o.csv")
    assert code == 1 and not path.exists()
    lines = err.strip().splitlines()
    assert lines == ["no column for input late (迟到次数); the file's columns: 工号, 部门, 考核得分, 基本工资",
                     "1 problem(s); nothing was written"]


def test_title_rows_above_a_labelled_header_are_skipped(run):
    code, _, err, path = run("2026年部门奖金考核表,,,,,\n制表：人事科,,,,,\n" + HEADER + DATA, "o.csv")
    assert code == 0, err
    assert [r[0] for r in csv_rows(path)] == ["id", "a1", "a2", "a3", "a4"]


def test_row_errors_name_the_files_column(run):
    code, _, err, path = run(HEADER + "a1,办公室,95,x,10000,张三\n", "o.csv")
    assert code == 1 and "row 2, field 迟到次数 (late): expected a whole number, got 'x'" in err


# ---- encodings ------------------------------------------------------------------------------
def test_gbk_csv_is_read_as_gb18030_with_a_note(run):
    code, _, err, path = run((HEADER + DATA).encode("gbk"), "o.csv")
    assert code == 0
    assert "note: in.csv is not UTF-8" in err and "read as GB18030" in err
    assert csv_rows(path)[1][:4] == ["a1", "9500.00", "31.66666666666666666666666667", "95"]


def test_encoding_overrides(run):
    code, _, err, path = run((HEADER + DATA).encode("gbk"), "o.csv", "--encoding", "gbk")
    assert code == 0 and "note:" not in err
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "优秀".encode("gbk") in raw  # output in the same encoding
    code, _, err, _ = run((HEADER + DATA).encode("gbk"), "o.csv", "--encoding", "utf-8")
    assert code == 1 and "not utf-8 text: byte 0xb9 on line 1" in err.lower()
    code, _, err, _ = run(HEADER + DATA, "o.csv", "--encoding", "nonesuch")
    assert code == 1 and "unknown encoding 'nonesuch'" in err


def test_csv_output_has_a_bom_unless_utf8_is_asked_for(run):
    _, _, _, path = run(HEADER + DATA, "o.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfid,money")
    _, _, _, path = run(HEADER + DATA, "o.csv", "--encoding", "utf-8")
    assert path.read_bytes().startswith(b"id,money")


# ---- values: round decimals, JSON flags -------------------------------------------------------
def test_json_keeps_round_decimals_and_writes_flags_as_arrays(run):
    code, _, _, path = run(HEADER + DATA, "o.json")
    assert code == 0
    text = path.read_text(encoding="utf-8")
    assert '"money": 9500.00' in text and '"money": 8190.46' in text  # round(9000.5 × 91%, 2)
    rows = json.loads(text, parse_float=D)
    assert rows[0]["flags"] == [] and rows[3]["flags"] == ["迟到过多", "需面谈"]
    assert rows[0]["full"] is True and rows[0]["ratio"] == D("31.66666666666666666666666667")
    _, _, _, path = run(HEADER + DATA, "o.jsonl")
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[3])["flags"] == ["迟到过多", "需面谈"]


def test_columnar_backend_writes_the_same_file(run):
    _, _, _, a = run(HEADER + DATA, "a.json")
    code, _, err, b = run(HEADER + DATA, "b.json", "--backend", "columnar")
    assert code == 0, err
    assert a.read_bytes() == b.read_bytes()


# ---- the workbook -----------------------------------------------------------------------------
def test_xlsx_cells_formats_header_widths_and_summary(run):
    code, out, err, path = run(HEADER + DATA, "o.xlsx", "--explain")
    assert code == 0, err
    assert "note: 4 value(s) of column ratio have more than 15 significant digits" in err
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["results", "汇总"]
    ws = wb["results"]
    assert [c.value for c in ws[1]] == ["id", "money", "ratio", "total", "grade", "full", "flags", "explanation"]
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "B2"
    a1 = {c.column_letter: c for c in ws[2]}
    assert (a1["D"].value, a1["D"].data_type, a1["D"].number_format) == (95, "n", "0")
    assert (a1["B"].value, a1["B"].data_type, a1["B"].number_format) == (9500, "n", "0.00")
    assert (a1["C"].value, a1["C"].data_type) == ("31.66666666666666666666666667", "s")  # exact, as text
    assert (a1["F"].value, a1["F"].data_type) == (True, "b")
    assert a1["G"].value is None
    a3 = {c.column_letter: c for c in ws[4]}
    assert (a3["B"].value, a3["B"].number_format) == (8190.46, "0.00")  # round(9000.5 × 91%, 2)
    a2 = {c.column_letter: c for c in ws[3]}
    assert (a2["D"].value, a2["B"].value, a2["B"].number_format) == (92, 7360, "0.00")
    a4 = {c.column_letter: c for c in ws[5]}
    assert a4["G"].value == "迟到过多;需面谈" and a4["G"].data_type == "s"
    assert a4["H"].alignment.wrap_text and ws.column_dimensions["H"].width == 80
    assert ws.column_dimensions["A"].width == 6 and ws.column_dimensions["C"].width == 31
    summary = [list(r) for r in wb["汇总"].iter_rows(values_only=True)]
    assert summary[0] == ["规则", "分组", "人数", "等次", "调整前", "最终", "下限", "上限", "在范围内"]
    assert ["等次", "全体", 4, "优秀", None, 2, None, None, None] in summary
    quota = [r for r in summary if r[0].startswith("名额")]
    assert quota[0] == ["名额 优秀 至多 50%（第 13 行）", "部门=办公室", 2, "优秀", 2, 1, 0, 1, "是"]
    assert quota[1] == ["名额 优秀 至多 50%（第 13 行）", "部门=办公室", 2, "合格", 0, 1, None, None, None]
    assert quota[3] == ["名额 优秀 至多 50%（第 13 行）", "部门=财务科", 2, "优秀", 1, 1, 0, 1, "是"]
    assert wb["汇总"]["A1"].font.b and wb["汇总"].freeze_panes == "A2"


def test_cjk_counts_double_in_widths(tmp_path):
    path = tmp_path / "w.xlsx"
    io.write_rows(path, ["名", "n"], [{"名": "优秀优秀优秀优秀优秀", "n": 1}])
    ws = openpyxl.load_workbook(path)["results"]
    assert ws.column_dimensions["A"].width == 22 and ws.column_dimensions["B"].width == 6


def test_formula_text_stays_text_in_xlsx(tmp_path):
    path = tmp_path / "f.xlsx"
    io.write_rows(path, ["a"], [{"a": "=HYPERLINK(\"x\")"}])
    cell = openpyxl.load_workbook(path)["results"]["A2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("x")', "s")


# ---- headers out, keep --------------------------------------------------------------------------
def test_headers_labels_and_keep_read_back_as_input(run, tmp_path):
    code, _, err, path = run(HEADER + DATA, "o.csv", "--headers", "labels", "--keep", "姓名,部门,score,迟到次数,pay")
    assert code == 0, err
    rows = csv_rows(path)
    assert rows[0] == ["工号", "姓名", "部门", "考核得分", "迟到次数", "基本工资", "奖金", "系数", "总分", "等次",
                       "全勤", "标记"]
    assert rows[1][:7] == ["a1", "张三", "办公室", "95", "0", "10000", "9500.00"]
    again = tmp_path / "again.csv"
    code = main(["run", str(tmp_path / "bonus.perf") if (tmp_path / "bonus.perf").exists() else _policy(tmp_path),
                 "--input", str(path), "--output", str(again), "--quiet"])
    assert code == 0
    first = {r[0]: r for r in csv_rows(tmp_path / "o.csv")[1:]}
    back = csv_rows(again)
    assert back[0] == ["id", "money", "ratio", "total", "grade", "full", "flags"]
    for r in back[1:]:
        assert r[1:6] == [first[r[0]][6], first[r[0]][7], first[r[0]][8], first[r[0]][9], first[r[0]][10]]


def _policy(tmp_path) -> str:
    path = tmp_path / "bonus.perf"
    path.write_text(POLICY, encoding="utf-8")
    return str(path)


EXTRA = ("工号,部门,考核得分,迟到次数,基本工资,姓名,备注\n"
         "a1,办公室,95,0,10000,张三,x\n"
         "a2,财务科,50,4,7000,李四,y\n")


@pytest.mark.parametrize("backend", ["auto", "python", "columnar", "duckdb"])
def test_a_kept_column_is_no_unknown_field(run, backend):
    """A column kept with --keep is copied on purpose: no "unknown field" warning for it on
    any backend; a column neither an input nor kept is still said once, by its title."""
    code, out, err, path = run(EXTRA, "o.csv", "--keep", "姓名", "--backend", backend)
    assert code == 0, err
    assert [r[:2] for r in csv_rows(path)] == [["id", "姓名"], ["a1", "张三"], ["a2", "李四"]]
    assert "姓名" not in err
    assert err.count("warning: ") == 1 and "warning: column 备注: unknown field, ignored\n" in err
    assert "警告 1 条（见上）" in out.splitlines()


@pytest.mark.parametrize("backend", ["auto", "python", "duckdb"])
def test_a_kept_json_field_is_no_unknown_field(run, backend):
    data = json.dumps([{"工号": "a1", "部门": "办公室", "考核得分": 95, "迟到次数": 0, "基本工资": 10000,
                        "姓名": "张三", "备注": "x"}], ensure_ascii=False)
    code, _, err, path = run(data, "o.csv", "--keep", "姓名", "--backend", backend, name="in.json")
    assert code == 0, err
    assert [r[:2] for r in csv_rows(path)] == [["id", "姓名"], ["a1", "张三"]]
    assert err.splitlines() == ["warning: row 1, field 备注: unknown field, ignored"]


def test_a_kept_column_is_no_unknown_field_in_the_report(tmp_path, policy_file, capsys):
    data = tmp_path / "in.csv"
    data.write_text(EXTRA, encoding="utf-8")
    code = main(["report", str(policy_file(POLICY)), "--input", str(data), "--output", str(tmp_path / "r.html"),
                 "--keep", "姓名"])
    assert code == 0
    assert capsys.readouterr().err.splitlines() == ["warning: column 备注: unknown field, ignored"]


def test_keep_an_unknown_column_is_an_error(run):
    code, _, err, path = run(HEADER + DATA, "o.csv", "--keep", "电话")
    assert code == 1 and not path.exists()
    assert "field 电话: --keep: no such column; the file's columns: 工号, 部门, 考核得分, 迟到次数, 基本工资, 姓名" in err


# ---- the run summary ------------------------------------------------------------------------------
def test_summary_in_the_policys_language_and_quiet(run):
    code, out, err, _ = run(HEADER + DATA, "o.csv")
    assert code == 0
    assert out.splitlines() == [
        "读入 4 人（" + out.split("（", 1)[1].split("）", 1)[0] + "）",
        "等次：优秀 2，合格 1，不合格 1",
        "名额 优秀 至多 50%（第 13 行）：",
        "  部门=办公室（2）：优秀 1（至多 1），合格 1",
        "  部门=财务科（2）：优秀 1（至多 1），不合格 1",
        "调整：优秀→合格 1 人",
        "警告 1 条（见上）",
        "4 subject(s) → " + out.splitlines()[-1].split(" → ")[1],
    ]
    code, out, err, _ = run(HEADER + DATA, "o.csv", "--quiet")
    assert code == 0 and out.splitlines() == ["4 subject(s) → " + out.split(" → ")[1].strip()]
    assert "warning: column 姓名" in err  # warnings are never hidden
