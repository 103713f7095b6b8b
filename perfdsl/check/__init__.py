"""AST → checked IR. `compile_file` reads a policy and its imports, then runs the
checker's passes in order (perfdsl.check.passes.PASSES). Any error leaves the policy None.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..diagnostics import Diagnostic, Sources
from ..ir import Interval, Policy
from . import resolve
from .passes import PASSES, Checking, check_until
from .text import bidi_warnings


@dataclasses.dataclass
class CheckResult:
    policy: Policy | None
    diagnostics: list[Diagnostic]
    sources: Sources
    module: bool = False  # a file without `policy`: only its syntax and imports are checked

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


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
    ck = check_until(program)
    if ck.failed:
        return None
    return dataclasses.replace(ck.policy, examples=tuple(ck.examples), properties=tuple(ck.properties))


__all__ = ["compile_file", "CheckResult", "Checking", "PASSES", "check_until", "Interval"]
