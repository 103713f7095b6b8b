"""Band tables: does a table without `otherwise` cover its argument's range, and can
every row match? Conditions of the form `x OP constant` (with and/or/not) are solved
exactly as unions of intervals; other conditions are treated as covering nothing.
"""
from __future__ import annotations

from decimal import Decimal

from ..diagnostics import Note
from ..numbers import decimal_text
from ..ir import Const, Fn, Interval, Prim
from . import ranges as R

# A set of numbers: sorted, disjoint segments (lo, lo_closed, hi, hi_closed); None = infinite.
Seg = tuple


def _seg(lo, lo_c, hi, hi_c) -> list[Seg]:
    if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_c and hi_c))):
        return []
    return [(lo, lo_c and lo is not None, hi, hi_c and hi is not None)]


def _lo_key(s):
    return (Decimal("-Infinity") if s[0] is None else s[0], 0 if s[1] else 1)


def union(a: list[Seg], b: list[Seg]) -> list[Seg]:
    segs = sorted(a + b, key=_lo_key)
    out: list[Seg] = []
    for s in segs:
        if out:
            lo, lo_c, hi, hi_c = out[-1]
            touches = hi is None or s[0] is None or s[0] < hi or (s[0] == hi and (hi_c or s[1]))
            if touches:
                if hi is None or s[2] is None:
                    out[-1] = (lo, lo_c, None, False)
                elif s[2] > hi or (s[2] == hi and s[3]):
                    out[-1] = (lo, lo_c, s[2], s[3])
                continue
        out.append(s)
    return out


def complement(a: list[Seg]) -> list[Seg]:
    out: list[Seg] = []
    lo, lo_c = None, False
    for s in a:
        out += _seg(lo, lo_c, s[0], not s[1]) if s[0] is not None else []
        if s[2] is None:
            return out
        lo, lo_c = s[2], not s[3]
    return out + _seg(lo, lo_c, None, False)


def intersect(a, b):
    return complement(union(complement(a), complement(b)))


def _region(cond, arg):
    """The set of argument values where `cond` holds, or None when it is not simple."""
    if isinstance(cond, Prim) and cond.fn in (Fn.AND, Fn.OR):
        parts = [_region(x, arg) for x in cond.args]
        if None in parts:
            return None
        return intersect(*parts) if cond.fn is Fn.AND else union(*parts)
    if isinstance(cond, Prim) and cond.fn is Fn.NOT:
        inner = _region(cond.args[0], arg)
        return None if inner is None else complement(inner)
    if not isinstance(cond, Prim) or cond.fn not in (Fn.GE, Fn.GT, Fn.LE, Fn.LT, Fn.EQ, Fn.NE):
        return None
    a, b = cond.args
    fn = cond.fn
    if b is arg and isinstance(a, Const):
        a, b = b, a
        fn = {Fn.GE: Fn.LE, Fn.GT: Fn.LT, Fn.LE: Fn.GE, Fn.LT: Fn.GT}.get(fn, fn)
    if a is not arg or not isinstance(b, Const) or not isinstance(b.value, Decimal):
        return None
    c = b.value
    return {
        Fn.GE: _seg(c, True, None, False), Fn.GT: _seg(c, False, None, False),
        Fn.LE: _seg(None, False, c, True), Fn.LT: _seg(None, False, c, False),
        Fn.EQ: _seg(c, True, c, True), Fn.NE: complement(_seg(c, True, c, True)),
    }[fn]


def _show(segs: list[Seg]) -> str:
    def one(s):
        lo = "-∞" if s[0] is None else decimal_text(s[0])
        hi = "∞" if s[2] is None else decimal_text(s[2])
        if s[0] is not None and s[0] == s[2]:
            return lo
        return ("[" if s[1] else "(") + f"{lo}, {hi}" + ("]" if s[3] else ")")
    return ", ".join(one(s) for s in segs[:3]) + (" …" if len(segs) > 3 else "")


def _coverage(arg, rows, arg_range: Interval):
    """For one call: the indices of rows that can never match, the argument values no
    row takes, and whether some condition was too complex to solve."""
    domain = _seg(arg_range.lo, True, arg_range.hi, True)
    covered: list[Seg] = []
    unknown, dead = False, set()
    for i, (cond, _) in enumerate(rows):
        if cond is None:
            return dead, [], False
        region = _region(cond, arg)
        if region is None:
            unknown = True
            continue
        if not unknown and not intersect(intersect(region, domain), complement(covered)):
            dead.add(i)
        covered = union(covered, region)
    return dead, intersect(domain, complement(covered)), unknown


def check_tables(program, typer, ranges) -> None:
    """Each table against every call the typer inlined, once per call and argument range
    (a def inlined twice calls its tables twice); a table no value calls was typed once
    on its own, with an unbounded argument and no call span. Calls in a definition whose
    range failed, or reading one, stay quiet."""
    for name, typed in typer.table_calls.items():
        calls = {}
        for c in typed:
            if not ranges.quiet(c.owner, c.arg):
                rng = R.range_of(c.arg, ranges.env) if c.known else R.ANY
                calls.setdefault((c.span, str(rng)), (c.arg, c.rows, rng, c.span if c.known else None))
        known = [c for c in calls.values() if c[3] is not None]
        if calls:
            check_table(program, typer.names[name], known or list(calls.values())[:1])


def check_table(program, table, calls) -> None:
    """Check a table against every call of it: each call's argument range must be covered
    (a table without `otherwise`), and a row is reported as dead only when no call can
    reach it. `calls` holds (argument IR, [(condition IR, row AST)], range, call span);
    an uncalled table is checked once with an unbounded argument and no call span."""
    rows = calls[0][1]
    end = next((i for i, (cond, _) in enumerate(rows) if cond is None), None)
    for _, row in rows[end + 1:] if end is not None else ():
        program.warn("PW103", row.span, "this row comes after `otherwise` and can never match",
                     "move `otherwise` to the end")
    dead, gaps = None, []
    for arg, call_rows, arg_range, call_span in calls:
        row_dead, gap, unknown = _coverage(arg, call_rows, arg_range)
        dead = row_dead if dead is None else dead & row_dead
        if call_span is not None and (gap or unknown):
            gaps.append((gap, unknown, arg_range, call_span))
    ranges = sorted({str(r) for _, _, r, _ in calls})
    for i in sorted(dead or ()):
        program.warn("PW103", rows[i][1].span, "this row can never match: earlier rows or the argument's range already take every value it accepts",
                     f"the argument ranges over {' and '.join(ranges)}")
    if gaps:
        gap, unknown, _, _ = gaps[0]
        # with a condition it cannot solve, a gap is only where rows *may* miss: say that
        what = f"values {_show(gap)} match no row" if gap and not unknown else \
            "its rows' conditions are not simple comparisons, so coverage cannot be proven"
        program.error("PD014", table.span, f"table `{table.name}` has no `otherwise` and {what}",
                      "add a last row `otherwise: VALUE`",
                      [Note(span, f"called here with an argument in {rng}") for _, _, rng, span in gaps])
