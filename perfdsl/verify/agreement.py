"""Backend agreement: the generated code must give exactly what the reference gives.

Draws single records and whole cohorts with the policy's own strategies and compares
every value, flag, tier state and explanation trace.
"""
from __future__ import annotations

from ..runtime import CONTEXT, EvalError, localcontext
from .properties import given_line
from .search import search
from .strategies import cohorts, strategies


def _snapshot(results):
    return [(r.values, r.flags, r.tiers, r.trace) for r in results]


def _run(policy, backend, records, cohort: bool):
    from ..cohort import CohortError, apply
    with localcontext(CONTEXT):
        try:
            results = [backend.individual(r, True) for r in records]
            if cohort:
                apply(policy.ir, backend, results)
        except (EvalError, CohortError) as err:
            return ("error", str(err))
    return _snapshot(results)


def disagreements(policy, examples: int = 100, seed: int | None = None) -> list[str]:
    """Differences between the generated backend and the reference, as readable lines."""
    from hypothesis import strategies as st
    ir = policy.ir

    def test(case):
        record, group = case
        for records, is_cohort in (([record], False), (group, True)):
            if _run(policy, policy.backend, records, is_cohort) != _run(policy, policy.reference, records, is_cohort):
                where = given_line(ir, records[0]) if len(records) == 1 else f"a cohort of {len(records)}"
                return f"{ir.name}: backends disagree on {where}"
        return None

    _, problem = search(st.tuples(strategies(ir), cohorts(ir, 1, 12)), test, examples, seed)
    return [problem] if problem else []
