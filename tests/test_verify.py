"""`perfdsl verify`: planted bugs are found with a pasteable counterexample, sound
policies pass, static ranges prove what they can, strategies respect declarations."""
from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hypothesis import given, settings

from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.policy import Policy
from perfdsl.verify import strategies, verify_properties

ROOT = Path(__file__).resolve().parent.parent

PLANTED = '''
policy planted "扣分无下限" {
  input rejections: int in 0..
  indicator quality "工作质量" { base 100  deduct 7 per rejections "驳回扣7分" }
  score total = quality
  property "总分在0到100之间": 0 <= total <= 100
}
'''

SOUND = PLANTED.replace('"驳回扣7分" }', '"驳回扣7分"  floor 0 }')


def test_planted_bug_is_found_with_a_pasteable_counterexample(policy_file, capsys):
    path = policy_file(PLANTED)
    assert main(["verify", str(path), "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL   总分在0到100之间" in out
    assert "    given rejections = 15" in out          # shrunk: 100 − 7·15 = −5 is the first below 0
    assert "operands: total = -5" in out
    assert "驳回扣7分：7 × 15 = 105，100 − 105 = -5" in out  # the subject's explanation


def test_sound_policy_is_proved_statically(policy_file, capsys):
    assert main(["verify", str(policy_file(SOUND))]) == 0
    assert "PROVED 总分在0到100之间: proved by the static ranges: total ∈ 0..100" in capsys.readouterr().out


def test_monotone_violation_is_found(policy_file, capsys):
    path = policy_file('''
policy m {
  input papers: int in 0..20
  score total = if papers >= 10 then 50 else 60 + papers
  monotone total increasing in papers
}''')
    assert main(["verify", str(path), "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "total fell from" in out


def test_seed_policies_verify_and_backends_agree(capsys):
    assert main(["verify", str(ROOT / "policies" / "hospital_safety.perf"), "--examples", "60", "--seed", "0", "--backends"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "PASS   backends agree" in out


BRANCH = compile_file(ROOT / "policies" / "branch_employees.perf").policy


@settings(max_examples=60, deadline=None)
@given(strategies(BRANCH))
def test_strategies_draw_only_valid_records(record):
    assert D(0) <= record["performance"] <= D(100) and D(0) <= record["behavior"] <= D(100)
    assert record["dept_rating"] in ("优秀", "良好", "合格", "欠佳")
    assert set(record["history"]) <= {"优秀", "良好", "合格", "欠佳"}
    Policy(BRANCH, backend="reference").evaluate(record)  # passes the input model


def test_verify_properties_api(policy_file):
    policy = Policy(compile_file(policy_file(PLANTED)).policy, backend="reference")
    [verdict] = verify_properties(policy, examples=200, seed=0)
    assert verdict.status == "failed" and verdict.detail[0] == "given rejections = 15"
