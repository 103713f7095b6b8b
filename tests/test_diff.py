"""`perfdsl diff OLD NEW` (LANGUAGE.md §12.5) and `perfdsl.diff(a, b, records=None)`:
with data, who is affected and how; without data, the solver's witness subject
(exit 1) or `equivalent` (exit 0)."""
from __future__ import annotations

import csv
from decimal import Decimal as D

import perfdsl
from perfdsl.cli import main
from perfdsl.policydiff import compare

OLD = '''
policy bonus "奖金" {
  key id
  input id: text
  input sales: decimal in 0..1000
  input late: int in 0..31
  indicator perf "业绩" { base 60  add 1 per sales "每万元加1分" up to 40  deduct 2 per late "迟到扣2分"  floor 0 }
  score total = perf
  tiers grade by total { 优秀 >= 90  良好 >= 75  合格 >= 60  不合格 otherwise }
}
'''
# 迟到扣分 2 → 3: only subjects who were late are affected
NEW = OLD.replace('deduct 2 per late "迟到扣2分"', 'deduct 3 per late "迟到扣3分"')
# the same scheme written differently: equivalent
SAME = OLD.replace("score total = perf", "score total = perf + 0")

DATA = "id,sales,late\na1,40,0\na2,35,5\na3,10,0\na4,20,6\n"


def test_without_data_a_witness_subject_exits_1(policy_file, capsys):
    old, new = policy_file(OLD), policy_file(NEW)
    assert main(["diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    given = next(x.strip() for x in lines if x.strip().startswith("given "))
    record = {k.strip(): v.strip().strip('"') for k, v in (p.split("=") for p in given[len("given "):].split(", "))}
    assert int(record["late"]) >= 1                              # only the late are affected
    changes = compare(perfdsl.load(old).ir, perfdsl.load(new).ir,
                      {"id": record["id"], "sales": D(record["sales"]), "late": D(record["late"])})
    assert any(c.name == "perf" for c in changes)
    assert any(x.strip().startswith("perf: ") for x in lines)   # old → new of the changed value


def test_without_data_equivalent_exits_0(policy_file, capsys):
    assert main(["diff", str(policy_file(OLD)), str(policy_file(SAME))]) == 0
    assert "equivalent (individual stage, proved by the solver)" in capsys.readouterr().out


def test_with_data_lists_every_affected_subject(policy_file, tmp_path, capsys):
    data = tmp_path / "people.csv"
    data.write_text(DATA, encoding="utf-8")
    changes = tmp_path / "changes.csv"
    assert main(["diff", str(policy_file(OLD)), str(policy_file(NEW)), "--input", str(data),
                 "--output", str(changes)]) == 1
    out = capsys.readouterr().out
    assert "2 of 4 subject(s) changed" in out
    # a2: 60 + 35 − 10 = 85 → 60 + 35 − 15 = 80; a4: 60 + 20 − 12 = 68 → 60 + 20 − 18 = 62
    assert "a2: perf: 85 → 80; total: 85 → 80" in out
    assert "a4: perf: 68 → 62; total: 68 → 62" in out
    step = out.splitlines()[out.splitlines().index("a2: perf: 85 → 80; total: 85 → 80") + 1]
    old_step, new_step = step.split("first difference: ")[1].split("  →  ")
    assert "迟到扣2分" in old_step and "10" in old_step         # the first differing step, not `业绩 = 85`
    assert "迟到扣3分" in new_step and "15" in new_step
    assert "a1:" not in out and "a3:" not in out
    table = out[out.index("grade: old (rows) × new (columns)"):].splitlines()
    assert table[2].split() == ["优秀", "1", "0", "0", "0"]      # a1 stays 优秀 (100)
    assert table[3].split() == ["良好", "0", "1", "0", "0"]      # a2 85 → 80 stays 良好
    assert table[4].split() == ["合格", "0", "0", "2", "0"]      # a3 70, a4 68 → 62
    with changes.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["id"], r["value"], r["old"], r["new"]) for r in rows] == [
        ("a2", "perf", "85", "80"), ("a2", "total", "85", "80"), ("a4", "perf", "68", "62"), ("a4", "total", "68", "62")]


def test_with_data_and_no_change_exits_0(policy_file, tmp_path, capsys):
    data = tmp_path / "people.csv"
    data.write_text(DATA, encoding="utf-8")
    assert main(["diff", str(policy_file(OLD)), str(policy_file(SAME)), "--input", str(data)]) == 0
    assert "0 of 4 subject(s) changed" in capsys.readouterr().out


def test_python_api(policy_file):
    old, new = policy_file(OLD), policy_file(NEW)
    records = [{"id": "x", "sales": "30", "late": "2"}, {"id": "y", "sales": "30", "late": "0"}]
    report = perfdsl.diff(old, new, records=records)
    assert report.differs and [s.key for s in report.subjects] == ["x"]
    assert [(c.name, c.old, c.new) for c in report.subjects[0].changes] == [
        ("perf", D(86), D(84)), ("total", D(86), D(84))]
    solver = perfdsl.diff(old, new)
    assert solver.status == "different" and solver.witness["late"] >= 1
    assert perfdsl.diff(old, policy_file(SAME)).status == "equivalent"


def test_inputs_in_one_version_only_are_reported(policy_file, capsys):
    extra = OLD.replace("  input late: int in 0..31\n", "  input late: int in 0..31\n  input award: bool\n") \
               .replace("floor 0 }", "add 5 if award \"获奖加5分\"  floor 0 }")
    assert main(["diff", str(policy_file(OLD)), str(policy_file(extra))]) == 1
    out = capsys.readouterr().out
    assert "note: input `award` is only in the new version" in out
    assert "award = true" in out


def test_a_range_change_is_compared_where_both_are_valid(policy_file, capsys):
    narrower = OLD.replace("input sales: decimal in 0..1000", "input sales: decimal in 0..500")
    assert main(["diff", str(policy_file(OLD)), str(policy_file(narrower))]) == 0
    out = capsys.readouterr().out
    assert "note: input `sales` is declared differently; compared where valid for both" in out
    assert "equivalent" in out


def test_output_needs_input(policy_file, tmp_path, capsys):
    assert main(["diff", str(policy_file(OLD)), str(policy_file(NEW)), "--output", str(tmp_path / "c.csv")]) == 2
    assert "give --input too" in capsys.readouterr().err
    assert not (tmp_path / "c.csv").exists()


def test_without_data_a_cohort_only_change_says_the_individual_stage_is_equivalent(policy_file, capsys):
    """A new quota changes no subject's own values: the solver proves the individual stage
    equal, the sampled cohorts differ, and the verdict says both (exit 1)."""
    quota = OLD.replace("score total = perf", "score total = perf\n  rank by total desc then id asc\n"
                        "  quota 优秀 at most 10%")
    assert main(["diff", str(policy_file(OLD)), str(policy_file(quota))]) == 1
    out = capsys.readouterr().out
    assert "equivalent (individual stage, proved by the solver)" in out
    assert "cohort stage: differs" in out and "undecided" not in out
