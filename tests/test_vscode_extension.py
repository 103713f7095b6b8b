"""editors/vscode: the extension's manifest, language configuration and TextMate grammar.

The grammar's own tests (vscode-tmgrammar-test assertions in tests/unit, snapshots in
tests/snap) and the client's (tests/client.test.js, node's runner) run on node; they are run from here when `npm ci` has installed the tools,
and CI (CI=true, where .ci/run runs `npm ci` first) fails rather than skips without them.
The checks below need no node: the manifest points at files that exist, and every
keyword of grammar/perf.lark, in both languages, is highlighted as a keyword.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from perfdsl.lsp.complete import keywords

EXT = Path(__file__).resolve().parent.parent / "editors" / "vscode"
GRAMMAR = json.loads((EXT / "syntaxes" / "perf.tmLanguage.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((EXT / "package.json").read_text(encoding="utf-8"))


def _scope_of(word: str, line: str) -> str | None:
    """The scope the keyword patterns give `word` where it stands in `line`."""
    at = line.index(word)
    for p in GRAMMAR["repository"]["keyword"]["patterns"]:
        m = re.compile(p["match"]).search(line, at)
        if m and m.start() == at:
            return p["name"]
    return None


def test_manifest_contributes_the_perf_language_its_grammar_and_the_client():
    lang, = MANIFEST["contributes"]["languages"]
    grammar, = MANIFEST["contributes"]["grammars"]
    assert lang["id"] == grammar["language"] == "perf" and lang["extensions"] == [".perf"]
    assert grammar["scopeName"] == GRAMMAR["scopeName"] == "source.perf"
    assert (EXT / grammar["path"]).is_file() and (EXT / lang["configuration"]).is_file()
    assert (EXT / MANIFEST["main"]).is_file()
    assert "vscode-languageclient" in MANIFEST["dependencies"]
    assert MANIFEST["contributes"]["configuration"]["properties"]["perfdsl.server.command"]["default"] == ["perfdsl", "lsp"]
    assert "'perfdsl', 'lsp'" in (EXT / MANIFEST["main"]).read_text(encoding="utf-8")


def test_language_configuration_comments_brackets_and_auto_closing():
    conf = json.loads((EXT / "language-configuration.json").read_text(encoding="utf-8"))
    assert conf["comments"] == {"lineComment": "#"}
    assert ["【", "】"] in conf["brackets"] and ["{", "}"] in conf["brackets"]
    pairs = {(p["open"], p["close"]) for p in conf["autoClosingPairs"]}
    assert {("“", "”"), ("【", "】"), ('"', '"'), ("{", "}"), ("（", "）")} <= pairs
    # VS Code reads wordPattern as a JavaScript RegExp, where \w is ASCII only: CJK names are
    # listed by range, so double-click and completion take 扣分项 whole and stop at （ and ，.
    assert "\\w" not in conf["wordPattern"]
    words = re.findall(conf["wordPattern"], "指标 扣分项（x1，40%）")
    assert words == ["指标", "扣分项", "x1", "40%"]


def test_every_keyword_of_the_parser_is_highlighted_in_both_languages():
    words = keywords()
    assert {"indicator", "指标", "deduct", "扣", "rank by", "排序", "ties share", "并列共享"} <= set(words)
    for word in words:
        line = f"x {word} y"
        assert _scope_of(word, line) is not None, word


def test_keywords_stay_words_inside_chinese_and_english_names():
    # Lookarounds on \w, as the parser's (?!\w): 扣 is no keyword inside 扣分项, per none in per_diem.
    for name, word in (("扣分项", "扣"), ("每日", "每"), ("否决权", "否决"), ("deductible", "deduct"),
                       ("per_diem", "per"), ("x加", "加"), ("score2", "score")):
        assert _scope_of(word, f"a {name} b") is None, name
    assert _scope_of("扣", "  扣 5 每 迟到") == "keyword.other.indicator.perf"


def test_vsix_and_node_modules_are_not_committed():
    ignored = (EXT.parent.parent / ".gitignore").read_text(encoding="utf-8").split()
    assert "*.vsix" in ignored and "node_modules/" in ignored
    assert (EXT / "package-lock.json").is_file()  # `npm ci` installs exactly this


def test_grammar_unit_and_snapshot_tests_pass_on_vscode_textmate():
    tools = EXT / "node_modules" / ".bin" / "vscode-tmgrammar-test"
    npm = shutil.which("npm")
    if not tools.exists() or npm is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the TextMate grammar tests: .ci/run runs `npm ci` in editors/vscode first")
        pytest.skip("run `npm ci` in editors/vscode to run the grammar tests")
    done = subprocess.run([npm, "test", "--silent"], cwd=EXT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ tests/unit/keywords.perf run successfuly." in done.stdout
    assert done.stdout.count("run successfully.") == len(list((EXT / "tests" / "snap").glob("*.perf")))
    assert "# pass 2\n# fail 0" in done.stdout  # tests/client.test.js: the client starts `perfdsl lsp`
