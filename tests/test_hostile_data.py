"""Hostile data (issue 9): output cells no spreadsheet runs, numbers read only in the forms
of LANGUAGE.md §12.2 and within their limits, no subjects is an error, XLSX bombs refused,
every bad row listed with a capped printout, and control characters from data escaped."""
from __future__ import annotations

import csv
import json
import time
import zipfile
from decimal import Decimal as D

import openpyxl
import pytest

from perfdsl import DataError, load
from perfdsl.cli import main
from perfdsl.io import read_rows, write_rows

POLICY = """
policy hostile_data "hostile data" {
  key id
  input id: text
  input note: text
  input x: decimal in -1000000..1000000
  input n: int in 0..100
  input ok: bool
  let echo = note
  score total = x + n
  tiers grade by total {
    good >= 60
    poor otherwise
  }
  veto ok == false -> poor "vetoed"
  flag "high" if total >= 90
}
"""
HEADER = "id,note,x,n,ok\n"


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "hostile_data.perf"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def policy(policy_file):
    return load(policy_file)


def run(policy_file, data, out, *extra):
    return main(["run", str(policy_file), "--input", str(data), "--output", str(out), *extra])


def csv_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


# ---------------------------------------------------------------- 2, 3: CSV output

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1", "\tx", "\rx", "'=x", "''+y"]
PLAIN = ["x=1", "a-b", "'quoted'", "", "1+1"]


def test_csv_text_starting_a_formula_gets_a_leading_apostrophe(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, ["id", "n"], [{"id": text, "n": D("-5")} for text in FORMULAS + PLAIN])
    cells = [row[0] for row in csv_rows(path)[1:]]
    assert cells == ["'" + text for text in FORMULAS] + PLAIN
    assert [row[1] for row in csv_rows(path)[1:]] == ["-5"] * len(FORMULAS + PLAIN)  # numbers stay numbers
    assert [r.values["id"] for r in read_rows(path)] == FORMULAS + PLAIN  # perfdsl reads back what was written


def test_run_output_key_text_and_flags_are_escaped_in_csv_and_text_in_xlsx(policy_file, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(json.dumps([{"id": "=HYPERLINK(\"http://evil\",\"x\")", "note": "@SUM(1)", "x": 95, "n": 0, "ok": True},
                                {"id": "-1+1", "note": "+cmd|' /C calc'!A0", "x": 10, "n": 0, "ok": True}]),
                    encoding="utf-8")
    assert run(policy_file, data, tmp_path / "o.csv") == 0
    rows = csv_rows(tmp_path / "o.csv")
    assert rows[1][:2] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(1)"]
    assert rows[2][:3] == ["'-1+1", "'+cmd|' /C calc'!A0", "10"]
    assert run(policy_file, data, tmp_path / "o.xlsx") == 0
    sheet = openpyxl.load_workbook(tmp_path / "o.xlsx")["results"]
    assert [(c.value, c.data_type) for c in sheet[2][:2]] == [("=HYPERLINK(\"http://evil\",\"x\")", "s"), ("@SUM(1)", "s")]
    assert [(c.value, c.data_type) for c in sheet[3][:3]] == [("-1+1", "s"), ("+cmd|' /C calc'!A0", "s"), (10, "n")]


@pytest.mark.parametrize("key", ["d02\rd03", "d02\nd03", "d02\r\nd03", "\rd03"])
def test_line_break_in_a_key_cannot_forge_a_row(tmp_path, key):
    path = tmp_path / "out.csv"
    write_rows(path, ["id", "flags"], [{"id": key, "flags": "先进科室"}, {"id": "d04", "flags": ""}])
    raw = path.read_bytes()
    assert raw.count(b'"') == 2  # the key's cell, quoted
    expected_key = "'" + key if key.startswith("\r") else key
    assert csv_rows(path) == [["id", "flags"], [expected_key, "先进科室"], ["d04", ""]]
    assert [r.values for r in read_rows(path)] == [{"id": key, "flags": "先进科室"}, {"id": "d04", "flags": ""}]


def test_one_empty_column_still_writes_a_row(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, ["a"], [{"a": ""}, {"a": "x"}])
    assert csv_rows(path) == [["a"], [""], ["x"]]


# ---------------------------------------------------------------- 4, 5: numbers

def base(**values):
    return {"id": "a", "note": "", "x": "1", "n": "1", "ok": "true"} | values


@pytest.mark.parametrize("field, value, message", [
    ("x", "1.000,5", "expected a number, got '1.000,5'"),
    ("x", "85.5,90", "expected a number, got '85.5,90'"),
    ("x", "9,5.5", "expected a number, got '9,5.5'"),
    ("x", "12,34", "expected a number, got '12,34'"),
    ("x", "9_5", "expected a number, got '9_5'"),
    ("n", "9_5", "expected a whole number, got '9_5'"),
    ("x", "NaN", "expected a number, got 'NaN'"),
    ("x", "-Infinity", "expected a number, got '-Infinity'"),
    ("x", "１２", "expected a number, got '１２'"),
    ("x", "0x10", "expected a number, got '0x10'"),
    ("n", "50%", "expected a whole number, got '50%'"),
    ("n", "1.5", "expected a whole number, got '1.5'"),
    ("x", "1e1000000", "'1e1000000' has an exponent beyond ±40"),
    ("x", "1e10000000", "'1e10000000' has an exponent beyond ±40"),
    ("x", "-1e-41", "'-1e-41' has an exponent beyond ±40"),
    ("x", "1" * 41, f"'{'1' * 41}' has more than 40 digits"),
    ("n", True, "expected a whole number, got true"),
    ("x", False, "expected a number, got false"),
    ("x", D("NaN"), "expected a number, got 'NaN'"),
    ("x", D("1E+400"), "'1E+400' has an exponent beyond ±40"),
    ("n", 10 ** 50, "a whole number with more than 40 digits"),
])
def test_python_api_rejects_malformed_and_oversized_numbers(policy, field, value, message):
    started = time.perf_counter()
    with pytest.raises(DataError) as excinfo:
        policy.evaluate(base(**{field: value}))
    assert [(p.row, p.field, p.message) for p in excinfo.value.problems] == [(None, field, message)]
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("value, expected", [
    ("1,234.5", D("1234.5")), ("123,456.75", D("123456.75")), ("95%", D("0.95")), (" -12.50 ", D("-12.5")),
    (".5", D("0.5")), ("5.", D("5")), ("+3", D("3")), ("1.5e3", D("1500")), ("1e-40", D("1e-40")),
    (D("0.10"), D("0.1")), (7, D(7)),
])
def test_python_api_reads_the_accepted_forms_exactly(policy, value, expected):
    assert policy.evaluate(base(x=value, n="0", ok="true")).total == expected


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".xlsx"])
def test_every_format_reports_bad_numbers_by_row_and_field(policy_file, tmp_path, capsys, suffix):
    rows = [["a", "t", "1.000,5", "1", "true"], ["b", "t", "1e1000000", "1", "true"], ["c", "t", "10", "9_5", "true"],
            ["d", "t", "95%", "1", "true"]]
    data = tmp_path / f"in{suffix}"
    header = HEADER.strip().split(",")
    if suffix == ".csv":
        with open(data, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([header, *rows])
    elif suffix == ".xlsx":
        workbook = openpyxl.Workbook()
        for r in [header, *rows]:
            workbook.active.append(r)
        workbook.save(data)
    else:
        objects = [dict(zip(header, r)) for r in rows]
        text = json.dumps(objects) if suffix == ".json" else "".join(json.dumps(o) + "\n" for o in objects)
        data.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    out.write_text("previous", encoding="utf-8")
    started = time.perf_counter()
    assert run(policy_file, data, out) == 1
    assert time.perf_counter() - started < 5
    first = 2 if suffix in (".csv", ".xlsx") else 1
    assert capsys.readouterr().err.splitlines() == [
        f"row {first}, field x: expected a number, got '1.000,5'",
        f"row {first + 1}, field x: '1e1000000' has an exponent beyond ±40",
        f"row {first + 2}, field n: expected a whole number, got '9_5'",
        "3 problem(s); nothing was written",
    ]
    assert out.read_text(encoding="utf-8") == "previous"


def test_json_numbers_booleans_and_huge_values(policy_file, tmp_path, capsys):
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "a", "note": "", "x": 1e1000000, "n": 1, "ok": true}\n'
                    '{"id": "b", "note": "", "x": 1, "n": true, "ok": true}\n'
                    '{"id": "c", "note": "", "x": 1, "n": ' + "9" * 5000 + ', "ok": true}\n'
                    '{"id": "d", "note": "", "x": 1.5e3, "n": 1, "ok": true}\n', encoding="utf-8")
    assert run(policy_file, data, tmp_path / "o.csv") == 1
    assert capsys.readouterr().err.splitlines() == [
        "row 1, field x: '1E+1000000' has an exponent beyond ±40",
        "row 2, field n: expected a whole number, got true",
        f"row 3, field n: '{'9' * 25}'…(5000 characters)…'{'9' * 10}' has more than 40 digits",
        "3 problem(s); nothing was written",
    ]
