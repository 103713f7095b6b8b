"""One editor buffer checked: the checker's result, the program's items and the name index.

The buffer's text is checked under its own path, so its imports resolve as `perfdsl
check` resolves them. The checker promises to raise nothing for any text; should it
break that promise, the failure becomes one diagnostic on the buffer (`PD000`) and the
server goes on — an editor must never lose its language server to a policy.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..check import CheckResult, compile_file, resolve
from ..diagnostics import Diagnostic, Span
from ..syntax import ast as A
from . import symbols


@dataclass
class Analysis:
    path: str  # the file name the checker uses in spans for this buffer
    text: str
    result: CheckResult | None = None
    items: list = field(default_factory=list)  # every file's items, imports first
    texts: dict[str, str] = field(default_factory=dict)  # file name → text, imports included
    imports: list[tuple[A.Import, str]] = field(default_factory=list)  # this file's, with target name
    index: symbols.Index = field(default_factory=symbols.Index)
    parsed: bool = False  # this buffer parsed (its names and positions are current)
    internal: list[Diagnostic] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return (self.result.diagnostics if self.result else []) + self.internal

    @property
    def policy(self):
        """The checked IR, or None while the policy has errors (or is a module)."""
        return self.result.policy if self.result else None


def analyse(path: str, text: str) -> Analysis:
    out = Analysis(path, text)
    try:
        out.result = compile_file(path, text)
        program = resolve.load(path, text)
        out.items, out.texts = program.items, dict(program.sources.texts)
        # The loader reports only syntax and import problems; a file that gave items parsed.
        out.parsed = program.policy is not None or any(i.span.file == path for i in program.items) or not any(
            d.is_error and d.span.file == path for d in program.diagnostics)
        out.imports = _imports(path, text)
        out.index = symbols.build(out.items, out.texts)
    except Exception as err:  # noqa: BLE001 - the promise above; reported, never raised
        out.internal.append(Diagnostic("PD000", "error", Span(path, 1, 1, 1, 2),
                                       f"perfdsl could not check this text ({type(err).__name__}: {err})",
                                       "this is a bug in perfdsl; please report it with the policy"))
    return out


_IMPORT = re.compile(r'^[ \t]*(?:import|引用)[ \t]+"((?:\\.|[^"\\\n])*)"', re.M)


def _imports(path: str, text: str) -> list[tuple[A.Import, str]]:
    """This file's imports, found by their line rather than a third parse of the text:
    they only place diagnostics of imported files and lead to those files."""
    out = []
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    for m in _IMPORT.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        end = col + (m.end() - m.start())
        imp = A.Import(Span(path, line, col, line, end), m.group(1))
        out.append((imp, file_name(resolve._import_target(imp, Path(path)))))
    return out


def file_name(target: Path) -> str:
    """The name the checker gives an imported file (relative to the working directory)."""
    target = Path(os.path.normpath(target))
    try:
        return str(target.relative_to(Path.cwd()))
    except ValueError:
        return str(target)


def absolute(name: str) -> Path:
    """A file name from a span → the absolute path an editor knows it by."""
    return Path(os.path.normpath(Path.cwd() / name))
