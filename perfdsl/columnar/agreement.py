"""Columnar vs reference: the same rows, tiers, flags, warnings and errors on the same cohort.

`outcome_columnar` runs `run_table` on records as a DataFrame and gives what
perfdsl.verify.agreement compares for every backend (`outcome`: the §11 output rows with
numbers by value, plus the cohort warnings, or ("error", message)); `outcome_reference`
is the same of `Policy.evaluate_cohort`. `disagreements` draws cohorts with hypothesis
through the one agreement check of perfdsl.verify.agreement, for this backend alone.
"""
from __future__ import annotations

import warnings

from ..io import DataError
from ..verify.agreement import disagreements as _disagreements
from ..verify.agreement import outcome, outcome_of
from .inputs import frame_from_records
from .table import ColumnarFallback, run_table


def outcome_reference(reference, records: list[dict]):
    """`reference`: a perfdsl.Policy loaded with backend="reference"."""
    return outcome_of(reference, records)


def outcome_columnar(policy, records: list[dict], per_row: bool = True):
    """`per_row` False: a run that goes per row raises ColumnarFallback instead."""
    ir = getattr(policy, "ir", policy)
    df = frame_from_records(ir, records)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore" if per_row else "error", ColumnarFallback)
            res = run_table(ir, df, validate=False)
    except DataError as err:
        return ("error", str(err))
    return outcome(res.frame.to_dicts(), res.warnings)


def disagreements(reference, examples: int = 30, seed: int | None = None, max_size: int = 12) -> list[str]:
    """Where the columnar backend and the reference differ on drawn cohorts (at most one line)."""
    return _disagreements(reference, examples, seed, backends=["columnar"], max_size=max_size)
