"""The SMT solver behind `verify` (LANGUAGE.md §12.5): proofs that sampling cannot give,
needles that sampling cannot find, and never a PROVED or a FAIL that the 28-digit
decimal semantics (§1) would contradict."""
from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.policy import Policy, load
from perfdsl.solver import prove_equivalent
from perfdsl.runtime import CONTEXT, localcontext
from perfdsl.verify import verify_properties

ROOT = Path(__file__).resolve().parent.parent

NEEDLE = '''
policy needle {
  input a: int in 0..
  input b: int in 0..
  score s = if a * 7 + b * 3 == 512347 then 101 else 50
  property "s <= 100": s <= 100
}
'''

IDENTITY = '''
policy identity {
  input x: decimal in 0..100
  score s = min(x, 100 - x) + max(x, 100 - x)
  property "min + max": s == 100
}
'''


def _verdicts(policy_file, text, **kw):
    policy = Policy(compile_file(policy_file(text)).policy, backend="reference")
    return policy, verify_properties(policy, **kw)


def _given(line: str) -> dict:
    assert line.startswith("given "), line
    return {k: v for k, v in re.findall(r"(\w+) = ([^,]+)", line[len("given "):])}


def test_the_needle_is_found_and_confirmed(policy_file, capsys):
    path = policy_file(NEEDLE)
    assert main(["verify", str(path), "--examples", "50", "--seed", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAIL   s <= 100: counterexample found by the solver" in out
    line = next(x.strip() for x in out.splitlines() if x.strip().startswith("given "))
    given = _given(line)
    a, b = int(given["a"]), int(given["b"])
    assert a * 7 + b * 3 == 512347
    assert Policy(compile_file(path).policy, backend="reference").evaluate({"a": a, "b": b}).s == 101
    assert "operands: s = 101" in out


def test_the_needle_is_missed_by_sampling_alone(policy_file):
    _, [v] = _verdicts(policy_file, NEEDLE, examples=100, seed=0, timeout=0)
    assert v.status == "passed"


def test_the_identity_is_proved_by_the_solver_with_rounding(policy_file, capsys):
    path = policy_file(IDENTITY)
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PROVED min + max: proved by the solver for every valid input (28-digit rounding included)" in out
    # the rounding it covers is real: x with 30 digits makes 100 - x inexact
    x = D("0.000000000000000000000000000123")
    assert load(path, backend="reference").evaluate({"x": x}).s == 100


def test_monotone_claims_are_proved_with_two_copies():
    policy = load(ROOT / "policies" / "budget_engineer.perf", backend="reference")
    verdicts = {v.label: v for v in verify_properties(policy, examples=20, seed=0)}
    for label in ("驳回越多总分不升", "超支越多总分不升", "论文越多总分不降"):
        assert verdicts[label].status == "proved" and verdicts[label].by == "solver", verdicts[label]


def test_a_counterexample_of_exact_arithmetic_only_is_not_reported(policy_file):
    # Exactly, x / 3 * 3 is x and the property fails; in 28 digits 1 / 3 * 3 is
    # 0.9999999999999999999999999999 and it holds: the interpreter decides, not the model.
    _, [v] = _verdicts(policy_file, '''
policy thirds {
  input x: int in 1..1
  score s = x / 3 * 3
  property "below": s < x
}''', examples=20, seed=0)
    assert v.status == "passed"
    assert "rounding" in v.note


def test_constant_arithmetic_is_rounded_as_the_context_does(policy_file):
    _, [v] = _verdicts(policy_file, '''
policy thirds {
  input x: int in 0..1
  score s = 100 / 3 * 3
  property "below": s < 100
}''', examples=20, seed=0)
    assert v.status == "proved" and v.by == "solver"


def test_rounding_that_breaks_a_property_is_never_proved(policy_file):
    # true in exact arithmetic, false in 28 digits: 100 / 3 * 3 = 99.99999999999999999999999999
    _, [v] = _verdicts(policy_file, '''
policy thirds {
  input x: int in 0..1
  score s = 100 / 3 * 3 + x
  property "exact": s == 100 + x
}''', examples=20, seed=0)
    assert v.status == "failed"
    assert v.detail[0] in ("given x = 0", "given x = 1")


MANAGER = '''
policy manager {
  input team_scores: list of decimal in 0.. length 1..
  input impression: decimal in 0..10
  input retention: decimal in 0..10
  score total = mean(team_scores) + impression + retention
  property "rounded once": total >= impression + retention
  property "rounded as the total is": total >= (0 + impression) + retention
}'''


def test_double_rounding_is_not_proved(policy_file):
    # total = (mean + impression) + retention, each sum rounded to 28 digits;
    # impression + retention rounded once can be larger. A real counterexample:
    policy, verdicts = _verdicts(policy_file, MANAGER, examples=20, seed=0)
    r = policy.evaluate({"team_scores": [D(0)], "impression": D("1.0000000000000000000000000044"),
                         "retention": D("9.0000000000000000000000000007")})
    assert r.total < D("1.0000000000000000000000000044") + D("9.0000000000000000000000000007")
    assert verdicts[0].status != "proved"
    assert verdicts[0].status == "failed" or "rounding" in verdicts[0].note
    assert verdicts[1].status == "proved"                  # the same sum, rounded as the policy rounds it


def test_an_evaluation_error_is_a_counterexample(policy_file):
    _, [v] = _verdicts(policy_file, '''
policy ratio_of {
  input t: decimal in 0..10
  score r = 10 / t
  property "non-negative": r >= 0
}''', examples=20, seed=0)
    assert v.status == "failed" and v.by == "solver"
    assert v.detail[0] == "given t = 0" and any("division by zero" in line for line in v.detail)


def test_lists_of_any_length_are_proved(policy_file):
    _, verdicts = _verdicts(policy_file, '''
policy raters {
  input scores: list of decimal in 0..25 length 3..
  let kept = trimmed_mean(scores, 1)
  score avg = mean(scores)
  property "kept within range": 0 <= kept <= 25
  property "avg within range": 0 <= avg <= 25
  property "mean is sum over count": avg == sum(scores) / len(scores)
}''', examples=20, seed=0)
    assert [v.status for v in verdicts] == ["proved"] * 3


def test_counterexamples_are_small(policy_file):
    _, [v] = _verdicts(policy_file, '''
policy small {
  input a: int in 0..
  input b: decimal in 0..1000
  input flag: bool
  score s = a * 3 - 20
  property "non-negative": s >= 0
}''', examples=20, seed=0)
    assert v.status == "failed" and v.detail[0] == "given a = 0, b = 0, flag = false"


def test_tiers_downgrades_and_vetoes(policy_file):
    _, verdicts = _verdicts(policy_file, '''
policy tiers_rules {
  input score: decimal in 0..100
  input late: bool
  input fraud: bool
  tiers grade by score { 优秀 >= 90  良好 >= 80  合格 >= 60  不合格 otherwise }
  downgrade late by 1 "迟到降一档"
  veto fraud -> 不合格 "舞弊"
  property "fraud is 不合格": not fraud or grade == 不合格
  property "late is never 优秀": not late or grade != 优秀
  property "90 is 优秀": score < 90 or late or fraud or grade == 优秀
  property "wrong": score < 95 or grade == 优秀
}''', examples=20, seed=0)
    assert [v.status for v in verdicts] == ["proved", "proved", "proved", "failed"]
    given = _given(verdicts[3].detail[0])
    assert D(given["score"]) >= 95 and (given["late"] == "true" or given["fraud"] == "true")


def test_prove_equivalent_on_reordered_arithmetic(policy_file):
    old = compile_file(policy_file('''
policy w {
  input a: decimal in 0..100
  input b: decimal in 0..100
  score total = a * 40% + b * 60%
}''')).policy
    new = compile_file(policy_file('''
policy w {
  input a: decimal in 0..100
  input b: decimal in 0..100
  score total = 60% * b + 40% * a
}''')).policy
    assert prove_equivalent(old, new, 10).status == "equivalent"
    changed = compile_file(policy_file('''
policy w {
  input a: decimal in 0..100
  input b: decimal in 0..100
  score total = if a == 37 then 0 else 60% * b + 40% * a
}''')).policy
    eq = prove_equivalent(old, changed, 10)
    assert eq.status == "different" and eq.witness["a"] == 37
    assert eq.cohort_rules_equal


@pytest.mark.parametrize("name", ["hospital_safety", "branch_employees", "section_units", "daily_monthly_pay"])
def test_bundled_policies_are_proved(name):
    policy = load(ROOT / "policies" / f"{name}.perf", backend="reference")
    verdicts = [v for v in verify_properties(policy, examples=20, seed=0) if v.unit != "cohorts"]
    assert verdicts and all(v.status == "proved" for v in verdicts), verdicts


def test_a_counterexample_made_by_double_rounding_is_found(policy_file):
    # `1 per x` rounds a 31-digit x to 28 digits before `100 − …` rounds again;
    # `100 − x` in the property rounds once. Exact arithmetic sees no difference.
    policy, [v] = _verdicts(policy_file, '''
policy double_rounding {
  input x: decimal in 0..1000
  indicator c { base 100  deduct 1 per x  floor 0 }
  property "c": c == max(0, 100 - x)
}''', examples=20, seed=0, timeout=10)
    assert v.status == "failed" and v.by == "solver", v
    x = D(_given(v.detail[0])["x"])
    assert len(x.as_tuple().digits) > 28                          # more digits than the context keeps
    with localcontext(CONTEXT):
        assert policy.evaluate({"x": x}).c != max(D(0), D(100) - x)  # confirmed on the real semantics
