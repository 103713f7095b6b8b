"""Exact decimals as scaled integers: a number column holds round(value · 10^scale).

Why this is exact (LANGUAGE.md §1): Python's decimal with precision 28 rounds a result
only when its value needs more than 28 significant digits. Every number column here
carries its scale and bounds `lo..hi` on its unscaled integers, worked out from the
data (inputs) or by interval arithmetic (everything computed). While every bound stays
below 10^28 in magnitude, every value has at most 28 significant digits, so `+ - *`,
`min`, `max`, comparisons and `round` on the integers give the reference's values
exactly. A column whose bound would reach 10^28 is refused (`Unsupported`) and its
definition runs per row in Python instead. Int64 is used while the bounds fit, Int128
beyond.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

LIMIT = 10 ** 28          # |unscaled| must stay below this: at most 28 significant digits
INT64_MAX = 2 ** 63 - 1
DEC_PRECISION = 38        # polars Decimal columns of the output


class Unsupported(Exception):
    """A construct the columnar backend cannot evaluate exactly; `feature` says which."""

    def __init__(self, feature: str, span=None):
        self.feature, self.span = feature, span
        where = f" ({span.file}:{span.line}:{span.col})" if span is not None else ""
        super().__init__(f"{feature}{where}")


@dataclass(frozen=True)
class Num:
    """What is known of a number column: its scale and bounds of its unscaled integers."""
    scale: int
    lo: int
    hi: int

    @property
    def magnitude(self) -> int:
        return max(abs(self.lo), abs(self.hi))

    @property
    def wide(self) -> bool:
        return self.magnitude > INT64_MAX

    @property
    def dtype(self) -> pl.DataType:
        return pl.Int128 if self.wide else pl.Int64


def checked(num: Num, what: str, span=None) -> Num:
    """`num`, or Unsupported when its values could need more than 28 digits."""
    if num.magnitude >= LIMIT:
        raise Unsupported(f"{what}: values could exceed 28 significant digits", span)
    return num


def unscaled(d: Decimal, scale: int) -> int:
    """The exact integer d · 10^scale (d must have at most `scale` decimals)."""
    sign, digits, exp = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = exp + scale
    if shift < 0:
        q, r = divmod(n, 10 ** -shift)
        if r:
            raise ValueError(f"{d} has more than {scale} decimals")
        n = q
    else:
        n *= 10 ** shift
    return -n if sign else n


def places(d: Decimal) -> int:
    """Decimals needed to write d exactly (0 for whole numbers, trailing zeros ignored).

    Read from the digits, not through `normalize()`, which rounds to the context's 28
    digits: an input may have up to 40."""
    sign, digits, exp = d.as_tuple()
    if not any(digits):
        return 0
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exp + zeros))


def exact_normal(d: Decimal) -> Decimal:
    """d without trailing zeros (96.00 → 96), never rounded; zero is 0."""
    if not d:
        return Decimal(0)
    sign, digits, exp = d.as_tuple()
    text = "".join(map(str, digits))
    kept = text.rstrip("0")
    return Decimal((sign, tuple(map(int, kept)), exp + len(text) - len(kept)))


def fits_column(num: "Num") -> bool:
    """Whether unscaled integers within `num`'s bounds fit an Int128 column (and a polars
    Decimal(38) on output)."""
    return num.magnitude < 10 ** DEC_PRECISION


def to_decimal(n: int, scale: int) -> Decimal:
    """The Decimal n · 10^-scale, built without any rounding."""
    return Decimal((1 if n < 0 else 0, tuple(int(c) for c in str(abs(n))), -scale))


def const(d: Decimal) -> tuple[int, Num]:
    """A constant as (unscaled integer, Num) at the fewest decimals that hold it."""
    s = places(d)
    u = unscaled(d, s)
    return u, Num(s, u, u)


def lit(n: int, num: Num) -> pl.Expr:
    return pl.lit(n, dtype=num.dtype)


def cast(expr: pl.Expr, target: Num) -> pl.Expr:
    """The expression widened to Int128 when `target` needs it."""
    return expr.cast(pl.Int128) if target.wide else expr


def rescale(expr: pl.Expr, num: Num, scale: int, what: str, span=None) -> tuple[pl.Expr, Num]:
    """The same values at a scale at least `num.scale` (multiplying by a power of ten)."""
    if scale == num.scale:
        return expr, num
    f = 10 ** (scale - num.scale)
    out = checked(Num(scale, num.lo * f, num.hi * f), what, span)
    if f > INT64_MAX:  # a wide factor for narrow values (all zero): the column is Int128
        if f >= LIMIT:
            raise Unsupported(f"{what}: a scale of 10^{scale - num.scale}", span)
        return expr.cast(pl.Int128) * pl.lit(f, dtype=pl.Int128), out
    return cast(expr, out) * lit(f, out), out


def div_round(expr: pl.Expr, num: Num, digits: int, mode: str) -> pl.Expr:
    """Integer x / 10^digits rounded as `mode` (half_up: half away from zero)."""
    k = 10 ** digits
    if k >= LIMIT:
        raise Unsupported(f"rounding away {digits} decimals")
    big = Num(0, -(num.magnitude + k), num.magnitude + k)
    x = cast(expr, big)
    kk = lit(k, big)
    q = x // kk  # polars integer // and % floor, as Python does
    if mode == "floor":
        return q
    zero = lit(0, big)  # polars has no unary minus for Int128: subtract from zero
    if mode == "ceil":
        return zero - ((zero - x) // kk)
    r = x - q * kk
    two_r = r * lit(2, big)
    if mode == "half_even":
        up = (two_r > kk) | ((two_r == kk) & ((q % lit(2, big)) == lit(1, big)))
        return pl.when(up).then(q + lit(1, big)).otherwise(q)
    if mode == "half_up":
        # away from zero on a tie: up for x ≥ 0, down (towards −∞ is q itself) for x < 0
        up = (two_r > kk) | ((two_r == kk) & (x >= lit(0, big)))
        return pl.when(up).then(q + lit(1, big)).otherwise(q)
    raise ValueError(mode)


def round_bounds(num: Num, digits: int) -> tuple[int, int]:
    """Bounds of x / 10^digits rounded any way."""
    k = 10 ** digits
    return num.lo // k, -((-num.hi) // k)


def to_output(expr: pl.Expr, num: Num) -> pl.Expr:
    """A number column as a polars Decimal(38, scale) of the same values."""
    dtype = pl.Decimal(DEC_PRECISION, num.scale)
    if num.scale == 0:
        return expr.cast(dtype)
    # Int → Decimal casts by value, so divide the cast value back down: exact, since
    # n·10^s / 10^s is representable at scale s.
    return expr.cast(dtype) / pl.lit(10 ** num.scale, dtype=pl.Decimal(DEC_PRECISION, 0))


def fits_output(num: Num) -> bool:
    """Whether `to_output` can hold the column: the value cast needs n·10^s < 10^38, and
    the divisor 10^s must be an Int64 literal (polars makes a wider one null, which would
    silently empty the column); other columns are built from their Python values."""
    return 10 ** num.scale <= INT64_MAX and num.magnitude * 10 ** num.scale < 10 ** DEC_PRECISION
