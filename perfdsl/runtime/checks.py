"""The fast input check of generated modules (codegen/validation.py, templates/validation.j2).

Each helper returns None when it is not sure; the caller then validates with the pydantic
model (perfdsl.validate), which accepts or words the error. Only ints, Decimals, text,
lists and tuples of them are read here, exactly as the model reads them.
"""
from __future__ import annotations

from decimal import Decimal

from ..result import TierState
from . import ONE, ZERO

BANDED = tuple(TierState(i, 0, False, 0) for i in range(256))  # see templates/validation.j2


def read_number(text: str, whole: bool) -> Decimal | None:
    """A number written as text, as perfdsl.validate reads it (numbers.parse_number; a
    whole-number field takes integral values only, as Decimal(int(value))), or None."""
    from ..numbers import NumberError, parse_number
    try:
        d = parse_number(text, percent=not whole)
    except NumberError:
        return None
    if not whole:
        return d
    if d != d.to_integral_value():
        return None
    return Decimal(int(d))


_LIMIT = 10 ** 40  # numbers.MAX_DIGITS, checked against it by tests/test_fast_validation.py


def _item(x, elem: str, choices, lo, hi):
    t = type(x)
    if elem == "choice":
        return x if t is str and x in choices else None
    if elem == "text":
        return x if t is str else None
    if elem == "bool":
        return x if t is bool else None
    if t is Decimal:
        if elem == "whole":
            if not (x.same_quantum(ONE) and len(str(x)) <= 40):
                return None
            if not x and x.is_signed():
                x = ZERO
        elif not (x.is_finite() and -40 <= x.adjusted() <= 40 and len(str(x)) <= 40):
            return None
    elif t is int:
        if not -_LIMIT < x < _LIMIT:
            return None
        x = Decimal(x)
    elif t is str:
        x = read_number(x, elem == "whole")
        if x is None:
            return None
    else:
        return None
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        return None
    return x


def read_list(xs, elem: str, choices, lo, hi, min_len: int, max_len: int | None):
    """A list input given as a list or tuple, as a tuple of checked items, or None."""
    if type(xs) is not list and type(xs) is not tuple:
        return None
    if len(xs) < min_len or (max_len is not None and len(xs) > max_len):
        return None
    out = []
    for x in xs:
        x = _item(x, elem, choices, lo, hi)
        if x is None:
            return None
        out.append(x)
    return tuple(out)


def listed(v):
    """An output value as a row holds it: a list value as a list (Result.as_row)."""
    return list(v) if isinstance(v, tuple) else v
