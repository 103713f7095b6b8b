"""perfdsl test --coverage: what a policy's examples reach, and what they never do."""
from __future__ import annotations

from pathlib import Path

import perfdsl
from perfdsl.cli import main
from perfdsl.coverage import measure, overall

ROOT = Path(__file__).resolve().parent.parent

POLICY = '''policy p {
  key id
  input id: text
  input x: int in 0..
  input y: decimal in 0..100
  input bad: bool
  input minor: bool
  input capped: bool

  table bonus(v) {
    v >= 90: 10
    v >= 80: 5
    otherwise: 0
  }
  indicator q weight 100% {
    base y
    deduct 5 per x "扣分" up to 20
    add bonus(y) if y > 0 "奖励"
    clamp 0..100
  }
  score total = q
  let half = if bad then 0 else total / 2
  tiers grade by total {
    A >= 90
    B >= 60
    C otherwise
  }
  downgrade minor by 1 "违纪"
  limit capped -> at most B "限制"
  veto bad -> C "否决"
  flag "低分" if total < 60
  quota A at most 50% rank by total desc then id asc

  example "one" {
    given id = "a", x = 1, y = 85, bad = false, minor = false, capped = false
    expect q = 85, grade = B, half = 42.5
  }
EXTRA}
'''

# Each hand-computed: q = y − min(5·x, 20) + bonus(y), clamped to 0..100.
MORE = '''
  example "all rows, caps and rules" cohort {
    | id | x | y  | bad   | minor | capped |
    | a  | 0 | 95 | false | false | false  |
    | b  | 0 | 93 | false | false | false  |
    | c  | 9 | 50 | false | false | false  |
    | d  | 0 | 90 | false | true  | false  |
    | e  | 0 | 99 | false | false | true   |
    | f  | 0 | 70 | true  | false | false  |
    # a: 95 + 10 = 105 → clamp 100 (A); b: 93 + 10 = 103 → 100 (A); c: 50 − min(45, 20) = 30 (C, 低分)
    # d: 90 + 10 = 100 (A) → downgrade B; e: 99 + 10 → 100 (A) → limit B; f: 70 (B) → veto C
    # quota A at most 50% of 6 = 3: only a and b hold A, so this quota moves nobody
    expect grade of a = A, grade of c = C, grade of d = B, grade of e = B, grade of f = C
    expect total of c = 30, half of f = 0
  }
  example "quota moves the third A" cohort {
    | id | x | y  | bad   | minor | capped |
    | a  | 0 | 95 | false | false | false  |
    | b  | 0 | 92 | false | false | false  |
    | c  | 0 | 91 | false | false | false  |
    | d  | 0 | 10 | false | false | false  |
    # totals 100, 100, 100, 10: 50% of 4 = 2 keep A (a, b by id); c moves to B
    expect grade of a = A, grade of b = A, grade of c = B, grade of d = C
  }
'''


def _measure(policy_file, text):
    return measure(perfdsl.load(policy_file(text)))


def test_unreached_items_are_listed_by_line_and_kind(policy_file):
    cov = _measure(policy_file, POLICY.replace("EXTRA", ""))
    missing = sorted((i.line, i.what) for i in cov.unreached())
    assert missing == [
        (11, "row 1 of table bonus"), (13, "row 3 of table bonus"),
        (17, "`up to` cap of a deduct line of q"), (19, "clamp of q"),
        (22, "`then` branch of an `if`"), (24, "tier band A of grade"), (26, "tier band C of grade"),
        (28, "downgrade of grade"), (29, "limit of grade"), (30, "veto of grade"),
        (31, 'flag "低分"'), (32, "quota on A (moving someone down)"),
    ]
    # reached: the deduct line (5), the add line (bonus 5), row 2, the else branch, band B
    assert (cov.hits, len(cov.counted)) == (5, 17)
    assert round(cov.percent, 1) == 29.4


def test_examples_that_reach_everything_give_100_percent(policy_file):
    cov = _measure(policy_file, POLICY.replace("EXTRA", MORE))
    assert [(i.line, i.what) for i in cov.unreached()] == []
    assert cov.percent == 100.0 and overall([cov]) == 100.0


def test_a_comment_excuses_an_unreachable_line(policy_file):
    text = POLICY.replace("EXTRA", "").replace(
        "  flag \"低分\" if total < 60", "  # coverage: unreachable — 示例只测高分\n  flag \"低分\" if total < 60")
    cov = _measure(policy_file, text)
    assert cov.excused == {("flag", "低分"): "# coverage: unreachable — 示例只测高分"}
    assert (cov.hits, len(cov.counted)) == (5, 16)


def test_distribute_bounds_and_when_lines(policy_file):
    text = '''policy d {
  key id
  rank by total desc then id asc
  input id: text
  input s: decimal in 0..100
  input r: text
  score total = s
  tiers grade by total {
    甲 >= 90
    乙 >= 60
    丙 otherwise
  }
  distribute {
    甲 0..1
    乙 0..
    丙 0..
    when r == "好": 甲 0..2
    when size > 10: 丙 1..
  }
  example "三人" cohort {
    | id | s  | r  |
    | a  | 95 | 差 |
    | b  | 92 | 差 |
    | c  | 50 | 差 |
    # 甲 at most 1: a keeps 甲, b (92) falls to 乙, c stays 丙; no `when` holds
    expect grade of a = 甲, grade of b = 乙, grade of c = 丙
  }
}
'''
    cov = _measure(policy_file, text)
    # b's band is 甲 (92 >= 90): no band is 乙; distribution moves b from 甲 to 乙 and
    # leaves c in 丙, so the 丙 line never moves anyone
    assert sorted((i.line, i.what) for i in cov.unreached()) == [
        (10, "tier band 乙 of grade"), (16, "distribute moving someone into or out of 丙"),
        (17, "`when` line of distribute holding for a group"), (18, "`when` line of distribute holding for a group")]
    assert (cov.hits, len(cov.counted)) == (4, 8)
    good = text.replace("| 差 |", "| 好 |")  # the first `when` holds for the group: 甲 0..2
    good = good.replace("grade of b = 乙", "grade of b = 甲")
    # a and b keep 甲, c keeps 丙: distribution moves nobody
    assert [i.line for i in _measure(policy_file, good).unreached()] == [10, 14, 15, 16, 18]


def test_cli_reports_and_fails_under(policy_file, capsys):
    path = policy_file(POLICY.replace("EXTRA", ""))
    assert main(["test", "--coverage", "--fail-under", "30", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"coverage {path}: 5/17 reached (29.4%)" in out
    assert f"  {path}:32: quota on A (moving someone down) — not reached" in out
    assert "below --fail-under 30%" in out
    assert main(["test", "--coverage", "--fail-under", "29", str(path)]) == 0


def test_bundled_policies_reach_everything(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["test", "--coverage", "--fail-under", "100", "policies"]) == 0
    out = capsys.readouterr().out
    assert "coverage overall:" in out and "(100.0%)" in out.splitlines()[-1]
    assert "not reached" not in out
