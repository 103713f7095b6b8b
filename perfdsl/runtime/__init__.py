"""What evaluators share, generated code included: exact-decimal helpers and errors.

Small and stable on purpose: generated modules import only this package. All
arithmetic runs in CONTEXT (precision 28, ROUND_HALF_EVEN for inexact results,
LANGUAGE.md §1); rounding a policy asks for is explicit and half up by default.
"""
from __future__ import annotations

from decimal import (ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal,
                     DecimalException, DivisionByZero, InvalidOperation, Overflow, localcontext)

from .result import Result, TierState
from .trace import AdjustStep, BoundHit, IndicatorTrace, TierChange, TierTrace, Trace

CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=999999, Emin=-999999,
                  traps=[InvalidOperation, DivisionByZero, Overflow])
ZERO, ONE = Decimal(0), Decimal(1)
_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "floor": ROUND_FLOOR, "ceil": ROUND_CEILING}

__all__ = ["CONTEXT", "EvalError", "DecimalException", "arithmetic_error", "TooManyDigits",
           "localcontext", "quantize", "ratio", "mean", "trimmed_mean", "streak",
           "count", "list_min", "list_max", "index", "clamp", "divide", "total", "Trace", "IndicatorTrace", "AdjustStep",
           "BoundHit", "TierTrace", "TierChange", "ZERO", "ONE", "round_count", "band", "Result", "TierState", "paths"]


def paths(folder: str, files) -> tuple[str, ...]:
    """The paths of a generated module's files: (relative to the policy's folder?, name)."""
    import os
    return tuple(os.path.join(folder, name) if relative and folder else name for relative, name in files)


class EvalError(ArithmeticError):
    """A value could not be computed for this subject (e.g. division by zero)."""

    def __init__(self, message: str, where: str):
        self.where = where
        super().__init__(f"{where}: {message}")


def arithmetic_error(exc: DecimalException, where: str, what: str) -> EvalError:
    """A decimal trap (overflow, an invalid operation) while computing `what` at `where`:
    a data error of this subject, not a crash. Every evaluator catches the trap around
    one definition, flag or group value and reports it through here, so all say the same."""
    if isinstance(exc, TooManyDigits):
        reason = str(exc)
    elif isinstance(exc, Overflow):
        reason = "a result exceeds the largest decimal number (overflow)"
    elif isinstance(exc, DivisionByZero):
        reason = "division by zero"
    else:
        reason = "an arithmetic operation has no decimal result"
    return EvalError(f"{what}: {reason}", where)


def _shown(x: Decimal) -> str:
    """x for a message: every digit when it is of a readable size."""
    if x.is_finite() and -40 <= x.adjusted() <= 40:
        from ..numbers import decimal_text
        return decimal_text(x)
    return f"{x:E}"


def total(xs) -> Decimal:
    """Σ xs, added left to right as written (weighted(...), sum(a, b, ...))."""
    out = xs[0]
    for x in xs[1:]:
        out = CONTEXT.add(out, x)
    return out


class TooManyDigits(InvalidOperation):
    """A rounded result that needs more significant digits than CONTEXT keeps."""


_QUANTA = {p: ONE.scaleb(-p) for p in range(-40, 41)}  # 1E-p for round(x, p): made once, not per call
_SMALL = tuple(Decimal(i) for i in range(1024))  # counts as Decimals, made once


def quantize(x: Decimal, places: int, mode: str) -> Decimal:
    """round/floor/ceil to `places` decimals: 2.5 → 3 and −0.125 → −0.13 for half_up.

    A result that needs more than the 28 significant digits of CONTEXT cannot be kept
    (round(50 / 3, 27) would need 29): TooManyDigits, which the definition it is in
    reports as its subject's data error (arithmetic_error)."""
    q = _QUANTA.get(places)
    try:
        return x.quantize(ONE.scaleb(-places) if q is None else q, rounding=_MODES[mode], context=CONTEXT)
    except InvalidOperation:
        need = x.adjusted() + 1 + places if x.is_finite() else 0
        size = f"{need} significant digits" if need > CONTEXT.prec else "too many digits"
        raise TooManyDigits(f"rounding {_shown(x)} to {places} decimal(s) needs {size}; "
                            f"a number holds at most {CONTEXT.prec}") from None


def round_count(x: Decimal, mode: str) -> int:
    """A head count from a share of a group (quotas, distribute): half up unless asked."""
    return int(x.quantize(ONE, rounding=_MODES[mode], context=CONTEXT))


def divide(a: Decimal, b: Decimal, where: str) -> Decimal:
    if b == 0:
        raise EvalError("division by zero", where)
    return CONTEXT.divide(a, b)


def ratio(actual: Decimal, target: Decimal, where: str) -> Decimal:
    """达到及超过标准值的计满分，低于的按完成比例折算: actual/target, at most 1."""
    r = divide(actual, target, where)
    return ONE if r > ONE else r


def mean(xs, where: str) -> Decimal:
    if not xs:
        raise EvalError("mean of an empty list", where)
    total = ZERO
    for x in xs:
        total = CONTEXT.add(total, x)
    return CONTEXT.divide(total, Decimal(len(xs)))


def trimmed_mean(xs, k: int, where: str) -> Decimal:
    """去掉k个最高分和k个最低分后取平均."""
    if len(xs) <= 2 * k:
        raise EvalError(f"trimmed_mean drops {k} highest and {k} lowest, but the list has only {len(xs)} item(s)", where)
    kept = sorted(xs)[k:len(xs) - k]
    return mean(kept, where)


def streak(xs, v) -> Decimal:
    n = 0
    for x in reversed(xs):
        if x != v:
            break
        n += 1
    return _SMALL[n] if n < 1024 else Decimal(n)


def count(xs, v) -> Decimal:
    n = 0
    for x in xs:
        if x == v:
            n += 1
    return _SMALL[n] if n < 1024 else Decimal(n)


def list_min(xs, where: str) -> Decimal:
    if not xs:
        raise EvalError("min of an empty list", where)
    return min(xs)


def list_max(xs, where: str) -> Decimal:
    if not xs:
        raise EvalError("max of an empty list", where)
    return max(xs)


def index(xs, i: Decimal, what: str, where: str):
    """xs[i] (and last(xs) = xs[-1]): 0-based, a negative i counts from the end. A position
    the list does not have is this subject's data error naming the list (`what`)."""
    if i != i.to_integral_value():
        raise EvalError(f"{what}: position {_shown(i)} is not a whole number", where)
    n = len(xs)
    if not -n <= i < n:  # compared as decimals: int() of a huge position would be slow
        raise EvalError(f"{what} has {n} item(s), so it has no item at position {_shown(i)}", where)
    return xs[int(i)]


_COMPARE = {">=": Decimal.__ge__, ">": Decimal.__gt__, "<=": Decimal.__le__, "<": Decimal.__lt__}


def band(x: Decimal, op: str, bounds: tuple, values: tuple, default):
    """The value of the first row whose `x op bound` holds, else `default`: a long table
    or band of generated code, compared row by row in order as written."""
    compare = _COMPARE[op]
    for bound, value in zip(bounds, values):
        if compare(x, bound):
            return value
    return default


def clamp(x: Decimal, lo: Decimal, hi: Decimal) -> Decimal:
    return lo if x < lo else hi if x > hi else x

from . import checks  # noqa: E402  (generated modules read it as rt.checks)
