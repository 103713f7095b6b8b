"""What the columnar backend cannot vectorize, evaluated per row by the reference.

A definition or flag that `compile.lower` refuses (inexact division, list functions,
trimmed_mean, group means, ...) runs here: each row's environment is rebuilt from the
columns it reads, as Python values, and perfdsl.eval.interpret.Interpreter evaluates
it — the oracle itself, so the digits and the errors are the reference's. Cohort-stage
expressions get a per-row context whose ranks come from the vectorized rank columns
and whose group aggregates come from perfdsl.cohort.
"""
from __future__ import annotations

from decimal import Decimal

from .. import cohort as cohort_stage
from ..eval.interpret import Interpreter
from ..ir import Definition, GroupAgg, RankOrder
from ..result import TierState
from ..runtime import EvalError
from .compile import names_read


class RowContext:
    """One row's view of the cohort for the interpreter: `size`, `rank`, `aggregate`."""

    def __init__(self, run, i: int):
        self._run, self._i = run, i
        self.size = Decimal(run.n)

    def rank(self, order: RankOrder, from_bottom: bool) -> Decimal:
        rank, n = self._run.rank_values(order)[self._i]
        return Decimal(n + 1 - rank if from_bottom else rank)

    def aggregate(self, node: GroupAgg) -> Decimal:
        return self._run._aggregate(node)[self._i]


def environments(run, names: set[str]) -> list[dict]:
    """Per row, the Python values of `names` (inputs and definitions computed so far)."""
    values = {name: run.python_values(name) for name in sorted(names)}
    return [{name: vals[i] for name, vals in values.items()} for i in range(run.n)]


def evaluate_definition(run, d: Definition, exprs: list, with_ctx: bool, errors: dict | None) -> list:
    """`d` for every row: values, or (name, TierState) pairs for a tier set.

    An EvalError is recorded in `errors` (row → error, the row's first) when given,
    else raised."""
    interp: Interpreter = run.interpreter
    envs = environments(run, names_read(exprs))
    out = []
    for i, env in enumerate(envs):
        ctx = RowContext(run, i) if with_ctx else None
        try:
            v, state = interp.compute(d, env, None, ctx)
            if state is not None:
                v = (v, state)
        except EvalError as err:
            if errors is None or run.dead(i):
                if errors is None:
                    raise
            else:
                errors.setdefault(i, err)
            v = _placeholder(run, d)
        out.append(v)
    return out


def evaluate_condition(run, flag, with_ctx: bool, errors: dict | None) -> list[bool]:
    """A flag's condition for every row."""
    interp: Interpreter = run.interpreter
    envs = environments(run, names_read([flag.cond]))
    out = []
    for i, env in enumerate(envs):
        try:
            out.append(interp.condition(flag, env, RowContext(run, i) if with_ctx else None))
        except EvalError as err:
            if errors is None:
                raise
            if not run.dead(i):
                errors.setdefault(i, err)
            out.append(False)
    return out


def _placeholder(run, d: Definition):
    """A value for a row that already failed, so later columns can still be built."""
    if d.tiers is not None:
        return d.tiers.names()[-1], TierState(len(d.tiers.tiers) - 1, 0, False, 0)
    kind = d.type.kind
    if kind == "tier":
        return run.tier_names(d.type.tierset)[-1]
    return {"num": Decimal(0), "bool": False, "text": "", "list": ()}.get(kind)


def group_aggregate(run, node: GroupAgg, errors: dict) -> list[Decimal]:
    """A group aggregate per row, as perfdsl.cohort computes it. A member whose value
    fails is that row's error in `errors` (as perfdsl.cohort reports it); then every
    row gets a placeholder 0, since the run ends with those errors."""
    interp: Interpreter = run.interpreter
    args, failed = [], False
    for i, env in enumerate(environments(run, names_read([node.arg]))):
        try:
            args.append(interp.group_value(node, env))
        except EvalError as err:
            errors.setdefault(i, err)
            failed = True
    if failed:
        return [Decimal(0)] * run.n
    keys = run.python_values(node.group) if node.group is not None else [None] * run.n
    groups: dict = {}
    for k, v in zip(keys, args):
        groups.setdefault(k, []).append(v)
    totals = {k: cohort_stage.aggregate_of(node, vs) for k, vs in groups.items()}
    return [totals[k] for k in keys]
