"""Files → one merged list of items: imports, duplicate names, dependency order, cycles.

Imports are read relative to the importing file (`std/NAME` from the standard
library); imported items count as if written in the importing policy, imported files
first. A name defined twice is an error pointing at both places.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, Note, Sources, Span
from ..resources import stdlib_dir
from ..syntax import ast as A
from ..syntax.parse import parse_text
from ..syntax.source import BOM, SourceError, read_source

VALUE_ITEMS = (A.Let, A.Score, A.Outcome, A.Indicator, A.Tiers)


@dataclass
class Program:
    """Everything the checker needs: the items of the policy and of its imports."""
    root: str
    policy: A.Policy | None
    items: list = field(default_factory=list)
    sources: Sources = field(default_factory=Sources)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code, span, message, hint=None, notes=()):
        self.diagnostics.append(Diagnostic(code, "error", span, message, hint, tuple(notes)))

    def warn(self, code, span, message, hint=None, notes=()):
        self.diagnostics.append(Diagnostic(code, "warning", span, message, hint, tuple(notes)))


def _import_target(imp: A.Import, importer: Path) -> Path:
    name = imp.path if imp.path.endswith(".perf") else imp.path + ".perf"
    if imp.path.startswith("std/"):
        return stdlib_dir() / name[len("std/"):]
    return importer.parent / name


def load(path: str | Path, text: str | None = None) -> Program:
    """Read a policy file and everything it imports.

    Imports are followed with an explicit stack, not recursion, so a long chain of
    imports cannot overflow Python's stack; a file's items are taken once all its
    imports have been (imported files first)."""
    path = Path(path)
    display = str(path)
    program = Program(display, None)
    seen: set[Path] = set()
    stack: list[tuple[Path, str, bool, A.Module, Iterator[A.Import]]] = []

    def enter(file: Path, shown: str, at: Span | None, body: str | None, is_root: bool) -> None:
        key = _identity(file)
        if key in seen:
            return
        seen.add(key)
        if body is None:
            try:
                body = read_source(file, shown)
            except SourceError as err:
                if at is not None:  # seen from the importer, the import is what fails
                    program.error("PD018", at, err.message, err.hint)
                else:
                    program.error(err.code, Span(shown, err.line, err.col, err.line, err.col + 1), err.message, err.hint)
                return
        body = body.removeprefix(BOM)
        program.sources.texts[shown] = body
        module, diags = parse_text(body, shown)
        program.diagnostics.extend(diags)
        if module is not None:
            stack.append((file, shown, is_root, module, iter(module.imports)))

    enter(path, display, None, text, True)
    while stack:
        file, shown, is_root, module, pending = stack[-1]
        imp = next(pending, None)
        if imp is not None:
            target = _import_target(imp, file)
            enter(target, _display(target, imp), imp.span, None, False)
            continue
        stack.pop()
        if module.policy is None:
            program.items.extend(module.items)
        elif not is_root:
            program.error("PD018", module.policy.span, f"{shown} holds a `policy` block and cannot be imported",
                          "move the shared items to a module file without `policy`")
        else:
            program.policy = module.policy
            program.items.extend(module.items)
            program.items.extend(module.policy.items)
    return program


def _identity(file: Path) -> Path:
    """The same file reached by two paths is read once; a symlink loop is just a path."""
    try:
        return file.resolve()
    except (OSError, RuntimeError):
        return file.absolute()


def _display(target: Path, imp: A.Import) -> str:
    """How an imported file is named in diagnostics: relative to the working directory."""
    target = Path(os.path.normpath(target))
    try:
        return str(target.relative_to(Path.cwd()))
    except ValueError:
        return str(target)


def defined_names(program: Program) -> dict[str, object]:
    """Every value, function and table name with its item; duplicates are reported."""
    names: dict[str, object] = {}
    for item in program.items:
        name = getattr(item, "name", None)
        if not isinstance(item, (A.Input, A.Def, A.Table) + VALUE_ITEMS) or name is None:
            continue
        if name in names:
            first = names[name]
            program.error("PD004", item.span, f"`{name}` is defined twice",
                          "rename one of them", [Note(first.span, f"`{name}` is first defined here")])
            continue
        names[name] = item
    return names


def free_names(node, bound: frozenset = frozenset()) -> list[tuple[str, Span]]:
    """Names an AST node reads (variables and called functions), in source order."""
    out: list[tuple[str, Span]] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, A.Name):
            if n.name not in bound:
                out.append((n.name, n.span))
        elif isinstance(n, A.Call):
            out.append((n.func, n.func_span))
            stack.extend(reversed(n.args))
        elif isinstance(n, (list, tuple)):
            stack.extend(reversed(n))
        elif hasattr(n, "__dataclass_fields__") and not isinstance(n, Span):
            for f in reversed(list(n.__dataclass_fields__)):
                stack.append(getattr(n, f))
    return out


def _item_reads(item, names: dict) -> set[str]:
    """The definitions an item depends on, looking through defs and tables it calls."""
    out: set[str] = set()
    pending = [(item, frozenset())]
    visited_funcs: set[str] = set()
    while pending:
        node, bound = pending.pop()
        body = node
        if isinstance(node, A.Def):
            body, bound = node.body, frozenset(node.params)
        elif isinstance(node, A.Table):
            body, bound = node.rows, frozenset([node.param])
        elif isinstance(node, A.Indicator):
            body = node.lines
        elif isinstance(node, A.Tiers):
            body = (node.by, node.lines)
        elif isinstance(node, (A.Let, A.Score, A.Outcome)):
            body = node.expr
        for name, _ in free_names(body, bound):
            target = names.get(name)
            if isinstance(target, (A.Def, A.Table)):
                if name not in visited_funcs:
                    visited_funcs.add(name)
                    pending.append((target, frozenset()))
            elif isinstance(target, VALUE_ITEMS):
                out.add(name)
    return out


def dependency_order(program: Program, names: dict, rules_of: dict[str, list]) -> tuple[list, set[str]]:
    """Value items in an order where each comes after what it reads, and the names
    caught in a cycle (reported here, left out of the order).

    `rules_of` maps a tier set name to the rules (veto, downgrade, limit) on it, whose
    conditions are part of computing that tier set."""
    values = {n: it for n, it in names.items() if isinstance(it, VALUE_ITEMS)}
    deps = {}
    for n, it in values.items():
        d = _item_reads(it, names)
        for rule in rules_of.get(n, []):
            d |= _item_reads(A.Let(rule.span, n, rule.cond), names)
        deps[n] = d
    order: list = []
    state: dict[str, int] = {}
    reported: set[str] = set()
    for start in values:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(deps[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
                if node not in reported:
                    order.append(values[node])
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                if not reported & set(cycle):
                    reported |= set(cycle)
                    item = values[nxt]
                    program.error("PD005", item.span, "cyclic definition: " + " → ".join(f"`{c}`" for c in cycle),
                                  "a value cannot depend on itself; break the cycle with an input",
                                  [Note(values[c].span, f"`{c}` is defined here") for c in cycle[1:-1]])
                continue
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(deps[nxt]))))
    return order, reported
