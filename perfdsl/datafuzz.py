"""Hostile-data fuzzer with an oracle: numbers, encodings, sheet layouts, cell contents.

Every generated cell comes with what it must read as, decided independently of the
reader: `reference_number` is a character-by-character reading of LANGUAGE.md §12.2
that computes the exact value with Fractions (no regex, no Decimal parsing), and the
well-formed generator builds each number from its digits, so it knows the value
before any text exists. Three outcomes count as failures:

- a traceback: any exception other than perfdsl.DataError;
- a silent accept: a malformed or oversized value read without an error;
- a wrong reading: a well-formed value read as a different number, or rejected.

`fuzz_cells` drives the cell-level readers directly (numbers.parse_number and the
pydantic validator of a policy), fast enough for hundreds of thousands of inputs;
`fuzz_files` writes whole CSV / JSON / JSONL / XLSX files (title rows, cover and hidden
sheets, ragged rows, odd encodings, hostile text) and reads them through the CLI's own
path, with a share of them run end to end by `perfdsl run`.
Used by tests/test_hostile_data.py (a short run) and bench/fuzz_data.py (the long run).
"""
from __future__ import annotations

import contextlib
import csv
import io as _io
import json
import random
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

DIGITS = "0123456789"
MAX_DIGITS = MAX_EXPONENT = 40  # §12.2, restated here rather than imported from the code under test

POLICY = """
policy datafuzz "data fuzz" {
  key id
  input id: text
  input t: text
  input x: decimal
  input n: int
  score total = x + n
  tiers grade by total {
    high >= 0
    low otherwise
  }
}
"""


# ---- the oracle ------------------------------------------------------------------------

def _digits(s: str, i: int) -> int:
    while i < len(s) and s[i] in DIGITS:
        i += 1
    return i


def _limited(coefficient: int, written_digits: int, exponent: int) -> bool:
    """Within the limits: at most 40 written digits, |exponent in scientific notation| <= 40."""
    adjusted = (len(str(coefficient)) - 1 if coefficient else 0) + exponent
    return written_digits <= MAX_DIGITS and abs(adjusted) <= MAX_EXPONENT


def reference_number(text: str, *, percent: bool) -> Fraction | None:
    """What a text cell reads as by §12.2, or None when it must be rejected."""
    s = text.strip()
    i = 1 if s[:1] in ("+", "-") else 0
    negative = s[:1] == "-"
    j = i
    while j < len(s) and (s[j] in DIGITS or s[j] == ","):
        j += 1
    whole = s[i:j]
    grouped = "," in whole
    if grouped:
        groups = whole.split(",")
        if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
            return None
        whole = "".join(groups)
    frac = ""
    if j < len(s) and s[j] == ".":
        k = _digits(s, j + 1)
        frac, j = s[j + 1:k], k
    if not whole and not frac:
        return None
    exponent, has_exponent = 0, False
    if j < len(s) and s[j] in "eE":
        k = j + 1 + (s[j + 1:j + 2] in ("+", "-"))
        end = _digits(s, k)
        if grouped or end == k:
            return None
        digits = s[k:end].lstrip("0") or "0"
        if len(digits) > 6:
            return None  # far beyond the limit whatever the coefficient
        exponent = int(digits) * (-1 if s[k - 1] == "-" else 1)
        has_exponent, j = True, end
    pct = j < len(s) and s[j] == "%"
    j += pct
    if j != len(s) or (pct and (not percent or has_exponent)):
        return None
    if len(whole) + len(frac) > MAX_DIGITS:
        return None
    coefficient = int(whole + frac or "0")
    exponent -= len(frac) + 2 * pct
    if not _limited(coefficient, len(whole) + len(frac), exponent):
        return None
    value = Fraction(coefficient) * Fraction(10) ** exponent
    return -value if negative else value


def reference_value(value: object, *, whole: bool) -> Fraction | None:
    """What a cell value (text or a JSON/Python value) reads as in a number field, or None."""
    if isinstance(value, str):
        result = reference_number(value, percent=not whole)
    elif isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    elif isinstance(value, int):
        result = Fraction(value) if abs(value) < 10 ** MAX_DIGITS else None
    elif not value.is_finite():
        return None
    else:
        sign, digits, exponent = value.as_tuple()
        coefficient = int("".join(map(str, digits)) or "0")
        result = Fraction(value) if _limited(coefficient, len(str(coefficient)), exponent) else None
    if result is not None and whole and result.denominator != 1:
        return None
    return result


def stored_number(text: str) -> tuple[bool, Fraction | None]:
    """(file accepted, value) for a number stored in an XLSX cell's <v>.

    The stored text must be plain digits with an optional sign, point and exponent within
    the limits, else the workbook is refused; the value is what openpyxl makes of it:
    an int, or the nearest binary float (a workbook holds doubles)."""
    s = text
    if len(s) > 400 or "," in s or "%" in s or s != s.strip() or reference_number(s, percent=False) is None:
        return False, None
    if any(c in s for c in ".eE"):
        value = Decimal(repr(float(s)))
        return True, reference_value(value, whole=False)
    return True, Fraction(int(s))


# ---- cell generators -------------------------------------------------------------------

MALFORMED = [
    "1.000,5", "85.5,90", "9,5.5", "1.234.567", "9_5", "1_000", "12,34", "1,2345", ",123", "123,", "1,,234",
    "1,234,56", "1.2.3", "١٢", "９５", "𝟗", "−5", "＋5", "NaN", "nan", "Inf", "-Infinity", "sNaN", "inf%", "0x10",
    "0b1", "1j", "1 000", "1\u00a0000", "--5", "+-5", "5-", "-", "+", "", " ", "1e", "e5", "1e+", "1E5.5",
    "1e5e5", "1e-", "%", "5%%", "%5", "1e2%", "5 %", "1,234e5", "5a", "5.5.", "5,", ".", "-.", "٣.٥", "1e٣",
    "true", "false", "null", "[1]", "{}", "1/2", "½", "²", "1e1000000", "1e10000000", "9" * 41, "0." + "0" * 40 + "1",
    "1e41", "1e-41", "123e39", "0e-41", "1e" + "0" * 5000 + "1", "1" * 100000,
]
SOUP = "0123456789.,+-eE%_ \t" + "0123456789.," * 3


def well_formed_text(rng: random.Random, whole: bool) -> tuple[str, Fraction]:
    """A number in an accepted form, built from its digits, with its exact value."""
    sign = rng.choice(["", "", "+", "-"])
    int_digits = "".join(rng.choice(DIGITS) for _ in range(rng.choice([1, 1, 2, 3, 4, 7, 12, 20, 28, 38])))
    frac_digits = "" if whole or rng.random() < 0.4 else "".join(
        rng.choice(DIGITS) for _ in range(rng.choice([1, 2, 3, 5, 10, 27])))
    form = rng.choice(["plain", "plain", "grouped", "exponent", "percent", "dot"])
    exponent, pct = 0, False
    if form == "grouped" and len(int_digits) > 3:
        head = len(int_digits) % 3 or 3
        body = int_digits[:head] + "".join("," + int_digits[k:k + 3] for k in range(head, len(int_digits), 3))
    else:
        body = int_digits
    if form == "exponent":
        exponent = rng.randint(-45, 45) if not whole else rng.randint(0, 10)
    if form == "percent" and not whole:
        pct = True
    text = body
    if frac_digits or (form == "dot" and not whole and rng.random() < 0.5):
        text += "." + frac_digits
    elif form == "dot" and rng.random() < 0.5 and not whole:
        text = "." + (frac_digits or "5")
        int_digits, frac_digits = "", frac_digits or "5"
    if exponent:
        text += rng.choice("eE") + rng.choice(["", "+"] if exponent > 0 else ["-"]) + str(abs(exponent)).zfill(rng.choice([1, 2, 3]))
    if pct:
        text += "%"
    text = sign + text
    coefficient = int(int_digits + frac_digits or "0")
    e = exponent - len(frac_digits) - 2 * pct
    value = Fraction(coefficient) * Fraction(10) ** e * (-1 if sign == "-" else 1)
    if not _limited(coefficient, len(int_digits) + len(frac_digits), e) or (whole and value.denominator != 1):
        value = None  # built in an accepted form but beyond the limits: must be rejected
    pad = rng.choice(["", "", "", " ", "\t", "\u3000", "\u00a0"])
    return pad + text + pad[::-1], value


def soup_text(rng: random.Random) -> str:
    return "".join(rng.choice(SOUP) for _ in range(rng.randint(0, 12)))


def cell_value(rng: random.Random, whole: bool, text_only: bool = False,
               clean: bool = False) -> tuple[object, Fraction | None]:
    """A cell for a number field and what it must read as (None: it must be rejected);
    `clean`: a well-formed one within the limits."""
    roll = 0.0 if clean else rng.random()
    if clean:
        while True:
            text, value = well_formed_text(rng, whole)
            if value is not None:
                return text, value
    if roll < 0.45:
        text, value = well_formed_text(rng, whole)
        assert reference_number(text, percent=not whole) == value, (text, value)  # the two oracles agree
        return text, value
    if roll < 0.65:
        text = rng.choice(MALFORMED)
        return text, reference_value(text, whole=whole)
    if roll < 0.85 or text_only:
        text = soup_text(rng)
        return text, reference_value(text, whole=whole)
    kind = rng.choice(["bool", "int", "bigint", "decimal", "special", "float", "none", "list"])
    value: object = {
        "bool": rng.random() < 0.5,
        "int": rng.randint(-10 ** 6, 10 ** 6),
        "bigint": rng.choice([10 ** 40, -10 ** 39 * 9, 10 ** 39, 10 ** 400]),
        "decimal": Decimal((rng.randint(0, 1), tuple(rng.choice(range(10)) for _ in range(rng.randint(1, 45))),
                            rng.randint(-90, 50))),
        "special": Decimal(rng.choice(["NaN", "-Infinity", "Infinity", "sNaN", "1E+1000000", "0E-1000"])),
        "float": rng.choice([0.5, 1e300, float("nan")]),
        "none": None,
        "list": [1],
    }[kind]
    return value, reference_value(value, whole=whole)


@dataclass
class Tally:
    """Counts of one fuzz run; `examples` keeps the first failures to show."""

    inputs: int = 0
    tracebacks: int = 0
    silent_accepts: int = 0
    wrong_readings: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def fail(self, kind: str, detail: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {detail}")

    @property
    def failures(self) -> int:
        return self.tracebacks + self.silent_accepts + self.wrong_readings

    def __str__(self) -> str:
        return (f"{self.inputs} inputs, {self.tracebacks} tracebacks, {self.silent_accepts} silent accepts, "
                f"{self.wrong_readings} wrong readings, {self.seconds:.1f} s")


def _compiled_policy():
    from .check import compile_file
    result = compile_file("datafuzz.perf", POLICY)
    assert result.policy is not None, result.diagnostics
    return result.policy


def _compare(tally: Tally, what: str, expected: Fraction | None, got: object, rejected: bool) -> None:
    if expected is None and not rejected:
        tally.fail("silent_accepts", f"{what} read as {got!r}")
    elif expected is not None and rejected:
        tally.fail("wrong_readings", f"{what} rejected, expected {expected}")
    elif expected is not None and Fraction(got) != expected:
        tally.fail("wrong_readings", f"{what} read as {got!r}, expected {expected}")


def fuzz_cells(count: int, seed: int = 0) -> Tally:
    """`count` cells through numbers.parse_number and through the policy's validator."""
    from .io import DataError
    from .numbers import NumberError, parse_number
    from .validate import Validator
    rng, tally, started = random.Random(seed), Tally(), time.perf_counter()
    validator = Validator(_compiled_policy())
    while tally.inputs < count:
        whole = rng.random() < 0.35
        cell, expected = cell_value(rng, whole)
        tally.inputs += 1
        what = f"{'int' if whole else 'decimal'} cell {cell!r:.80}"
        try:
            if isinstance(cell, str) and rng.random() < 0.5:
                try:
                    got, rejected = parse_number(cell, percent=not whole), False
                    if whole and got != got.to_integral_value():
                        rejected = True
                except NumberError:
                    got, rejected = None, True
            else:
                field_name = "n" if whole else "x"
                record = {"id": "k", "t": "", "x": "0", "n": "0", field_name: cell}
                rec, problems = validator.one(record, 1)
                rejected = bool(problems)
                got = None if rejected else rec[field_name]
                if rejected and [(p.row, p.field) for p in problems] != [(1, field_name)]:
                    tally.fail("wrong_readings", f"{what}: problems {problems}")
            _compare(tally, what, expected, got, rejected)
        except DataError:
            tally.fail("wrong_readings", f"{what}: DataError from a single-cell check")
        except Exception:
            tally.fail("tracebacks", f"{what}: {traceback.format_exc(limit=3)}")
    tally.seconds = time.perf_counter() - started
    return tally


# ---- whole files -----------------------------------------------------------------------

HOSTILE_TEXT = ["=HYPERLINK(\"x\")", "+1", "-1", "@SUM(1)", "\tx", "a\rb", "a\nb", "a\r\nb", 'q"q', "a,b", "'=x",
                "\u202eevil", "\x1b[31m", "x\x00y", "  pad  ", "#N/A", "007", "1E+2", "张三", "", "'", "''+y"]


@dataclass
class Case:
    """A generated file: the rows the reader must return (number → expected values),
    the (row, field) pairs it must report, and whether the whole file must be refused."""

    path: Path
    expected: dict[int, dict[str, object]] = field(default_factory=dict)
    bad: set[tuple[int, str | None]] = field(default_factory=set)
    refused: bool = False      # a file-level problem: only a DataError is right
    lenient: bool = False      # the encoding may be read either way: an error or the same values
    unchecked: bool = False    # a file cut anywhere: only the absence of a traceback is checked


def _row_cells(rng: random.Random, number: int, text_only: bool, clean: bool = False) -> tuple[list[object], dict, set]:
    """id, t, x, n cells of one row; its expected record and bad fields (none if `clean`)."""
    x, ex = cell_value(rng, False, text_only, clean)
    n, en = cell_value(rng, True, text_only, clean)
    t = rng.choice(HOSTILE_TEXT)
    key = f"k{number}" + rng.choice(["", "", " ", "=", "\u202e"])
    bad = {f for f, e in (("x", ex), ("n", en)) if e is None}
    return [key, t, x, n], {"id": key, "t": t, "x": ex, "n": en}, bad


def _csv_case(rng: random.Random, path: Path) -> Case:
    case, clean = Case(path), rng.random() < 0.4
    records: list[list[str]] = [[f"第{k}季度考核表"] for k in range(rng.choice([0, 0, 0, 1, 3]))]
    records.append(["id", "t", "x", "n"])
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.1:
            records.append([])  # a blank line: skipped
        number = len(records) + 1
        cells, expected, bad = _row_cells(rng, number, text_only=True, clean=clean)
        if rng.random() < 0.1 and not clean:
            cells.append("stray")  # one cell too many: a structural problem of this row
            case.bad.add((number, None))
        else:
            case.expected[number] = expected
            case.bad |= {(number, f) for f in bad}
        records.append([str(c) for c in cells])
    out = _io.StringIO(newline="")
    # Python's writer leaves a bare CR unquoted with LF line ends: quote all cells then
    terminator, quoting = rng.choice([("\n", csv.QUOTE_ALL), ("\r\n", csv.QUOTE_MINIMAL)])
    csv.writer(out, lineterminator=terminator, quoting=quoting).writerows(records)
    text = out.getvalue()
    encoding = rng.choice(["utf-8", "utf-8-sig"] if clean else ["utf-8", "utf-8", "utf-8-sig", "gb18030", "utf-16"])
    data = text.encode(encoding, errors="replace" if encoding == "gb18030" else "surrogatepass")
    if encoding in ("gb18030", "utf-16") and not text.isascii():
        case.lenient = True
    if encoding == "utf-16":
        case.refused = True
    if rng.random() < 0.03 and not clean:
        data = data[: rng.randint(0, len(data))]  # cut anywhere
        case.unchecked = True
    path.write_bytes(data)
    if not case.expected and not case.bad:
        case.refused = True  # no subjects
    return case


def csv_files(directory: Path, count: int, seed: int):
    """The fuzzed policy written as DIRECTORY/datafuzz.perf, then `count` hostile CSV files
    beside it, one at a time: (policy, case number, file) for tests that run another path
    against the row path on each (the table path, the SQL engines' own readers)."""
    policy = Path(directory) / "datafuzz.perf"
    policy.write_text(POLICY, encoding="utf-8")
    rng = random.Random(seed)
    for i in range(count):
        data = Path(directory) / f"case{i}.csv"
        _csv_case(rng, data)
        yield policy, i, data


def _json_case(rng: random.Random, path: Path, lines: bool) -> Case:
    case, clean = Case(path), rng.random() < 0.4
    texts = []
    for position in range(1, rng.randint(0, 6) + 1):
        number = position
        cells, expected, bad = _row_cells(rng, number, text_only=False, clean=clean)
        for name, value in (("x", cells[2]), ("n", cells[3])):
            if isinstance(value, float):  # JSON has no floats: the number reads as its digits
                expected[name] = reference_value(Decimal(repr(value)), whole=name == "n") if value == value \
                    and abs(value) != float("inf") else None
                bad = (bad - {name}) | ({name} if expected[name] is None else set())
        obj = dict(zip(["id", "t", "x", "n"], cells))
        roll = 1.0 if clean else rng.random()
        if roll < 0.05:
            texts.append("[1]")
            case.bad.add((number, None))
            continue
        if roll < 0.08:
            texts.append('{"id": ')
            case.bad.add((number, None))
            continue
        if rng.random() < 0.1:
            obj["extra field \x1b"] = 1  # unknown: a warning only
        texts.append(_json_text(obj))
        case.expected[number] = expected
        case.bad |= {(number, f) for f in bad}
    if lines:
        data = "".join(t + rng.choice(["\n", "\r\n"]) for t in texts)
        if any(t in ("[1]", '{"id": ') for t in texts):
            case.bad = {(r, f) for r, f in case.bad}
    else:
        data = "[" + ",\n".join(texts) + "]"
        if '{"id": ' in texts:
            case.refused = True
    path.write_text(data, encoding="utf-8", errors="surrogatepass")
    if not case.expected and not case.bad:
        case.refused = True
    return case


def _json_text(value: object) -> str:
    """JSON text keeping Decimals, huge ints, NaN and floats as written."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else '"' + str(value) + '"'
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else '"nan"'
    return json.dumps(value)


def _xlsx_case(rng: random.Random, path: Path) -> Case:
    """A workbook written as raw XML, so stored numbers and layouts can be anything."""
    case, clean = Case(path), rng.random() < 0.4
    rows_xml = []
    row = 0

    def cell(col: str, r: int, value: object) -> tuple[str, Fraction | None, bool]:
        """XML of a cell, what it reads as, and whether the file must be refused."""
        ref = f"{col}{r}"
        if isinstance(value, str) and value and rng.random() < 0.3 and value.strip() == value:
            accepted, number = stored_number(value)
            return f'<c r="{ref}"><v>{xml_escape(value)}</v></c>', number, not accepted
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>', None, False
        if value is None:
            return "", None, False
        text = value if isinstance(value, str) else str(value)
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{xml_escape(text)}</t></is></c>', \
            reference_value(text, whole=col == "D"), len(text) > 32_767

    for _ in range(rng.choice([0, 0, 1, 4])):
        row += 1
        rows_xml.append(f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>标题</t></is></c></row>')
    row += 1
    rows_xml.append(f'<row r="{row}">' + "".join(
        f'<c r="{c}{row}" t="inlineStr"><is><t>{n}</t></is></c>' for c, n in zip("ABCD", ["id", "t", "x", "n"])) + "</row>")
    for _ in range(rng.randint(0, 5)):
        row += rng.choice([1, 1, 1, 2])
        cells, expected, _ = _row_cells(rng, row, text_only=True, clean=clean)
        t = cells[1].replace("\x00", "").replace("\x1b", "").replace("\r", "") or "空"  # an empty cell is None
        expected["t"] = t
        parts = [f'<c r="A{row}" t="inlineStr"><is><t>{xml_escape(cells[0])}</t></is></c>',
                 f'<c r="B{row}" t="inlineStr"><is><t xml:space="preserve">{xml_escape(t)}</t></is></c>' if t else ""]
        for col, name, value in (("C", "x", cells[2]), ("D", "n", cells[3])):
            xml, number, refused = cell(col, row, value)
            if col == "D" and number is not None and number.denominator != 1:
                number = None
            parts.append(xml)
            expected[name] = number
            case.refused |= refused
            if number is None:
                case.bad.add((row, name))
        rows_xml.append(f'<row r="{row}">' + "".join(parts) + "</row>")
        case.expected[row] = expected
    sheets = [("数据", "".join(rows_xml), "visible")]
    if rng.random() < 0.3:
        sheets.insert(0, ("封面", '<row r="1"><c r="A1" t="inlineStr"><is><t>2024 年度考核</t></is></c></row>', "visible"))
    if rng.random() < 0.2:
        sheets.insert(0, ("旧", '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
                              '<row r="2"><c r="A2" t="inlineStr"><is><t>old</t></is></c></row>', "hidden"))
    path.write_bytes(_workbook(sheets))
    if not case.expected:
        case.refused = True
    return case


def _workbook(sheets: list[tuple[str, str, str]]) -> bytes:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                             for i in range(1, len(sheets) + 1)) + "</Types>")
        z.writestr("_rels/.rels", f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                  f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<workbook {ns} xmlns:r="{rel}"><sheets>' + "".join(
            f'<sheet name="{name}" sheetId="{i}" state="{state}" r:id="rId{i}"/>'
            for i, (name, _, state) in enumerate(sheets, start=1)) + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + "".join(
                       f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, len(sheets) + 1)) + "</Relationships>")
        for i, (_, rows, _) in enumerate(sheets, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", f"<worksheet {ns}><sheetData>{rows}</sheetData></worksheet>")
    return out.getvalue()


def _check_file(case: Case, policy, validator, tally: Tally) -> None:
    from .run_read import read_subjects
    from .io import DataError
    what = f"{case.path.suffix} file {case.path.name}"
    try:
        if case.unchecked:
            with contextlib.suppress(DataError):
                read_subjects(policy, str(case.path))
            return
        rows = read_subjects(policy, str(case.path))
        records, problems, _ = validator.many([(r.number, r.values) for r in rows])
        if problems:
            raise DataError(problems)
    except DataError as err:
        if case.refused or case.lenient:
            return
        listed = {(p.row, p.field) for p in err.problems}
        missing = case.bad - listed
        if not case.bad:
            tally.fail("wrong_readings", f"{what}: rejected a good file: {err.problems[:3]}")
        elif missing:
            tally.fail("wrong_readings", f"{what}: not listed {sorted(missing, key=str)[:3]}; got {err.problems[:3]}")
        wrongly = {(r, f) for r, f in listed if r in case.expected and f is not None and (r, f) not in case.bad
                   and f in ("x", "n")}
        if wrongly:
            tally.fail("wrong_readings", f"{what}: good cells rejected {sorted(wrongly)[:3]}")
        return
    except Exception:
        tally.fail("tracebacks", f"{what}: {traceback.format_exc(limit=4)}")
        return
    if case.refused:
        tally.fail("silent_accepts", f"{what}: a refused file was read ({len(records)} rows)")
        return
    if case.bad:
        tally.fail("silent_accepts", f"{what}: bad cells {sorted(case.bad, key=str)[:3]} accepted")
        return
    got = {r.number: rec for r, rec in zip(rows, records)}
    if case.lenient:
        got = {k: v for k, v in got.items() if k in case.expected}
    if sorted(got) != sorted(case.expected):
        tally.fail("wrong_readings", f"{what}: rows {sorted(got)} read, expected {sorted(case.expected)}")
        return
    for number, expected in case.expected.items():
        for name in ("x", "n"):
            if Fraction(got[number][name]) != expected[name]:
                tally.fail("wrong_readings", f"{what}: row {number} {name} = {got[number][name]}, expected {expected[name]}")


def fuzz_files(count: int, seed: int = 0, directory: str | Path | None = None, cli_share: float = 0.05) -> Tally:
    """`count` generated files read through the CLI's path; a share also through `perfdsl run`."""
    import tempfile

    from .cli import main
    from .policy import Policy
    from .validate import Validator
    rng, tally, started = random.Random(seed), Tally(), time.perf_counter()
    ir = _compiled_policy()
    policy, validator = Policy(ir), Validator(ir)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        policy_file = Path(tmp) / "datafuzz.perf"
        policy_file.write_text(POLICY, encoding="utf-8")
        for i in range(count):
            kind = rng.choice(["csv", "csv", "json", "jsonl", "xlsx"])
            path = Path(tmp) / f"case{i}.{kind}"
            case = (_csv_case(rng, path) if kind == "csv" else _xlsx_case(rng, path) if kind == "xlsx"
                    else _json_case(rng, path, lines=kind == "jsonl"))
            tally.inputs += 1
            _check_file(case, policy, validator, tally)
            if rng.random() < cli_share:
                _check_cli(case, policy_file, main, tally)
            path.unlink()
    tally.seconds = time.perf_counter() - started
    return tally


def _check_cli(case: Case, policy_file: Path, main, tally: Tally) -> None:
    """`perfdsl run` on the case: exit 0 or 1, never an exception; on 1 the old output stays."""
    out = case.path.with_name("out.csv")
    out.write_text("previous\n", encoding="utf-8")
    with contextlib.redirect_stdout(_io.StringIO()), contextlib.redirect_stderr(_io.StringIO()) as err:
        try:
            code = main(["run", str(policy_file), "--input", str(case.path), "--output", str(out)])
        except BaseException:
            tally.fail("tracebacks", f"perfdsl run {case.path.name}: {traceback.format_exc(limit=4)}")
            return
    if code not in (0, 1):
        tally.fail("tracebacks", f"perfdsl run {case.path.name}: exit {code}")
    elif code == 1 and out.read_text(encoding="utf-8") != "previous\n":
        tally.fail("wrong_readings", f"perfdsl run {case.path.name}: failed but replaced the output")
    elif code == 0 and (case.bad or case.refused) and not (case.lenient or case.unchecked):
        tally.fail("silent_accepts", f"perfdsl run {case.path.name}: exit 0 on bad data")
    elif "\x1b" in err.getvalue():
        tally.fail("wrong_readings", f"perfdsl run {case.path.name}: raw ESC on stderr")
