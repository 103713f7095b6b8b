"""The run summary and the `汇总` sheet count every backend's results one way
(perfdsl.cohort_counts.Columns): the same lines on auto, python, columnar and duckdb,
from a CSV read as a table and from a workbook read row by row, worked out by hand."""
from __future__ import annotations

import csv

import openpyxl
import pytest

from perfdsl.cli import main

POLICY = """policy s {
  key id
  input id: text
  input level: int in 1..3
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 60  C otherwise }
  quota A at most 50% per level rank by score desc then id asc
}
"""
ROWS = [["id", "level", "score"], ["a", "1", "95"], ["b", "1", "92"], ["c", "2", "91"], ["d", "2", "50"],
        ["e", "3", "99"], ["f", "1", "91"], ["g", "1", "70"]]
# level 1: a 95, b 92, f 91 reach A, g 70 is B; at most 50% of 4 = 2 keep A, so f (the
# lowest of the three) moves to B. level 2: c 91 A, d 50 C; 50% of 2 = 1. level 3: e 99;
# 50% of 1 = 0.5, rounded half up: 1.
COUNTS = ["grade: A 4, B 2, C 1",
          "quota A at most 50% (line 7):",
          "  level=1 (4): A 2 (at most 2), B 2",
          "  level=2 (2): A 1 (at most 1), C 1",
          "  level=3 (1): A 1 (at most 1)"]
MOVED = ["moved: A→B 1"]


def _data(tmp_path, suffix: str):
    path = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(ROWS)
    else:
        wb = openpyxl.Workbook()
        for row in ROWS:
            wb.active.append(row)
        wb.save(path)
    return path


@pytest.mark.parametrize("backend, suffix, moved", [
    ("auto", ".csv", True), ("python", ".csv", True), ("columnar", ".csv", True), ("auto", ".xlsx", True),
    ("columnar", ".xlsx", False),  # row by row the columnar backend keeps no tiers before the cohort stage
    ("duckdb", ".csv", True), ("duckdb", ".xlsx", True),  # the SQL query keeps them as columns
])
def test_every_backend_states_the_same_counts(tmp_path, policy_file, capsys, backend, suffix, moved):
    data, out = _data(tmp_path, suffix), tmp_path / "out.xlsx"
    code = main(["run", str(policy_file(POLICY)), "--input", str(data), "--output", str(out), "--backend", backend])
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert printed == [f"7 subject(s) read from {data}", *COUNTS, *(MOVED if moved else []), f"7 subject(s) → {out}"]
    sheet = [list(r) for r in openpyxl.load_workbook(out)["汇总"].iter_rows(values_only=True)][1:]
    title = "quota A at most 50% (line 7)"
    before = (lambda n: n) if moved else (lambda n: None)
    assert [r for r in sheet if r[0] == title and r[1] == "level=1"] == [
        [title, "level=1", 4, "A", before(3), 2, 0, 2, "yes"], [title, "level=1", 4, "B", before(1), 2, None, None, None],
        [title, "level=1", 4, "C", before(0), 0, None, None, None]]


def test_the_duckdb_summary_reads_group_members_in_one_query_however_many_groups(tmp_path, policy_file,
                                                                                   capsys, monkeypatch):
    """The summary reads each group's first member where it lists every group (the `汇总`
    sheet of an XLSX output); on duckdb that is one query for all the groups (at 100k
    subjects in 4,000 groups, one query a group took 40 s of a 2 s run)."""
    from perfdsl.sql.engine import DuckDB
    policy = policy_file(POLICY.replace("int in 1..3", "int in 1..1000"))
    queries = {}
    for groups in (3, 300):
        data, out = tmp_path / f"in{groups}.csv", tmp_path / f"out{groups}.xlsx"
        with open(data, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([["id", "level", "score"]]
                                     + [[f"s{i}", str(1 + i % groups), str(50 + i % 50)] for i in range(900)])
        seen = []
        for name in ("fetch", "fetch_at"):
            original = getattr(DuckDB, name)
            monkeypatch.setattr(DuckDB, name, lambda self, *a, _o=original, **k: seen.append(1) or _o(self, *a, **k))
        assert main(["run", str(policy), "--input", str(data), "--output", str(out), "--backend", "duckdb"]) == 0
        monkeypatch.undo()
        queries[groups] = len(seen)
        duck, duck_sheet = capsys.readouterr().out, _sheet(out)
        assert len(duck_sheet) == 1 + 3 + 3 * groups  # the tiers, then every group's three tiers
        assert main(["run", str(policy), "--input", str(data), "--output", str(out), "--backend", "python"]) == 0
        assert duck == capsys.readouterr().out  # the same summary, "moved" line included
        assert duck_sheet == _sheet(out)
    assert queries[300] == queries[3]


def _sheet(path) -> list[list]:
    return [list(r) for r in openpyxl.load_workbook(path)["汇总"].iter_rows(values_only=True)]


DISTRIBUTED = """policy s {
  key id
  input id: text
  input team: int in 1..30
  input rating: one of ("good", "fair")
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 60  C otherwise }
  distribute per team rank by score desc then id asc {
    A 0%..50%
    B 0%..100%
    C 0%..100%
    when rating == "fair": A 0..0
  }
}
"""


@pytest.mark.parametrize("backend", ["python", "columnar", "duckdb"])
def test_a_summary_of_many_groups_says_how_many_and_lists_them_only_in_the_sheet(tmp_path, policy_file, capsys,
                                                                                  monkeypatch, backend):
    """Past 20 groups the terminal gives the number of groups, and the run does not work out
    each group's bounds for it (a CSV output); the `汇总` sheet lists every group with its
    bounds. Groups alike share their bounds (cohort.Placer.bounds), groups unlike do not:
    teams 2k-1 and 2k both have k + 1 members, all at 95; the even ones are rated fair, so
    they get no A, the odd ones at most round-half-up(50% of k + 1) = (k + 2) // 2."""
    from perfdsl import cohort_counts
    policy = policy_file(DISTRIBUTED)
    data = tmp_path / "in.csv"
    size = {t: 2 + (t - 1) // 2 for t in range(1, 31)}
    with open(data, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["id", "team", "rating", "score"]] + [
            [f"s{t}-{j}", str(t), "fair" if t % 2 == 0 else "good", "95"] for t in range(1, 31) for j in range(size[t])])
    worked = []
    original = cohort_counts._distribute
    monkeypatch.setattr(cohort_counts, "_distribute", lambda *a: worked.append(1) or original(*a))
    assert main(["run", str(policy), "--input", str(data), "--output", str(tmp_path / "o.csv"),
                 "--backend", backend]) == 0
    assert "distribute (line 8): 30 groups" in capsys.readouterr().out.splitlines() and not worked
    assert main(["run", str(policy), "--input", str(data), "--output", str(tmp_path / "o.xlsx"),
                 "--backend", backend]) == 0
    a = [(r[1], r[2], r[5], r[6], r[7]) for r in _sheet(tmp_path / "o.xlsx") if r[0] == "distribute (line 8)"
         and r[3] == "A"]
    assert a == [(f"team={t}", size[t], 0 if t % 2 == 0 else (size[t] + 1) // 2, 0,
                  0 if t % 2 == 0 else (size[t] + 1) // 2) for t in range(1, 31)]


PAIRED = """policy s {
  key id
  input id: text
  input dept: text
  input kind: text
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 60  C otherwise }
  quota A at most 50% per (dept, kind) rank by score desc then id asc
}
"""


@pytest.mark.parametrize("depts", [2, 15])
def test_duckdb_counts_groups_of_several_fields_in_the_engine_as_python_does(tmp_path, policy_file, capsys, depts):
    """A SQL run sends the summary its subjects already counted (Ran.summary_frame) and the
    number of each rule's groups (Ran.group_counts, COUNT(DISTINCT (dept, kind))): 2 depts ×
    2 kinds = 4 groups are listed, 15 × 2 = 30 only counted; either way the duckdb lines are
    the python backend's. Each group: scores 95, 93, 91 and 50 → A at most 2 of 4, so the
    91 moves to B: A 2, B 1, C 1 per group, and `moved: A→B` one per group."""
    policy = policy_file(PAIRED)
    data = tmp_path / "in.csv"
    with open(data, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["id", "dept", "kind", "score"]] + [
            [f"{d}-{k}-{s}", f"部门{d}", k, str(s)] for d in range(depts) for k in ("甲", "乙") for s in (95, 93, 91, 50)])
    printed = {}
    for backend in ("python", "duckdb"):
        out = tmp_path / f"{backend}.parquet"
        assert main(["run", str(policy), "--input", str(data), "--output", str(out), "--backend", backend]) == 0
        printed[backend] = capsys.readouterr().out.replace(str(out), "OUT").splitlines()
    groups = depts * 2
    assert printed["duckdb"] == printed["python"]
    assert f"grade: A {2 * groups}, B {groups}, C {groups}" in printed["duckdb"]
    assert f"moved: A→B {groups}" in printed["duckdb"]
    listed = [line for line in printed["duckdb"] if line.startswith("  dept/kind=")]
    if groups <= 20:
        assert listed[0] == "  dept/kind=部门0 / 甲 (4): A 2 (at most 2), B 1, C 1" and len(listed) == groups
    else:
        assert not listed and f"quota A at most 50% (line 8): {groups} groups" in printed["duckdb"]


def test_a_chinese_summary_gives_the_number_of_groups_after_its_own_colon(tmp_path, policy_file, capsys):
    """In Chinese the count follows the full-width colon with no space: `强制分布（第 8 行）：共 30 组`."""
    policy = policy_file(DISTRIBUTED.replace('policy s {', 'policy s "考核" {'))
    data = tmp_path / "in.csv"
    with open(data, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["id", "team", "rating", "score"]] + [
            [f"s{t}", str(t), "good", "95"] for t in range(1, 31)])
    assert main(["run", str(policy), "--input", str(data), "--output", str(tmp_path / "o.csv")]) == 0
    assert "强制分布（第 8 行）：共 30 组" in capsys.readouterr().out.splitlines()
