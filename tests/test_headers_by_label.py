"""§12.2 headers: a column matches an input by its name or by its label, so a sheet a
clerk titled in Chinese (`迟到次数`) reads as `late`. Where a file has both, the name wins
and the labelled column is an unknown field (a warning), never a second value."""
from __future__ import annotations

from decimal import Decimal as D

import perfdsl
from perfdsl.cli import main

POLICY = """
policy attendance "考勤" {
  key id
  input id: text "工号"
  input late: int in 0..31 " 迟到次数 "
  input bonus: decimal in 0..10 "加分"
  score total "得分" = 100 - late + bonus
  tiers grade "等次" by total { 好 >= 98  差 otherwise }
}
"""


def test_csv_titled_by_labels_runs_like_names(tmp_path, policy_file, capsys):
    policy = policy_file(POLICY)
    data = tmp_path / "zh.csv"
    data.write_text("工号, 迟到次数 ,加分\na,1,0.5\nb,3,0\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["run", str(policy), "--input", str(data), "--output", str(out)]) == 0
    assert "unknown field" not in capsys.readouterr().err
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1:] == ["a,99.5,好,", "b,97,差,"]
    out2 = tmp_path / "out2.csv"
    assert main(["run", str(policy), "--input", str(data), "--output", str(out2), "--backend", "columnar"]) == 0
    assert out2.read_text(encoding="utf-8-sig").splitlines()[1:] == lines[1:]


def test_name_wins_over_label(tmp_path, policy_file, capsys):
    policy = policy_file(POLICY)
    data = tmp_path / "both.csv"
    data.write_text("id,late,迟到次数,加分\na,1,9,0\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["run", str(policy), "--input", str(data), "--output", str(out)]) == 0
    assert "迟到次数: unknown field" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8-sig").splitlines()[1] == "a,99,好,"


def test_api_records_keyed_by_label(policy_file):
    policy = perfdsl.load(policy_file(POLICY))
    [r] = policy.evaluate_cohort([{"工号": "a", "迟到次数": "2", "加分": "1.5"}])
    assert (r.total, r.grade) == (D("99.5"), "好")
    assert policy.evaluate({"工号": "a", "迟到次数": 0, "加分": 0}).total == 100
