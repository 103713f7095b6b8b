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


# ---- how a judged mutant is classified (issue 9, item 20) ----------------------------------
Q = """\
policy q {
  key id
  input id: text
  input n: int in 0..2
  indicator v { base 0 add 2 per n cap 4 }
  score total = v
  example "e" { given id = "1", n = 1 expect total = 2 }
  property "cap 4 never binds: 2 per n": total == 2 * n
}
"""


def _judged(tmp_path, extra=()):
    """Every generated mutant of Q, and the hand-made `extra` ones (old text, new text), judged."""
    (tmp_path / "q.perf").write_text(Q, encoding="utf-8")
    texts = mutate.read_tree(tmp_path)
    mutants = mutate.generate("q", texts)
    for old, new in extra:
        start = Q.index(old)
        mutants.append(mutate.Mutant("q", "q.perf", 1, 1, "hand", f"{old} → {new}", ((start, start + len(old), new),)))
    judge = mutate.Judge(texts, budget=100, records=100, cohorts=0)
    try:
        return {v.mutant.description: v for v in map(judge.judge, mutants)}
    finally:
        judge.close()


def test_identical_ir_is_proved_equivalent_and_left_out_of_the_score(tmp_path):
    verdicts = _judged(tmp_path, [("cap 4", "cap 4.0"), ("per n", "per m")])
    assert verdicts["cap 4 → cap 4.0"].status == "equivalent"
    assert verdicts["cap 4 → cap 4.0"].detail == "identical checked IR"
    assert verdicts["per n → per m"].status == "check"
    assert {d: v.status for d, v in verdicts.items() if v.mutant.category != "hand"} == {
        "constant in indicator v: 0 → 1": "examples",
        "indicator v: add amount: 2 → 3": "examples",
        "indicator v: add amount: 2 → 1": "examples",
        # 2·n never exceeds 4: the search finds no difference, and Z3 proves there is none
        "drop `cap 4` in indicator v": "equivalent",
        "cap bound in indicator v: 4 → 5": "equivalent",
        "cap bound in indicator v: 4 → 3": "properties",     # n = 2: 3, not 4
    }
    assert verdicts["drop `cap 4` in indicator v"].detail.startswith("the solver proved")
    report = mutate.Report("q", list(verdicts.values()))
    # killed: 1 check + 3 examples + 1 property; 8 mutants, 3 proved equivalent (1 by IR, 2 by Z3)
    assert report.killed == 5 and report.count("undistinguished") == 0
    assert report.score == pytest.approx(5 / 5)
    row = next(line for line in mutate.table([report]).splitlines() if line.startswith("q "))
    assert row.split() == ["q", "8", "1", "3", "1", "3", "0", "0", "100.0%"]


def test_undistinguished_mutants_count_against_the_score():
    """Nothing told them apart from the original, yet nothing proved them equal either."""
    m = mutate.Mutant("p", "p.perf", 1, 1, "rule", "m", ())
    report = mutate.Report("p", [mutate.Verdict(m, s) for s in ("examples", "examples", "properties",
                                                                "undistinguished", "equivalent")])
    assert report.score == pytest.approx(3 / 4)
    assert mutate.Report("p", [mutate.Verdict(m, "undistinguished")]).score == 0.0
    assert mutate.Report("p", [mutate.Verdict(m, "equivalent")]).score == 1.0


def test_properties_run_even_when_the_search_finds_no_difference(tmp_path, monkeypatch):
    """The cap 4 → 3 mutant differs only at n = 2, which the example does not try: with a
    difference search that finds nothing, the property still kills it."""
    monkeypatch.setattr(mutate, "differs", lambda *args, **kwargs: None)
    verdicts = _judged(tmp_path)
    assert verdicts["cap bound in indicator v: 4 → 3"].status == "properties"
    assert "cap 4 never binds" in verdicts["cap bound in indicator v: 4 → 3"].detail


def test_a_difference_in_the_explanation_alone_is_a_difference(tmp_path):
    """`add 4 per n cap 4` and `add 5 per n cap 4` give the same values for every n, but the
    explanation shows +4 or +5 for the step."""
    irs = []
    for amount in ("4", "5"):
        p = tmp_path / f"e{amount}.perf"
        p.write_text(Q.replace("add 2 per n", f"add {amount} per n").replace("total == 2 * n", "total <= 4"),
                     encoding="utf-8")
        irs.append(compile_file(p).policy)
    witness = mutate.differs(irs[0], irs[1], records=50, cohort_count=0)
    assert witness is not None and witness.startswith(
        "explanation “add: 4 × 1 = 4, 0 + 4 = 4” → “add: 5 × 1 = 5, 0 + 5 = 5”")


BRANCH_LOWER_BOUND = 'when dept_rating == "合格" 良好 lo: 40% → '


def _branch_mutants(texts):
    found = {m.description[len(BRANCH_LOWER_BOUND):]: m for m in mutate.generate("branch_employees", texts)
             if m.description.startswith(BRANCH_LOWER_BOUND)}
    assert sorted(found) == ["35%", "45%"]
    return found


def test_branch_employees_lower_bound_mutants_are_killed_by_the_examples():
    texts = mutate.read_tree()
    judge = mutate.Judge(texts, records=50, cohorts=10)
    try:
        verdicts = {k: judge.judge(m) for k, m in _branch_mutants(texts).items()}
    finally:
        judge.close()
    assert verdicts["45%"].status == "examples"
    assert "十人部门、4人一票否决" in verdicts["45%"].detail
    assert "grade of X5: expected 合格, got 良好" in verdicts["45%"].detail
    assert verdicts["35%"].status == "examples"
    assert "九人部门、3人一票否决" in verdicts["35%"].detail
    assert "grade of Y4: expected 良好, got 合格" in verdicts["35%"].detail


def test_branch_employees_35_percent_differs_from_40_in_a_group_of_ten_only_in_the_explanation():
    """35% and 40% of 10 both round to 4: in the ten-person example the tiers and warnings
    are the same, only the explanation's bounds text says which share was written."""
    from perfdsl.eval.interpret import Interpreter
    texts = mutate.read_tree()
    judge = mutate.Judge(texts)
    try:
        orig = judge.original("branch_employees")
        m = _branch_mutants(texts)["35%"]
        path = judge.dir / m.file
        path.write_text(m.apply(texts[m.file]), encoding="utf-8")
        mut = judge.compile("branch_employees").policy
    finally:
        judge.close()
    example = next(e for e in orig.examples if "十人部门、4人一票否决" in e.label)
    cohort = [dict(rec) for _, rec in example.records]
    a = mutate._outcome(orig, Interpreter(orig), cohort, True)
    b = mutate._outcome(mut, Interpreter(mut), cohort, True)
    assert [(v, f) for v, f, _ in a[1]] == [(v, f) for v, f, _ in b[1]]
    assert a[2] == b[2] and "企划部：欠佳 4 人（其中 4 人经否决定等次），超出上限 1 人" in a[2]
    assert "良好 4～7 名（10 名的 40%～70%）" in "\n".join(a[1][0][2])
    assert "良好 4～7 名（10 名的 35%～70%）" in "\n".join(b[1][0][2])
    witness = mutate.differs(orig, mut, records=0, cohort_count=0)  # the examples' cohorts suffice
    assert "explanation" in witness and "（10 名的 35%～70%）" in witness


def test_the_solver_proves_an_undistinguished_mutant_equivalent(tmp_path):
    """A mutant the search cannot tell apart is proved equivalent only by Z3 and only with
    the cohort rules unchanged; a real difference is never proved away."""
    def ir(body: str):
        path = tmp_path / f"p{abs(hash(body))}.perf"
        path.write_text("policy p {\n  key id\n  input id: text\n  input x: int in 0..100\n"
                        f"  score total = {body}\n" "  tiers grade by total {\n    好 >= 50\n    差 otherwise\n  }\n}\n",
                        encoding="utf-8")
        result = compile_file(path)
        assert result.policy is not None
        return result.policy
    orig = ir("min(x, 100 - x) + max(x, 100 - x)")
    assert mutate._solver_proof(orig, ir("100 + 0 * x")).startswith("the solver proved")
    assert mutate._solver_proof(orig, ir("min(x, 100 - x) + max(x, 99 - x)")) is None
