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


# ---------------------------------------------------------------- 6: no subjects

GOOD_ROWS = [["a", "t", "50", "10", "true"], ["b", "t", "95", "0", "true"]]


def write_xlsx(path, sheets, hidden=()):
    """sheets: {title: rows}; titles in `hidden` are hidden sheets."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for r in rows:
            sheet.append(r)
        if title in hidden:
            sheet.sheet_state = "hidden"
    workbook.save(path)


@pytest.mark.parametrize("name, content", [
    ("in.csv", HEADER), ("in.csv", "\ufeff" + HEADER + ",,,,\n\n"), ("in.json", "[]"), ("in.jsonl", "\n"),
])
@pytest.mark.parametrize("backend", ["python", "columnar"])
def test_no_subjects_is_an_error_and_keeps_the_previous_output(policy_file, tmp_path, capsys, name, content, backend):
    data = tmp_path / name
    data.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    out.write_text("previous results\n", encoding="utf-8")
    assert run(policy_file, data, out, "--backend", backend) == 1
    assert capsys.readouterr().err.splitlines() == ["no subjects: the file has no data rows",
                                                    "1 problem(s); nothing was written"]
    assert out.read_text(encoding="utf-8") == "previous results\n"


def test_workbook_with_only_a_cover_sheet_is_an_error(policy_file, tmp_path, capsys):
    data = tmp_path / "in.xlsx"
    write_xlsx(data, {"封面": [["2024 年度考核"]]})
    out = tmp_path / "out.xlsx"
    write_rows(out, ["id"], [{"id": "previous"}])
    before = out.read_bytes()
    assert run(policy_file, data, out) == 1
    assert "no subjects: the file has no data rows" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_cover_sheet_hidden_sheet_and_title_rows_are_passed_over(policy_file, tmp_path, capsys):
    data = tmp_path / "in.xlsx"
    header = HEADER.strip().split(",")
    write_xlsx(data, {"封面": [["2024 年度考核"]], "old": [header, ["z", "t", "1", "1", "true"]],
                      "数据": [["科室考核表"], [], header, *GOOD_ROWS]}, hidden=("old",))
    out = tmp_path / "out.csv"
    assert run(policy_file, data, out) == 0
    assert [r[:3] for r in csv_rows(out)] == [["id", "echo", "total"], ["a", "t", "60"], ["b", "t", "95"]]
    assert "2 subject(s)" in capsys.readouterr().out
    # row numbers are the sheet's own: the header is row 3
    write_xlsx(data, {"数据": [["科室考核表"], [], header, ["a", "t", "x", "1", "true"]]})
    assert run(policy_file, data, out) == 1
    assert "row 4, field x: expected a number, got 'x'" in capsys.readouterr().err


def test_sheet_option_picks_a_sheet_by_name(policy_file, tmp_path, capsys):
    data = tmp_path / "in.xlsx"
    header = HEADER.strip().split(",")
    write_xlsx(data, {"一月": [header, GOOD_ROWS[0]], "二月": [header, *GOOD_ROWS]})
    out = tmp_path / "out.csv"
    assert run(policy_file, data, out, "--sheet", "二月") == 0
    assert [r[0] for r in csv_rows(out)] == ["id", "a", "b"]
    assert run(policy_file, data, out, "--sheet", "三月") == 1
    assert "no sheet named '三月'; the workbook has '一月', '二月'" in capsys.readouterr().err


# ---------------------------------------------------------------- 8: workbook bombs

def raw_xlsx(path, sheet_xml: bytes, shared: bytes | None = None, compress=zipfile.ZIP_DEFLATED):
    """A minimal workbook with one sheet titled 数据 whose XML is given."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if shared else "")
            + "</Types>").encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>").encode(),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            + ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>' if shared else "")
            + "</Relationships>").encode(),
    }
    with zipfile.ZipFile(path, "w", compress) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for chunk in ([sheet_xml] if isinstance(sheet_xml, bytes) else sheet_xml):
                fh.write(chunk)
        if shared:
            archive.writestr("xl/sharedStrings.xml", shared)


SHEET_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_TAIL = b"</sheetData></worksheet>"


def sheet_xml(*rows: bytes) -> bytes:
    return SHEET_HEAD + b"".join(rows) + SHEET_TAIL


def inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


HEADER_ROW = b'<row r="1">' + b"".join(inline(f"{c}1", n) for c, n in zip("ABCDE", HEADER.strip().split(","))) + b"</row>"


def test_workbook_in_our_raw_form_is_read(tmp_path):
    path = tmp_path / "in.xlsx"
    raw_xlsx(path, sheet_xml(HEADER_ROW, b'<row r="2">' + inline("A2", "a") + b'<c r="C2"><v>1.5</v></c></row>'))
    assert [r.values for r in read_rows(path)] == [{"id": "a", "note": None, "x": D("1.5"), "n": None, "ok": None}]


def test_a_cell_inflating_to_200_mb_is_refused_by_sheet_and_cell(policy_file, tmp_path, capsys):
    path = tmp_path / "bomb.xlsx"
    block = b"A" * 2**20
    raw_xlsx(path, [SHEET_HEAD, HEADER_ROW, b'<row r="2"><c r="B2" t="inlineStr"><is><t>', *[block] * 200,
                    b"</t></is></c></row>", SHEET_TAIL])
    assert path.stat().st_size < 400_000
    started = time.perf_counter()
    assert run(policy_file, path, tmp_path / "o.csv") == 1
    assert time.perf_counter() - started < 3
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "sheet '数据', cell B2: the text is longer than 32,767 characters"
    assert "Traceback" not in err and not (tmp_path / "o.csv").exists()


def test_an_overlong_shared_string_is_refused(tmp_path):
    path = tmp_path / "in.xlsx"
    shared = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>ok</t></si><si><t>'
              + b"x" * 40_000 + b"</t></si></sst>")
    raw_xlsx(path, sheet_xml(HEADER_ROW, b'<row r="2"><c r="A2" t="s"><v>1</v></c></row>'), shared)
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert str(excinfo.value) == "xl/sharedStrings.xml, shared text 2: the text is longer than 32,767 characters"


@pytest.mark.parametrize("rows, message", [
    ([b'<row r="1048577">' + inline("A1048577", "x") + b"</row>"],
     "sheet '数据': row '1048577' is outside the 1,048,576 rows a sheet has"),
    ([b'<row r="2"><c r="XFE2"><v>1</v></c></row>'],
     "sheet '数据': cell XFE2 lies beyond column XFD, the last of the 16,384 columns a sheet has"),
    ([b'<row r="2"><c r="C2"><v>' + b"9" * 5000 + b"</v></c></row>"],
     "sheet '数据', cell C2: a stored number longer than 400 characters"),
    ([b'<row r="2"><c r="C2"><v>9_5</v></c></row>'],
     "sheet '数据', cell C2: the stored number is wrong: expected a number, got '9_5'"),
    ([b'<row r="2"><c r="C2"><v>\xd9\xa1\xd9\xa2</v></c></row>'],
     "sheet '数据', cell C2: the stored number is wrong: expected a number, got '\u0661\u0662'"),
    ([b'<row r="2"><c r="C2" t="n"><v>1e-400</v></c></row>'],
     "sheet '数据', cell C2: the stored number is wrong: '1e-400' has an exponent beyond ±40"),
])
def test_sheet_layout_bombs_are_refused(tmp_path, rows, message):
    path = tmp_path / "in.xlsx"
    raw_xlsx(path, sheet_xml(HEADER_ROW, *rows))
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert str(excinfo.value) == message


def test_cells_filled_in_between_are_counted(tmp_path, monkeypatch):
    from perfdsl import xlsxcheck
    monkeypatch.setattr(xlsxcheck, "MAX_CELLS", 100_000)
    path = tmp_path / "in.xlsx"
    rows = [f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="XFD{r}"><v>1</v></c></row>'.encode() for r in range(2, 10)]
    raw_xlsx(path, sheet_xml(HEADER_ROW, *rows))
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert str(excinfo.value) == "sheet '数据': the sheet would need more than 100,000 cells (row 8 and the rows before it)"


def test_declared_inflated_size_is_checked_before_reading(tmp_path, monkeypatch):
    from perfdsl import xlsxcheck
    monkeypatch.setattr(xlsxcheck, "MAX_INFLATED", 50_000)
    path = tmp_path / "in.xlsx"
    raw_xlsx(path, sheet_xml(HEADER_ROW, b'<row r="2">' + inline("B2", "y" * 60_000) + b"</row>"))
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert str(excinfo.value).startswith("the workbook would inflate to ")
    assert str(excinfo.value).endswith(f"(xl/worksheets/sheet1.xml: {size:,}); at most 50,000 are read")


def test_entity_declarations_are_refused(tmp_path):
    path = tmp_path / "in.xlsx"
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>')
    raw_xlsx(path, laughs)
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert str(excinfo.value) == "sheet '数据': XML with a document type declaration (DOCTYPE) is not accepted"


# ---------------------------------------------------------------- 9: every bad row, capped printout

def test_structural_errors_and_field_errors_are_listed_together(policy_file, tmp_path, capsys):
    data = tmp_path / "in.csv"
    data.write_text(HEADER + "a,t,1,1,true\nb,t,1,1,true,extra\nc,t,abc,1,true\nd,t,1,1,maybe\n", encoding="utf-8")
    assert run(policy_file, data, tmp_path / "o.csv") == 1
    assert capsys.readouterr().err.splitlines() == [
        "row 3: the row has 6 cells but the header has 5 columns",
        "row 4, field x: expected a number, got 'abc'",
        "row 5, field ok: expected true or false, got 'maybe'",
        "3 problem(s); nothing was written",
    ]
    data = tmp_path / "in.jsonl"
    data.write_text('[1]\n{"id": "a", "note": "t", "x": "1,5", "n": 1, "ok": true}\n{"id": \n'
                    '{"id": "b", "note": "t", "x": 1, "n": 1, "ok": true, "ok": false}\n'
                    '{"id": "c", "note": "t", "x": 1, "n": -1, "ok": true}\n', encoding="utf-8")
    assert run(policy_file, data, tmp_path / "o.csv") == 1
    assert capsys.readouterr().err.splitlines() == [
        "row 1: expected a JSON object, found a list",
        "row 2, field x: expected a number, got '1,5'",
        "row 3: malformed JSON at column 8: Expecting value",
        "row 4: the key 'ok' occurs more than once",
        "row 5, field n: -1 is outside the declared range 0..100",
        "5 problem(s); nothing was written",
    ]


def test_printed_problems_and_warnings_are_capped(policy_file, tmp_path, capsys):
    data = tmp_path / "in.csv"
    data.write_text(HEADER + "".join(f"k{i},t,x{i},1,true\n" for i in range(500)), encoding="utf-8")
    assert run(policy_file, data, tmp_path / "o.csv") == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 202
    assert err[199] == "row 201, field x: expected a number, got 'x199'"
    assert err[200:] == ["… and 300 more problem(s)", "500 problem(s); nothing was written"]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"id": f"k{i}", "note": "", "x": 1, "n": 1, "ok": True, f"u{i}": 0}) + "\n"
                            for i in range(300)), encoding="utf-8")
    assert run(policy_file, data, tmp_path / "o.csv") == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 201
    assert err[0] == "warning: row 1, field u0: unknown field, ignored"
    assert err[200] == "… and 100 more warning(s)"


# ---------------------------------------------------------------- 13: control characters from data

def test_escape_sequences_from_data_reach_no_terminal(policy_file, tmp_path):
    import subprocess
    import sys
    data = tmp_path / "in.json"
    data.write_text(json.dumps([{"id": "\x1b]0;owned\x07\u202eab", "note": "\x1b[2J", "x": 1, "n": 1, "ok": True,
                                 "\x1b[31mred": 1, "\ud800": 2},
                                {"id": "b\nforged line", "note": "", "x": "\x1b[5m", "n": 1, "ok": True}]),
                    encoding="utf-8")

    def perfdsl(*args):
        proc = subprocess.run([sys.executable, "-m", "perfdsl", *args], capture_output=True)
        return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")

    code, out, err = perfdsl("run", str(policy_file), "--input", str(data), "--output", str(tmp_path / "o.csv"))
    assert code == 1 and "Traceback" not in err
    assert err.splitlines() == ["row 2, field x: expected a number, got '\\x1b[5m'", "1 problem(s); nothing was written"]
    data.write_text(data.read_text(encoding="utf-8").replace('"\\u001b[5m"', "2"), encoding="utf-8")
    code, out, err = perfdsl("run", str(policy_file), "--input", str(data), "--output", str(tmp_path / "o.csv"))
    assert code == 0 and "\x1b" not in err and "\u202e" not in err
    assert "warning: row 1, field \\x1b[31mred: unknown field, ignored" in err.splitlines()
    assert "warning: row 1, field \\ud800: unknown field, ignored" in err.splitlines()
    code, out, err = perfdsl("explain", str(policy_file), "--input", str(data), "--id", "\x1b]0;owned\x07\u202eab")
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert out.splitlines()[0] == "hostile data (hostile_data) — id = \\x1b]0;owned\\x07\\u202eab"
    assert "echo = \\x1b[2J" in out.splitlines()
    code, out, err = perfdsl("explain", str(policy_file), "--input", str(data), "--id", "b\nforged line")
    assert out.splitlines()[0] == "hostile data (hostile_data) — id = b\\nforged line"
    assert not any(line.startswith("forged line") for line in out.splitlines())


def test_percent_keeps_every_digit():
    from perfdsl.numbers import parse_number
    assert parse_number("99.12345678901234567890123456789%") == D("0.9912345678901234567890123456789")


# ---------------------------------------------------------------- the hostile-data fuzzer

def test_the_oracle_reads_section_12_2():
    from fractions import Fraction

    from perfdsl.datafuzz import reference_number, reference_value
    assert reference_number(" 1,234.5 ", percent=True) == Fraction(24690, 20)
    assert reference_number("95%", percent=True) == Fraction(95, 100)
    assert reference_number("95%", percent=False) is None
    assert reference_number("1e40", percent=True) == 10 ** 40
    assert [reference_number(t, percent=True) for t in ["1.000,5", "9_5", "NaN", "1e41", "1" * 41, "1,234e5"]] == [None] * 6
    assert reference_value(True, whole=True) is None and reference_value("1.5", whole=True) is None


def test_the_fuzzer_catches_a_lax_number_reader(monkeypatch):
    from decimal import InvalidOperation

    from perfdsl import datafuzz, numbers, validate

    def lax(text, *, percent=True):  # what Decimal() alone would accept
        if len(text) > 60:
            return numbers.parse_number(text, percent=percent)
        try:
            return numbers.check_number(D(text.strip().replace(",", "")))
        except InvalidOperation:
            raise numbers.NumberError("bad", malformed=True) from None
    monkeypatch.setattr(validate, "parse_number", lax)
    tally = datafuzz.fuzz_cells(400, seed=3)
    assert tally.silent_accepts > 10 and tally.tracebacks == 0


def test_short_hostile_data_fuzz_run():
    from perfdsl.datafuzz import fuzz_cells, fuzz_files
    for tally in (fuzz_cells(1500, seed=11), fuzz_files(150, seed=11, cli_share=0.1)):
        assert (tally.tracebacks, tally.silent_accepts, tally.wrong_readings) == (0, 0, 0), tally.examples
        assert tally.inputs >= 150
