"""The columnar backend: a whole cohort through a policy as polars columns.

`evaluate_table(policy, df)` gives what `Policy.evaluate_cohort` gives — every output
column, the cohort stage included — as a polars DataFrame, computing with exact scaled
integers (scaled.py) and falling back per definition to the reference where a construct
cannot be exact as columns (fallback.py).
"""
from .inputs import frame_from_raw, frame_from_records
from .scaled import Unsupported
from .table import ColumnarFallback, TableResult, evaluate_table, run_table

__all__ = ["ColumnarFallback", "TableResult", "Unsupported", "evaluate_table", "frame_from_raw", "frame_from_records", "run_table"]
