"""How each kind of policy value is held as Z3 terms, and read back from a model.

Numbers are Z3 reals (whole-number inputs are integers seen as reals) carrying their
static digit bound; booleans are Z3 booleans; text (free text and `one of` choices) is a
Z3 string; a tier is the integer index of its name in its tier set (best first); a list
is either concrete — a symbolic length and one variable per position up to a bound — or
abstract — a symbolic length and nothing known of its elements but their declared range,
which lets a proof cover lists of every length.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction

import z3

from .bounds import Bound, join


@contextmanager
def fresh_context():
    """Run one query in a Z3 context of its own, then put back the one before.

    Z3's heuristics depend on every term the context has seen, so a query that takes
    0.1 s alone could time out after a hundred others: with a fresh context, each
    verdict depends only on its own policy and property (and on the clock)."""
    before = z3.z3._main_ctx
    z3.z3._main_ctx = z3.Context()
    try:
        yield
    finally:
        z3.z3._main_ctx = before


class Unsupported(Exception):
    """The solver cannot encode this (a cohort-stage value, say): the caller samples."""


@dataclass
class Num:
    term: z3.ArithRef
    digits: Bound


@dataclass
class Tier:
    term: z3.ArithRef  # index into names, 0 = best
    names: tuple[str, ...]


@dataclass
class ConcreteList:
    length: z3.ArithRef  # Int
    items: list  # values for positions 0..len(items)-1; those at or past `length` unused


@dataclass
class AbstractList:
    length: z3.ArithRef  # Int
    lo: Decimal | None  # declared element range (numbers only)
    hi: Decimal | None


_WIDE = Context(prec=200)  # every digit of a model's value, not 28 of them


def merge(cond, a, b):
    """`if cond then a else b` for values of any kind (a list only by its items)."""
    if isinstance(a, Num):
        return Num(z3.If(cond, a.term, b.term), join(a.digits, b.digits))
    if isinstance(a, Tier):
        return Tier(z3.If(cond, a.term, b.term), a.names)
    if isinstance(a, (ConcreteList, AbstractList)):
        raise Unsupported("a list chosen by `if`")
    return z3.If(cond, a, b)


def real(d: Decimal | int | Fraction) -> z3.ArithRef:
    f = Fraction(d)
    return z3.RealVal(f"{f.numerator}/{f.denominator}")


def decimal_of(f: Fraction) -> Decimal | None:
    """The exact decimal a rational is, or None when its expansion does not end."""
    den = f.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    k = max(twos, fives)
    return Decimal(f.numerator * 10 ** k // f.denominator).scaleb(-k, context=_WIDE)


def terminating(d: Decimal) -> bool:
    """1/d has a finite decimal expansion (d = ±2^a·5^b·10^c): x / d is exact-able."""
    return d != 0 and decimal_of(1 / Fraction(d)) is not None


def model_number(model, term) -> Decimal:
    v = model.eval(term, model_completion=True)
    if z3.is_int_value(v):
        return Decimal(v.as_long())
    if z3.is_algebraic_value(v):
        v = v.approx(30)
    f = v.as_fraction()
    d = decimal_of(f)
    if d is None:  # a non-terminating rational: the nearest 28-digit decimal (confirmed later)
        d = Decimal(f.numerator) / Decimal(f.denominator)
    return d
