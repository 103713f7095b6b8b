"""How an exact decimal is written for people: one rule for outputs, explanations and
diagnostics alike.

`decimal_text(Decimal("96.00"))` is "96", `Decimal("1E+2")` gives "100", `Decimal("-0.10")`
gives "-0.1"; negative zero is "0". No exponent and no rounding: every digit is kept.
"""
from __future__ import annotations

from decimal import Decimal


def decimal_text(d: Decimal) -> str:
    if not d.is_finite():
        raise ValueError(f"{d} is not a finite number")
    if d.is_zero():
        return "0"
    text = format(d, "f")  # no precision given: every digit kept, no rounding
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
