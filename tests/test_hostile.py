"""Hostile policies and hostile data run through every verb without executing anything
and without a traceback; strings stay data from the policy text to every output."""
from __future__ import annotations

import ast
import json
import os

import pytest

from perfdsl import io
from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.codegen.python import generate

PAYLOAD = "__import__('os').system('touch PWNED')"
NASTY = ['"""', "'''", "\\", "{{ 7*7 }}", "{% raw %}", "\n", PAYLOAD, "\u202e\u200f", "}}}", '\\"); import os; ("']
LABEL = "".join(NASTY)


def perf_str(value: str) -> str:
    """The value written as a .perf string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def hostile_policy() -> str:
    label = perf_str(LABEL)
    return f'''
policy __import__ "{label}" {{
  key eval
  input eval: text "{label}"
  input exec: decimal in 0..100 "{PAYLOAD}"
  input self: bool "{{{{ self }}}}"
  input os: one of ("{PAYLOAD}", "a\\"b", "正常")
  indicator __class__ "{label}" weight 100% {{
    base exec
    deduct 5 if self "{label}"
    add 1 if os == "{PAYLOAD}" "{PAYLOAD}"
    clamp 0..100
  }}
  score Decimal "{PAYLOAD}" = weighted(__class__)
  let record = "{PAYLOAD}"
  let trace = record == eval
  tiers rt "{label}" by Decimal {{ 优秀 >= 90  None >= 60  lambda otherwise }}
  veto self and exec < 1 -> lambda "{label}"
  flag "{label}" if rt == None
  flag "{PAYLOAD}" if trace
  outcome return "{label}" = Decimal * 1%
  example "{label}" {{
    given eval = "{PAYLOAD}", exec = 60, self = false, os = "{PAYLOAD}"
    expect Decimal = 61, rt = None, trace = true, flags = ["{label}", "{PAYLOAD}"]
  }}
}}
'''


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "hostile.perf"
    path.write_text(hostile_policy(), encoding="utf-8")
    yield path
    assert not (tmp_path / "PWNED").exists()
    assert not os.path.exists("PWNED")


def test_hostile_policy_checks_and_keeps_strings_as_data(hostile):
    result = compile_file(hostile)
    assert result.policy is not None, result.diagnostics
    ir = result.policy
    assert ir.label == LABEL and ir.definitions[0].label == LABEL
    assert ir.flags[1].label == PAYLOAD


def test_generated_module_calls_nothing_from_the_policy(hostile):
    source = generate(compile_file(hostile).policy)
    tree = ast.parse(source)
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"__import__", "eval", "exec", "system", "compile", "open"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"__import__", "os", "eval", "exec", "self_", "lambda_"}
    attrs = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "system" not in attrs
    assert PAYLOAD in {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_every_verb_on_the_hostile_policy(hostile, tmp_path, capsys):
    assert main(["check", str(hostile)]) == 0
    assert main(["test", str(hostile)]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out
    data = tmp_path / "data.json"
    rows = [{"eval": v, "exec": 60 + i, "self": i % 2 == 0, "os": PAYLOAD if i % 3 else "正常"}
            for i, v in enumerate(["=cmd|' /C calc'!A0", PAYLOAD, '"""', "{{ 7*7 }}", "a\nb", "\u202eevil", "x\x00y"])]
    data.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    for fmt in ("csv", "json", "jsonl"):
        out = tmp_path / f"out.{fmt}"
        assert main(["run", str(hostile), "--input", str(data), "--output", str(out), "--explain"]) == 0
        back = io.read_rows(out)
        assert [r.values["eval"] for r in back] == [r["eval"] for r in rows]
        assert back[1].values["trace"] in (True, "true")
    assert main(["explain", str(hostile), "--input", str(data), "--id", PAYLOAD]) == 0
    assert PAYLOAD in capsys.readouterr().out
    out = tmp_path / "gen.py"
    assert main(["compile", str(hostile), "-o", str(out)]) == 0
    namespace: dict = {}
    exec(compile(out.read_text(encoding="utf-8"), str(out), "exec"), namespace)  # importing runs no policy text


def test_hostile_data_errors_are_listed_not_executed(hostile, tmp_path, capsys):
    data = tmp_path / "bad.csv"
    data.write_text(f'eval,exec,self,os\n"{PAYLOAD}",{PAYLOAD},maybe,"{{{{x}}}}"\n', encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["run", str(hostile), "--input", str(data), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 2, field exec: expected a number" in err
    assert "row 2, field self: expected true or false, got 'maybe'" in err
    assert "row 2, field os: expected one of" in err
    assert not out.exists()
