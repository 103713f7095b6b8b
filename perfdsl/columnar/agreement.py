"""Columnar vs reference: the same rows, tiers, flags, warnings and errors on the same cohort.

`outcome_reference` runs `Policy.evaluate_cohort` on the reference interpreter;
`outcome_columnar` runs `run_table` on the same records as a DataFrame. Both give the
§11 output rows with numbers as normalized Decimals (so 96.00 and 96 compare equal, as
they print equal), plus the cohort warnings, or ("error", message) for bad data and
cohorts that cannot be placed. `disagreements` draws cohorts with hypothesis.
"""
from __future__ import annotations

import warnings
from decimal import Decimal

from ..io import DataError
from ..verify.search import search
from ..verify.strategies import cohorts
from .inputs import frame_from_records
from .table import ColumnarFallback, run_table


def _norm(v):
    if isinstance(v, Decimal):
        return v.normalize() if v else Decimal(0)
    if isinstance(v, (list, tuple)):
        return tuple(_norm(x) for x in v)
    return v


def outcome_reference(reference, records: list[dict]):
    """`reference`: a perfdsl.Policy loaded with backend="reference"."""
    try:
        results = reference.evaluate_cohort(records, trace=False, validate=False)
    except DataError as err:
        return ("error", str(err))
    rows = [{k: _norm(v) for k, v in r.as_row().items()} for r in results]
    return rows, list(reference.last_warnings)


def outcome_columnar(policy, records: list[dict]):
    ir = getattr(policy, "ir", policy)
    df = frame_from_records(ir, records)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ColumnarFallback)
            res = run_table(ir, df, validate=False)
    except DataError as err:
        return ("error", str(err))
    rows = [{k: _norm(v) for k, v in row.items()} for row in res.frame.to_dicts()]
    return rows, list(res.warnings)


def disagreements(reference, examples: int = 30, seed: int | None = None, max_size: int = 12) -> list[str]:
    """Where the columnar backend and the reference differ on drawn cohorts (at most one line)."""
    ir = reference.ir

    def test(group):
        a, b = outcome_columnar(ir, group), outcome_reference(reference, group)
        if a == b:
            return None
        return (f"{ir.name}: columnar and reference disagree on a cohort of {len(group)}: "
                f"{group!r}\n  columnar:  {a!r}\n  reference: {b!r}")

    _, problem = search(cohorts(ir, 1, max_size), test, examples, seed)
    return [problem] if problem else []
