"""The SMT solver (Z3) behind `perfdsl verify` and `perfdsl diff` (LANGUAGE.md §12.5).

The individual stage of a checked policy is encoded for Z3 (encode.py, with lists.py,
inputs.py, values.py and the 28-digit rounding model of rounding.py). On top of it:
`prove` proves a property or finds a counterexample (prove.py, minimise.py), and
`prove_equivalent` / `find_difference` compare two versions of a policy (equivalence.py).
Cohort-stage values stay out of reach: what reads them raises Unsupported and the
callers sample instead.
"""
from .prove import DEFAULT_TIMEOUT, Outcome, prove
from .values import Unsupported

__all__ = ["prove", "Outcome", "DEFAULT_TIMEOUT", "Unsupported", "prove_equivalent", "Equivalence"]


def __getattr__(name: str):
    if name in ("prove_equivalent", "Equivalence"):
        from . import equivalence
        return getattr(equivalence, name)
    raise AttributeError(f"module 'perfdsl.solver' has no attribute {name!r}")
