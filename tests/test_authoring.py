"""LANGUAGE.md §12.1 authoring conveniences, on every backend: `example defaults`, a line
cap before or after its reason, labelled lets, `last(xs)` and `xs[i]`, `per (F1, F2)`,
`flagged("…")`, curly quotes and ≥ ≤ ≠, and the divisor-may-be-zero warning (PW111)."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from perfdsl.check import compile_file
from perfdsl.columnar.agreement import outcome_columnar, outcome_reference
from perfdsl.io import DataError
from perfdsl.policy import Policy
from perfdsl.runtime import EvalError
from perfdsl.verify import disagreements
from perfdsl.verify.agreement import BACKENDS

ATTENDANCE = '''
policy attendance "考勤" {
  key id
  rank by total desc then id asc per (dept, kind)
  input id: text
  input dept: text
  input kind: text
  input late: int in 0..30 "迟到次数"
  input absent: int in 0..10 "旷工天数"
  input scores: list of decimal in 0..100 length 2..5 "各月得分"
  indicator discipline "纪律" weight 100% {
    base 100
    deduct 1 per late up to 5 “迟到”
    deduct 2 per absent "旷工" up to 6
    deduct 3 if late ≥ 10 "迟到十次以上"
  }
  let latest "最近一月得分" = last(scores)
  let first = scores[0]
  let second_last = scores[-2]
  score total "总分" = discipline
  tiers grade by total { 优秀 ≥ 95  良好 ≥ 90  合格 otherwise }
  outcome dept_mean = mean(total) per (dept, kind)
  outcome dept_good = count(grade == 优秀) per (dept, kind)
  outcome place "组内名次" = rank(total)
  quota 优秀 at most 50% per (dept, kind) rank by total desc then id asc
  flag “全勤” if late == 0 and absent == 0
  flag "需谈话" if flagged("全勤") ≠ true and total <= 90
  property "全勤者优秀": not flagged("全勤") or grade == 优秀
  property "谈话者非优秀": not flagged("需谈话") or grade ≠ 优秀
  example defaults { given dept = "办公室", kind = "A", late = 0, absent = 0, scores = [80, 90] }
  example "全勤" { given id = "a" expect total = 100, latest = 90, first = 80, second_last = 80, grade = 优秀, flags = ["全勤"] }
  example "迟到一次" { given id = "b", late = 1 expect total = 99 }
  example "迟到二十次" { given id = "c", late = 20, scores = [60, 70] expect total = 92, latest = 70, grade = 良好 }
}
'''


def record(id, dept="办公室", kind="A", late=0, absent=0, scores=(80, 90)):
    return {"id": id, "dept": dept, "kind": kind, "late": late, "absent": absent, "scores": [D(s) for s in scores]}


def test_attendance_checks_and_its_examples_pass(check):
    result = check(ATTENDANCE)
    assert result.ok and not result.diagnostics, result.rendered
    examples = {e.label: e for e in result.policy.examples}
    # defaults filled what each example does not give; what it gives wins
    assert examples["迟到一次"].records[0][1]["late"] == 1
    assert examples["迟到一次"].records[0][1]["dept"] == "办公室"
    assert examples["迟到二十次"].records[0][1]["scores"] == (D(60), D(70))


def test_example_defaults_examples_pass_on_every_backend(policy_file):
    from perfdsl.examples import run_examples
    ir = compile_file(policy_file(ATTENDANCE)).policy
    for backend in ("reference", "python"):
        outcomes = run_examples(Policy(ir, backend=backend))
        assert [o.passed for o in outcomes] == [True, True, True], [o.failures for o in outcomes]


def test_line_cap_before_or_after_the_reason_means_the_same(load):
    policy = load(ATTENDANCE)
    r = policy.evaluate(record("x", late=8, absent=4))
    # late: 8 capped at 5; absent: 2 × 4 = 8 capped at 6
    assert r.discipline == D(89) and r.total == D(89) and r.grade == "合格"
    r = policy.evaluate(record("x", late=12))
    assert r.discipline == D(92)  # 5 (capped) + 3 (≥ 10)


def test_both_orders_give_the_same_line(check):
    a = check(ATTENDANCE).policy.definition("discipline").indicator.adjustments
    assert [(x.reason, x.up_to) for x in a] == [("迟到", D(5)), ("旷工", D(6)), ("迟到十次以上", None)]


def test_labelled_let_and_list_items(load):
    policy = load(ATTENDANCE)
    assert policy.ir.definition("latest").label == "最近一月得分"
    r = policy.evaluate(record("x", scores=(60, 70, 85)))
    assert (r.latest, r.first, r.second_last) == (D(85), D(60), D(70))


SHORT = '''policy short {
  key id
  input id: text
  input scores: list of decimal in 0..100 length 1..3
  let third = scores[2]
  let before_last = [0] + scores
  let x = before_last[-2]
}'''


def test_list_position_out_of_range_is_a_data_error_naming_the_field(load):
    policy = load(SHORT)
    assert policy.evaluate({"id": "a", "scores": [D(1), D(2), D(3)]}).third == D(3)
    with pytest.raises((EvalError, DataError)) as err:
        policy.evaluate({"id": "a", "scores": [D(60)]})
    assert "field `scores` has 1 item(s), so it has no item at position 2" in str(err.value)
    assert ":5:15:" in str(err.value)


def test_list_position_of_a_computed_list(load):
    policy = load(SHORT.replace("let third = scores[2]", "let third = scores[0]"))
    assert policy.evaluate({"id": "a", "scores": [D(5)]}).x == D(0)
    assert policy.evaluate({"id": "a", "scores": [D(5), D(6)]}).x == D(5)


def test_list_position_out_of_range_in_a_cohort_names_row_and_field(policy_file):
    ir = compile_file(policy_file(SHORT)).policy
    records = [{"id": "a", "scores": [D(1), D(2), D(3)]}, {"id": "b", "scores": [D(1)]}]
    for backend in ("reference", "python"):
        with pytest.raises(DataError) as err:
            Policy(ir, backend=backend).evaluate_cohort(records)
        assert "row 2" in str(err.value) and "field `scores` has 1 item(s), so it has no item at position 2" in str(err.value)
    assert outcome_columnar(ir, records) == outcome_reference(Policy(ir, backend="reference"), records)


COHORT = [record("a", late=0), record("b", late=1), record("c", late=2),
          record("d", kind="B", late=1), record("e", dept="后勤", late=3), record("f", dept="后勤", late=4)]


def test_per_several_fields_groups_quotas_and_aggregates(load):
    results = load(ATTENDANCE).evaluate_cohort(COHORT)
    by = {r.record["id"]: r for r in results}
    # groups: (办公室, A) = a b c, (办公室, B) = d, (后勤, A) = e f; 50% of 3 rounds half up to 2
    assert [by[k].grade for k in "abcdef"] == ["优秀", "优秀", "良好", "优秀", "优秀", "良好"]
    assert by["a"].dept_mean == D(99) and by["d"].dept_mean == D(99) and by["e"].dept_mean == D("96.5")
    assert [by[k].dept_good for k in "abcdef"] == [D(2), D(2), D(2), D(1), D(1), D(1)]
    assert [by[k].place for k in "abcdef"] == [D(1), D(2), D(3), D(1), D(1), D(2)]
    assert by["a"].flags == ["全勤"] and by["c"].flags == []


def test_per_several_fields_on_the_columnar_backend(policy_file):
    ir = compile_file(policy_file(ATTENDANCE)).policy
    columnar = outcome_columnar(ir, COHORT)
    assert columnar == outcome_reference(Policy(ir, backend="reference"), COHORT)
    rows = {row["id"]: row for row in columnar[0]}
    assert rows["c"]["grade"] == "良好" and rows["e"]["dept_mean"] == D("96.5")


def test_every_backend_agrees_on_the_new_constructs(policy_file):
    ir = compile_file(policy_file(ATTENDANCE)).policy
    assert disagreements(Policy(ir, backend="reference"), examples=25, seed=3, backends=sorted(BACKENDS)) == []


def test_flagged_in_properties_holds(policy_file):
    from perfdsl.verify.properties import verify_properties
    ir = compile_file(policy_file(ATTENDANCE)).policy
    assert {p.label for p in ir.properties} == {"全勤者优秀", "谈话者非优秀"}
    for timeout in (0, None):  # sampling only, then with the solver (which may not encode it)
        verdicts = verify_properties(Policy(ir, backend="reference"), examples=30, seed=1, timeout=timeout)
        assert [v.status for v in verdicts] in (["passed", "passed"], ["proved", "proved"], ["proved", "passed"],
                                                ["passed", "proved"]), verdicts


def test_flagged_property_that_fails_is_refuted(policy_file):
    from perfdsl.verify.properties import verify_properties
    ir = compile_file(policy_file(ATTENDANCE.replace('grade ≠ 优秀', 'grade == 合格'))).policy
    verdicts = {v.label: v for v in verify_properties(Policy(ir, backend="reference"), examples=200, seed=1, timeout=0)}
    assert verdicts["谈话者非优秀"].status == "failed"  # 良好 with total 90 is flagged too


def test_flagged_reads_the_flag_and_a_cycle_is_an_error(check):
    r = check('''policy p {
  input late: int in 0..10
  flag "a" if late > 3 or flagged("b")
  flag "b" if flagged("a")
}''')
    assert not r.ok and "flag 'a' reads itself through `flagged`" in r.rendered


def test_flagged_outside_properties_and_flags_is_an_error(check):
    r = check('''policy p {
  input late: int in 0..10
  flag "a" if late > 3
  outcome x = if flagged("a") then 1 else 0
}''')
    assert not r.ok and "`flagged(...)` may be used in properties and flags only" in r.rendered
    assert ":4:18:" in r.rendered


def test_example_defaults_errors(check):
    r = check('''policy p {
  input late: int in 0..10
  example defaults { given late = 1, lates = 2 }
  example "x" { expect late = 1 }
}''')
    assert "example defaults give `lates`, which is not an input" in r.rendered and "did you mean `late`?" in r.rendered
    r = check('''policy p {
  input late: int in 0..10
  input absent: int in 0..10
  example defaults { given late = 11 }
  example "x" { given absent = 0  expect late = 11 }
}''')
    assert ":4:28: error[PD017]: example value for `late`" in r.rendered  # reported at the default
    r = check('''policy p {
  input late: int in 0..10
  input absent: int in 0..10
  example defaults { given late = 0 }
  example "x" { expect late = 0 }
}''')
    assert 'example "x" does not give `absent`' in r.rendered and "or in `example defaults`" in r.rendered


def test_example_defaults_do_not_fill_cohort_tables(check):
    r = check('''policy p {
  key id
  input id: text
  input late: int in 0..10
  example defaults { given late = 0 }
  example "c" cohort {
    | id |
    | a  |
    expect late of a = 0
  }
}''')
    assert "the table lacks column(s) `late`" in r.rendered


def test_chinese_keyword_for_example_defaults(load):
    policy = load('''方案 p {
  输入 late: int 于 0..10
  得分 total = 100 - late
  示例默认 { 已知 late = 2 }
  示例 “默认” { 预期 total = 98 }
}''')
    from perfdsl.examples import run_examples
    assert [o.passed for o in run_examples(policy)] == [True]


def test_curly_quotes_keep_full_width_punctuation_inside(load):
    policy = load('''policy p {
  input a: int in 0..10
  flag “迟到，早退（多次）” if a >= 3
  flag “引号"内#不是注释” if a >= 4
}''')
    assert policy.evaluate({"a": 5}).flags == ["迟到，早退（多次）", '引号"内#不是注释']


def test_index_type_and_position_errors(check):
    r = check('''policy p {
  input n: int in 0..10
  input xs: list of decimal length 1..
  let a = n[0]
  let b = xs[0.5]
}''')
    assert "`[...]` picks an item of a list, but this is number" in r.rendered
    r = check('''policy p {
  input xs: list of decimal length 1..
  let b = xs[0.5]
}''')
    assert "a list position is a whole number" in r.rendered


def test_per_fields_must_be_inputs_and_follow_an_aggregate(check):
    r = check('''policy p {
  key id
  input id: text
  input dept: text
  input s: decimal in 0..100
  outcome m = mean(s) per (dept, kidn)
}''')
    assert "`kidn` is not an input" in r.rendered
    r = check('''policy p {
  key id
  input id: text
  input dept: text
  input s: decimal in 0..100
  tiers g by s { 优 >= 90  良 otherwise }
  quota 优 at most 20% per (dept, knd) rank by s desc then id asc
}''')
    assert "group field `knd` is not an input" in r.rendered


def test_divisor_warning_and_guards(check):
    r = check('''policy p {
  input a: decimal in 0..100
  input t: int in 0..10
  input u: int in 1..10
  let bad = a / t
  let fine = a / u
  let g1 = if t == 0 then 0 else a / t
  let g2 = t > 0 and a / t > 1
  let g3 = t == 0 or a / t > 1
  let g4 = if 0 < t then ratio(a, t) else 0
  let also_bad = ratio(a, u - 1)
}''')
    lines = [d.span.line for d in r.diagnostics if d.code == "PW111"]
    assert lines == [5, 11], r.rendered
    assert "the divisor can be 0 (its range is 0..10)" in r.rendered


def test_bundled_policies_have_no_divisor_warning():
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "policies").glob("*.perf")):
        assert not [d for d in compile_file(path).diagnostics if d.code == "PW111"], path.name


DISTRIBUTE = '''
policy dist {
  key id
  input id: text
  input region: text
  input kind: text
  input s: decimal in 0..100
  score total = s
  tiers grade by total { 优秀 >= 90  合格 >= 60  欠佳 otherwise }
  distribute per (region, kind) rank by total desc then id asc {
    优秀 0..50%
    合格 0..
    欠佳 1..
  }
}
'''


def test_distribute_per_several_fields_on_every_backend(load, policy_file):
    rows = [("a", "东", "机关", 95), ("b", "东", "机关", 92), ("c", "东", "机关", 91), ("d", "东", "站所", 99),
            ("e", "东", "站所", 70), ("f", "西", "机关", 65)]
    records = [{"id": i, "region": r, "kind": k, "s": D(s)} for i, r, k, s in rows]
    results = load(DISTRIBUTE).evaluate_cohort(records)
    # (东, 机关): 3 people, 优秀 at most round(1.5) = 2, 欠佳 at least 1 → a b 优秀, c 欠佳;
    # (东, 站所): d 优秀 (at most 1), e 欠佳 (at least 1); (西, 机关): f alone is 欠佳
    assert [r.grade for r in results] == ["优秀", "优秀", "欠佳", "优秀", "欠佳", "欠佳"]
    ir = compile_file(policy_file(DISTRIBUTE)).policy
    assert outcome_columnar(ir, records) == outcome_reference(Policy(ir, backend="reference"), records)
    assert disagreements(Policy(ir, backend="reference"), examples=20, seed=5, backends=sorted(BACKENDS)) == []
