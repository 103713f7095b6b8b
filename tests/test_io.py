"""Tests for perfdsl.io: exact reading and atomic writing of CSV, XLSX, JSON and JSONL."""

from __future__ import annotations

import os
import stat
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from perfdsl import io as pio
from perfdsl.io import (
    DataError,
    DataProblem,
    RawRow,
    format_decimal,
    format_value,
    read_rows,
    write_rows,
)

COLUMNS = ["工号", "姓名", "score", "delta", "big", "passed", "tags", "note"]
ROWS = [
    {
        "工号": "E001",
        "姓名": "张三",
        "score": Decimal("96.00"),
        "delta": Decimal("-0.10"),
        "big": Decimal("1E+2"),
        "passed": True,
        "tags": [Decimal("0.50"), "优秀", 3],
        "note": None,
    },
    {
        "工号": "E002",
        "姓名": "李四",
        "score": Decimal("0.1"),
        "delta": Decimal("0.08"),
        "big": 7,
        "passed": False,
        "tags": [],
        "note": "备注",
    },
]


def write_and_read(tmp_path, suffix, columns=COLUMNS, rows=ROWS):
    path = tmp_path / f"out{suffix}"
    write_rows(path, columns, rows)
    return path, read_rows(path)


def problems_of(excinfo):
    return [(p.row, p.field, p.message) for p in excinfo.value.problems]


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    "text, expected",
    [
        ("96.00", "96"),
        ("-10.5", "-10.5"),
        ("-0.10", "-0.1"),
        ("0.08", "0.08"),
        ("1E+2", "100"),
        ("1.5E-7", "0.00000015"),
        ("-0.00", "0"),
        ("0E+3", "0"),
        ("120", "120"),
        ("12345678901234567890.123456789012345678901", "12345678901234567890.123456789012345678901"),
    ],
)
def test_format_decimal_is_exact_without_exponent_or_trailing_zeros(text, expected):
    assert format_decimal(Decimal(text)) == expected


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_format_decimal_rejects_non_finite(text):
    with pytest.raises(ValueError, match="not a finite number"):
        format_decimal(Decimal(text))


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (Decimal("96.00"), "96"),
        ("=1+1", "=1+1"),
        ([Decimal("1.50"), "优秀", None, True], '[1.5, "优秀", null, true]'),
        ({"a": Decimal("2.0")}, '{"a": 2}'),
        (date(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1, 9, 30), "2024-03-01T09:30:00"),
    ],
)
def test_format_value(value, expected):
    assert format_value(value) == expected


@pytest.mark.parametrize("value", [0.1, object(), (1, 2), {1: "x"}])
def test_format_value_rejects_inexact_or_unknown_values(value):
    with pytest.raises(TypeError, match="cannot write"):
        format_value(value)


# ---------------------------------------------------------------- problems


def test_data_problem_str_forms():
    assert str(DataProblem(3, "overdue", "not a number")) == "row 3, field overdue: not a number"
    assert str(DataProblem(3, None, "too many cells")) == "row 3: too many cells"
    assert str(DataProblem(None, None, "not UTF-8")) == "not UTF-8"
    assert str(DataProblem(None, "x", "used twice")) == "field x: used twice"


def test_data_error_lists_problems_one_per_line():
    err = DataError([DataProblem(2, "a", "bad"), DataProblem(None, None, "worse")])
    assert err.problems == [DataProblem(2, "a", "bad"), DataProblem(None, None, "worse")]
    assert str(err) == "row 2, field a: bad\nworse"


# ---------------------------------------------------------------- round trips


def test_csv_round_trip_text_and_values(tmp_path):
    path, rows = write_and_read(tmp_path, ".csv")
    assert path.read_bytes().decode("utf-8") == (  # with a BOM: Excel on Chinese Windows reads UTF-8
        "\ufeff工号,姓名,score,delta,big,passed,tags,note\n"
        'E001,张三,96,-0.1,100,true,"[0.5, ""优秀"", 3]",\n'
        "E002,李四,0.1,0.08,7,false,[],备注\n"
    )
    assert rows == [
        RawRow(2, {"工号": "E001", "姓名": "张三", "score": "96", "delta": "-0.1", "big": "100",
                   "passed": "true", "tags": '[0.5, "优秀", 3]', "note": ""}),
        RawRow(3, {"工号": "E002", "姓名": "李四", "score": "0.1", "delta": "0.08", "big": "7",
                   "passed": "false", "tags": "[]", "note": "备注"}),
    ]


def test_json_round_trip_text_and_values(tmp_path):
    path, rows = write_and_read(tmp_path, ".json")
    assert path.read_bytes().decode("utf-8") == (
        "[\n"
        '  {"工号": "E001", "姓名": "张三", "score": 96, "delta": -0.1, "big": 100, '
        '"passed": true, "tags": [0.5, "优秀", 3], "note": null},\n'
        '  {"工号": "E002", "姓名": "李四", "score": 0.1, "delta": 0.08, "big": 7, '
        '"passed": false, "tags": [], "note": "备注"}\n'
        "]\n"
    )
    assert rows == [
        RawRow(1, {"工号": "E001", "姓名": "张三", "score": 96, "delta": Decimal("-0.1"), "big": 100,
                   "passed": True, "tags": [Decimal("0.5"), "优秀", 3], "note": None}),
        RawRow(2, {"工号": "E002", "姓名": "李四", "score": Decimal("0.1"), "delta": Decimal("0.08"),
                   "big": 7, "passed": False, "tags": [], "note": "备注"}),
    ]
    assert list(rows[0].values) == COLUMNS


def test_jsonl_round_trip_text_and_values(tmp_path):
    path, rows = write_and_read(tmp_path, ".jsonl")
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[0] == (
        '{"工号": "E001", "姓名": "张三", "score": 96, "delta": -0.1, "big": 100, '
        '"passed": true, "tags": [0.5, "优秀", 3], "note": null}'
    )
    assert lines[2] == ""
    assert [row.number for row in rows] == [1, 2]
    assert rows[1].values["score"] == Decimal("0.1")
    assert rows[1].values["delta"] == Decimal("0.08")
    assert rows[0].values["tags"] == [Decimal("0.5"), "优秀", 3]


def test_empty_json_and_jsonl_outputs(tmp_path):
    write_rows(tmp_path / "e.json", ["a"], [])
    write_rows(tmp_path / "e.jsonl", ["a"], [])
    assert (tmp_path / "e.json").read_text(encoding="utf-8") == "[]\n"
    assert (tmp_path / "e.jsonl").read_text(encoding="utf-8") == ""
    assert read_rows(tmp_path / "e.json") == []
    assert read_rows(tmp_path / "e.jsonl") == []


def test_xlsx_round_trip_values(tmp_path):
    path, rows = write_and_read(tmp_path, ".xlsx")
    assert rows == [
        RawRow(2, {"工号": "E001", "姓名": "张三", "score": 96, "delta": Decimal("-0.1"), "big": 100,
                   "passed": True, "tags": '[0.5, "优秀", 3]', "note": None}),
        RawRow(3, {"工号": "E002", "姓名": "李四", "score": Decimal("0.1"), "delta": Decimal("0.08"),
                   "big": 7, "passed": False, "tags": "[]", "note": "备注"}),
    ]
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["results"]
    assert workbook["results"]["C2"].data_type == "n"


def test_xlsx_writes_decimals_that_floats_cannot_hold_as_text(tmp_path):
    precise = Decimal("0.1000000000000000055511151231257827")
    huge = 12345678901234567890
    _, rows = write_and_read(tmp_path, ".xlsx", ["a", "b", "c"], [{"a": precise, "b": huge, "c": Decimal("2.50")}])
    assert rows[0].values == {"a": "0.1000000000000000055511151231257827", "b": "12345678901234567890", "c": Decimal("2.5")}


# ---------------------------------------------------------------- reading details


def test_csv_with_bom_and_blank_lines(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeff工号,分数\r\nE1,96.50\r\n\r\nE2,\r\n".encode("utf-8"))
    assert read_rows(path) == [
        RawRow(2, {"工号": "E1", "分数": "96.50"}),
        RawRow(4, {"工号": "E2", "分数": ""}),
    ]


def test_csv_short_rows_are_padded_and_empty_extra_cells_ignored(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(" id , score,\n1\n2,3,,\n", encoding="utf-8")
    assert read_rows(path) == [
        RawRow(2, {"id": "1", "score": ""}),
        RawRow(3, {"id": "2", "score": "3"}),
    ]


def test_csv_row_numbers_count_records_not_physical_lines(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,note\n1,"two\nlines"\n2,x,extra\n', encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [(3, None, "the row has 3 cells but the header has 2 columns")]


def test_csv_every_problem_is_listed(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,,score,id\n1,2,3,4\n5,6,7,8\n9,10,11,12,13\n14,15,16,17,18,19\n", encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [
        (1, None, "column 2 has no name"),
        (1, "id", "column name used more than once (columns 1, 4)"),
        (4, None, "the row has 5 cells but the header has 4 columns"),
        (5, None, "the row has 6 cells but the header has 4 columns"),
    ]
    assert str(excinfo.value).splitlines()[2] == "row 4: the row has 5 cells but the header has 4 columns"


@pytest.mark.parametrize("content", [b"", b"\n\n", b",,\n1,2\n"])
def test_csv_without_header(tmp_path, content):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [(None, None, "no header: the first row is empty")]


def test_csv_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("id,name\n1,ok\n2,".encode("utf-8") + "é".encode("latin-1") + b"\n")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [
        (None, None, "not UTF-8 text: byte 0xe9 on line 3 cannot be decoded; save the file with UTF-8 encoding"
                     " or give --encoding NAME")  # nor GB18030: a lead byte before the line break
    ]


def test_csv_in_gbk_is_read_as_gb18030_with_a_note(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("工号,分数\r\nE1,96.5\r\n".encode("gbk"))
    rows = read_rows(path)
    assert rows == [RawRow(2, {"工号": "E1", "分数": "96.5"})] and rows.columns == ["工号", "分数"]
    assert rows.notes == ["gbk.csv is not UTF-8 (byte 0xb9 on line 1); read as GB18030 (GBK), as Excel on "
                          "Chinese Windows saves CSV; give --encoding NAME if it is another encoding"]
    assert read_rows(path, encoding="gb18030").notes == []
    with pytest.raises(DataError) as excinfo:
        read_rows(path, encoding="utf-8")
    assert problems_of(excinfo) == [(None, None, "not utf-8 text: byte 0xb9 on line 1 cannot be decoded")]


def test_json_is_utf8_only(tmp_path):
    path = tmp_path / "gbk.json"
    path.write_bytes('[{"工号": "E1"}]'.encode("gbk"))
    with pytest.raises(DataError, match="not UTF-8 text: byte 0xb9 on line 1"):
        read_rows(path)


def test_header_row_found_by_any_of_the_key_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("2026 年考核表,\n,\n工号,分数\nE1,9\n", encoding="utf-8")
    assert read_rows(path, key=("id", "工号")) == [RawRow(4, {"工号": "E1", "分数": "9"})]


def test_csv_malformed_record(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,note\n1," + "x" * 200 + "\n", encoding="utf-8")
    old = pio.csv.field_size_limit(100)
    try:
        with pytest.raises(DataError) as excinfo:
            read_rows(path)
    finally:
        pio.csv.field_size_limit(old)
    assert problems_of(excinfo) == [(None, None, "malformed CSV on line 2: field larger than field limit (100)")]


def test_json_keeps_decimals_exact(tmp_path):
    path = tmp_path / "in.json"
    path.write_text(
        '[{"a": 0.1, "b": 1e400, "c": 123456789012345678901234567890, "d": -0.10, "e": [0.3]}]',
        encoding="utf-8",
    )
    [row] = read_rows(path)
    assert row == RawRow(1, {"a": Decimal("0.1"), "b": Decimal("1E+400"), "c": 123456789012345678901234567890,
                             "d": Decimal("-0.10"), "e": [Decimal("0.3")]})
    assert str(row.values["a"]) == "0.1"


def test_json_accepts_bom(tmp_path):
    path = tmp_path / "in.json"
    path.write_bytes(b'\xef\xbb\xbf[{"a": 1}]')
    assert read_rows(path) == [RawRow(1, {"a": 1})]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_rejects_nan_and_infinity(tmp_path, constant):
    path = tmp_path / "in.json"
    path.write_text(f'[{{"a": {constant}}}]', encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [
        (None, None, f"malformed JSON: {constant} is not a JSON number (NaN and Infinity are not allowed)")
    ]


def test_json_element_that_is_not_an_object_is_reported_by_position(tmp_path):
    path = tmp_path / "in.json"
    path.write_text('[{"a": 1}, {"a": 2}, [3], "x", {"a": 5, "a": 6}]', encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [
        (3, None, "expected a JSON object, found a list"),
        (4, None, "expected a JSON object, found a string"),
        (5, None, "the key 'a' occurs more than once"),
    ]


def test_json_duplicate_keys_in_nested_objects(tmp_path):
    path = tmp_path / "in.json"
    path.write_text('[{"a": [{"k": 1, "k": 2}]}]', encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [(1, None, "the key 'k' occurs more than once")]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"a": 1}', "expected a JSON list of objects, found an object"),
        ("null", "expected a JSON list of objects, found null"),
        ('[\n  {"a": 1},\n  {"a": }\n]', "malformed JSON at line 3, column 9: Expecting value"),
        ("", "malformed JSON at line 1, column 1: Expecting value"),
    ],
)
def test_json_whole_file_problems(tmp_path, text, message):
    path = tmp_path / "in.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [(None, None, message)]


def test_jsonl_reports_every_bad_line_by_line_number(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"a": 1}\n{"a": \n\n[1]\n{"a": 0.1}\r\n{"b": NaN}\n', encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [
        (2, None, "malformed JSON at column 7: Expecting value"),
        (4, None, "expected a JSON object, found a list"),
        (6, None, "malformed JSON: NaN is not a JSON number (NaN and Infinity are not allowed)"),
    ]


def test_jsonl_skips_blank_lines_and_keeps_line_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('\n{"a": 0.1}\r\n   \n{"a": "x\u2028y"}', encoding="utf-8")
    assert read_rows(path) == [RawRow(2, {"a": Decimal("0.1")}), RawRow(4, {"a": "x\u2028y"})]


def test_xlsx_reading_types_and_row_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "员工"
    first.append(["工号", "score", "ratio", "hired", "flag", " note "])
    first.append(["E1", 96, 0.1, datetime(2023, 5, 1), True, "ok"])
    first.append([])
    first.append(["E2", 88.5, None, None, False, None])
    first["A8"].value = None  # touched but empty trailing rows
    first["B9"].value = ""
    workbook.create_sheet("other").append(["ignored"])
    path = tmp_path / "in.xlsx"
    workbook.save(path)
    assert read_rows(path) == [
        RawRow(2, {"工号": "E1", "score": 96, "ratio": Decimal("0.1"), "hired": datetime(2023, 5, 1),
                   "flag": True, "note": "ok"}),
        RawRow(4, {"工号": "E2", "score": Decimal("88.5"), "ratio": None, "hired": None,
                   "flag": False, "note": None}),
    ]


def test_xlsx_reports_error_cells_and_extra_cells(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "score"])
    sheet.append(["E1", "#DIV/0!"])
    sheet.append(["E2", 1, "stray"])
    path = tmp_path / "in.xlsx"
    workbook.save(path)
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    assert problems_of(excinfo) == [
        (2, "score", "the cell holds the spreadsheet error #DIV/0!"),
        (3, None, "the row has 3 cells but the header has 2 columns"),
    ]


def test_xlsx_with_a_wrong_stored_size_is_read_completely(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    workbook.active.append([1, 2])
    workbook.active.append([3, 4])
    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    workbook.save(good)
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:B3" />', b'<dimension ref="A1" />')
                assert b'<dimension ref="A1" />' in data
            target.writestr(item, data)
    assert read_rows(bad) == [RawRow(2, {"a": 1, "b": 2}), RawRow(3, {"a": 3, "b": 4})]


def test_xlsx_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_text("id,score\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(path)
    [problem] = excinfo.value.problems
    assert problem.row is None
    assert problem.message.startswith("not a valid .xlsx workbook (BadZipFile:")


def test_xlsx_zip_without_workbook_parts(tmp_path):
    path = tmp_path / "in.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(DataError, match="not a valid .xlsx workbook"):
        read_rows(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json", ".jsonl"])
def test_missing_file(tmp_path, suffix):
    with pytest.raises(DataError) as excinfo:
        read_rows(tmp_path / f"missing{suffix}")
    assert problems_of(excinfo) == [(None, None, "cannot read the file: No such file or directory")]


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match="cannot read the file"):
        read_rows(tmp_path / "dir.csv")


@pytest.mark.parametrize("name", ["data.txt", "data", "data.xls"])
def test_unknown_extension_on_read(tmp_path, name):
    (tmp_path / name).write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        read_rows(tmp_path / name)
    [problem] = excinfo.value.problems
    assert problem.row is None
    assert problem.message.startswith("unsupported file type")
    assert problem.message.endswith("expected one of .csv, .xlsx, .json, .jsonl, .parquet")


def test_extension_is_case_insensitive(tmp_path):
    write_rows(tmp_path / "OUT.CSV", ["a"], [{"a": 1}])
    assert read_rows(tmp_path / "OUT.CSV") == [RawRow(2, {"a": "1"})]


# ---------------------------------------------------------------- hostile strings

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+SUM(A1)",
    "@x",
    'say "hi", \'bye\'',
    "line1\nline2\r\nline3",
    "  padded  ",
    "#N/A",
    "007",
    "1E+2",
    "tab\there",
    "x\u2028y",
    "\\",
]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_hostile_strings_round_trip_as_text(tmp_path, suffix):
    rows = [{"id": str(i), "text": text} for i, text in enumerate(HOSTILE)]
    _, back = write_and_read(tmp_path, suffix, ["id", "text"], rows)
    assert [row.values["text"] for row in back] == HOSTILE


def test_hostile_strings_round_trip_through_xlsx_with_line_breaks_as_lf(tmp_path):
    rows = [{"id": str(i), "text": text} for i, text in enumerate(HOSTILE + ["a\rb"])]
    _, back = write_and_read(tmp_path, ".xlsx", ["id", "text"], rows)
    expected = [text.replace("\r\n", "\n") for text in HOSTILE] + ["a\nb"]
    assert [row.values["text"] for row in back] == expected


def test_formula_like_strings_are_stored_as_xlsx_text(tmp_path):
    path, _ = write_and_read(tmp_path, ".xlsx", ["=A1"], [{"=A1": "=cmd|' /C calc'!A0"}])
    sheet = openpyxl.load_workbook(path)["results"]
    assert (sheet["A1"].value, sheet["A1"].data_type) == ("=A1", "s")
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=cmd|' /C calc'!A0", "s")
    with zipfile.ZipFile(path) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_nul_round_trips_in_text_formats(tmp_path, suffix):
    _, back = write_and_read(tmp_path, suffix, ["t"], [{"t": "a\x00b"}])
    assert back[0].values["t"] == "a\x00b"


def test_control_characters_are_rejected_for_xlsx(tmp_path):
    path = tmp_path / "out.xlsx"
    with pytest.raises(DataError) as excinfo:
        write_rows(path, ["id", "t"], [{"id": "1", "t": "ok"}, {"id": "2", "t": "a\x00b"}, {"id": "\x07", "t": ""}])
    assert problems_of(excinfo) == [
        (3, "t", "the text contains a control character that XLSX cannot store"),
        (4, "id", "the text contains a control character that XLSX cannot store"),
    ]
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_overlong_xlsx_text_is_rejected(tmp_path):
    with pytest.raises(DataError) as excinfo:
        write_rows(tmp_path / "out.xlsx", ["t"], [{"t": "x" * 32768}])
    assert problems_of(excinfo) == [(2, "t", "the text is longer than the 32767 characters an XLSX cell holds")]


@pytest.mark.parametrize("suffix, row", [(".csv", 2), (".json", 1), (".jsonl", 1), (".xlsx", 2)])
def test_unpaired_surrogate_is_reported(tmp_path, suffix, row):
    with pytest.raises(DataError) as excinfo:
        write_rows(tmp_path / f"out{suffix}", ["t"], [{"t": "a\ud800"}])
    assert problems_of(excinfo) == [(row, "t", "the text contains an unpaired surrogate (invalid Unicode)")]


# ---------------------------------------------------------------- writing problems


@pytest.mark.parametrize("suffix, first", [(".csv", 2), (".json", 1), (".jsonl", 1), (".xlsx", 2)])
def test_write_lists_every_bad_value_with_output_row_numbers(tmp_path, suffix, first):
    rows = [
        {"a": 1, "b": 0.5},
        {"a": object()},
        {"a": Decimal("NaN"), "b": [1.5]},
    ]
    with pytest.raises(DataError) as excinfo:
        write_rows(tmp_path / f"out{suffix}", ["a", "b"], rows)
    assert problems_of(excinfo) == [
        (first, "b", "cannot write a value of type float"),
        (first + 1, "a", "cannot write a value of type object"),
        (first + 1, "b", "no value given for this column"),
        (first + 2, "a", "NaN is not a finite number"),
        (first + 2, "b", "cannot write a value of type float"),
    ]


def test_write_rejects_bad_columns(tmp_path):
    with pytest.raises(DataError) as excinfo:
        write_rows(tmp_path / "out.csv", ["a", "", "a", "x\ny"], [])
    assert problems_of(excinfo) == [
        (None, None, "column 2 has no name"),
        (None, "x\ny", "the column name contains a control character"),
        (None, "a", "column name used more than once"),
    ]
    assert list(tmp_path.iterdir()) == []


def test_write_ignores_keys_not_in_columns(tmp_path):
    _, back = write_and_read(tmp_path, ".json", ["b"], [{"a": 1, "b": 2}])
    assert back == [RawRow(1, {"b": 2})]


def test_unknown_extension_on_write_creates_nothing(tmp_path):
    with pytest.raises(DataError) as excinfo:
        write_rows(tmp_path / "out.txt", ["a"], [{"a": 1}])
    assert excinfo.value.problems[0].row is None
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- atomic writing


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".xlsx"])
def test_bad_value_leaves_existing_output_untouched(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    write_rows(path, ["a"], [{"a": "old"}])
    before = path.read_bytes()
    with pytest.raises(DataError):
        write_rows(path, ["a"], [{"a": "new"}, {"a": object()}])
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failure_while_writing_removes_temp_file_and_keeps_old_output(tmp_path, monkeypatch):
    path = tmp_path / "out.csv"
    path.write_text("a\nold\n", encoding="utf-8")
    seen = []

    def failing_fsync(fd):
        seen.append(leftovers(tmp_path))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pio.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_rows(path, ["a"], [{"a": "new"}])
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith(".out.csv.")
    assert path.read_text(encoding="utf-8") == "a\nold\n"
    assert leftovers(tmp_path) == []


def test_failure_in_replace_removes_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.json"

    def failing_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pio.os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        write_rows(path, ["a"], [{"a": 1}])
    assert list(tmp_path.iterdir()) == []


def test_successful_write_replaces_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n", encoding="utf-8")
    os.chmod(path, 0o640)
    write_rows(path, ["a"], [{"a": Decimal("1.50")}])
    assert path.read_text(encoding="utf-8") == "\ufeffa\n1.5\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_new_file_is_private_to_its_owner(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, ["a"], [])
    assert path.read_text(encoding="utf-8") == "\ufeffa\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_into_missing_directory_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_rows(tmp_path / "nope" / "out.csv", ["a"], [])


# ---- the fast workbook reader (fastexcel/calamine) ----------------------------------------


def test_xlsx_reader_keeps_row_and_column_numbers_and_exact_values(tmp_path):
    """Calamine starts a sheet at its first used row and column and writes the numbers of a
    mixed column with 9 decimals; the reader puts rows, columns and digits back."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["C3"] = "2026 年度考核表"
    for row, values in ((5, ["工号", "分数", "备注"]), (6, ["E1", 1 / 3, "x"]), (7, ["E2", "缺考", None]),
                        (9, ["007", 12345678901234567890, True]), (10, ["E4", "#N/A", 1e-12])):
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    sheet["B10"].data_type = "e"  # openpyxl writes it as an error cell: <c t="e"><v>#N/A</v></c>
    path = tmp_path / "w.xlsx"
    workbook.save(path)
    with pytest.raises(DataError) as excinfo:
        read_rows(path, key="工号")
    assert problems_of(excinfo) == [(10, "分数", "the cell holds the spreadsheet error #N/A")]
    rows = excinfo.value.rows
    assert [r.number for r in rows] == [6, 7, 9]
    assert rows[0].values == {"工号": "E1", "分数": Decimal("0.3333333333333333"), "备注": "x"}
    assert rows[1].values == {"工号": "E2", "分数": "缺考", "备注": None}
    # openpyxl stored the big number as the double 1.234567890123457e+19; a boolean in a
    # column of text reads as its text, which a bool input reads as true
    assert rows[2].values == {"工号": "007", "分数": Decimal("12345678901234570000"), "备注": "true"}


def test_xlsx_reader_skips_hidden_sheets_and_reads_typed_columns(tmp_path):
    workbook = openpyxl.Workbook()
    hidden = workbook.active
    hidden.title, hidden.sheet_state = "旧表", "hidden"
    hidden.append(["工号", "分数"])
    hidden.append(["old", 1])
    data = workbook.create_sheet("数据")
    data.append(["工号", "分数", "合格"])
    data.append(["E1", 0.1, True])
    data.append(["E2", 96, False])
    path = tmp_path / "w.xlsx"
    workbook.save(path)
    assert read_rows(path, key="工号") == [RawRow(2, {"工号": "E1", "分数": Decimal("0.1"), "合格": True}),
                                           RawRow(3, {"工号": "E2", "分数": 96, "合格": False})]
    assert read_rows(path, key="工号", sheet="旧表") == [RawRow(2, {"工号": "old", "分数": 1})]
