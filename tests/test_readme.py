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
