"""How an exact decimal is written for people (one rule for outputs, explanations and
diagnostics alike), and how a number in data is read (one rule for every file format
and the Python API: parse_number for text, check_number for ints and Decimals).

`decimal_text(Decimal("96.00"))` is "96", `Decimal("1E+2")` gives "100", `Decimal("-0.10")`
gives "-0.1"; negative zero is "0". No exponent and no rounding: every digit is kept.
"""
from __future__ import annotations

import re
from decimal import Decimal


def decimal_text(d: Decimal, places: int = 0) -> str:
    """`places`: at least that many decimals, padded with zeros (a value made by
    `round(x, 2)` reads 10000.00); digits are never dropped."""
    if not d.is_finite():
        raise ValueError(f"{d} is not a finite number")
    if d.is_zero():
        text = "0"
    else:
        text = format(d, "f")  # no precision given: every digit kept, no rounding
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    if places > 0:
        whole, _, frac = text.partition(".")
        text = whole + "." + frac.ljust(places, "0")
    return text


# ---- numbers read from data ---------------------------------------------------------
# Data comes from spreadsheets and other systems, so a cell is read as a number only in
# the forms LANGUAGE.md §12.2 lists; anything else is an error for its row and field,
# never a guess (Python's Decimal would read "9_5" as 95 and "١٢" as 12). The size limits
# are checked on the text before a Decimal exists: 12 bytes such as "1e10000000" would
# otherwise cost minutes of arithmetic later.

MAX_DIGITS = 40
MAX_EXPONENT = 40

_NUMBER = re.compile(
    r"(?P<sign>[+-]?)"
    r"(?:(?P<grouped>[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<gfrac>[0-9]*))?"  # 1,234.5
    r"|(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?"  # 12.5, 5., 1e-3
    r"|\.(?P<dfrac>[0-9]+)(?:[eE](?P<dexp>[+-]?[0-9]+))?)"  # .5
    r"(?P<pct>%?)"
)


class NumberError(ValueError):
    """A data value that is not a number in an accepted form; the text says why.

    `malformed` is true when the text is no number at all (the reader words the message
    for its field), false when it is one beyond the size limits."""

    def __init__(self, message: str, malformed: bool = False):
        super().__init__(message)
        self.malformed = malformed


def parse_number(text: str, *, percent: bool = True) -> Decimal:
    """The exact value of a number written in data, or NumberError.

    Accepted (surrounding whitespace ignored): digits with an optional sign and one
    decimal point (`-12.5`, `.5`, `5.`); thousands separators only as `1,234,567.5`; an
    exponent (`1.5e-7`, as spreadsheets and JSON write it); `95%` = 0.95 when `percent`
    (a decimal field), never with an exponent or in a whole-number field. The limits of
    check_number apply, tested on the text before a Decimal exists.
    """
    s = text.strip()
    m = _NUMBER.fullmatch(s)
    if m is None or (m["pct"] and (not percent or m["exp"] or m["dexp"])):
        raise NumberError(f"expected a number, got {brief(text)}", malformed=True)
    whole = (m["grouped"] or "").replace(",", "") + (m["int"] or "")
    frac = m["gfrac"] or m["frac"] or m["dfrac"] or ""
    if len(whole) + len(frac) > MAX_DIGITS:
        raise NumberError(f"{brief(s)} has more than {MAX_DIGITS} digits")
    exp = m["exp"] or m["dexp"] or "0"
    if len(exp.lstrip("+-").lstrip("0")) > 3:  # 1e10000000: beyond any limit, never converted
        raise NumberError(f"{brief(s)} has an exponent beyond ±{MAX_EXPONENT}")
    if m["pct"]:
        exp = "-2"  # 95% = 95e-2, exactly (scaleb would round to the context's 28 digits)
    value = Decimal(m["sign"] + (whole or "0") + (f".{frac}" if frac else "") + f"e{exp}")
    return check_number(value, s)


def check_number(value: int | Decimal, text: str | None = None) -> Decimal:
    """An int or Decimal as a Decimal, if within the limits of data; else NumberError.

    At most 40 digits, and an exponent within ±40 when written in scientific notation
    (`123e40` is 1.23e42: too large), zero included (`0e-99`): values far beyond what
    appraisal data holds would only cost time in the arithmetic. NaN and Infinity are
    errors. `text` is how the value was written, for the message.
    """
    if isinstance(value, int):
        if abs(value) >= 10 ** MAX_DIGITS:  # compared, never printed: str() of a huge int is slow
            raise NumberError(f"a whole number with more than {MAX_DIGITS} digits")
        return Decimal(value)
    shown = brief(str(value) if text is None else text)
    if not value.is_finite():
        raise NumberError(f"expected a number, got {shown}", malformed=True)
    if len(value.as_tuple().digits) > MAX_DIGITS:
        raise NumberError(f"{shown} has more than {MAX_DIGITS} digits")
    if abs(value.adjusted()) > MAX_EXPONENT:
        raise NumberError(f"{shown} has an exponent beyond ±{MAX_EXPONENT}")
    return value


def brief(text: str) -> str:
    """A long value shown by its ends, so one bad cell cannot flood the terminal."""
    return repr(text) if len(text) <= 60 else repr(text[:25]) + f"…({len(text)} characters)…" + repr(text[-10:])


def json_int(text: str) -> int | Decimal:
    """A JSON integer literal: an int, or past 40 digits an exact Decimal that the field
    reading it rejects with its row (Python's int() would fail the whole file past 4300
    digits, and is slow well before)."""
    return int(text) if len(text) <= MAX_DIGITS + 1 else Decimal(text)
