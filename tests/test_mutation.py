"""The mutation check (bench/mutate.py): mutant generation, and the seed policies'
own examples and properties rejecting at least 90% of non-equivalent mutants."""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from perfdsl.check import compile_file

ROOT = Path(__file__).resolve().parent.parent


def _load_mutate():
    name = "perfdsl_bench_mutate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the worker processes find the judging function by this name
    spec.loader.exec_module(module)
    return module


mutate = _load_mutate()

MINI = """\
import "std/bands"

policy mini "小方案" {
  key id
  rank by total desc then id asc
  input id: text
  input a: int in 0..
  input b: int in 0..
  input bad: bool
  indicator x "甲" weight 60% {
    base 100
    deduct 5 per a "每次扣5分"
    floor 0
  }
  indicator y "乙" weight 40% {
    base 100
    deduct 2 per b
    clamp 0..100
  }
  score total = weighted(x, y)
  outcome pay = pay_float(total, 1%)
  tiers grade by total {
    优秀 >= 90
    合格 >= 60
    不合格 otherwise
  }
  veto bad and a >= 3 -> 不合格 "否决"
  quota 优秀 at most 20% rank by total desc then id asc
  example "零扣分" {
    given id = "1", a = 0, b = 0, bad = false
    expect total = 100, grade = 优秀
  }
  property "总分不为负": total >= 0
  property "扣分越多总分越低": monotone total decreasing in a
}
"""


@pytest.fixture
def mini(tmp_path):
    (tmp_path / "mini.perf").write_text(MINI, encoding="utf-8")
    texts = mutate.read_tree(tmp_path)
    return tmp_path, texts, mutate.generate("mini", texts)


def test_generates_every_kind_of_mutant(mini):
    _, texts, mutants = mini
    kinds = {m.category for m in mutants}
    assert kinds == set(mutate.CATEGORIES)
    described = {m.description for m in mutants}
    assert {"threshold in tier 优秀: 90 → 91", "threshold in tier 优秀: 90 → 89",
            "indicator x: deduct amount: 5 → 6", "quota 优秀 share: 20% → 25%",
            "drop `floor 0` in indicator x", "drop veto bad and a >= 3 → 不合格",
            "veto bad and a >= 3 → 不合格: bad and a >= 3 → bad or a >= 3"} <= described
    # only the std/bands function the policy calls is mutated, not the other helpers
    std = [m for m in mutants if m.file.startswith(mutate.STD_IMPORT_DIR)]
    assert std and all("pay_float" in m.description for m in std)


def test_mutants_leave_examples_and_properties_alone(mini):
    _, texts, mutants = mini
    text = texts["mini.perf"]
    tests_start = text.index('  example "零扣分"')
    for m in mutants:
        if m.file == "mini.perf":
            assert all(end <= tests_start for _, end, _ in m.edits), m
        mutated = m.apply(texts[m.file])
        assert mutated != texts[m.file]
        assert mutated.count("\n") == texts[m.file].count("\n")  # dropped lines are blanked, not removed


def test_weight_mutants_are_rebalanced_and_pass_the_checker(mini):
    tmp, texts, mutants = mini
    weights = [m for m in mutants if m.category == "weight"]
    assert len(weights) == 4  # x ±5 against y, y ±5 against x
    for m in weights:
        path = tmp / "mut.perf"
        path.write_text(m.apply(texts["mini.perf"]).replace('"_std/bands.perf"', '"std/bands"'), encoding="utf-8")
        result = compile_file(path)
        assert result.policy is not None, (m.description, [d.message for d in result.diagnostics])
    assert any(m.description == "weight x 60% → 65%, y 40% → 35%" for m in weights)


def test_comparison_flips_and_dropped_clamps(mini):
    _, texts, mutants = mini
    text = texts["mini.perf"]
    flips = [m.apply(text) for m in mutants if m.category == "comparison"]
    assert any("a > 3" in t for t in flips)
    assert any("优秀 > 90" in t for t in flips)  # the checker rejects this one: tiers are `>=`
    dropped = [m.apply(text) for m in mutants if m.description.startswith("drop `floor 0`")]
    assert len(dropped) == 1 and "floor 0" not in dropped[0]


def test_limit_takes_the_categories_in_turn(mini):
    _, _, mutants = mini
    picked = mutate.spread(mutants, len(mutate.CATEGORIES))
    assert {m.category for m in picked} == set(mutate.CATEGORIES)
    assert mutate.spread(mutants, None) == mutants


def test_equivalent_mutant_is_recognised(mini):
    """`cap 5` on an indicator that never exceeds 4 changes nothing; `deduct 6` does."""
    from perfdsl.check import compile_file as cf
    tmp, _, _ = mini
    base = "policy q {\n key id\n input id: text\n input n: int in 0..2\n indicator v { base 0 add 2 per n cap %s }\n" \
           " score total = v\n example \"e\" { given id = \"1\", n = 1 expect total = 2 }\n}\n"
    irs = []
    for cap in ("4", "5", "3"):
        p = tmp / f"q{cap}.perf"
        p.write_text(base % cap, encoding="utf-8")
        irs.append(cf(p).policy)
    assert mutate.differs(irs[0], irs[1], records=50, cohort_count=0) is None
    witness = mutate.differs(irs[0], irs[2], records=50, cohort_count=0)
    assert witness is not None and "n = 2" in witness


def test_seed_policies_reject_at_least_90_percent_of_mutants():
    started = time.perf_counter()
    reports = mutate.run(["hospital_safety", "budget_engineer"], limit=12, jobs=2)
    assert time.perf_counter() - started < 60
    for report in reports:
        assert len(report.verdicts) == 12
        survivors = [f"{v.mutant.where} {v.mutant.description}: {v.detail}"
                     for v in report.verdicts if v.status == "survived"]
        assert report.score >= 0.9, (report.policy, report.score, survivors)
