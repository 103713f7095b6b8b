"""What README promises holds: its policy checks and passes its example, its Python
snippet gives the values it shows, and its two set-up commands are what CI runs."""
from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path

import perfdsl
from perfdsl.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_policy_checks_and_its_example_passes(check):
    [block] = re.findall(r"```perf\n(.*?)```", README, re.S)
    result = check(block)
    assert result.policy is not None, result.rendered
    assert len(block.strip().splitlines()) <= 12
    from perfdsl.examples import run_examples
    outcomes = run_examples(Policy(result.policy))
    assert [o.passed for o in outcomes] == [True]


def test_readme_python_snippet_values():
    policy = perfdsl.load(ROOT / "policies" / "budget_engineer.perf")
    r = policy.evaluate({"employee_id": "e1", "rejections": 2, "overdue": 0, "overrun": "1.5", "papers": 1})
    assert (r.total, r.grade) == (D("96.300"), "优秀")
    assert "Decimal('96.300'), '优秀'" in README


def test_readme_setup_commands_are_the_ones_ci_runs():
    commands = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = commands[0].split("&& ", 2)[-1]  # CI makes its own virtualenv first
    assert install in ci and commands[1] in ci


def test_readme_main_job_is_a_clerks_workbook_with_chinese_headers(tmp_path):
    """Command 1 scores policies/data/county_departments.xlsx, titled by the inputs' labels,
    into results.xlsx and report.html: the policy's worked example (8 of 32 先进)."""
    import openpyxl

    from perfdsl.cli import main
    from perfdsl.io import read_rows
    from perfdsl.validate import Validator
    command = re.findall(r"```sh\n(.*?)\n```", README, re.S)[0]
    assert "policies/data/county_departments.xlsx" in command
    assert "--output results.xlsx" in command and "--output report.html" in command
    policy = perfdsl.load(ROOT / "policies" / "county_departments.perf")
    data = ROOT / "policies" / "data" / "county_departments.xlsx"
    header = [c.value for c in next(openpyxl.load_workbook(data, read_only=True).active.iter_rows(max_row=1))]
    labels = {i.label: i.name for i in policy.ir.inputs}
    assert set(header) == set(labels) and header[0] == "被考核单位"
    records, problems, unknown = Validator(policy.ir).many([(r.number, r.values) for r in read_rows(data)])
    assert not problems and not unknown
    example = next(e for e in policy.ir.examples if e.label.startswith("32个部门"))
    assert records == [r for _, r in example.records]  # the worked example, value for value
    results, report = tmp_path / "results.xlsx", tmp_path / "report.html"
    args = ["--input", str(data), "--output"]
    assert main(["run", str(ROOT / "policies" / "county_departments.perf"), *args, str(results), "--explain"]) == 0
    assert main(["report", str(ROOT / "policies" / "county_departments.perf"), *args, str(report)]) == 0
    sheet = openpyxl.load_workbook(results, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    grade = next(i for i, h in enumerate(rows[0]) if h in ("grade", "评估档次"))
    grades = [r[grade] for r in rows[1:]]
    assert (len(grades), grades.count("先进"), grades.count("合格"), grades.count("不合格")) == (32, 8, 21, 3)
    assert '<span class="range">0..8</span>' in report.read_text(encoding="utf-8")
