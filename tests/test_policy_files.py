"""Reading policy files and their imports safely (issue 9, items 10–12).

Only regular files are read, at most 8 MB of them, by every verb; a file that is not
policy text is refused without being quoted; imports are followed without recursion;
a UTF-8 BOM is accepted.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.diagnostics import render_all
from perfdsl.syntax.source import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
MODULE = 'def half(x) = x / 2\n'
POLICY = '''import "{target}"
policy p "p" {{
  key id
  input id: text
  input s: decimal in 0..100
  score t = half(s)
}}
'''


def _importing(tmp_path: Path, target: str) -> tuple[int, str]:
    """Check a policy importing `target`; (number of errors, the printed diagnostics)."""
    path = tmp_path / "p.perf"
    path.write_text(POLICY.format(target=target), encoding="utf-8")
    result = compile_file(path)
    return sum(d.is_error for d in result.diagnostics), render_all(result.diagnostics, result.sources)


def _perfdsl(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "perfdsl", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_an_import_of_proc_environ_does_not_print_the_environment(tmp_path):
    (tmp_path / "env.perf").symlink_to("/proc/self/environ")
    secret = "PERFDSL_TEST_SECRET_8c1f"
    env = dict(os.environ, SECRET_TOKEN=secret)
    (tmp_path / "p.perf").write_text(POLICY.format(target="env.perf"), encoding="utf-8")
    done = _perfdsl("check", str(tmp_path / "p.perf"), env=env)
    assert done.returncode == 1
    assert secret not in done.stdout + done.stderr
    assert "env.perf is not a policy file: it holds NUL bytes" in done.stderr
    assert "p.perf:1:1: error[PD018]" in done.stderr  # points at the import line
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_import_of_dev_zero_is_refused_at_once(tmp_path):
    (tmp_path / "zero.perf").symlink_to("/dev/zero")
    errors, text = _importing(tmp_path, "zero.perf")
    assert errors == 1
    assert "zero.perf is not a regular file (a device, FIFO or socket)" in text


def test_an_import_of_a_fifo_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.perf")
    (tmp_path / "p.perf").write_text(POLICY.format(target="pipe.perf"), encoding="utf-8")
    done = _perfdsl("check", str(tmp_path / "p.perf"), timeout=30)  # hung forever before
    assert done.returncode == 1
    assert "pipe.perf is not a regular file (a device, FIFO or socket)" in done.stderr


def test_the_size_limit_counts_the_bytes_read(tmp_path):
    big = tmp_path / "big.perf"
    with big.open("w", encoding="utf-8") as f:
        f.write(MODULE)
        line = "# " + "x" * 1000 + "\n"
        f.write(line * (MAX_BYTES // len(line) + 1))
    errors, text = _importing(tmp_path, "big.perf")
    assert errors == 1 and "big.perf is larger than 8 MB" in text


def test_perfdsl_test_applies_the_size_limit_before_parsing(tmp_path, monkeypatch, capsys):
    """`perfdsl test DIR` used to parse a 25 MB module in full before any limit applied."""
    from perfdsl import cli
    from perfdsl.check import resolve
    from perfdsl.syntax import parse
    big = tmp_path / "big.perf"
    big.write_text(MODULE + ("let a = 1\n" * (MAX_BYTES // 10 + 10)), encoding="utf-8")
    parsed: list[int] = []
    real = parse.parse_text
    spy = lambda text, file: parsed.append(len(text)) or real(text, file)  # noqa: E731
    monkeypatch.setattr(parse, "parse_text", spy)
    monkeypatch.setattr(resolve, "parse_text", spy)
    assert cli.main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "big.perf is larger than 8 MB" in out.err
    assert "0 passed, 1 failed" in out.out
    assert all(n <= MAX_BYTES for n in parsed)


def test_a_thousand_chained_imports_check_without_recursion(tmp_path):
    n = 1000
    for i in range(n):
        nxt = f'import "m{i + 1}.perf"\n' if i + 1 < n else ""
        (tmp_path / f"m{i}.perf").write_text(nxt + f"def f{i}(x) = x + {i}\n", encoding="utf-8")
    (tmp_path / "p.perf").write_text('import "m0.perf"\npolicy p "p" {\n  key id\n  input id: text\n'
                                     '  input s: decimal in 0..100\n  score t = f999(s)\n}\n', encoding="utf-8")
    result = compile_file(tmp_path / "p.perf")
    assert result.policy is not None, render_all(result.diagnostics, result.sources)
    assert len(result.sources.texts) == n + 1


def test_imported_items_come_first_in_import_order(tmp_path):
    (tmp_path / "a.perf").write_text('import "b.perf"\ndef fa(x) = x\n', encoding="utf-8")
    (tmp_path / "b.perf").write_text('def fb(x) = x\n', encoding="utf-8")
    (tmp_path / "c.perf").write_text('def fc(x) = x\n', encoding="utf-8")
    (tmp_path / "p.perf").write_text('import "a.perf"\nimport "c.perf"\nimport "b.perf"\npolicy p "p" {\n'
                                     '  key id\n  input id: text\n  score t = 1\n}\n', encoding="utf-8")
    from perfdsl.check import resolve
    program = resolve.load(tmp_path / "p.perf")
    assert [getattr(i, "name", None) for i in program.items[:3]] == ["fb", "fa", "fc"]


def test_an_import_cycle_is_read_once(tmp_path):
    (tmp_path / "a.perf").write_text('import "b.perf"\ndef fa(x) = x\n', encoding="utf-8")
    (tmp_path / "b.perf").write_text('import "a.perf"\n' + MODULE, encoding="utf-8")
    errors, text = _importing(tmp_path, "a.perf")
    assert errors == 0, text


def test_a_policy_saved_with_a_bom_checks_and_points_at_the_right_column(tmp_path):
    path = tmp_path / "bom.perf"
    path.write_bytes("\ufeffpolicy p \"p\" { key id input id: text score t = zz }\n".encode("utf-8"))
    result = compile_file(path)
    [d] = result.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("PD002", 1, 48)
    assert render_all([d], result.sources).splitlines()[1] == '   1 | policy p "p" { key id input id: text score t = zz }'
    path.write_bytes(("\ufeff" + (ROOT / "policies" / "hospital_safety.perf").read_text(encoding="utf-8")).encode("utf-8"))
    assert compile_file(path).policy is not None
    (tmp_path / "m.perf").write_bytes("\ufeffdef half(x) = x / 2\n".encode("utf-8"))
    assert _importing(tmp_path, "m.perf")[0] == 0


def test_a_long_line_is_quoted_only_around_the_caret(tmp_path):
    path = tmp_path / "one_line.perf"
    path.write_text('policy p "p" { key id input id: text ' + "let a1 = 1 " * 5000 + "score t = zz }\n", encoding="utf-8")
    result = compile_file(path)
    [d] = [d for d in result.diagnostics if d.code == "PD002"]
    quoted, caret = render_all([d], result.sources).splitlines()[1:3]
    assert len(quoted) < 200 and quoted.endswith("score t = zz }")
    assert quoted[caret.index("^"):].startswith("zz")
