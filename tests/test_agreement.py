"""Backend agreement over every bundled policy: every backend of
perfdsl.verify.agreement.BACKENDS gives exactly what the reference interpreter gives on
hypothesis-drawn cohorts (output rows, warnings, errors), and the generated Python also
step by step (values, flags, tier states, explanations) on subjects and cohorts."""
from __future__ import annotations

from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.policy import Policy
from perfdsl.verify import disagreements
from perfdsl.verify.agreement import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
# stdlib modules are exercised through the fixtures that import every one of them.
FILES = sorted((ROOT / "policies").glob("*.perf")) + [ROOT / "tests" / "fixtures" / f"stdlib_{n}.perf" for n in ("bands", "warn")]


def checked(path):
    result = compile_file(path)
    if result.module:
        pytest.skip("a module: checked through the policies that import it")
    assert result.policy is not None
    return result.policy


EXAMPLES = {"python": 30, "columnar": 15}  # a columnar run costs more; later backends: 15


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_backend_agrees_with_reference(path, backend):
    """A backend added to BACKENDS is compared here with no further test to write; the
    python entry also compares the generated code step by step, traces included."""
    assert disagreements(Policy(checked(path), backend="reference"), examples=EXAMPLES.get(backend, 15), seed=1,
                         backends=[backend]) == []

