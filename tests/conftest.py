"""Shared helpers: write a policy text to a temporary file and check or load it."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.diagnostics import render_all

ROOT = Path(__file__).resolve().parent.parent
# Deliberately broken policies: their diagnostics are the tests (test_golden.py).
collect_ignore_glob = ["golden/*.perf", "fixtures/*.perf"]
_counter = itertools.count()


@pytest.fixture
def policy_file(tmp_path):
    def write(text: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"p{next(_counter)}.perf")
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.fixture
def check(policy_file):
    """check(text) -> CheckResult, with `.rendered` holding the printed diagnostics."""
    def run(text: str):
        result = compile_file(policy_file(text))
        result.rendered = render_all(result.diagnostics, result.sources)
        return result
    return run


@pytest.fixture(params=["reference", "python"])
def backend(request):
    return request.param


@pytest.fixture
def load(policy_file, backend):
    """load(text) -> perfdsl.Policy on the parametrised backend; fails on check errors."""
    from perfdsl.policy import Policy

    def run(text: str):
        result = compile_file(policy_file(text))
        assert result.policy is not None, render_all(result.diagnostics, result.sources)
        return Policy(result.policy, backend=backend)
    return run
