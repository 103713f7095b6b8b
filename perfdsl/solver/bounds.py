"""Static facts about a number the encoder carries beside its Z3 term.

`Bound(lo, hi, scale)`: the value lies in [lo, hi] and value·10^scale is a whole number
(None: unknown). Two uses: an operation whose result provably fits 28 significant digits
is exact and needs no rounding variable at all; and a rounded result is pinned inside
[lo, hi] (widened outward to 28 digits), which is true of the real rounding because it
is monotone and keeps 28-digit numbers as they are. Without the second, `0.7·p + 0.3·b`
for p, b ≤ 100 could not be shown to stay ≤ 100 once rounded.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from ..check.ranges import clamp
from ..ir import Interval

PRECISION = 28
LIMIT = Decimal(10) ** PRECISION
_DOWN = Context(prec=PRECISION, rounding=ROUND_FLOOR)
_UP = Context(prec=PRECISION, rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Bound:
    lo: Decimal | None = None
    hi: Decimal | None = None
    scale: int | None = None
    fits: bool = False  # known to have at most 28 significant digits (a rounded result, say)

    @property
    def representable(self) -> bool:
        return self.fits or self.exact

    @property
    def mag(self) -> Decimal | None:
        return None if self.lo is None or self.hi is None else max(abs(self.lo), abs(self.hi))

    @property
    def exact(self) -> bool:
        """Every value within the bound has at most 28 significant digits."""
        mag = self.mag
        return mag is not None and self.scale is not None and self.scale <= 60 and mag.scaleb(self.scale) < LIMIT

    @staticmethod
    def of(c: Decimal) -> "Bound":
        return Bound(c, c, max(0, -c.as_tuple().exponent), len(c.as_tuple().digits) <= PRECISION)

    def rounded(self) -> "Bound":
        """The bound of this value after rounding to 28 digits."""
        lo = None if self.lo is None else _DOWN.plus(self.lo)
        hi = None if self.hi is None else _UP.plus(self.hi)
        return Bound(lo, hi, None, True)


UNKNOWN = Bound()


def _opt(f, *xs):
    return None if any(x is None for x in xs) else f(*xs)


def _scale_add(a: Bound, b: Bound):
    return _opt(max, a.scale, b.scale)


def add(a: Bound, b: Bound) -> Bound:
    return Bound(_opt(lambda x, y: x + y, a.lo, b.lo), _opt(lambda x, y: x + y, a.hi, b.hi), _scale_add(a, b))


def neg(a: Bound) -> Bound:
    return Bound(_opt(lambda x: -x, a.hi), _opt(lambda x: -x, a.lo), a.scale, a.representable)


def sub(a: Bound, b: Bound) -> Bound:
    return add(a, neg(b))


def mul(a: Bound, b: Bound) -> Bound:
    scale = _opt(lambda x, y: x + y, a.scale, b.scale)
    if None not in (a.lo, a.hi, b.lo, b.hi):
        ps = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
        return Bound(min(ps), max(ps), scale)
    if a.lo is not None and b.lo is not None and a.lo >= 0 and b.lo >= 0:
        return Bound(a.lo * b.lo, _opt(lambda x, y: x * y, a.hi, b.hi), scale)
    return Bound(None, None, scale)


def absolute(a: Bound) -> Bound:
    if a.lo is not None and a.lo >= 0:
        return a
    if a.hi is not None and a.hi <= 0:
        return neg(a)
    return Bound(Decimal(0), a.mag, a.scale, a.representable)


def join(*bs: Bound) -> Bound:
    """A value that is one of several (if, min, max, clamp)."""
    los, his, scales = [b.lo for b in bs], [b.hi for b in bs], [b.scale for b in bs]
    return Bound(None if None in los else min(los), None if None in his else max(his),
                 None if None in scales else max(scales), all(b.representable for b in bs))


def smallest(*bs: Bound) -> Bound:
    j = join(*bs)
    his = [b.hi for b in bs if b.hi is not None]
    return Bound(j.lo, min(his) if his else None, j.scale, j.fits)


def largest(*bs: Bound) -> Bound:
    j = join(*bs)
    los = [b.lo for b in bs if b.lo is not None]
    return Bound(max(los) if los else None, j.hi, j.scale, j.fits)


def clip(a: Bound, lo: Decimal | None, hi: Decimal | None) -> Bound:
    """After `floor lo` / `cap hi` (clamp): the value is moved inside."""
    parts = [a] + [Bound.of(x) for x in (lo, hi) if x is not None]
    moved = clamp(Interval(a.lo, a.hi), lo, hi)  # the checker's rule for the range itself
    return Bound(moved.lo, moved.hi, join(*parts).scale, all(b.representable for b in parts))


def whole(lo: Decimal | None, hi: Decimal | None) -> Bound:
    return Bound(lo, hi, 0)


_FLOOR50 = Context(prec=50, rounding=ROUND_FLOOR)
_CEIL50 = Context(prec=50, rounding=ROUND_CEILING)


def div(a: Bound, b: Bound) -> Bound:
    """The exact quotient's bound, when the divisor's bound excludes 0 (else unknown)."""
    if None in (a.lo, a.hi, b.lo, b.hi) or b.lo <= 0 <= b.hi:
        return UNKNOWN
    corners = [(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    return Bound(min(_FLOOR50.divide(x, y) for x, y in corners), max(_CEIL50.divide(x, y) for x, y in corners))


def excludes_zero(b: Bound) -> bool:
    return (b.lo is not None and b.lo > 0) or (b.hi is not None and b.hi < 0)
