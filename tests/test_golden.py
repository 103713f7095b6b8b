"""The compiler's voice: each tests/golden/*.perf beside its exact expected diagnostics.

Refresh after an intended change of wording with
`PERFDSL_REFRESH_GOLDEN=1 python -m pytest tests/test_golden.py`, then read the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.diagnostics import render_all

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(GOLDEN.glob("*.perf"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path, monkeypatch):
    monkeypatch.chdir(path.parent.parent.parent)
    rel = path.relative_to(Path.cwd())
    result = compile_file(rel)
    text = render_all(result.diagnostics, result.sources) + "\n"
    expected = path.with_suffix(".expected")
    if os.environ.get("PERFDSL_REFRESH_GOLDEN"):
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")
