"""pytest plugin: `pytest policies/` runs each policy's examples and properties as tests.

Registered through the `pytest11` entry point. Each `.perf` file with a `policy`
block becomes a collector; each `example` and each `property`/`monotone` an item
named after its label. A file that fails to check is one failing item carrying the
diagnostics. Properties are searched with `perfdsl_examples` inputs (ini option,
default 100) and a fixed seed so runs repeat.
"""
from __future__ import annotations

import pytest

from .check import compile_file
from .diagnostics import render_all


def pytest_addoption(parser):
    parser.addini("perfdsl_examples", "inputs to try per property in .perf files", default="100")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".perf":
        return PerfFile.from_parent(parent, path=file_path)
    return None


class PerfFailure(Exception):
    """An example or property of a policy did not hold; the message says how."""


class PerfFile(pytest.File):
    def collect(self):
        result = compile_file(self.path)
        if result.module:
            return
        if result.policy is None:
            yield PerfCheckItem.from_parent(self, name="check", text=render_all(result.diagnostics, result.sources))
            return
        from .policy import Policy
        policy = Policy(result.policy)
        for ex in result.policy.examples:
            yield PerfExampleItem.from_parent(self, name=f"example: {ex.label}", policy=policy, example=ex)
        for prop in result.policy.properties:
            yield PerfPropertyItem.from_parent(self, name=f"property: {prop.label}", policy=policy, prop=prop)


class _PerfItem(pytest.Item):
    # No fixtures, but plugins that wrap every call (pytest-lsp's pytest_runtest_call
    # returns without yielding for an item lacking `funcargs`, which fails the item) expect it.
    funcargs: dict = {}

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, PerfFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class PerfCheckItem(_PerfItem):
    def __init__(self, *, text: str, **kw):
        super().__init__(**kw)
        self.text = text

    def runtest(self):
        raise PerfFailure(self.text)

    def reportinfo(self):
        return self.path, 0, "check"


class PerfExampleItem(_PerfItem):
    def __init__(self, *, policy, example, **kw):
        super().__init__(**kw)
        self.policy, self.example = policy, example

    def runtest(self):
        from .examples import run_example
        outcome = run_example(self.policy, self.example)
        if not outcome.passed:
            raise PerfFailure(f"example \"{self.example.label}\" ({self.path.name}:{self.example.span.line}):\n  "
                              + "\n  ".join(outcome.failures))

    def reportinfo(self):
        return self.path, self.example.span.line - 1, f"example {self.example.label}"


class PerfPropertyItem(_PerfItem):
    def __init__(self, *, policy, prop, **kw):
        super().__init__(**kw)
        self.policy, self.prop = policy, prop

    def runtest(self):
        from dataclasses import replace

        from .verify import verify_properties
        single = replace(self.policy.ir, properties=(self.prop,))
        budget = int(self.config.getini("perfdsl_examples"))
        verdict = verify_properties(_Shim(single), budget, seed=0)[0]
        if verdict.status == "failed":
            raise PerfFailure(f"property \"{self.prop.label}\" ({self.path.name}:{self.prop.span.line}) fails:\n  "
                              + "\n  ".join(verdict.detail))

    def reportinfo(self):
        return self.path, self.prop.span.line - 1, f"property {self.prop.label}"


class _Shim:
    """verify_properties reads only `.ir` of a policy."""

    def __init__(self, ir):
        self.ir = ir
