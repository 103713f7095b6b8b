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


def test_exponential_inlining_is_a_diagnostic():
    text = ("policy blow {\n  input a: decimal in 0..1\n  def h(x) = x * x + x\n"
            "  let y = " + "h(" * 18 + "a" + ")" * 18 + "\n}")
    start = time.perf_counter()
    result = compile_file("blow.perf", text)
    assert time.perf_counter() - start < 20
    assert [d.code for d in result.diagnostics] == ["PD019"]
    assert "expands to more than 100,000 operations" in result.diagnostics[0].message


def test_deep_nesting_through_functions_is_a_diagnostic():
    defs = "\n".join(f"  def f{i}(x) = if x > {i} then f{i + 1}(x) else {i}" for i in range(200))
    text = f"policy deepdef {{\n  input a: decimal in 0..1000\n{defs}\n  def f200(x) = x\n  let y = f0(a)\n}}"
    result = compile_file("deepdef.perf", text)
    assert result.policy is None
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("PD019", "function calls nest more than 40 deep here"), ("PD035", "in the call of `f0` here")]
    recursive = compile_file("rec.perf", "policy r {\n input a: decimal\n def f(x) = f(x) + 1\n let y = f(a)\n}")
    assert [d.code for d in recursive.diagnostics] == ["PD019", "PD035"]


def test_hundred_thousand_item_list_runs(tmp_path):
    from decimal import Decimal

    from perfdsl.policy import Policy
    policy = Policy(compile_file("lst.perf", "policy l { key id input id: text input xs: list of decimal in 0..100\n"
                                 " let avg = mean(xs) let tm = trimmed_mean(xs, 1) let n = len(xs) }").policy)
    [r] = policy.evaluate_cohort([{"id": "a", "xs": [i % 100 for i in range(100_000)]}])
    assert (r.avg, r.tm, r.n) == (Decimal("49.5"), Decimal("49.5"), Decimal(100_000))
