"""`perfdsl test --coverage`: which parts of a policy its examples reach.

A policy's examples are its tests; a tier band no example lands in, a deduction no
example triggers or a table row no example selects is a rule nobody has checked by
hand. This module runs every example once more on the reference interpreter and
records what it reached:

- tier bands (a subject's band before any rule), vetoes, downgrades and limits (the
  rule changed a tier), indicator lines (an add/deduct line that moved the value, its
  `up to` cap that bit, a clamp/cap/floor that changed it) — from the explanation trace
  the interpreter already keeps;
- flags that held; quotas that moved someone down; `distribute` bounds of a tier that
  distribution moved someone into or out of, and `when` lines that held for a group —
  from the cohort stage's results;
- both branches of every `if` and every row of every table (inlined by the checker as
  `if` chains) — from a small subclass of the interpreter that notes each decision.

Only what the checked policy can evaluate counts: a table or def nobody calls, and
properties, are not items. An item the examples cannot reach may say why in the policy:
a comment holding `coverage: unreachable` on its line or the line above excludes it from
the percentage (it is still listed, with the comment).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from . import cohort
from .check.resolve import load as load_program
from .diagnostics import Span
from .eval.interpret import Interpreter
from .io import DataError
from .ir import If, children
from .lower.core import Cond
from .lower.evaluate import Machine
from .runtime import CONTEXT, EvalError, localcontext
from .syntax import ast as A
from .syntax.source import SourceError, read_source

MARKER = "coverage: unreachable"


@dataclass(frozen=True)
class Item:
    file: str
    line: int
    what: str
    key: tuple


@dataclass
class PolicyCoverage:
    file: str
    items: list[Item]
    reached: set = field(default_factory=set)
    excused: dict = field(default_factory=dict)  # key → the comment that says why

    @property
    def counted(self) -> list[Item]:
        return [i for i in self.items if i.key not in self.excused]

    @property
    def hits(self) -> int:
        return sum(1 for i in self.counted if i.key in self.reached)

    @property
    def percent(self) -> float:
        total = len(self.counted)
        return 100.0 if total == 0 else 100.0 * self.hits / total

    def unreached(self) -> list[Item]:
        return [i for i in self.items if i.key not in self.reached]


class _Noting(Machine):
    """The core evaluator, noting each decision of an IR `if` (its Cond's source)."""

    def __init__(self, env: dict, ctx, trace, decisions: dict):
        super().__init__(env, ctx, trace)
        self.decisions = decisions

    def visit_Cond(self, e):
        while isinstance(e, Cond):
            taken = bool(self.visit(e.test))
            if e.source is not None:
                self.decisions[(id(e.source), taken)] = e.source
            e = e.then if taken else e.else_
        return self.visit(e)


class _Recorder(Interpreter):
    """The reference interpreter, noting each `if` decision: {(id(node), taken): node}."""

    def __init__(self, policy):
        super().__init__(policy)
        self.decisions: dict[tuple[int, bool], If] = {}

    def machine(self, env: dict, ctx, trace):
        plain = super().machine(env, ctx, trace)
        return _Noting(plain.env, plain.ctx, trace, self.decisions)


# ---- what can be reached ---------------------------------------------------------------
def _items(ir, ast_items) -> list[Item]:
    out: list[Item] = []
    for d in ir.definitions:
        if d.tiers is not None:
            for t in d.tiers.tiers:
                out.append(Item(t.span.file, t.span.line, f"tier band {t.name} of {d.name}", ("band", d.name, t.name)))
            for r in d.tiers.rules:
                out.append(Item(r.span.file, r.span.line, f"{r.kind} of {d.name}", (r.kind, d.name, r.span.line)))
        if d.indicator is not None:
            for a in d.indicator.adjustments:
                verb = "add" if a.sign > 0 else "deduct"
                out.append(Item(a.span.file, a.span.line, f"{verb} line of {d.name}",
                                ("adjust", d.name, a.span.line, a.sign, a.reason)))
                if a.up_to is not None:
                    out.append(Item(a.span.file, a.span.line, f"`up to` cap of a {verb} line of {d.name}",
                                    ("up_to", d.name, a.span.line, a.sign, a.reason)))
            for b in d.indicator.bounds:
                out.append(Item(b.span.file, b.span.line, f"{b.kind} of {d.name}", ("bound", d.name, b.kind, b.span.line)))
    for f in ir.flags:
        out.append(Item(f.span.file, f.span.line, f'flag "{f.label}"', ("flag", f.label)))
    for q in ir.quotas:
        tier = ir.definition(q.tierset).tiers.names()[q.tier]
        out.append(Item(q.span.file, q.span.line, f"quota on {tier} (moving someone down)", ("quota", q.tierset, q.span.line)))
    for d in ir.distributes:
        names = ir.definition(d.tierset).tiers.names()
        for b in d.bounds:
            out.append(Item(b.span.file, b.span.line, f"distribute moving someone into or out of {names[b.tier]}",
                            ("placed", d.tierset, d.span.line, names[b.tier])))
        for w in d.whens:
            out.append(Item(w.span.file, w.span.line, "`when` line of distribute holding for a group", ("when", w.span)))
    out += _decision_items(ir, ast_items)
    return out


def _decision_items(ir, ast_items) -> list[Item]:
    """`if` branches and table rows that the checked policy evaluates somewhere."""
    if_spans, conds = set(), []
    stack = [*ir.expressions(), *(w.cond for d in ir.distributes for w in d.whens)]
    while stack:
        e = stack.pop()
        if isinstance(e, If):
            if_spans.add(e.span)
            conds.append(e.cond)
        stack.extend(children(e))
    out: list[Item] = []
    for node in _ast_nodes(ast_items, (A.IfExpr, A.Table)):
        if isinstance(node, A.IfExpr) and node.span in if_spans:
            out.append(Item(node.span.file, node.then.span.line, "`then` branch of an `if`", ("then", node.span)))
            out.append(Item(node.span.file, node.else_.span.line, "`else` branch of an `if`", ("else", node.span)))
        elif isinstance(node, A.Table) and any(_row_of(c, node) is not None for c in conds):
            cut = next((i for i, r in enumerate(node.rows) if r.cond is None), len(node.rows) - 1)
            for i, row in enumerate(node.rows):
                what = f"row {i + 1} of table {node.name}" + (" (after `otherwise`: never used)" if i > cut else "")
                out.append(Item(row.span.file, row.span.line, what, ("row", node.span, i, cut)))
    return out


def _ast_nodes(items, kinds):
    """AST nodes of `kinds` in what a policy evaluates (not in examples or properties)."""
    found, stack = [], [i for i in items if not isinstance(i, (A.Example, A.Property, A.Monotone))]
    while stack:
        node = stack.pop()
        if isinstance(node, kinds):
            found.append(node)
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, Span):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
    return found


def _row_of(cond, table: A.Table) -> int | None:
    """The row of `table` an inlined condition came from: the checker substitutes the
    call's argument for the parameter, so the row is found by the spans of the
    condition's parts (its constants, its operators' ends), not by where it starts."""
    stack = [cond]
    while stack:
        e = stack.pop()
        for i, row in enumerate(table.rows):
            if row.cond is not None and (_inside(e.span, row.span) or _ends_inside(e.span, row.span)):
                return i
        stack.extend(children(e))
    return None


def _ends_inside(s: Span, outer: Span) -> bool:
    return s.file == outer.file and (outer.line, outer.col) <= (s.end_line, s.end_col) <= (outer.end_line, outer.end_col)


def _inside(s: Span, outer: Span) -> bool:
    return s.file == outer.file and (outer.line, outer.col) <= (s.line, s.col) <= (outer.end_line, outer.end_col)


# ---- what the examples reached ----------------------------------------------------------
def _run(ir, interp: _Recorder, ex, reached: set) -> None:
    results = [interp.individual(rec, True) for _, rec in ex.records]
    if ex.cohort:
        for d in ir.distributes:
            for _, members in cohort.group_members(results, d.group):
                env = {**members[0].record, **members[0].values}
                group = SimpleNamespace(size=CONTEXT.create_decimal(len(members)))
                reached.update(("when", w.span) for w in d.whens if interp.eval(w.cond, env, group))
        cohort.apply(ir, interp, results)
    for r in results:
        reached.update(("flag", label) for label in r.flags)
        for it in r.trace.indicators:
            for s in it.steps:
                reached.add(("adjust", it.name, s.line, s.sign, s.reason))
                if s.uncapped is not None:
                    reached.add(("up_to", it.name, s.line, s.sign, s.reason))
            reached.update(("bound", it.name, b.kind, b.line) for b in it.bounds)
        for tt in r.trace.tiers:
            for c in tt.changes:
                if c.kind == "band":
                    reached.add(("band", tt.name, c.after))
                elif c.kind in ("veto", "downgrade", "limit"):
                    reached.add((c.kind, tt.name, c.line))
                elif c.kind == "quota" and c.before != c.after:
                    reached.add(("quota", tt.name, c.line))
                elif c.kind == "distribute" and c.before != c.after:
                    reached.update(("placed", tt.name, c.line, t) for t in (c.before, c.after))


def _decisions_reached(items: list[Item], decisions, tables: dict, reached: set) -> None:
    if_spans = {i.key[1] for i in items if i.key[0] in ("then", "else")}
    for (_, taken), node in decisions.items():
        if node.span in if_spans:
            reached.add(("then" if taken else "else", node.span))
    table_events = [(node.cond, taken) for (_, taken), node in decisions.items() if node.span not in if_spans]
    rows = {}
    for item in items:
        if item.key[0] == "row":
            rows.setdefault(item.key[1], []).append(item)
    for table_span, table_items in rows.items():
        table = tables.get(table_span)
        if table is None:
            continue
        for item in table_items:
            _, _, i, cut = item.key
            if i < cut and any(taken and _row_of(c, table) == i for c, taken in table_events):
                reached.add(item.key)
            elif i == cut and i > 0 and any(not taken and _row_of(c, table) == i - 1 for c, taken in table_events):
                reached.add(item.key)


def measure(policy) -> PolicyCoverage:
    """Run a loaded policy's examples and return what they reached."""
    ir = policy.ir
    program = load_program(ir.file)
    tables = {t.span: t for t in _ast_nodes(program.items, (A.Table,))}
    items = _items(ir, program.items)
    cov = PolicyCoverage(ir.file, items)
    interp = _Recorder(ir)
    for ex in ir.examples:
        try:
            with localcontext(CONTEXT):
                _run(ir, interp, ex, cov.reached)
        except (EvalError, DataError, ArithmeticError):
            continue  # `perfdsl test` reports the failing example
    _decisions_reached(items, interp.decisions, tables, cov.reached)
    cov.excused = _excused(items)
    return cov


def _excused(items: list[Item]) -> dict:
    """Items whose line, or the line above, holds a comment with MARKER."""
    lines: dict[str, list[str]] = {}
    out = {}
    for item in items:
        if item.file not in lines:
            try:
                lines[item.file] = read_source(Path(item.file), item.file).split("\n")
            except SourceError:
                lines[item.file] = []
        text = lines[item.file]
        for n in (item.line, item.line - 1):
            src = text[n - 1] if 0 < n <= len(text) else ""
            if "#" in src and MARKER in src[src.index("#"):] and (n == item.line or src.strip().startswith("#")):
                out[item.key] = src[src.index("#"):].strip()
                break
    return out


# ---- the report --------------------------------------------------------------------------
def report(covs: list[PolicyCoverage]) -> list[str]:
    """Lines to print: per policy its percentage and each unreached item as FILE:LINE."""
    out = []
    for cov in covs:
        out.append(f"coverage {cov.file}: {cov.hits}/{len(cov.counted)} reached ({cov.percent:.1f}%)")
        for item in sorted(cov.unreached(), key=lambda i: (i.file, i.line, i.what)):
            why = cov.excused.get(item.key)
            out.append(f"  {item.file}:{item.line}: {item.what}" + (f" — excused: {why}" if why else " — not reached"))
    hits = sum(c.hits for c in covs)
    total = sum(len(c.counted) for c in covs)
    out.append(f"coverage overall: {hits}/{total} reached ({overall(covs):.1f}%)")
    return out


def finish(covs: list[PolicyCoverage], fail_under: float | None, say) -> bool:
    """Print the report; False when the overall percentage is below `fail_under`."""
    for line in report(covs):
        say(line)
    if fail_under is not None and overall(covs) < fail_under:
        say(f"coverage {overall(covs):.1f}% is below --fail-under {fail_under:g}%")
        return False
    return True


def overall(covs: list[PolicyCoverage]) -> float:
    total = sum(len(c.counted) for c in covs)
    return 100.0 if total == 0 else 100.0 * sum(c.hits for c in covs) / total
