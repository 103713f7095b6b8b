"""Cohort properties: `property cohort "label": EXPR` holds for every subject of every cohort.

EXPR is read after the cohort stage: tiers are final (quotas and `distribute` applied),
ranks and group aggregates are available, `count(COND)` without `per` counts the whole
cohort and `size` is its number of subjects — e.g. `count(grade == 先进) <= round(25% *
size)`, or `not major_accident or grade != 先进`. The solver does not reach the cohort
stage, so hypothesis draws cohorts from the input strategies: random ones, and
tie-heavy ones (copies of two or three subjects, so that quota and distribution cuts
fall inside ties and on boundaries). The property is evaluated as a cohort-stage `let`
added to a copy of the policy, so the cohort stage computes it exactly as it computes
any such value, on the reference interpreter. A cohort the policy itself rejects (an
infeasible distribution, a tie across a cut) is no counterexample and is passed over.
"""
from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from ..explain import fmt
from ..ir import BOOL, DefKind, Policy, PropertyDef, Stage, ValueDef
from .search import search
from .strategies import _constant_fields, cohorts, strategies

NAME = "·cohort property·"  # not an identifier: clashes with no value of the policy
MAX_SIZE = 12


def _with_property(ir: Policy, prop: PropertyDef) -> Policy:
    let = ValueDef(prop.span, NAME, DefKind.LET, None, BOOL, Stage.COHORT, expr=prop.expr)
    return dataclasses.replace(ir, definitions=ir.definitions + (let,))


def tie_heavy(ir: Policy) -> st.SearchStrategy:
    """Cohorts made of copies of two or three subjects (distinct keys): ties at every cut."""
    groups = [g for g in {q.group for q in ir.quotas} | {d.group for d in ir.distributes} if g]

    @st.composite
    def build(draw):
        pool = draw(st.lists(strategies(ir), min_size=1, max_size=3))
        picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=2, max_size=MAX_SIZE))
        records = [dict(pool[i]) for i in picks]
        for n, r in enumerate(records):
            if ir.key:
                r[ir.key] = f"s{n:03d}"
        return _constant_fields(ir, records, groups)
    return build()


def check(ir: Policy, prop: PropertyDef, examples: int, seed: int | None):
    """(cohorts tried, cohorts the policy rejected, None or the failure's description)."""
    from ..io import DataError
    from ..policy import Policy as Loaded
    policy = Loaded(_with_property(ir, prop), backend="reference")
    rejected = 0

    def test(records):
        nonlocal rejected
        try:
            results = policy.evaluate_cohort(records, trace=False)
        except DataError:
            rejected += 1
            return None  # the policy rejects this cohort: nothing to check
        for i, r in enumerate(results):
            if not r.values.get(NAME, True):
                who = r.key if ir.key else f"subject {i + 1}"
                shown = ", ".join(f"{n} = {_cell(r.values[n])}" for n in _read_by(prop, ir) if n in r.values)
                return [f"a cohort of {len(records)} (paste into a cohort example):", *_table(ir, records),
                        f"fails for {who}" + (f": {shown}" if shown else "")]
        return None
    strategy = st.one_of(cohorts(ir, min_size=1, max_size=MAX_SIZE), tie_heavy(ir))
    tried, problem = search(strategy, test, examples, seed)
    return tried, rejected, problem


def _read_by(prop: PropertyDef, ir: Policy) -> list[str]:
    from ..ir import Ref, children
    names, stack = [], [prop.expr]
    while stack:
        e = stack.pop()
        if isinstance(e, Ref) and e.kind == "value":
            names.append(e.name)
        stack.extend(children(e))
    return list(dict.fromkeys(names))


def _cell(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_cell(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else fmt(v)


def _table(ir: Policy, records: list[dict]) -> list[str]:
    names = [i.name for i in ir.inputs]
    rows = [[_cell(r[n]) for n in names] for r in records]
    widths = [max(len(n), *(len(row[k]) for row in rows)) for k, n in enumerate(names)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return [line(names)] + [line(row) for row in rows]
