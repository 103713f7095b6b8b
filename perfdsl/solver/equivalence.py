"""Are two versions of a policy the same on the individual stage? (`perfdsl diff`, mutants)

Both versions are encoded over one set of inputs: an input both declare alike is one
variable; one declared differently (another range, say) is two variables required to be
equal, so the subject is valid for both; an input only one version has is its own and
is reported. The outputs compared are the values both versions name (indicators, lets,
scores, tiers by tier name, outcomes), the individual-stage flags by label, and whether
evaluation fails. With one shared rounding model, identical computations round alike.

`prove_equivalent(old_ir, new_ir, timeout)` → Equivalence: `equivalent` (proved for every
subject valid for both), `different` (with a witness record, confirmed by the reference
interpreter of both versions: `compare` in perfdsl.policydiff), or `unknown` (why, in `notes`).
Cohort rules (quotas, distribute) and cohort-stage values are not compared here:
`cohort_rules_equal` says whether they are written identically, so that a caller (the
mutation check) may call two versions the same only when `status == "equivalent"` and
`cohort_rules_equal`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, is_dataclass

import z3

from ..ir import Policy
from .encode import Encoding
from .inputs import Inputs
from .minimise import minimise
from .prove import DEFAULT_TIMEOUT, Query, constants
from .rounding import Rounding
from .values import AbstractList, ConcreteList, Num, Tier, Unsupported, fresh_context


@dataclass
class Equivalence:
    status: str  # equivalent different unknown
    witness: dict | None = None
    notes: list[str] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)  # the outputs compared
    cohort_rules_equal: bool = True

    def __bool__(self) -> bool:
        return self.status == "equivalent"


class _Pair(Query):
    """Both versions in one query."""

    def __init__(self, old: Policy, new: Policy, mode: str, exact: bool):
        self.ir = new
        self.inputs = Inputs(new, mode)
        self.old_inputs = Inputs(old, mode, prefix="old·")
        self.notes: list[str] = []
        _share(old, new, self.old_inputs, self.inputs, self.notes)
        self.rounding = Rounding(exact=exact, constants=constants(old) | constants(new))
        self.old = Encoding(old, self.old_inputs, self.rounding)
        self.enc = Encoding(new, self.inputs, self.rounding)
        self.inputs.domain += self.old_inputs.domain

    def record(self, model) -> dict:
        """A witness: the new version's inputs, then those only the old one has."""
        rec = self.inputs.record(model)
        for k, v in self.old_inputs.record(model).items():
            rec.setdefault(k, v)
        return rec


def _strip(x):
    """A declaration without its source positions, for `declared alike`."""
    if is_dataclass(x) and not isinstance(x, type):
        return tuple((f.name, _strip(getattr(x, f.name))) for f in fields(x) if f.name != "span")
    if isinstance(x, (tuple, list)):
        return tuple(_strip(v) for v in x)
    return x


def _share(old: Policy, new: Policy, oi: Inputs, ni: Inputs, notes: list[str]) -> None:
    mine = {i.name: i for i in new.inputs}
    theirs = {i.name: i for i in old.inputs}
    for name in theirs.keys() - mine.keys():
        notes.append(f"input `{name}` is only in the old version")
    for name in mine.keys() - theirs.keys():
        notes.append(f"input `{name}` is only in the new version")
    for name in mine.keys() & theirs.keys():
        a, b = theirs[name], mine[name]
        if _strip(a) == _strip(b) and _tier_names(old, a.type) == _tier_names(new, b.type):
            oi.values[name] = ni.values[name]
            continue
        if a.type != b.type and a.type.kind != "tier":
            raise Unsupported(f"input `{name}` changed type: {a.type} → {b.type}")
        notes.append(f"input `{name}` is declared differently; compared where valid for both")
        oi.domain.append(_equal(oi.values[name], ni.values[name]))


def _tier_names(ir: Policy, t):
    """The tier names an input of type t draws from (None when not a tier type)."""
    t = t.elem if t.kind == "list" else t
    return ir.definition(t.tierset).tiers.names() if t.kind == "tier" else None


def _equal(a, b):
    if isinstance(a, Num):
        return a.term == b.term
    if isinstance(a, Tier):
        pairs = [z3.And(a.term == i, b.term == j) for i, x in enumerate(a.names) for j, y in enumerate(b.names) if x == y]
        return z3.Or(pairs) if pairs else z3.BoolVal(False)
    if isinstance(a, ConcreteList) and isinstance(b, ConcreteList):
        n = min(len(a.items), len(b.items))
        return z3.And([a.length == b.length, a.length <= n] + [z3.Implies(i < a.length, _equal(x, y))
                                                                for i, (x, y) in enumerate(zip(a.items, b.items))])
    if isinstance(a, (ConcreteList, AbstractList)) or isinstance(b, (ConcreteList, AbstractList)):
        raise Unsupported("a list input declared differently in the two versions")
    return a == b


def _differs(pair: _Pair, old: Policy, new: Policy, compared: list[str], notes: list[str]):
    diffs = []
    old_names = {d.name for d in old.definitions}
    for d in new.definitions:
        if d.name not in old_names:
            notes.append(f"`{d.name}` is only in the new version")
            continue
        a, b = pair.old.values.get(d.name), pair.enc.values.get(d.name)
        if a is None or b is None:
            notes.append(f"`{d.name}` is a cohort-stage value: not compared by the solver")
            continue
        if type(a) is not type(b) or isinstance(a, (ConcreteList, AbstractList)):
            notes.append(f"`{d.name}` changed kind or is a list: not compared by the solver")
            continue
        compared.append(d.name)
        diffs.append(z3.Not(_equal(a, b)))
    for name in old_names - {d.name for d in new.definitions}:
        notes.append(f"`{name}` is only in the old version")
    labels = list(dict.fromkeys(list(pair.old.flags) + list(pair.enc.flags)))
    for label in labels:
        a, b = pair.old.flags.get(label, z3.BoolVal(False)), pair.enc.flags.get(label, z3.BoolVal(False))
        compared.append(f'flag "{label}"')
        diffs.append(a != b)
    fa, fb = pair.old.failed, pair.enc.failed
    return z3.Or(fa != fb, z3.And(z3.Not(fa), z3.Not(fb), z3.Or(diffs) if diffs else z3.BoolVal(False)))


def cohort_rules_equal(old: Policy, new: Policy) -> bool:
    """The cohort stage is written the same in both (source positions aside): quotas,
    distribute, the policy's rank order, and every cohort-stage value and flag (ranks,
    group aggregates) — what the solver does not compare."""
    def cohort_part(ir: Policy):
        return (_strip(ir.quotas), _strip(ir.distributes), _strip(ir.rank),
                _strip(tuple(d for d in ir.definitions if d.stage == "cohort")),
                _strip(tuple(f for f in ir.flags if f.stage == "cohort")))
    return cohort_part(old) == cohort_part(new)


def prove_equivalent(old_ir: Policy, new_ir: Policy, timeout: float = DEFAULT_TIMEOUT, confirm=None) -> Equivalence:
    """Whether the individual stages of two checked policies agree on every subject valid
    for both. `confirm(record)` (default: perfdsl.policydiff.compare on the reference
    interpreter) must show a difference before a witness is returned."""
    try:
        with fresh_context():
            return _prove_equivalent(old_ir, new_ir, timeout, confirm)
    except (z3.Z3Exception, Unsupported, RecursionError) as err:
        return Equivalence("unknown", notes=[f"not for the solver: {err}"],
                           cohort_rules_equal=cohort_rules_equal(old_ir, new_ir))


def _prove_equivalent(old_ir, new_ir, timeout, confirm) -> Equivalence:
    if confirm is None:
        from ..policydiff import compare

        def confirm(record):
            return compare(old_ir, new_ir, record)
    rules = cohort_rules_equal(old_ir, new_ir)
    try:
        witness = _witness(old_ir, new_ir, confirm, min(1.0, timeout / 3), ("search",))
        pair = _Pair(old_ir, new_ir, "proof", exact=False)
        compared, notes = [], list(pair.notes)
        goal = _differs(pair, old_ir, new_ir, compared, notes)
    except Unsupported as why:
        return Equivalence("unknown", notes=[f"not for the solver: {why}"], cohort_rules_equal=rules)
    if witness is not None:  # an obvious difference: no proof needed
        return Equivalence("different", witness, notes, compared, rules)
    verdict = pair.check(pair.solver(goal, timeout), time.perf_counter() + timeout)
    if verdict == z3.unsat and not (pair.old.partial or pair.enc.partial):
        return Equivalence("equivalent", None, notes, compared, rules)
    if verdict == z3.unsat:
        return Equivalence("unknown", None, notes + ["equal wherever the solver sees; it cannot see "
                                                     + ", ".join(pair.old.partial + pair.enc.partial)], compared, rules)
    if verdict == z3.unknown:
        return Equivalence("unknown", None, notes + [f"the solver gave up after {timeout:g} s"], compared, rules)
    witness = _witness(old_ir, new_ir, confirm, timeout, ("search", "proof"))
    if witness is not None:
        return Equivalence("different", witness, notes, compared, rules)
    return Equivalence("unknown", None, notes + ["the solver's candidate differs only through 28-digit rounding, "
                                                 "which the reference interpreter does not confirm"], compared, rules)


def _witness(old_ir: Policy, new_ir: Policy, confirm, timeout: float, modes) -> dict | None:
    """A subject (exact arithmetic; hundredths first) whose results the interpreter shows differ."""
    deadline = time.perf_counter() + timeout
    for mode in modes:
        search = _Pair(old_ir, new_ir, mode, exact=True)
        s = search.solver(_differs(search, old_ir, new_ir, [], []), max(0.05, deadline - time.perf_counter()))
        if s.check() != z3.sat:
            continue
        record = search.record(minimise(s, search.inputs, new_ir, int(timeout * 1000)))
        if confirm(record):
            return record
    return None
