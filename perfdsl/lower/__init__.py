"""The core language below the typed IR (core.py), the lowering that builds it (lower.py),
its evaluator (evaluate.py, steps.py) and its polars printer of the cohort steps
(polars_cohort.py). See perfdsl/lower/core.py for why."""
from .lower import lower_policy

__all__ = ["lower_policy"]
