"""Backend agreement: the generated code must give exactly what the reference gives.

Draws single records and whole cohorts with the policy's own strategies and compares
every value, flag, tier state and explanation trace.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, seed as hyp_seed, settings

from ..runtime import CONTEXT, EvalError, localcontext
from .properties import given_line
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
    found: list[str] = []
    ir = policy.ir

    @settings(max_examples=examples, database=None, deadline=None, derandomize=seed is None,
              suppress_health_check=list(HealthCheck))
    @given(strategies(ir), cohorts(ir, 1, 12))
    def run(record, group):
        for records, is_cohort in (([record], False), (group, True)):
            a = _run(policy, policy.backend, records, is_cohort)
            b = _run(policy, policy.reference, records, is_cohort)
            if a != b:
                where = given_line(ir, records[0]) if len(records) == 1 else f"a cohort of {len(records)}"
                found.append(f"{ir.name}: backends disagree on {where}")
                raise AssertionError(found[-1])

    if seed is not None:
        run = hyp_seed(seed)(run)
    try:
        run()
    except AssertionError:
        pass
    return found[-1:]
