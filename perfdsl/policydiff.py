"""Who is affected when a policy changes? `perfdsl diff OLD NEW` and `perfdsl.diff(a, b)`.

(Named policydiff, not diff, so that `perfdsl.diff` stays the function: importing a
submodule `perfdsl.diff` would replace the package attribute with the module.)

- With records (a data file): both versions run the whole pipeline, cohort stage
  included; every subject whose outputs change is listed with the old and new value of
  each changed output and the first step of its explanation that differs, and for each
  tier set both versions have, a table of moves (old tier × new tier).
- Without records: the solver looks for one subject whose individual-stage outputs
  differ (perfdsl.solver.prove_equivalent) and the reference interpreter confirms it;
  where the solver cannot decide, inputs are sampled. The cohort stage, out of the
  solver's reach, is compared on sampled cohorts when either version has one.

`compare(old_ir, new_ir, record)` is the reference check of one subject that both use.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .eval.interpret import Interpreter
from .explain import fmt
from .ir import Policy as PolicyIR
from .runtime import CONTEXT, EvalError, localcontext

SAMPLES = 200  # subjects sampled when the solver cannot decide
COHORTS = 40  # cohorts sampled for the cohort stage


@dataclass
class Change:
    name: str  # an output, `flags`, or `evaluation`
    old: object
    new: object

    def __str__(self) -> str:
        return f"{self.name}: {_shown(self.old)} → {_shown(self.new)}"


@dataclass
class SubjectChange:
    key: object
    changes: list[Change]
    step: tuple[str, str] | None  # the first explanation line that differs (old, new)


@dataclass
class DiffReport:
    """`status`: equivalent, different or unknown (without records); changed or
    unchanged (with records)."""
    status: str
    witness: dict | None = None
    witness_changes: list[Change] = field(default_factory=list)
    subjects: list[SubjectChange] = field(default_factory=list)
    compared: int = 0  # subjects run (with records)
    tier_moves: dict[str, Counter] = field(default_factory=dict)
    tier_names: dict[str, tuple] = field(default_factory=dict)  # tier set → (old names, new names)
    notes: list[str] = field(default_factory=list)
    cohort: str | None = None  # the sampled comparison of the cohort stage
    individual: str = ""  # without records: the individual stage's own verdict (equivalent, different, unknown),
    # which `status` does not keep once the cohort stage differs

    @property
    def differs(self) -> bool:
        return self.status in ("different", "changed")


def _shown(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_shown(x) for x in v) + "]"
    if isinstance(v, str):
        return v
    return fmt(v)


# ---- one subject ---------------------------------------------------------------------
def _individual(ir: PolicyIR, record: dict):
    with localcontext(CONTEXT):
        try:
            return Interpreter(ir).individual(record, True), None
        except EvalError as err:
            return None, str(err)


def compare(old_ir: PolicyIR, new_ir: PolicyIR, record: dict) -> list[Change]:
    """How one subject's individual-stage outputs differ between two versions (empty:
    they agree), on the reference interpreter."""
    a, err_a = _individual(old_ir, record)
    b, err_b = _individual(new_ir, record)
    if err_a or err_b:
        return [] if err_a and err_b else [Change("evaluation", err_a or "ok", err_b or "ok")]
    return _value_changes(old_ir, new_ir, a, b)


def _value_changes(old_ir, new_ir, a, b) -> list[Change]:
    names = [n for n in new_ir.output_names() if n in a.values and n in b.values]
    out = [Change(n, a.values[n], b.values[n]) for n in names if a.values[n] != b.values[n]]
    if sorted(a.flags) != sorted(b.flags):
        out.append(Change("flags", list(a.flags), list(b.flags)))
    return out


def _first_step(a, b) -> tuple[str, str] | None:
    """The first step of the two explanations that differs: within the first value whose
    explanation differs, its first differing step (an indented line), else its own line."""
    old, new = a.explain().splitlines(), b.explain().splitlines()
    old += [""] * (len(new) - len(old))
    new += [""] * (len(old) - len(new))
    for i, (x, y) in enumerate(zip(old, new)):
        if x == y:
            continue
        if not x.startswith(" "):
            for u, v in zip(old[i + 1:], new[i + 1:]):
                if not (u.startswith(" ") and v.startswith(" ")):
                    break
                if u != v:
                    return u.strip(), v.strip()
        return x.strip(), y.strip()
    return None


# ---- the API -------------------------------------------------------------------------
def _policy(p):
    if isinstance(p, (str, Path)):
        from .policy import load
        return load(p, backend="reference")
    return p


def diff(a, b, records=None, *, timeout: float | None = None, seed: int | None = None) -> DiffReport:
    """Compare two versions of a policy (paths or loaded Policies): on `records` (raw
    input records, validated for both) if given, else by the solver."""
    old, new = _policy(a), _policy(b)
    if records is not None:
        return on_records(old, new, list(records))
    return by_solver(old, new, timeout, seed)


def on_records(old, new, records: list, row_numbers=None) -> DiffReport:
    ra = old.evaluate_cohort(records, trace=True, row_numbers=row_numbers)
    rb = new.evaluate_cohort(records, trace=True, row_numbers=row_numbers)
    report = DiffReport("unchanged", compared=len(records), notes=_input_notes(old.ir, new.ir))
    for x, y in zip(ra, rb):
        changes = _value_changes(old.ir, new.ir, x, y)
        if changes:
            key = x.key if old.ir.key else y.key
            report.subjects.append(SubjectChange(key, changes, _first_step(x, y)))
    tiers_old = {d.name for d in old.ir.definitions if d.tiers is not None}
    for d in new.ir.definitions:
        if d.tiers is not None and d.name in tiers_old:
            report.tier_moves[d.name] = Counter((x.values[d.name], y.values[d.name]) for x, y in zip(ra, rb))
            report.tier_names[d.name] = (old.ir.definition(d.name).tiers.names(), d.tiers.names())
    if report.subjects:
        report.status = "changed"
    return report


def _input_notes(old: PolicyIR, new: PolicyIR) -> list[str]:
    a, b = {i.name for i in old.inputs}, {i.name for i in new.inputs}
    return [f"input `{n}` is only in the old version" for n in sorted(a - b)] + \
        [f"input `{n}` is only in the new version" for n in sorted(b - a)]


def by_solver(old, new, timeout, seed) -> DiffReport:
    from .solver import DEFAULT_TIMEOUT, prove_equivalent
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    eq = prove_equivalent(old.ir, new.ir, timeout)
    report = DiffReport(eq.status, notes=list(dict.fromkeys(_input_notes(old.ir, new.ir) + eq.notes)))
    if eq.status == "different":
        report.witness = eq.witness
        report.witness_changes = compare(old.ir, new.ir, eq.witness)
    elif eq.status == "unknown":
        from .verify.search import search
        def test(record):
            changes = compare(old.ir, new.ir, record)
            return [record, *changes] if changes else None
        tried, found = search(_merged(old.ir, new.ir), test, SAMPLES, seed)
        if found:
            report.status, report.witness, report.witness_changes = "different", found[0], found[1:]
        else:
            report.notes.append(f"not proved equivalent; {tried} sampled subjects agree")
    report.individual = report.status
    if old.ir.has_cohort_stage or new.ir.has_cohort_stage:
        report.cohort = _cohort_stage(old, new, seed, report.witness)
        if report.cohort.startswith("differs") and report.status != "different":
            report.status = "different"
    return report


def _merged(old: PolicyIR, new: PolicyIR):
    """Records valid for the new version, with the inputs only the old one reads."""
    from hypothesis import strategies as st

    from .verify.strategies import input_strategy

    fields = {i.name: input_strategy(old, i) for i in old.inputs}
    fields.update({i.name: input_strategy(new, i) for i in new.inputs})
    return st.fixed_dictionaries(fields)


def _cohort_stage(old, new, seed, witness: dict | None = None) -> str:
    """A sampled comparison of whole cohorts (the cohort stage is out of the solver's reach).
    The individual stage's witness, when there is one, is in every cohort: random
    subjects seldom hit the narrow inputs where two versions part."""
    from hypothesis import strategies as st

    from .io import DataError
    from .verify.search import search

    keys = {k for k in (old.ir.key, new.ir.key) if k}

    def keyed(records):
        return [dict(r, **{k: f"s{i:03d}" for k in keys}) for i, r in enumerate(records)]

    def test(records):
        try:
            ra = old.evaluate_cohort(records, trace=False)
            rb = new.evaluate_cohort(records, trace=False)
        except DataError:
            return None  # not valid for both versions: not a comparison
        for i, (x, y) in enumerate(zip(ra, rb)):
            changes = _value_changes(old.ir, new.ir, x, y)
            if changes:
                return [f"subject {x.key or i + 1} of a cohort of {len(records)}: " + "; ".join(map(str, changes))]
        return None
    seeded = [witness] if witness is not None else []
    cohorts = st.lists(_merged(old.ir, new.ir), min_size=1 - len(seeded), max_size=12 - len(seeded))
    tried, found = search(cohorts.map(lambda rs: keyed(seeded + rs)), test, COHORTS, seed)
    if found:
        return "differs: " + found[0]
    return f"no difference on {tried} sampled cohorts"


# ---- text for the terminal and the CHANGES file ------------------------------------
def render(report: DiffReport, old_name: str = "old", new_name: str = "new") -> list[str]:
    lines = [f"note: {n}" for n in report.notes]
    if report.compared:
        lines.append(f"{len(report.subjects)} of {report.compared} subject(s) changed")
        for s in report.subjects:
            lines.append(f"{_shown(s.key) if s.key is not None else '(no key)'}: " + "; ".join(map(str, s.changes)))
            if s.step:
                lines.append(f"    first difference: {s.step[0] or '(nothing)'}  →  {s.step[1] or '(nothing)'}")
        for name, moves in report.tier_moves.items():
            lines += _tier_table(name, moves, *report.tier_names[name])
        return lines
    if report.individual == "equivalent":
        lines.append("equivalent (individual stage, proved by the solver)")
    elif report.witness is not None:
        lines.append(f"differ: a subject whose results change ({old_name} → {new_name}):")
        lines.append("  " + _given(report.witness))
        lines += [f"  {c}" for c in report.witness_changes]
    else:
        lines.append("undecided: the solver could not prove the individual stages equal, and sampling found no difference")
    if report.cohort:
        lines.append(f"cohort stage: {report.cohort}")
    return lines


def _given(record: dict) -> str:
    parts = []
    for k, v in record.items():
        if isinstance(v, str):
            text = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(v, (list, tuple)):
            text = "[" + ", ".join(('"' + x + '"') if isinstance(x, str) else _shown(x) for x in v) + "]"
        else:
            text = _shown(v)
        parts.append(f"{k} = {text}")
    return "given " + ", ".join(parts)


def _tier_table(name: str, moves: Counter, old_names, new_names) -> list[str]:
    """Rows: the old tier; columns: the new one; both best first."""
    width = max([_width(str(x)) for x in (*old_names, *new_names)] + [4]) + 2
    lines = [f"{name}: old (rows) × new (columns)", " " * width + "".join(_pad(n, width) for n in new_names)]
    for o in old_names:
        lines.append(o + " " * (width - _width(o)) + "".join(_pad(str(moves.get((o, n), 0)), width) for n in new_names))
    return lines


def _width(text: str) -> int:
    """Columns a text takes in a terminal: CJK characters take two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return " " * (width - _width(text)) + text


def change_rows(report: DiffReport, key: str) -> tuple[list[str], list[dict]]:
    """Columns and rows of a CHANGES file: one row per changed value of a subject."""
    columns = [key, "value", "old", "new", "first_difference_old", "first_difference_new"]
    rows = []
    for s in report.subjects:
        for c in s.changes:
            rows.append({key: s.key, "value": c.name, "old": _shown(c.old), "new": _shown(c.new),
                         "first_difference_old": s.step[0] if s.step else "",
                         "first_difference_new": s.step[1] if s.step else ""})
    return columns, rows


__all__ = ["diff", "compare", "on_records", "by_solver", "DiffReport", "Change", "SubjectChange", "render", "change_rows"]
