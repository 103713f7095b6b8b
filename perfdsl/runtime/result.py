"""One subject's result as plain data: every named value, the flags that hold, the tier
states and the trace.

Values are reachable as attributes or items (`r.total`, `r["总分"]`). `explain()` renders
the trace in the policy's own language; `explanation()` gives it as steps. A result
evaluated without a trace is explained by evaluating its subject again with tracing,
through `rerun` (set by whoever evaluated it: perfdsl.policy.Policy), so this module
imports no evaluator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .trace import Trace


class TierState(NamedTuple):
    """What the cohort stage needs of a subject's tier after the individual stage.

    An immutable tuple of plain numbers: the garbage collector stops tracking it, which
    keeps a few hundred thousand live results cheap. The cohort stage replaces it."""
    index: int          # after band, downgrade, limit and veto
    ceiling: int        # best tier it may receive in `distribute`
    pinned: bool        # vetoed: placed in its veto tier first
    limit: int          # best tier a `limit` allows (0 when none holds)


@dataclass(slots=True)
class Result:
    policy: object = field(repr=False)  # the checked policy (IR): its key and outputs
    record: dict
    values: dict
    flags: list
    trace: Trace | None = field(default=None, repr=False)
    tiers: dict = field(default_factory=dict, repr=False)  # tier set -> TierState
    cohort_notes: tuple = field(default=(), repr=False)  # the group records of the cohort rules applied (traced runs)
    through_cohort: bool = field(default=False, repr=False)  # set by the cohort stage
    rerun: object = field(default=None, repr=False, compare=False)  # record -> the same subject traced

    def __getitem__(self, name):
        return self.values[name]

    def __getattr__(self, name):
        try:
            values = object.__getattribute__(self, "values")
        except AttributeError:
            values = None
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def key(self):
        k = self.policy.key
        return self.record.get(k) if k else None

    def explain(self) -> str:
        """The explanation as text, in the policy's language (see `explanation`)."""
        return self.explanation().text

    def explanation(self):
        """The explanation: perfdsl.explain.Explanation — ordered steps (kind, name, label,
        line, inputs, value, text), the text, and `as_json()`. A result of the fast path
        (no trace) is explained by evaluating the subject again with tracing: the same
        semantics, so the same explanation a traced run gives."""
        if self.policy is None:  # a compiled module run on its own: Backend(None)
            raise ValueError("this result has no policy to word its explanation with: its trace is plain data "
                             "(`result.trace`); load the policy (perfdsl.load) to explain it")
        from ..explain import explanation
        if self.trace is not None:
            return explanation(self)
        if self.through_cohort:
            raise ValueError("this cohort was evaluated without a trace; "
                             "evaluate it with trace=True to explain quota and distribution decisions")
        if self.rerun is None:
            raise ValueError("this result was evaluated without a trace; evaluate it with trace=True to explain it")
        return explanation(self.rerun(self.record))

    def as_row(self) -> dict:
        """The output row of §11: the key, every named value, `flags` joined by `;`."""
        row = {}
        if self.policy.key:
            row[self.policy.key] = self.key
        for name in self.policy.output_names():
            v = self.values.get(name)
            row[name] = list(v) if isinstance(v, tuple) else v
        row["flags"] = ";".join(self.flags)
        return row
