"""The input checks generated into a policy's module (templates/validation.j2).

`check(raw)` in the generated module is a fast path of `perfdsl.validate.Validator.one`:
it returns the validated record exactly as the pydantic model and `_convert` would (the
same dict, the same Decimal objects and exponents), or None when it is not sure. None is
not a verdict: the caller then runs the pydantic model, which accepts or words the
errors. So the fast path only has to accept a *subset* of what the model accepts, with
identical results; everything unusual (floats, bools as numbers, `1.0` for a whole
number, lists given as text, dict subclasses, a missing field...) takes the model's path.

What it accepts, per input (LANGUAGE.md §12.2 and perfdsl/numbers.py):
* number: a Decimal that is finite, has at most 40 digits (checked as `len(str(x))`,
  which is never less than the digit count) and an adjusted exponent within ±40; an int
  below 10**40 in size; text through numbers.parse_number (the same function the model
  uses). Whole-number fields take Decimals only with exponent 0 (`same_quantum(1)`).
  Then the declared range.
* bool: True/False, or text whose stripped lower case is one of validate's words.
* text: a str (with `one of`, one of the choices); a tier: one of its names.
* list: a list or tuple within the declared length whose items pass the element check.
Names and choices from the policy reach the template only as `Text` (printed by repr).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ..ir import Policy
from ..numbers import MAX_DIGITS, MAX_EXPONENT


@dataclass
class FieldCheck:
    var: object          # Code: the local holding the value
    name: object         # Text: the input's name
    kind: str            # num whole bool text choice list unknown
    lo: object = None    # Code of a constant, or None
    hi: object = None
    choices: object = None  # Code of a tuple constant
    elem: str = ""       # list items: num whole bool text choice
    min_len: int = 0
    max_len: int | None = None
    ilo: object = None   # numbers: the range within what an int or a whole Decimal may be
    ihi: object = None
    dlo: object = None   # numbers: the range within what a decimal may be
    dhi: object = None
    int_lo: object = None  # numbers: ilo..ihi for an int, as int literals
    int_hi: object = None


_INT_LIMIT = Decimal(10 ** MAX_DIGITS - 1)
_DEC_LIMIT = Decimal("9" * MAX_DIGITS + f"E+{MAX_EXPONENT - MAX_DIGITS + 1}")


def _within(lo, hi, limit: Decimal) -> tuple[Decimal, Decimal]:
    # copy_negate, not `-limit`: unary minus rounds to the context's 28 digits, which
    # turned -(10**40 - 1) into -10**40 and let a 41-digit int through
    low = limit.copy_negate()
    return (low if lo is None or lo < low else lo), (limit if hi is None or hi > limit else hi)


def plan(policy: Policy, low) -> dict:
    """The template context of `check`: one FieldCheck per input, in input order, from
    runtime.checks.fields (which the plain check of examples reads too).

    `low` is python.py's _Lowering (its constants and Text/Code types are reused)."""
    from .python import Code, Text  # noqa: PLC0415 (python.py imports this module)
    from ..runtime.checks import fields as specs
    from ..runtime.checks import FALSE_WORDS, TRUE_WORDS  # the words the model reads as booleans

    out = []
    for i, (name, kind, lo, hi, choices, elem, min_len, max_len) in enumerate(specs(policy)):
        fc = FieldCheck(Code(f"c_{i}"), Text(name), kind,
                        None if lo is None else low.const(lo), None if hi is None else low.const(hi),
                        None if choices is None else low.const(choices), elem, min_len, max_len)
        if kind in ("num", "whole"):
            # An int, or a whole Decimal (exponent 0), has at most 40 digits iff |x| < 10**40;
            # a decimal with at most 40 digits has an exponent of at most 40 iff |x| is at
            # most 40 nines times 10 (the digit count and the lower exponent are checked
            # on their own). The declared range, where narrower, bounds both.
            fc.ilo, fc.ihi = (low.const(b) for b in _within(lo, hi, _INT_LIMIT))
            fc.dlo, fc.dhi = (low.const(b) for b in _within(lo, hi, _DEC_LIMIT))
            # an int compared with ints (comparing it with a Decimal converts it each time):
            # for an int n, lo <= n <= hi exactly when ceil(lo) <= n <= floor(hi)
            ilo, ihi = _within(lo, hi, _INT_LIMIT)
            fc.int_lo = Code(str(int(ilo.to_integral_value(rounding=ROUND_CEILING))))
            fc.int_hi = Code(str(int(ihi.to_integral_value(rounding=ROUND_FLOOR))))
        out.append(fc)
    return {
        "fields": out,
        "total": any(f.kind == "unknown" for f in out),
        "true_words": low.const(tuple(sorted(TRUE_WORDS))),
        "false_words": low.const(tuple(sorted(FALSE_WORDS))),
        "max_int": Code(str(10 ** MAX_DIGITS)),
        "max_digits": Code(str(MAX_DIGITS)),
        "max_exp": Code(str(MAX_EXPONENT)),
    }
