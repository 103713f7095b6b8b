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


def plan(policy: Policy, low) -> dict:
    """The template context of `check`: one FieldCheck per input, in input order.

    `low` is python.py's _Lowering (its constants and Text/Code types are reused)."""
    from .python import Code, Text  # noqa: PLC0415 (python.py imports this module)
    from ..validate import _FALSE, _TRUE  # the words the model reads as booleans

    tier_names = {d.name: d.tiers.names() for d in policy.definitions if d.tiers is not None}
    fields = []
    for i, inp in enumerate(policy.inputs):
        t = inp.type
        fc = FieldCheck(Code(f"c_{i}"), Text(inp.name), "unknown")
        rng = inp.range
        if rng is not None:
            fc.lo = None if rng.lo is None else low.const(rng.lo)
            fc.hi = None if rng.hi is None else low.const(rng.hi)
        if t.kind == "num":
            fc.kind = "whole" if inp.is_int else "num"
        elif t.kind == "bool":
            fc.kind = "bool"
        elif t.kind == "tier" and t.tierset in tier_names:
            fc.kind, fc.choices = "choice", low.const(tuple(tier_names[t.tierset]))
        elif t.kind == "text":
            if inp.choices is not None:
                fc.kind, fc.choices = "choice", low.const(tuple(inp.choices))
            else:
                fc.kind = "text"
        elif t.kind == "list" and t.elem is not None:
            e = t.elem
            if e.kind == "num":
                fc.elem = "whole" if inp.is_int else "num"
            elif e.kind == "tier" and e.tierset in tier_names:
                fc.elem, fc.choices = "choice", low.const(tuple(tier_names[e.tierset]))
            elif e.kind == "text":
                fc.elem = "text"
            elif e.kind == "bool":
                fc.elem = "bool"
            if fc.elem:
                fc.kind = "list"
                if inp.length is not None:
                    if inp.length.lo is not None:
                        fc.min_len = int(inp.length.lo)
                    if inp.length.hi is not None:
                        fc.max_len = int(inp.length.hi)
        fields.append(fc)
    return {
        "fields": fields,
        "total": any(f.kind == "unknown" for f in fields),
        "true_words": low.const(tuple(sorted(_TRUE))),
        "false_words": low.const(tuple(sorted(_FALSE))),
        "max_int": Code(str(10 ** MAX_DIGITS)),
        "max_digits": Code(str(MAX_DIGITS)),
        "max_exp": Code(str(MAX_EXPONENT)),
    }
