"""The fast input check of generated modules (codegen/validation.py, templates/validation.j2).

Each helper returns None when it is not sure; the caller then validates with the pydantic
model (perfdsl.validate), which accepts or words the error. Only ints, Decimals, text,
lists and tuples of them are read here, exactly as the model reads them.
"""
from __future__ import annotations

from decimal import Decimal

from .result import TierState
from . import ONE, ZERO

BANDED = tuple(TierState(i, 0, False, 0) for i in range(256))  # see templates/validation.j2

# Values shared rather than made per subject: a tuple made per subject is tracked by the
# garbage collector, and so is the dict holding it, for as long as the result lives (a
# full collection walks them all again); a shared one is untracked after its first.
_STATES: dict[tuple, TierState] = {}
_LISTS: dict[tuple, tuple] = {}
_SHARED_MAX = 4096  # at most this many of each are kept


def tier_state(index: int, ceiling: int, pinned: bool, limit: int) -> TierState:
    """The TierState of these numbers, one object for each combination (a few per policy)."""
    key = (index, ceiling, pinned, limit)
    state = _STATES.get(key)
    if state is None:
        state = TierState(index, ceiling, pinned, limit)
        if len(_STATES) < _SHARED_MAX:
            _STATES[key] = state
    return state


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


# The words read as booleans, everywhere a cell gives a bool as text (perfdsl.validate's
# model, perfdsl.frame_io's column checks, the generated and the plain checks here).
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "真", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", "假", "f"})


def bool_spellings(true: bool) -> list[str]:
    """The cells a column check (perfdsl.frame_io on polars, perfdsl.sql.read in SQL) takes
    as surely meaning `true` (or false) without the model: each word as written, in capitals
    or capitalized; any other spelling is doubtful, and the model reads it."""
    words = TRUE_WORDS if true else FALSE_WORDS
    return sorted({f(w) for w in words for f in (str, str.upper, str.capitalize)})


def bool_word(text: str) -> bool | None:
    """The bool a cell's text means, or None for any other text."""
    low = text.strip().lower()
    return True if low in TRUE_WORDS else False if low in FALSE_WORDS else None


def list_text(text: str) -> list:
    """A list given as a cell's text: JSON (`[1, 2]`, `["甲", "乙"]`) or items separated by `;`/`；`.

    The model (perfdsl.validate) reads a list cell through this first too, so the plain check
    and the model see the same items."""
    stripped = text.strip()
    if stripped.startswith("["):
        import json
        from ..numbers import json_int
        try:
            return json.loads(stripped, parse_float=Decimal, parse_int=json_int, parse_constant=lambda name: name)
        except (ValueError, RecursionError):
            inner = stripped[1:-1] if stripped.endswith("]") else stripped[1:]
            return [x.strip().strip('"') for x in inner.split(",") if x.strip()]
    return [x.strip() for x in stripped.replace("；", ";").split(";") if x.strip()] if stripped else []


_LIMIT = 10 ** 40  # numbers.MAX_DIGITS, checked against it by tests/test_fast_validation.py


def _item(x, elem: str, choices, lo, hi):
    t = type(x)
    if elem == "choice":
        return x if t is str and x in choices else None
    if elem == "text":
        return x if t is str else None
    if elem == "bool":
        return x if t is bool else bool_word(x) if t is str else None
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
    out = tuple(out)
    if elem == "choice" and len(_LISTS) < _SHARED_MAX:  # few distinct ones: shared (see _STATES)
        out = _LISTS.setdefault(out, out)
    return out


def listed(v):
    """An output value as a row holds it: a list value as a list (Result.as_row)."""
    return list(v) if isinstance(v, tuple) else v


# ---- the same check without generated code (for `perfdsl check`'s examples) -----------------
def fields(policy) -> list[tuple]:
    """(name, kind, lo, hi, choices, elem, min_len, max_len) of each input, in input order.

    kind is num, whole, bool, text, choice, list or unknown (never accepted here); elem
    is a list's item kind. codegen/validation.py generates `check` from the same list."""
    tier_names = {d.name: d.tiers.names() for d in policy.definitions if d.tiers is not None}
    out = []
    for inp in policy.inputs:
        t, rng = inp.type, inp.range
        lo = hi = choices = None
        kind, elem, min_len, max_len = "unknown", "", 0, None
        if rng is not None:
            lo, hi = rng.lo, rng.hi
        if t.kind == "num":
            kind = "whole" if inp.is_int else "num"
        elif t.kind == "bool":
            kind = "bool"
        elif t.kind == "tier" and t.tierset in tier_names:
            kind, choices = "choice", tuple(tier_names[t.tierset])
        elif t.kind == "text":
            kind, choices = ("choice", tuple(inp.choices)) if inp.choices is not None else ("text", None)
        elif t.kind == "list" and t.elem is not None:
            e = t.elem
            if e.kind == "num":
                elem = "whole" if inp.is_int else "num"
            elif e.kind == "tier" and e.tierset in tier_names:
                elem, choices = "choice", tuple(tier_names[e.tierset])
            elif e.kind in ("text", "bool"):
                elem = e.kind
            if elem:
                kind = "list"
                if inp.length is not None:
                    min_len = int(inp.length.lo) if inp.length.lo is not None else 0
                    max_len = int(inp.length.hi) if inp.length.hi is not None else None
        out.append((inp.name, kind, lo, hi, choices, elem, min_len, max_len))
    return out


def check_record(specs: list[tuple], raw):
    """What the generated `check` gives for `raw`, list cells given as text read as the model reads them."""
    if type(raw) is not dict:
        return None
    out = {}
    for name, kind, lo, hi, choices, elem, min_len, max_len in specs:
        x = raw.get(name)
        if kind == "list":
            if type(x) is str:
                try:
                    x = list_text(x)
                except Exception:  # noqa: BLE001 — not sure: the model decides
                    return None
            x = read_list(x, elem, choices, lo, hi, min_len, max_len)
        elif kind in ("num", "whole", "text", "choice", "bool"):
            x = _item(x, kind, choices, lo, hi)
        else:
            return None
        if x is None:
            return None
        out[name] = x
    return out


class QuickValidator:
    """`perfdsl.validate.Validator.one` that builds the pydantic model only for a record the
    plain check above is not sure of (so checking a policy whose examples are well formed
    never imports pydantic)."""

    def __init__(self, policy):
        self.policy = policy
        self.specs = fields(policy)
        self._model_validator = None

    def one(self, raw, row):
        rec = check_record(self.specs, raw)
        if rec is not None:
            return rec, []
        if self._model_validator is None:
            from ..validate import Validator
            self._model_validator = Validator(self.policy)
        return self._model_validator.one(raw, row)
