"""Backend agreement over every bundled policy: the generated Python gives exactly
what the reference interpreter gives (values, flags, tier states, explanations) on
hypothesis-drawn subjects and cohorts."""
from __future__ import annotations

from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.policy import Policy
from perfdsl.verify import disagreements

ROOT = Path(__file__).resolve().parent.parent
# stdlib modules are exercised through the fixtures that import every one of them.
FILES = sorted((ROOT / "policies").glob("*.perf")) + [ROOT / "tests" / "fixtures" / f"stdlib_{n}.perf" for n in ("bands", "warn")]


def checked(path):
    result = compile_file(path)
    if result.module:
        pytest.skip("a module: checked through the policies that import it")
    assert result.policy is not None
    return result.policy


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_generated_code_agrees_with_reference(path):
    assert disagreements(Policy(checked(path)), examples=30, seed=1) == []


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_columnar_backend_agrees_with_reference(path):
    """perfdsl.columnar on drawn cohorts: the same rows, tiers, flags, warnings and errors."""
    from perfdsl.columnar.agreement import disagreements as columnar_disagreements
    assert columnar_disagreements(Policy(checked(path), backend="reference"), examples=15, seed=1) == []
