"""Robustness of the checker: mutated policies and pathological inputs end in
diagnostics with positions, never in an internal exception or a hang."""
from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from perfdsl.check import compile_file
from perfdsl.fuzz import check_mutant, mutants

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "policies").glob("*.perf"))]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(mutants(SOURCES))
def test_mutated_policies_never_crash_the_checker(text):
    check_mutant(ROOT / "policies" / "mutant.perf", text)


def test_deeply_nested_expression_is_a_diagnostic():
    plain = "policy p { input a: decimal\n let x = " + "(" * 10000 + "a" + ")" * 10000 + "\n}"
    assert compile_file("parens.perf", plain).policy is not None  # parentheses alone add no depth
    text = "policy p { input a: decimal\n let x = " + "(" * 10000 + "a" + " * 2)" * 10000 + "\n}"
    result = compile_file("deep.perf", text)
    assert result.policy is None
    assert [d.code for d in result.diagnostics] == ["PD019"]
    assert result.diagnostics[0].message == "expression nested more than 120 levels deep"


def test_long_flat_expression_is_a_diagnostic_not_recursion():
    text = "policy p { input a: decimal\n let x = " + " + ".join(["a"] * 20000) + "\n}"
    result = compile_file("flat.perf", text)
    assert [d.code for d in result.diagnostics] == ["PD019"]


def test_large_policy_checks_in_reasonable_time():
    lines = [f"  let v{i} = a * {i % 97} + {i}" for i in range(20000)]
    text = "policy big {\n  input a: decimal in 0..100\n" + "\n".join(lines) + "\n}\n"
    assert len(text) > 500_000
    start = time.perf_counter()
    result = compile_file("big.perf", text)
    assert result.policy is not None and len(result.policy.definitions) == 20000
    assert time.perf_counter() - start < 60


def test_nul_and_bidi_characters_are_reported_with_positions():
    result = compile_file("nul.perf", 'policy p {\n  input a\x00: decimal\n}')
    assert result.diagnostics[0].span.line == 2 and result.diagnostics[0].span.col == 10
    result = compile_file("rtl.perf", 'policy p { input a: decimal "\u202eevil" let b = a ‮+ 1 }')
    assert result.policy is None and result.diagnostics[0].code == "PD001"
