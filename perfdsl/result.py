"""Result and TierState: plain data of perfdsl.runtime (re-exported here for callers)."""
from .runtime.result import Result, TierState

__all__ = ["Result", "TierState"]
