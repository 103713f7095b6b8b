"""`property cohort "..." : EXPR` — checked for every subject of generated cohorts after the
cohort stage (final tiers, whole-cohort counts, `size`), random and tie-heavy ones."""
from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path

from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.policy import Policy, load
from perfdsl.verify import verify_properties

ROOT = Path(__file__).resolve().parent.parent

QUOTA = '''
policy q {
  key id
  input id: text
  input score: decimal in 0..100
  input bad: bool
  tiers grade by score { 先进 >= 90  合格 >= 60  不合格 otherwise }
  veto bad -> 不合格 "违纪"
  quota 先进 at most 25% rank by score desc then id asc
  property cohort "先进至多25%": count(grade == 先进) <= round(25% * size)
  property cohort "违纪的不是先进": not bad or grade != 先进
  property cohort "名额只降不升": grade != 先进 or score >= 90
}
'''


def test_true_cohort_properties_pass_on_sampled_cohorts(policy_file):
    ir = compile_file(policy_file(QUOTA)).policy
    assert [p.cohort for p in ir.properties] == [True, True, True]
    verdicts = verify_properties(Policy(ir, backend="reference"), examples=90, seed=0)
    assert [(v.status, v.unit) for v in verdicts] == [("passed", "cohorts")] * 3
    assert all(v.tried == 30 for v in verdicts)


def test_ties_that_share_a_quota_break_it(policy_file, capsys):
    # ranked by score alone, with `ties share`: equal scores all keep 先进, past 25%
    path = policy_file(QUOTA.replace("rank by score desc then id asc", "rank by score desc ties share"))
    assert main(["verify", str(path), "--examples", "300", "--seed", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAIL   先进至多25%: counterexample after" in out
    assert "(paste into a cohort example):" in out
    rows = [line.strip() for line in out.splitlines() if line.strip().startswith("| s")]
    records = [dict(zip(("id", "score", "bad"), (c.strip() for c in row.strip("|").split("|")))) for row in rows]
    results = load(path, backend="reference").evaluate_cohort(records)
    best = sum(r.grade == "先进" for r in results)
    assert best > (D(len(records)) * D("0.25")).quantize(D(1), rounding="ROUND_HALF_UP")  # confirmed
    assert len({r["score"] for r in records if r["id"] in {x.key for x in results if x.grade == "先进"}}) == 1


def test_size_and_cohort_counts_belong_to_cohort_properties(check):
    result = check(QUOTA.replace('property cohort "先进至多25%"', 'property "先进至多25%"'))
    assert result.policy is None
    assert "error" in result.rendered


def test_bundled_cohort_schemes_have_cohort_properties():
    for name in ("budget_engineer", "county_towns", "county_departments", "county_old_town", "branch_employees"):
        text = (ROOT / "policies" / f"{name}.perf").read_text(encoding="utf-8")
        assert len(re.findall(r"^\s*property cohort ", text, re.M)) >= 2, name
    policy = load(ROOT / "policies" / "budget_engineer.perf", backend="reference")
    cohort = [v for v in verify_properties(policy, examples=60, seed=1, timeout=0) if v.unit == "cohorts"]
    assert [v.status for v in cohort] == ["passed", "passed"]
