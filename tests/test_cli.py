"""The command line end to end: the README's main job, bad data, every verb."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from perfdsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
BUDGET = str(ROOT / "policies" / "budget_engineer.perf")
DATA = str(ROOT / "policies" / "data" / "budget_engineer.csv")

# Hand-computed from policies/data/budget_engineer.csv (weights 40/20/20/20, ability uncapped):
EXPECTED = {
    "e01": ("100", "优秀"), "e02": ("90", "良好"), "e03": ("90", "良好"), "e04": ("89.9", "良好"),
    "e05": ("87.4", "良好"), "e06": ("60", "合格"), "e07": ("80", "良好"), "e08": ("38", "不合格"),
    "e09": ("103", "优秀"), "e10": ("98.1", "良好"),
}
# Five reach 优秀 on their own (e01 100, e02 90, e03 90, e09 103, e10 98.1); the quota keeps
# round_half_up(20% × 10) = 2 of them, best by total: e09 and e01. The rest move to 良好.


def read_csv(path):
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel (§12.2)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_readme_main_job(tmp_path, capsys):
    out = tmp_path / "results.csv"
    assert main(["run", BUDGET, "--input", DATA, "--output", str(out), "--explain"]) == 0
    rows = read_csv(out)
    assert [r["employee_id"] for r in rows] == list(EXPECTED)  # input order
    assert {r["employee_id"]: (r["total"], r["grade"]) for r in rows} == EXPECTED
    assert list(rows[0]) == ["employee_id", "quality", "efficiency", "cost", "ability", "total", "grade", "flags", "explanation"]
    # e10 (98.1) is third by total after e09 (103) and e01 (100): beyond the 2 places.
    e10 = next(r for r in rows if r["employee_id"] == "e10")
    assert (e10["quality"], e10["cost"], e10["ability"]) == ("95", "97.5", "103")
    assert ("  名额：全体 10 名中优秀至多 2 名（10 × 20% = 2）；按月度考核总分降序、工号升序，本人第 3 名（共 10 名）；"
            "个人等次为优秀的 5 名中可保留 2 名，本人排第 3 位，超出名额，由优秀降为良好") in e10["explanation"].splitlines()
    assert "10 subject(s)" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["json", "jsonl", "xlsx", "csv"])
def test_run_every_format(tmp_path, fmt):
    src = tmp_path / "in.json"
    src.write_text(json.dumps([{"employee_id": f"e{i}", "rejections": i, "overdue": 0, "overrun": 0.5, "papers": 0}
                               for i in range(3)]), encoding="utf-8")
    mid = tmp_path / f"mid.{fmt}"
    assert main(["run", BUDGET, "--input", str(src), "--output", str(mid)]) == 0
    out = tmp_path / "final.json"
    from perfdsl import io
    rows = io.read_rows(mid)
    assert [r.values["employee_id"] for r in rows] == ["e0", "e1", "e2"]
    # e0: 40 + 20 + 19.9 + 20 = 99.9; e1: 38 + 20 + 19.9 + 20 = 97.9; e2: 36 + ... = 95.9
    assert [D(str(r.values["total"])) for r in rows] == [D("99.9"), D("97.9"), D("95.9")]
    # 20% of 3 = 0.6 → 1 keeps 优秀
    assert [r.values["grade"] for r in rows] == ["优秀", "良好", "良好"]
    assert not out.exists()


def test_bad_rows_are_all_listed_and_nothing_is_written(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text("employee_id,rejections,overdue,overrun,papers\n"
                   "a,1,0,0,0\n"
                   "b,many,0,0,0\n"
                   "c,1,-2,0,0\n"
                   "a,0,0,0,0\n"
                   "d,0,0,abc,\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["run", BUDGET, "--input", str(src), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 3, field rejections: expected a whole number, got 'many'" in err
    assert "row 4, field overdue: -2 is outside the declared range 0..∞" in err
    assert "row 5, field employee_id: duplicate key 'a' (first at row 2)" in err
    assert "row 6, field overrun: expected a number, got 'abc'" in err
    assert "row 6, field papers: expected a whole number, got ''" in err
    assert "nothing was written" in err
    assert not out.exists()


def test_missing_field_and_unreadable_file(tmp_path, capsys):
    src = tmp_path / "m.json"
    src.write_text('[{"employee_id": "a", "rejections": 1}]', encoding="utf-8")
    out = tmp_path / "o.json"
    assert main(["run", BUDGET, "--input", str(src), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 1, field overdue: missing" in err and "row 1, field papers: missing" in err
    assert main(["run", BUDGET, "--input", str(tmp_path / "nope.csv"), "--output", str(out)]) == 1
    assert not out.exists()


def test_explain_one_subject(capsys):
    assert main(["explain", BUDGET, "--input", DATA, "--id", "e09"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "预算工程师月度考核：工号 e09"
    assert "  在国家权威期刊上每发表一篇论文加3分：3 × 5 = 15，100 + 15 = 115" in lines
    # 100 × 40% + 100 × 20% + 100 × 20% + 115 × 20% = 40 + 20 + 20 + 23 = 103
    assert lines[lines.index("月度考核总分 = 103"):lines.index("月度考核总分 = 103") + 6] == [
        "月度考核总分 = 103", "  工作质量 40% × 100 = 40", "  工作效率 20% × 100 = 20", "  工作成本 20% × 100 = 20",
        "  工作能力 20% × 115 = 23", "  合计 40 + 20 + 20 + 23 = 103"]
    # e09 has the best total of the five who reach 优秀 on their own; 20% × 10 = 2 keep it.
    assert ("  名额：全体 10 名中优秀至多 2 名（10 × 20% = 2）；按月度考核总分降序、工号升序，本人第 1 名（共 10 名）；"
            "个人等次为优秀的 5 名中可保留 2 名，本人排第 1 位，保留优秀") in lines
    assert main(["explain", BUDGET, "--input", DATA, "--id", "zz"]) == 1


def test_check_and_test_verbs(capsys):
    assert main(["check", BUDGET]) == 0
    assert main(["check", str(ROOT / "tests" / "fixtures" / "budget_engineer_105.perf")]) == 1
    assert "weights sum to 105%, expected 100%" in capsys.readouterr().err
    assert main(["test", BUDGET]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_test_verb_reports_differences(tmp_path, capsys):
    p = tmp_path / "wrong.perf"
    p.write_text('policy w { input a: decimal in 0..10  score s = a * 2\n'
                 '  example "错" { given a = 3 expect s = 7 } }', encoding="utf-8")
    assert main(["test", str(p)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "s: expected 7, got 6" in out and "0 passed, 1 failed" in out


def test_compile_writes_an_importable_module(tmp_path):
    out = tmp_path / "gen.py"
    assert main(["compile", BUDGET, "-o", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    compile(source, str(out), "exec")
    assert "do not edit" in source.splitlines()[0] or "do not edit" in source[:300]


def test_console_script_runs_without_traceback(tmp_path):
    bad = tmp_path / "bad.perf"
    bad.write_text("policy {{{ \x00", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "perfdsl", "check", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "error[PD001]" in proc.stderr


def test_unknown_fields_warn_and_empty_lists_are_row_errors(tmp_path, capsys):
    policy = tmp_path / "m.perf"
    policy.write_text('policy m { key id  input id: text  input xs: list of decimal in 0..100\n'
                      '  let avg = mean(xs) }', encoding="utf-8")
    data = tmp_path / "d.json"
    data.write_text('[{"id": "a", "xs": [1, 2], "extra": 1}, {"id": "b", "xs": []}, {"id": "c", "xs": [3]}]',
                    encoding="utf-8")
    out = tmp_path / "o.json"
    assert main(["run", str(policy), "--input", str(data), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 2: " in err and "mean of an empty list" in err and not out.exists()
    data.write_text('[{"id": "a", "xs": [1, 2], "extra": 1}, {"id": "c", "xs": [3]}]', encoding="utf-8")
    assert main(["run", str(policy), "--input", str(data), "--output", str(out)]) == 0
    assert "warning: row 1, field extra: unknown field, ignored" in capsys.readouterr().err
    assert [r.values["avg"] for r in __import__("perfdsl").io.read_rows(out)] == [D("1.5"), D(3)]


def test_malformed_inputs_are_reported_not_raised(tmp_path, capsys):
    bad_json = tmp_path / "b.json"
    bad_json.write_text('[{"employee_id": "a",, }]', encoding="utf-8")
    bad_xlsx = tmp_path / "b.xlsx"
    bad_xlsx.write_bytes(b"not a zip file")
    out = tmp_path / "o.csv"
    for src in (bad_json, bad_xlsx):
        assert main(["run", BUDGET, "--input", str(src), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("nothing was written") == 2 and not out.exists()


def test_an_output_that_cannot_be_written_is_said_before_the_data_is_read(tmp_path, capsys):
    """A wrong output name is the one problem to fix first: not a list of data errors."""
    src = tmp_path / "bad.csv"
    src.write_text("employee_id,rejections,overdue,overrun,papers\nb,many,0,0,0\n", encoding="utf-8")
    assert main(["run", BUDGET, "--input", str(src), "--output", str(tmp_path / "o.txt")]) == 1
    err = capsys.readouterr().err
    assert "unsupported file type '.txt'" in err and "many" not in err
    assert main(["report", BUDGET, "--input", DATA, "--output", str(tmp_path / "r.csv")]) == 2
    assert "the report is an HTML page: name it .html" in capsys.readouterr().err
    assert not (tmp_path / "o.txt").exists() and not (tmp_path / "r.csv").exists()


def test_run_restores_the_collector(tmp_path):
    """`run` pauses the garbage collector while it reads and evaluates, also when the data
    is bad, and leaves it as it found it."""
    import gc
    src = tmp_path / "bad.csv"
    src.write_text("employee_id,papers\ne1,x\n", encoding="utf-8")
    assert gc.isenabled()
    assert main(["run", BUDGET, "--input", DATA, "--output", str(tmp_path / "out.csv")]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["run", BUDGET, "--input", str(src), "--output", str(tmp_path / "out2.csv")]) == 1
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert main(["run", BUDGET, "--input", DATA, "--output", str(tmp_path / "out.csv")]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
