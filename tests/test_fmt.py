"""perfdsl fmt: the canonical layout, comments kept, and meaning kept (LANGUAGE.md §12.4).

Properties over every .perf file in the repository and over generated policies: the
layout is a fixed point (fmt(fmt(x)) == fmt(x)), the checked IR is the same apart from
positions, and the examples give the same verdicts."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.diagnostics import Span
from perfdsl.examples import run_examples
from perfdsl.fmt import FormatError, format_text
from perfdsl.ir import ExampleDef
from perfdsl.policy import Policy
from perfdsl.syntax.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent


def fmt(text: str) -> str:
    return format_text(text, "t.perf")


# ---- the layout ----------------------------------------------------------------------------
def test_one_item_per_line_aligned_bands_rows_and_operators():
    src = ('policy p { key id  input id: text input x: int in 0..100\n'
           'table bonus(v) { v >= 90 : 10  v>=80:5 otherwise:0 }\n'
           'indicator q weight 100% { base 100 deduct 5 per x "扣"   up   to 20 clamp 0..100 }\n'
           'score total = ( q+bonus(x) )*1 - -3\n'
           'tiers grade by total {  优秀 >= 90   良好 >= 80   不合格 otherwise  } }\n')
    assert fmt(src) == (
        'policy p {\n'
        '  key id\n'
        '  input id: text\n'
        '  input x: int in 0..100\n'
        '  table bonus(v) {\n'
        '    v >= 90:   10\n'
        '    v >= 80:   5\n'
        '    otherwise: 0\n'
        '  }\n'
        '  indicator q weight 100% {\n'
        '    base 100\n'
        '    deduct 5 per x "扣" up to 20\n'
        '    clamp 0..100\n'
        '  }\n'
        '  score total = (q + bonus(x)) * 1 - -3\n'
        '  tiers grade by total {\n'
        '    优秀   >= 90\n'
        '    良好   >= 80\n'
        '    不合格 otherwise\n'
        '  }\n'
        '}\n')


def test_keyword_language_kept_and_fullwidth_punctuation_folded():
    src = ('方案 p {\n主键 id\n输入 id：text\n输入 bad：bool\n'
           '得分 total = max（1，2）\n'
           '等次 grade 按 total { 合格 >= 1 不合格 其他 }\n'
           '否决 bad → 不合格 "否决，理由"\n}\n')
    assert fmt(src) == ('方案 p {\n  主键 id\n  输入 id: text\n  输入 bad: bool\n'
                        '  得分 total = max(1, 2)\n'
                        '  等次 grade 按 total {\n    合格   >= 1\n    不合格 其他\n  }\n'
                        '  否决 bad -> 不合格 "否决，理由"\n}\n')


def test_input_labels_align_within_a_run_and_cohort_tables_align():
    src = ('policy p {\n  key id\n  input id: text "工号"\n  input score_a: decimal in 0..100 "得分"\n\n'
           '  input other: bool "x"\n'
           '  example "c" cohort {\n  |id|score_a|other|\n  | 甲 | 1 | false |\n  expect count(other == true) = 0 }\n}\n')
    assert fmt(src) == ('policy p {\n  key id\n'
                        '  input id: text                   "工号"\n'
                        '  input score_a: decimal in 0..100 "得分"\n\n'
                        '  input other: bool "x"\n'
                        '  example "c" cohort {\n'
                        '    | id | score_a | other |\n'
                        '    | 甲 | 1       | false |\n'
                        '    expect count(other == true) = 0\n'
                        '  }\n}\n')


def test_comments_stay_where_they_were():
    src = ('# head\n\nimport "std/bands"   # why\npolicy p {   # after brace\n'
           '  let t = max(\n     1,   # first\n     2\n  )\n'
           '  # before the end\n}\n# tail\n')
    assert fmt(src) == ('# head\n\nimport "std/bands"  # why\npolicy p {  # after brace\n'
                        '  let t = max(\n      1,  # first\n      2)\n'
                        '  # before the end\n}\n# tail\n')


def test_a_comment_between_tokens_keeps_its_line_break():
    # `,` never starts a line, except where a comment sits before it.
    out = fmt('policy p { let t = max(1  # one\n , 2) }\n')
    assert out == 'policy p {\n  let t = max(1  # one\n      , 2)\n}\n'
    assert fmt(out) == out


def test_blank_lines_kept_once_between_items_and_semicolons_dropped():
    out = fmt('policy p {\n\n\n  key id;\n\n\n\n  period monthly ; scale 0..\n\n}\n')
    assert out == 'policy p {\n  key id\n\n  period monthly\n  scale 0..\n}\n'


def test_unparsable_text_raises_with_the_parsers_diagnostic():
    with pytest.raises(FormatError) as err:
        format_text("policy p {\n  let = 1\n}\n", "bad.perf")
    d = err.value.diagnostics[0]
    assert (d.code, d.span.file, d.span.line, d.span.col) == ("PD001", "bad.perf", 2, 7)


def test_bom_and_crlf_are_normalized():
    assert fmt("\ufeffpolicy p {\r\n  key id\r\n}\r\n") == "policy p {\n  key id\n}\n"


def test_empty_and_comment_only_files():
    assert fmt("") == ""
    assert fmt("\n\n# only\n\n") == "# only\n"


# ---- the command ----------------------------------------------------------------------------
def test_fmt_check_lists_files_and_writes_nothing(tmp_path, capsys):
    ugly = tmp_path / "a.perf"
    ugly.write_text("policy p { key id }\n", encoding="utf-8")
    neat = tmp_path / "b.perf"
    neat.write_text("policy p {\n  key id\n}\n", encoding="utf-8")
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"would reformat {ugly}" in out and str(neat) not in out
    assert ugly.read_text(encoding="utf-8") == "policy p { key id }\n"
    assert main(["fmt", str(tmp_path)]) == 0
    assert ugly.read_text(encoding="utf-8") == "policy p {\n  key id\n}\n"
    assert main(["fmt", "--check", str(tmp_path)]) == 0


def test_fmt_skips_unparsable_files_under_a_directory_but_fails_on_a_named_one(tmp_path, capsys):
    bad = tmp_path / "bad.perf"
    bad.write_text("policy p {\n  let = 1\n}\n", encoding="utf-8")
    assert main(["fmt", "--check", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"{bad}: skipped, it does not parse" in err and "error[PD001]" in err and "Traceback" not in err
    assert main(["fmt", str(bad)]) == 1
    assert f"{bad}: cannot format" in capsys.readouterr().err
    assert bad.read_text(encoding="utf-8") == "policy p {\n  let = 1\n}\n"


def test_fmt_refuses_unreadable_files_without_a_traceback(tmp_path, capsys):
    (tmp_path / "bin.perf").write_bytes(b"\xff\xfe\x00")
    assert main(["fmt", str(tmp_path / "bin.perf"), str(tmp_path / "missing.perf")]) == 1
    err = capsys.readouterr().err
    assert "NUL bytes" in err and "cannot find" in err and "Traceback" not in err


def test_the_repository_is_formatted(monkeypatch, capsys):
    """What CI requires (issue 13): run `perfdsl fmt policies/ stdlib/ tests/` after editing."""
    monkeypatch.chdir(ROOT)
    assert main(["fmt", "--check", "policies", "stdlib", "tests"]) == 0, capsys.readouterr().out


def test_golden_directory_is_opted_out():
    assert (ROOT / "tests" / "golden" / ".perfdsl-fmt-ignore").exists()
    from perfdsl.fmt.command import files_to_format
    assert not [f for f, _ in files_to_format([str(ROOT / "tests")]) if "golden" in f.parts]


# ---- meaning is kept ----------------------------------------------------------------------
def ir_fingerprint(ir) -> str:
    """The checked IR without positions: spans, the source hash and example line numbers."""
    def plain(x):
        if isinstance(x, Span):
            return None
        if isinstance(x, ExampleDef):
            x = dataclasses.replace(x, records=tuple(rec for _, rec in x.records))
        if dataclasses.is_dataclass(x):
            return (type(x).__name__,) + tuple(plain(getattr(x, f.name)) for f in dataclasses.fields(x)
                                               if f.name != "source_hash")
        if isinstance(x, dict):
            return tuple(sorted((k, plain(v)) for k, v in x.items()))
        if isinstance(x, (list, tuple)):
            return tuple(plain(v) for v in x)
        return repr(x)
    return hashlib.sha256(repr(plain(ir)).encode("utf-8", "surrogatepass")).hexdigest()


def verdicts(ir) -> list[tuple[str, bool, tuple[str, ...]]]:
    """Each example's label, pass/fail and failures with line numbers removed."""
    return [(o.label, o.passed, tuple(f.split(": ", 1)[-1] for f in o.failures))
            for o in run_examples(Policy(ir, backend="reference"))]


def assert_same_meaning(path: Path, text: str) -> str:
    out = format_text(text, str(path))
    assert format_text(out, str(path)) == out
    before, after = compile_file(path, text), compile_file(path, out)
    assert [d.code for d in before.diagnostics] == [d.code for d in after.diagnostics]
    if before.policy is not None:
        assert ir_fingerprint(after.policy) == ir_fingerprint(before.policy)
        assert verdicts(after.policy) == verdicts(before.policy)
    return out


def _repository_files() -> list[Path]:
    files = []
    for top in ("policies", "stdlib", "tests"):
        for path in sorted((ROOT / top).rglob("*.perf")):
            module, _ = parse_text(path.read_text(encoding="utf-8"), str(path))
            if module is not None:  # tests/golden holds files broken on purpose
                files.append(path)
    return files


@pytest.mark.parametrize("path", _repository_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_file_formats_to_a_fixed_point_with_the_same_meaning(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    rel = path.relative_to(ROOT)
    assert_same_meaning(rel, path.read_text(encoding="utf-8"))


# ---- generated policies ---------------------------------------------------------------------
def _kw(en: str, zh: str):
    return st.sampled_from([en, zh])


_SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n  ", "\n\n", "  # 注释 c\n", "\n# own line\n"])


@st.composite
def policies(draw):
    """A policy as a token list, joined with random spacing, line breaks and comments,
    keywords in either language and some punctuation full-width."""
    k = lambda en, zh: draw(_kw(en, zh))
    t1, t2, t3 = draw(st.sampled_from([("优秀", "合格", "不合格"), ("A", "B", "C")]))
    toks = [k("policy", "方案"), "p", "{", k("key", "主键"), "id",
            k("input", "输入"), "id", ":", "text",
            k("input", "输入"), "x", ":", "int", k("in", "于"), "0", "..", "100", '"次数"',
            k("input", "输入"), "bad", ":", "bool"]
    rows = draw(st.integers(1, 3))
    toks += [k("table", "档次表"), "band", "(", "v", ")", "{"]
    for i in range(rows):
        toks += ["v", ">=", str(90 - 10 * i), ":", str(rows - i)]
    toks += [k("otherwise", "其他"), ":", "0", "}"]
    toks += [k("indicator", "指标"), "q", k("weight", "权重"), "100%", "{", k("base", "基础分"), "100"]
    for _ in range(draw(st.integers(0, 3))):
        verb = k("deduct", "扣") if draw(st.booleans()) else k("add", "加")
        toks += [verb, str(draw(st.integers(1, 9)))]
        toks += [k("per", "每"), "x"] if draw(st.booleans()) else [k("if", "如果"), "bad"]
        if draw(st.booleans()):
            toks += ['"理由"']
        if draw(st.booleans()):
            toks += [k("up to", "上限"), str(draw(st.integers(1, 30)))]
    toks += [k("clamp", "限定"), "0", "..", "100", "}"]
    toks += [k("let", "设"), "extra", "=", k("if", "如果"), "bad", k("then", "则"), "-", "1",
             k("else", "否则"), "band", "(", "x", ")", "+", "(", "x", "*", "2", ")"]
    toks += [k("score", "得分"), "total", "=", "weighted", "(", "q", ")"]
    toks += [k("tiers", "等次"), "grade", k("by", "按"), "total", "{", t1, ">=", "90", t2, ">=", "60",
             t3, k("otherwise", "其他"), "}"]
    toks += [k("veto", "否决"), "bad", "->", t3, '"否决"']
    toks += [k("flag", "标记"), '"低"', k("if", "如果"), "total", "<", "60"]
    x = draw(st.integers(0, 100))
    toks += [k("example", "示例"), '"e"', "{", k("given", "已知"), "id", "=", '"a"', ",", "x", "=", str(x),
             ",", "bad", "=", k("false", "假"), k("expect", "预期"), "grade", "=", t1, "}", "}"]
    text = ""
    for i, tok in enumerate(toks):
        if tok in ",:()" and draw(st.booleans()):
            tok = {",": "，", ":": "：", "(": "（", ")": "）"}[tok]
        text += tok + (draw(_SEPARATORS) if i + 1 < len(toks) else "\n")
    return text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_generated_policies_format_to_a_fixed_point_with_the_same_meaning(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("gen") / "g.perf"
    before = compile_file(path, text)
    assert before.policy is not None, [d.message for d in before.diagnostics]
    out = assert_same_meaning(path, text)
    assert out.count("#") == text.count("#")
    assert "，" not in out and "（" not in out
