"""The SQL backends as perfdsl.verify.agreement compares every backend with the reference:
`prepare(ir)` gives run(records) → outcome (the §11 rows and warnings, or the error)."""
from __future__ import annotations

from ..io import DataError
from ..lower.lower import lower_policy
from ..verify.agreement import outcome


def duckdb(ir):
    from .engine import DuckDB, evaluate
    program, engine = lower_policy(ir), DuckDB()

    def run(records):
        try:
            rows, warnings = evaluate(ir, records, engine, program)
        except DataError as err:
            return ("error", str(err))
        return outcome(rows, warnings)
    return run
