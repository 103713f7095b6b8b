"""AST → checked IR. `compile_file` runs the passes in order and reports every error.

Passes: resolve (imports, names, order) → declarations (inputs, tiers, rules) →
typing and ranges of each definition in dependency order (types.py, ranges.py) →
rule checks (rules.py) → examples. Any error leaves the policy None.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from ..diagnostics import Diagnostic, Sources
from ..ir import Interval, Policy
from . import resolve
from .declarations import Declarations
from .definitions import build_definitions
from .examples import build_examples
from .rules import cohort_rules, policy_warnings, properties
from .text import bidi_warnings, lookalike_warnings


@dataclasses.dataclass
class CheckResult:
    policy: Policy | None
    diagnostics: list[Diagnostic]
    sources: Sources
    module: bool = False  # a file without `policy`: only its syntax and imports are checked

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def _hash(program) -> str:
    h = hashlib.sha256()
    for name in sorted(program.sources.texts):
        h.update(name.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
        h.update(program.sources.texts[name].encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def compile_file(path: str | Path, text: str | None = None) -> CheckResult:
    """Check a policy file (and its imports). Never raises for any input text."""
    program = resolve.load(path, text)
    bidi_warnings(program)
    policy = None
    module = program.policy is None and bool(program.sources.texts)
    if not module and not any(d.is_error for d in program.diagnostics):
        try:
            policy = _check(program)
        except RecursionError:  # inlined defs and tables can nest deeper than the text does
            program.error("PD019", program.policy.span, "the policy nests too deeply once its functions and tables are expanded",
                          "split long chains of calls or table rows into named `let` values")
    errors = any(d.is_error for d in program.diagnostics)
    # A def inlined at several calls (or checked uncalled, then called) repeats its errors.
    diags = sorted(dict.fromkeys(program.diagnostics), key=lambda d: (d.span.file, d.span.line, d.span.col, d.severity))
    return CheckResult(None if errors else policy, diags, program.sources, module and not errors)


def _check(program) -> Policy | None:
    names = resolve.defined_names(program)
    lookalike_warnings(program)
    decls = Declarations(program, names)
    order, cyclic = resolve.dependency_order(program, names, decls.rules_of)
    typer, definitions, flags = build_definitions(program, names, decls, order, cyclic)
    quotas, distributes = cohort_rules(program, decls, typer)
    pol = program.policy
    policy = Policy(
        name=pol.name, label=pol.label, file=program.root, period=decls.period, key=decls.key,
        scale=decls.scale, rank=decls.rank, inputs=tuple(decls.inputs.values()),
        definitions=tuple(definitions), flags=tuple(flags), quotas=tuple(quotas),
        distributes=tuple(distributes), examples=(), properties=(), source_hash=_hash(program),
        declared=tuple(n for n, item in names.items() if isinstance(item, resolve.VALUE_ITEMS)),
    )
    examples = props = ()
    if not any(d.is_error for d in program.diagnostics):
        policy_warnings(program, policy, decls, typer)
        examples = build_examples(program, decls.examples, policy, typer, decls.defaults)
        props = properties(program, decls, typer, policy)
    typer.finish()  # after every expression is typed: tables see all their calls
    if any(d.is_error for d in program.diagnostics):
        return None
    return dataclasses.replace(policy, examples=tuple(examples), properties=tuple(props))


__all__ = ["compile_file", "CheckResult", "Interval"]
