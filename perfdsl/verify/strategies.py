"""Hypothesis strategies for a policy's input records, built from its declarations.

Numbers stay inside their declared ranges (open ranges get a generous finite bound),
decimals favour the policy's own thresholds and bounds so that boundary cases such as
a total of exactly 90 come up early; lists respect their `length`, tiers and choices
draw from their names. Records are typed like validated data: Decimals, str, bool, tuples.
"""
from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from ..ir import Const, Fn, InputDef, Policy, Prim, Ref, children

SPAN_IF_OPEN = Decimal(1000)
# With `wide=True`: the extremes data may hold (LANGUAGE.md §12.2: up to 40 digits, exponents
# to ±40), mixed into every number input whose range allows them, so that agreement
# checks reach values no column type holds (Int128 at a common scale, 28 digits).
WIDE_VALUES = tuple(Decimal(v) for v in (
    "1E-40", "9999999999999999999999999999999999999999", "1E+39", "-7E+30", "0.5",
    "1.234567890123456789012345678901234567", "9999999999999999999999999999", "3.3333333333333333333333333333333"))


def _bounds(inp: InputDef) -> tuple[Decimal, Decimal]:
    rng = inp.range
    lo = rng.lo if rng is not None and rng.lo is not None else None
    hi = rng.hi if rng is not None and rng.hi is not None else None
    if lo is None and hi is None:
        lo, hi = -SPAN_IF_OPEN, SPAN_IF_OPEN
    elif lo is None:
        lo = hi - 2 * SPAN_IF_OPEN
    elif hi is None:
        hi = lo + SPAN_IF_OPEN
    return lo, hi


_COMPARE = (Fn.GE, Fn.GT, Fn.LE, Fn.LT, Fn.EQ, Fn.NE)


def compared_constants(policy: Policy) -> dict[str, set[Decimal]]:
    """Input name → the numbers the policy compares it with directly: a threshold on the
    input itself, or the thresholds of a tier set banded by it. Boundary cases live there."""
    found: dict[str, set[Decimal]] = {}
    stack = policy.expressions()
    while stack:
        e = stack.pop()
        if isinstance(e, Prim) and e.fn in _COMPARE:
            for r, c in (e.args, e.args[::-1]):
                if isinstance(r, Ref) and r.kind == "input" and isinstance(c, Const) and isinstance(c.value, Decimal):
                    found.setdefault(r.name, set()).add(c.value)
        stack.extend(children(e))
    for d in policy.definitions:
        by = d.tiers.by if d.tiers is not None else None
        if isinstance(by, Ref) and by.kind == "input":
            found.setdefault(by.name, set()).update(t.threshold for t in d.tiers.tiers if t.threshold is not None)
    return found


def _number(policy: Policy, inp: InputDef, edges_of: dict, elem: bool = False, wide: bool = False) -> st.SearchStrategy:
    lo, hi = _bounds(inp)
    if inp.is_int:
        lo_i, hi_i = int(lo.to_integral_value("ROUND_CEILING")), int(hi.to_integral_value("ROUND_FLOOR"))
        base = st.integers(min_value=lo_i, max_value=hi_i).map(Decimal)
    else:
        # Hundredths as scaled integers: exact, and far cheaper to draw than st.decimals.
        lo_c, hi_c = int((lo * 100).to_integral_value("ROUND_CEILING")), int((hi * 100).to_integral_value("ROUND_FLOOR"))
        base = st.integers(min_value=lo_c, max_value=hi_c).map(lambda n: Decimal(n).scaleb(-2))
    edges = [lo, hi] if elem else [lo, hi] + sorted(edges_of.get(inp.name, ()))
    edges = [e for e in edges if lo <= e <= hi and (not inp.is_int or e == e.to_integral_value())]
    if wide:
        rng = inp.range
        edges += [w for w in WIDE_VALUES if (rng is None or rng.lo is None or w >= rng.lo)
                  and (rng is None or rng.hi is None or w <= rng.hi) and (not inp.is_int or w == w.to_integral_value())]
    return st.one_of(base, st.sampled_from(sorted(set(edges)))) if edges else base


def _scalar(policy: Policy, inp: InputDef, kind, edges_of: dict, elem: bool = False,
            wide: bool = False) -> st.SearchStrategy:
    if kind.kind == "bool":
        return st.booleans()
    if kind.kind == "num":
        return _number(policy, inp, edges_of, elem, wide)
    if kind.kind == "tier":
        return st.sampled_from(policy.definition(kind.tierset).tiers.names())
    if inp.choices:
        return st.sampled_from(inp.choices)
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789甲乙丙", min_size=1, max_size=6)


def input_strategy(policy: Policy, inp: InputDef, edges_of: dict | None = None, wide: bool = False) -> st.SearchStrategy:
    """Valid values of one input; `edges_of` (compared_constants) is computed when not given;
    `wide` mixes in WIDE_VALUES."""
    edges_of = compared_constants(policy) if edges_of is None else edges_of
    t = inp.type
    if t.kind == "list":
        length = inp.length
        lo = int(length.lo) if length is not None and length.lo is not None else 0
        hi = int(length.hi) if length is not None and length.hi is not None else lo + 6
        return st.lists(_scalar(policy, inp, t.elem, edges_of, elem=True, wide=wide), min_size=lo,
                        max_size=hi).map(tuple)
    return _scalar(policy, inp, t, edges_of, wide=wide)


def strategies(policy, wide: bool = False) -> st.SearchStrategy:
    """A strategy of valid input records (dicts) for a policy (IR or loaded Policy)."""
    ir = getattr(policy, "ir", policy)
    edges_of = compared_constants(ir)
    return st.fixed_dictionaries({inp.name: input_strategy(ir, inp, edges_of, wide) for inp in ir.inputs})


def cohorts(policy, min_size: int = 1, max_size: int = 30, wide: bool = False) -> st.SearchStrategy:
    """Cohorts of records with distinct keys (the key is rewritten to s0, s1, ...)."""
    ir = getattr(policy, "ir", policy)
    groups = [g for g in {q.group for q in ir.quotas} | {d.group for d in ir.distributes} if g]

    def keyed(records):
        out = []
        for i, r in enumerate(records):
            r = dict(r)
            if ir.key:
                r[ir.key] = f"s{i:03d}"
            out.append(r)
        return _constant_fields(ir, out, groups)
    return st.lists(strategies(ir, wide), min_size=min_size, max_size=max_size).map(keyed)


def _constant_fields(ir, records, groups):
    """Fields a `distribute ... when` reads must be constant within a group: copy them."""
    fields = {f for d in ir.distributes for f in d.when_fields}
    for g in groups:
        first: dict = {}
        for r in records:
            leader = first.setdefault(r.get(g) if isinstance(g, str) else tuple(r.get(f) for f in g), r)
            for f in fields:
                r[f] = leader[f]
    return records
