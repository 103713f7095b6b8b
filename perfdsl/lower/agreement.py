"""The core evaluator as a backend of perfdsl.verify.agreement: the same outcome (§11 rows
with numbers by value, warnings, or the error text) the reference gives."""
from __future__ import annotations

from ..io import DataError
from .evaluate import evaluate_cohort
from .lower import lower_policy


def prepare(ir):
    """`run(records)` for one policy, its core program lowered once."""
    from ..verify.agreement import outcome
    program = lower_policy(ir)

    def run(records: list[dict]):
        try:
            results, warnings = evaluate_cohort(program, ir, records)
        except DataError as err:
            return ("error", str(err))
        return outcome([r.as_row() for r in results], warnings)
    return run
