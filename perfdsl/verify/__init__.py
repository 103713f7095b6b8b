"""Verification: hypothesis strategies from input declarations, property search,
and agreement between the generated code and the reference interpreter."""
from .agreement import disagreements
from .properties import Verdict, given_line, verify_properties
from .strategies import cohorts, strategies

__all__ = ["strategies", "cohorts", "verify_properties", "Verdict", "given_line", "disagreements"]
