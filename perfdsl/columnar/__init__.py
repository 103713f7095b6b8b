"""The columnar backend: a whole cohort through a policy as polars columns.

`evaluate_table(policy, df)` gives what `Policy.evaluate_cohort` gives — every output
column, the cohort stage included — as a polars DataFrame: the core program
(perfdsl.lower) printed as polars expressions, numbers as exact scaled integers
(perfdsl.lower.scaled). What cannot be held exactly runs per row and says so
(`ColumnarFallback`).
"""
from ..lower.scaled import Unsupported
from .inputs import frame_from_raw, frame_from_records
from .table import ColumnarFallback, TableResult, evaluate_table, run_table

__all__ = ["ColumnarFallback", "TableResult", "Unsupported", "evaluate_table", "frame_from_raw", "frame_from_records", "run_table"]
