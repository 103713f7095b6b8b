"""The ranges pass: every definition's static range, in dependency order, and the checks
that need one.

It reads only the typed IR and what typing recorded: an indicator's lines (a line that
can never change the value is PW101; a `max N` indicator must stay within 0..N, PD011),
and the typer's range checks (`round` digits, PD023/PW110; divisors that can be 0,
PW111), each with the def or table call it was typed under, which the note names. A
definition whose range fails is left out, and what reads it stays quiet.
"""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from ..diagnostics import Note
from ..ir import NUM, IndicatorDef, Interval, Ref, RefKind, ValueDef, children
from ..numbers import decimal_text as _fmt
from . import ranges as R
from .types import DivisorCheck, RoundCheck

PRECISION = 28          # significant digits of every backend's arithmetic (LANGUAGE.md §1)
UNBOUNDED_SAFE_DIGITS = 15  # digits before the point an unbounded value is assumed to need
_CALL_NOTE = "for the value passed by this call"


@dataclasses.dataclass
class Ranges:
    """What the ranges pass makes: the range of every input and definition, the typed
    definitions with theirs, and the names whose range failed (or that read one)."""
    env: R.RangeEnv
    definitions: list
    failed: set[str]

    def quiet(self, owner: str | None, e) -> bool:
        """Whether a check typed in `owner` (or reading `e`) is left unsaid: it reads a
        definition whose range failed, which said so."""
        return owner in self.failed or reads_any(e, self.failed)


def bound_definitions(program, decls, typed: list, checks: list) -> Ranges:
    """Each definition's range from the inputs' and the earlier ones' (a definition reads
    only earlier ones), then the range checks typing recorded."""
    env = R.input_ranges(decls.inputs)
    out = Ranges(env, [], set())
    for d in typed:
        if reads_any_of(d, out.failed):
            out.failed.add(d.name)
            continue
        rng = _indicator_range(program, d, env) if isinstance(d, IndicatorDef) else \
            R.range_of(d.expr, env) if isinstance(d, ValueDef) and d.type == NUM else R.ANY
        if rng is None:
            out.failed.add(d.name)
            continue
        env.values[d.name] = rng
        out.definitions.append(dataclasses.replace(d, range=rng))
    report(program, [c for c in checks if c.owner not in out.failed], out)
    return out


def report(program, checks: list, ranges: Ranges) -> None:
    """The range checks typing recorded, decided over the ranges found."""
    for c in checks:
        if isinstance(c, RoundCheck) and not ranges.quiet(c.owner, c.x):
            _round_digits(program, c, R.range_of(c.x, ranges.env))
        elif isinstance(c, DivisorCheck) and not ranges.quiet(c.owner, c.divisor):
            _divisor(program, c, R.range_of(c.divisor, ranges.env))


def _notes(c) -> list[Note]:
    return [Note(c.call, _CALL_NOTE)] if c.call is not None else []


def _round_digits(program, c: RoundCheck, rng: Interval) -> None:
    """Rounding to `places` decimals keeps every digit before the point, and arithmetic
    holds 28 significant digits: `round(x / 3, 27)` cannot be computed for x = 50.
    Over a bounded range that is an error (with the most places that fit); over an
    unbounded one it is an error only when every value fails, and a warning when
    values from 10^15 on (beyond any count or amount of money a policy scores) fail."""
    big, places = R.magnitude(rng), c.places
    if big is not None:
        if R.round_digits(big, places) <= PRECISION:
            return
        fits = next((d for d in range(places - 1, -1, -1) if R.round_digits(big, d) <= PRECISION), None)
        program.error(
            "PD023", c.span,
            f"`{c.func}` to {places} decimal places needs {R.round_digits(big, places)} significant digits here, "
            f"but arithmetic keeps {PRECISION}: the value can reach {R.short(big)}",
            f"round to at most {fits} decimal places" if fits is not None else "narrow the value's range", _notes(c))
        return
    small = R.magnitude(rng, smallest=True)
    if R.round_digits(small, places) > PRECISION:
        program.error("PD023", c.span,
                      f"`{c.func}` to {places} decimal places needs more than {PRECISION} significant digits "
                      f"for every value here: the value is at least {R.short(small)}", "round to fewer decimal places", _notes(c))
    elif PRECISION - places < UNBOUNDED_SAFE_DIGITS:
        program.warn("PW110", c.span,
                     f"`{c.func}` to {places} decimal places fails for values of 1e{PRECISION - places} or more, "
                     f"and this value has no bound",
                     f"round to at most {PRECISION - UNBOUNDED_SAFE_DIGITS} decimal places, or bound the inputs it reads with `in LO..HI`",
                     _notes(c))


def _divisor(program, c: DivisorCheck, rng: Interval) -> None:
    """PW111: a divisor whose range holds 0 stops a subject with a division-by-zero data error."""
    if (rng.lo is None or rng.lo <= 0) and (rng.hi is None or rng.hi >= 0):
        program.warn("PW111", c.span, f"{c.what} can be 0 (its range is {rng}): a subject for whom it is 0 "
                     "stops with a division-by-zero data error",
                     "bound what it reads away from 0 (`in 1..`), or guard it: `if d == 0 then ... else x / d`", _notes(c))


def _indicator_range(program, d, env: R.RangeEnv) -> Interval | None:
    """An indicator's range, line by line: its value, each add/deduct, then the caps and
    floors. None (after PD011) when a `max N` indicator can leave 0..N."""
    body = d.indicator
    if body.computed is not None:
        value = R.range_of(body.computed, env)
    else:
        value = R.range_of(body.base, env) if body.base is not None else R.point(Decimal(0))
    upper = min((b.hi for b in body.bounds if b.hi is not None), default=None)
    lower = max((b.lo for b in body.bounds if b.lo is not None), default=None)
    for i, s in enumerate(body.adjustments):
        if s.cond is not None and R.truth(s.cond, env) is False:
            program.warn("PW101", s.span, f"this line can never change `{d.name}`: its condition is false for every input within the declared ranges",
                         "check the condition against the inputs' ranges, or drop the line")
        a_rng = R.range_of(s.amount, env)
        moved = R.mul(a_rng, R.range_of(s.per, env)) if s.per is not None else R.union(a_rng, R.point(Decimal(0)))
        if s.up_to is not None:
            moved = R.clamp(moved, None, s.up_to)
        later_same = all(x.sign == s.sign for x in body.adjustments[i + 1:])
        if later_same and s.sign > 0 and upper is not None and value.lo is not None and value.lo >= upper:
            program.warn("PW101", s.span, f"this line can never change `{d.name}`: it is already at its upper bound {_fmt(upper)} before the line",
                         "raise the cap or the clamp, or drop the line")
        if later_same and s.sign < 0 and lower is not None and value.hi is not None and value.hi <= lower:
            program.warn("PW101", s.span, f"this line can never change `{d.name}`: it is already at its lower bound {_fmt(lower)} before the line",
                         "lower the floor, or drop the line")
        value = R.add(value, moved) if s.sign > 0 else R.sub(value, moved)
    for b in body.bounds:
        value = R.clamp(value, b.lo, b.hi)
    if d.max is not None and not R.contains(Interval(Decimal(0), d.max), value):
        program.error("PD011", d.span, f"indicator `{d.name}` is worth at most {_fmt(d.max)} points, but its value can range over {value}",
                      f"add `clamp 0..{_fmt(d.max)}` or fix the amounts")
        return None
    return value


def reads_any(e, names: set[str]) -> bool:
    """Whether an IR expression reads one of these definitions."""
    if not names or e is None:
        return False
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, Ref) and n.kind is RefKind.VALUE and n.name in names:
            return True
        stack.extend(children(n))
    return False


def reads_any_of(d, names: set[str]) -> bool:
    return bool(names) and any(reads_any(e, names) for e in d.expressions())
