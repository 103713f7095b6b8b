"""The checker as ordered passes: `PASSES`, run by `check_until` (and `compile_file`).

Each pass is a function of a `Checking`, the record of what the passes before it made:
it reads those results and adds its own (and its diagnostics), and keeps nothing else
between passes (no switch one pass sets for another to read). So a pass can be run
alone on the record the earlier ones leave, which is how the unit tests exercise each.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from typing import Callable, NamedTuple

from ..ir import Policy
from . import resolve as _resolve
from .declarations import Declarations
from .definitions import build_definitions, build_flags
from .examples import build_examples
from .rules import cohort_rules as _cohort_rules
from .rules import policy_warnings, properties as _properties
from .tables import check_tables
from .text import lookalike_warnings
from .types import Typer
from .value_ranges import Ranges, bound_definitions, report


@dataclasses.dataclass
class Checking:
    """What the passes have made so far, each field written by one pass."""
    program: _resolve.Program
    names: dict | None = None  # resolve: every value, function and table by name
    decls: Declarations | None = None  # declare
    order: list = dataclasses.field(default_factory=list)  # order: value items, each after what it reads
    cyclic: set = dataclasses.field(default_factory=set)  # order: names caught in a cycle
    typer: Typer | None = None  # type: the names typed so far, for the later passes' expressions
    typed: list = dataclasses.field(default_factory=list)  # type: the definitions, unbounded
    ranges: Ranges | None = None  # ranges: every input's and definition's range
    definitions: list = dataclasses.field(default_factory=list)  # ranges: the typed definitions with their ranges
    flags: list = dataclasses.field(default_factory=list)  # flag
    quotas: list = dataclasses.field(default_factory=list)  # cohort_rules
    distributes: list = dataclasses.field(default_factory=list)  # cohort_rules
    policy: Policy | None = None  # assemble, when no error came before (examples and properties added last)
    examples: list = dataclasses.field(default_factory=list)  # examples
    properties: list = dataclasses.field(default_factory=list)  # properties

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.program.diagnostics)


def resolve(ck: Checking) -> None:
    """Every declared name once (PD004 for a second), and names that only look alike."""
    ck.names = _resolve.defined_names(ck.program)
    lookalike_warnings(ck.program)


def declare(ck: Checking) -> None:
    """Settings, inputs, tier sets, the tier set each rule acts on, weights and maxima."""
    ck.decls = Declarations(ck.program, ck.names)


def order(ck: Checking) -> None:
    """Values in dependency order; a cycle is reported and its members left out."""
    ck.order, ck.cyclic = _resolve.dependency_order(ck.program, ck.names, ck.decls.rules_of)


def type(ck: Checking) -> None:  # noqa: A001 (the pass's name in PASSES)
    """Type each value in that order: indicators, tier sets and their rules. The checks
    that need a range are recorded on the typer, with the call each was typed under."""
    ck.typer, ck.typed = build_definitions(ck.program, ck.names, ck.decls, ck.order, ck.cyclic)


def ranges(ck: Checking) -> None:
    """Each definition's static range (ranges.py) in that order, and the checks that need
    one: PD011, PW101 (indicator lines), PD023, PW110, PW111 (what typing recorded)."""
    ck.ranges = bound_definitions(ck.program, ck.decls, ck.typed, ck.typer.range_checks)
    ck.definitions = ck.ranges.definitions


@contextlib.contextmanager
def _range_checked(ck: Checking):
    """A pass after `ranges` that types expressions decides their range checks over the
    ranges found, as soon as it has typed them."""
    start = len(ck.typer.range_checks)
    yield
    report(ck.program, ck.typer.range_checks[start:], ck.ranges)


def flag(ck: Checking) -> None:
    with _range_checked(ck):
        ck.flags = build_flags(ck.program, ck.typer, ck.decls, ck.ranges.env)


def cohort_rules(ck: Checking) -> None:
    """Quotas and forced distribution: tiers, bounds, rank orders, `when`s."""
    with _range_checked(ck):
        ck.quotas, ck.distributes = _cohort_rules(ck.program, ck.decls, ck.typer)


def assemble(ck: Checking) -> None:
    """The policy's IR from what the passes before made, if they found no error
    (examples and properties are added at the end)."""
    if ck.failed:
        return
    program, decls, pol = ck.program, ck.decls, ck.program.policy
    ck.policy = Policy(
        name=pol.name, label=pol.label, file=program.root, period=decls.period, key=decls.key,
        scale=decls.scale, rank=decls.rank, inputs=tuple(decls.inputs.values()),
        definitions=tuple(ck.definitions), flags=tuple(ck.flags), quotas=tuple(ck.quotas),
        distributes=tuple(ck.distributes), examples=(), properties=(), source_hash=_hash(program),
        declared=tuple(n for n, item in ck.names.items() if isinstance(item, _resolve.VALUE_ITEMS)),
    )


def warnings(ck: Checking) -> None:
    """§10's warnings that need every value typed: scale, unreachable tiers, inexact
    division feeding thresholds, rules that never fire."""
    policy_warnings(ck.program, ck.policy, ck.typer, ck.ranges.env)


def examples(ck: Checking) -> None:
    with _range_checked(ck):
        ck.examples = build_examples(ck.program, ck.decls.examples, ck.policy, ck.typer, ck.decls.defaults)


def properties(ck: Checking) -> None:
    with _range_checked(ck):
        ck.properties = _properties(ck.program, ck.decls, ck.typer, ck.policy)


def uncalled(ck: Checking) -> None:
    """Defs and tables no value calls, typed on their own so their errors show."""
    with _range_checked(ck):
        ck.typer.type_uncalled()


def tables(ck: Checking) -> None:
    """Every table against every call (after every expression is typed), over the call's
    argument range: coverage (PD014) and rows that can never match (PW103)."""
    check_tables(ck.program, ck.typer, ck.ranges)


class Pass(NamedTuple):
    name: str
    run: Callable[[Checking], None]
    whole: bool = False  # reads the assembled IR: runs only when there is one (no error before it)


PASSES = (
    Pass("resolve", resolve), Pass("declare", declare), Pass("order", order), Pass("type", type),
    Pass("ranges", ranges), Pass("flag", flag), Pass("cohort_rules", cohort_rules), Pass("assemble", assemble),
    Pass("warnings", warnings, whole=True), Pass("examples", examples, whole=True),
    Pass("properties", properties, whole=True), Pass("uncalled", uncalled), Pass("tables", tables),
)


def check_until(program: _resolve.Program, last: str | None = None) -> Checking:
    """Run the passes in order on a loaded policy, up to and including the one named
    `last` (all of them by default)."""
    ck = Checking(program)
    for p in PASSES:
        if ck.policy is not None or not p.whole:
            p.run(ck)
        if p.name == last:
            break
    return ck




def _hash(program) -> str:
    h = hashlib.sha256()
    for name in sorted(program.sources.texts):
        h.update(name.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
        h.update(program.sources.texts[name].encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()
