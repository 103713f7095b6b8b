"""The checker's part of the hardening issue (#9): items 7, 13, 15, 16, 17 and 18.

Each test states the exact diagnostic: its code, where it points and what it says.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from perfdsl.check import compile_file


def found(result, code):
    """The diagnostics of one code as (line:col, message, hint)."""
    return [(f"{d.span.line}:{d.span.col}", d.message, d.hint) for d in result.diagnostics if d.code == code]


def codes(result):
    return sorted(d.code for d in result.diagnostics)


# ---- 7: round(x, d) beyond precision 28 ------------------------------------------------
def test_round_needing_more_than_28_digits_is_an_error(check):
    result = check('''policy r {
  input x: decimal in 0..100
  let y = round(x / 3, 27)
}''')
    assert result.policy is None
    assert found(result, "PD023") == [("3:11", "`round` to 27 decimal places needs 29 significant digits here, "
                                               "but arithmetic keeps 28: the value can reach 33.3333",
                                       "round to at most 26 decimal places")]
    assert "   3 |   let y = round(x / 3, 27)\n     |           ^^^^^^^^^^^^^^^^\n" in result.rendered


def test_round_within_precision_is_quiet(check):
    result = check('''policy r {
  input x: decimal in 0..100
  let a = round(x / 3, 26)
  let b = round(x, 25)
  let c = floor(x * 1000, 2)
}''')
    assert result.diagnostics == [] and result.policy is not None


def test_round_of_an_exact_hundred_needs_the_carry_digit(check):
    result = check('''policy r {
  input x: decimal in 0..100
  let b = round(x, 26)
}''')
    assert found(result, "PD023") == [("3:11", "`round` to 26 decimal places needs 29 significant digits here, "
                                               "but arithmetic keeps 28: the value can reach 100",
                                       "round to at most 25 decimal places")]


def test_round_of_an_unbounded_value_warns_only_where_ordinary_values_fail(check):
    result = check('''policy r {
  input u: decimal in 0..
  input w: decimal in 1000000000000000000000000000000..
  let ok = round(u, 13)
  let risky = round(u, 14)
  let never = round(w, 0)
}''')
    assert found(result, "PW110") == [("5:15", "`round` to 14 decimal places fails for values of 1e14 or more, and this value has no bound",
                                       "round to at most 13 decimal places, or bound the inputs it reads with `in LO..HI`")]
    assert found(result, "PD023") == [("6:15", "`round` to 0 decimal places needs more than 28 significant digits for every value here: "
                                               "the value is at least 1.000e+30", "round to fewer decimal places")]


# ---- 13: look-alike names, bidi controls, rules that never fire -------------------------
def test_lookalike_names_warn_at_the_second_with_a_note_at_the_first(check):
    result = check('''policy r {
  input total: decimal in 0..100
  input totаl: decimal in 0..100
  tiers grade by total { A >= 90  B otherwise }
}''')
    assert result.policy is not None
    assert found(result, "PW107") == [("3:3", "`totаl` looks like `total` but is a different name: "
                                              "`а` (U+0430 CYRILLIC SMALL LETTER A) where the other has `a` (U+0061 LATIN SMALL LETTER A)",
                                       "write both with the same letters, or rename one so they look different")]
    (diag,) = [d for d in result.diagnostics if d.code == "PW107"]
    assert [(n.span.line, n.message) for n in diag.notes] == [(2, "`total` is declared here")]


def test_lookalike_tier_names_and_fullwidth_letters_warn(check):
    result = check('''policy r {
  input ｓcore: decimal in 0..100
  input score: decimal in 0..100
  tiers grade by score { Α >= 90  A otherwise }
}''')
    assert [(where, msg.split(" but ")[0]) for where, msg, _ in found(result, "PW107")] == [
        ("3:3", "`score` looks like `ｓcore`"), ("4:35", "`A` looks like `Α`")]


def test_unknown_name_written_in_another_script_says_which_letter_differs(check):
    result = check('''policy r {
  input total: decimal in 0..100
  let s = tоtal + 1
}''')
    assert found(result, "PD002") == [("3:11", "unknown name `tоtal`",
                                       "it looks like `total` but differs: `о` (U+043E CYRILLIC SMALL LETTER O) "
                                       "where the other has `o` (U+006F LATIN SMALL LETTER O)")]


def test_bidi_controls_in_strings_and_comments_warn(check):
    result = check('policy r {\n  input ok: bool "ab\u202ec"\n  let s = 1  # note \u2067x\u2069\n}')
    assert result.policy is not None
    assert found(result, "PW108") == [
        ("2:21", "bidirectional control character U+202E (RIGHT-TO-LEFT OVERRIDE): the line may display in a different order than it is read",
         "delete it; write right-to-left text without control characters"),
        ("3:21", "bidirectional control character U+2067 (RIGHT-TO-LEFT ISOLATE): the line may display in a different order than it is read",
         "delete it; write right-to-left text without control characters")]
    assert '   2 |   input ok: bool "ab\\u202ec"' in result.rendered


def test_bidi_control_inside_a_name_is_rejected(check):
    result = check('policy r {\n  input a\u200fb: bool\n}')
    assert result.policy is None
    assert found(result, "PD001") == [("2:10", "unexpected character '\\u200f'",
                                       "U+200F (RIGHT-TO-LEFT MARK) is invisible and may reorder the line as shown; delete it")]
    assert [d.code for d in result.diagnostics] == ["PD001"]  # the syntax error says it all


NEVER = '''policy r {
  input total: decimal in 60..100
  input late: int in 0..5
  input accident: bool
  tiers grade by total { A >= 90  B >= 50  C otherwise }
  veto total > 200 -> C "never"
  veto accident and late >= 6 -> C "never either"
  downgrade late > 5 or total < 0 by 1
  limit accident -> at most B
  veto late == 5 -> B "can fire"
}'''


def test_rules_that_can_never_fire_warn(check):
    result = check(NEVER)
    assert result.policy is not None
    msg = "can never fire: its condition is false for every input within the declared ranges"
    hint = "check the condition against the inputs' ranges, or drop the rule"
    assert found(result, "PW109") == [("6:3", f"this veto {msg}", hint), ("7:3", f"this veto {msg}", hint),
                                      ("8:3", f"this downgrade {msg}", hint)]
    # No band reaches C and the only rules that could move a subject there never fire.
    assert found(result, "PW102") == [("5:44", "tier `C` can never be reached: `grade` is banded by a value in 60..100",
                                       "check the thresholds against the score's range")]


# ---- 15: single-subject examples cannot expect cohort-stage flags ------------------------
def test_single_subject_example_expecting_a_group_aggregate_flag_is_an_error(check):
    result = check('''policy r {
  key id
  input id: text
  input dept: text
  input s: decimal in 0..100
  let avg = mean(s) per dept
  flag "不低于部门平均" if s >= avg
  flag "高分" if s >= 90
  example "e" { given id = "a", dept = "d", s = 95  expect flags = ["高分", "不低于部门平均"] }
}''')
    assert result.policy is None
    assert found(result, "PD020") == [("9:75", "flag '不低于部门平均' reads ranks or group values and cannot be expected of one subject",
                                       "expect it in a `cohort` example")]


def test_single_subject_example_may_expect_individual_flags_beside_cohort_ones(check):
    result = check('''policy r {
  key id
  input id: text
  input s: decimal in 0..100
  rank by s desc then id asc
  flag "第一" if rank(s) == 1
  flag "高分" if s >= 90
  example "e" { given id = "a", s = 95  expect flags = ["高分"] }
  example "c" cohort {
    | id | s  |
    | a  | 95 |
    expect flags of a = ["第一", "高分"]
  }
}''')
    assert result.diagnostics == [] and result.policy is not None


# ---- 16: table coverage at every call --------------------------------------------------
def test_table_coverage_is_checked_at_every_call(check):
    result = check('''policy r {
  input q: decimal in 0..1
  input z: decimal in -1..1
  table band(r) { r >= 0.5: 2  r >= 0: 1 }
  let a = band(q)
  let b = band(z)
}''')
    assert result.policy is None
    (diag,) = [d for d in result.diagnostics if d.code == "PD014"]
    assert (str(diag.span), diag.message) == (f"{diag.span.file}:4:3", "table `band` has no `otherwise` and values [-1, 0) match no row")
    assert [(n.span.line, n.span.col, n.span.end_col, n.message) for n in diag.notes] == [
        (6, 11, 18, "called here with an argument in -1..1")]


def test_a_row_is_dead_only_when_no_call_reaches_it(check):
    result = check('''policy r {
  input q: decimal in 0.5..1
  input z: decimal in 0..1
  table band(r) { r >= 0.5: 2  r < 0.5: 1  r >= 2: 0 }
  let a = band(q)
  let b = band(z)
}''')
    assert result.policy is not None
    assert found(result, "PW103") == [("4:44", "this row can never match: earlier rows or the argument's range already take every value it accepts",
                                       "the argument ranges over 0..1 and 0.5..1")]


# ---- 17: every def and table is checked, called or not ----------------------------------
def test_uncalled_def_is_checked(check):
    result = check('''policy r {
  input q: decimal in 0..1
  def f(x) = x / 0 + undefined_name
}''')
    assert result.policy is None
    assert found(result, "PD024") == [("3:18", "division by zero", "divide by a number that cannot be 0")]
    assert found(result, "PD002") == [("3:22", "unknown name `undefined_name`", None)]


def test_uncalled_table_and_type_errors_are_checked(check):
    result = check('''policy r {
  input q: decimal in 0..1
  table t(r) { r >= 0.5: 2  r >= 0: "x" }
  def g(a, b) = (a and b) + 1
  def h(x) = nope(x)
}''')
    assert result.policy is None
    assert found(result, "PD003") == [("3:37", "table rows give different kinds of value: number and text", None),
                                      ("4:18", "`+` needs numbers, but this is bool", None)]
    assert found(result, "PD002")[0][:2] == ("5:14", "unknown function `nope`")


def test_uncalled_defs_of_any_parameter_type_check_clean(check):
    result = check('''policy r {
  input q: decimal in 0..1
  def append(xs, x) = xs + [x]
  def avg(xs) = mean(xs) + len(xs)
  def pick(c, a, b) = if c then a else b
  def runs(xs, v) = streak(xs, v) + count(xs, v)
  def band_of(x) = if x >= 90 then "A" else "B"
  def share(x, total) = x / total
  table steps(r) { r >= 1: 3  r >= 0: 1 }
  def via_table(x) = steps(x) * 2
  def wrapped(x) = mean([x, 1]) + sum([x]) + max([x, 2]) + trimmed_mean([x, x, x], 1)
  def agg(x) = mean(x) per dept + count(x) per dept
  input dept: text
}''')
    assert result.diagnostics == [] and result.policy is not None


def test_a_def_calling_itself_is_reported_even_uncalled(check):
    result = check('''policy r {
  input q: decimal in 0..1
  def f(x) = f(x) + 1
}''')
    assert codes(result) == ["PD019", "PD035"]  # as for a called one: how deep it nests, and the call


def test_stdlib_defs_check_clean_when_imported_uncalled(check):
    result = check('''import "std/bands"
policy r {
  input q: decimal in 0..1
  let a = q
}''')
    assert result.diagnostics == [] and result.policy is not None


# ---- 18: every diagnostic points at real text --------------------------------------------
def test_empty_list_error_points_at_the_brackets(check):
    result = check('''policy r {
  input a: decimal in 0..1
  let y = a + []
}''')
    assert found(result, "PD003") == [("3:15", "the right side of `+` must be a number, but this is list of number", None)]
    assert result.rendered.endswith("   3 |   let y = a + []\n     |               ^^")


def test_call_spans_reach_the_closing_parenthesis(check):
    result = check('''policy r {
  input a: decimal in 0..1
  let y = max(a,
              1
             ) + true
}''')
    (diag,) = result.diagnostics
    assert diag.message == "the right side of `+` must be a number, but this is bool"
    from perfdsl.syntax.parse import parse_text
    module, _ = parse_text("let y = max(a, 1 )", "m.perf")
    call = module.items[0].expr
    assert (call.span.col, call.span.end_col) == (9, 19)


BROKEN = [
    "let y = a + []",
    "let y = [] + a",
    "let y = max([], 1)",
    "let y = round(a, 2, sideways)",
    "let y = weighted(a)",
    "let y = weighted()",
    "let y = round(a * 100 / 3, 27)",
    "let y = nope(a)",
    "let y = len()",
    "let y = [a, true]",
    "let y = count([], true) + count(1, 1)",
    "let y = if a > 0 then [] else 1",
    "let y = mean(a) per nope",
    "let y = rank(a + 1)",
    "def f(x) = x / 0 + []",
    "table t(r) { r > 0: [] }\n  let z = t(a)",
    "table t(r) { r > 0.5: 1 }\n  let z = t(a)",
    "flag \"x\" if []",
    "veto [] -> B",
    "tiers g2 by [] { A >= 1  B otherwise }",
    "property \"p\": [] == 1",
    "example \"e\" { given a = [], b = 1  expect y = [] }",
    "quota Z at most 10% rank by a desc",
    "input b: list of decimal in 0..1 length 3..\n  let y = b + [[]]",
]


@pytest.mark.parametrize("snippet", BROKEN)
def test_no_diagnostic_points_outside_the_text(check, snippet):
    text = f'''policy r {{
  input a: decimal in 0..1
  tiers grade by a {{ A >= 0.5  B otherwise }}
  {snippet}
}}'''
    result = check(text)
    assert result.diagnostics, snippet
    _assert_spans_in_text(result)


def _assert_spans_in_text(result):
    for d in result.diagnostics:
        for span in [d.span] + [n.span for n in d.notes]:
            lines = result.sources.texts[span.file].split("\n")
            assert 1 <= span.line <= span.end_line <= len(lines), (d, span)
            assert 1 <= span.col <= len(lines[span.line - 1]) + 1, (d, span)
            assert 1 <= span.end_col <= len(lines[span.end_line - 1]) + 1, (d, span)


GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.perf")), ids=lambda p: p.stem)
def test_golden_corpus_spans_lie_in_the_text(path, monkeypatch):
    monkeypatch.chdir(GOLDEN.parent.parent)
    result = compile_file(path.relative_to(Path.cwd()))
    _assert_spans_in_text(result)


# ---- the code registry -------------------------------------------------------------------
def test_every_code_in_the_source_is_registered_and_has_a_golden():
    import re
    from perfdsl.diagnostics import CODES
    root = Path(__file__).resolve().parent.parent / "perfdsl"
    files = [*(root / "check").glob("*.py"), *(root / "syntax").glob("*.py")]
    used = {m for f in files for m in re.findall(r'"(P[DW]\d{3})"', f.read_text(encoding="utf-8"))}
    assert used == set(CODES)
    goldens = "".join(p.read_text(encoding="utf-8") for p in GOLDEN.glob("*.expected"))
    assert [code for code in CODES if f"[{code}]" not in goldens] == []


def test_indicator_lines_and_flags_that_never_fire_warn(check):
    result = check('''policy r {
  input late: int in 0..5
  indicator a { base 10  deduct 2 if late > 5  add 1 if late >= 5 }
  flag "缺勤过多" if late >= 10 or late < 0
  flag "全勤" if late == 0
}''')
    assert result.policy is not None
    assert found(result, "PW101") == [("3:26", "this line can never change `a`: its condition is false for every input within the declared ranges",
                                       "check the condition against the inputs' ranges, or drop the line")]
    assert found(result, "PW109") == [("4:3", "this flag can never be raised: its condition is false for every input within the declared ranges",
                                       "check the condition against the inputs' ranges, or drop the flag")]


def test_an_error_in_a_def_is_reported_once_however_often_it_is_inlined(check):
    result = check('''policy r {
  input q: decimal in 0..1
  def f(x) = x + nope
  def g(y) = f(y) * 2
  let a = f(q)
  let b = f(q)
}''')
    assert found(result, "PD002") == [("3:18", "unknown name `nope`", None)]
    assert [where for where, *_ in found(result, "PD035")] == ["4:14", "5:11", "6:11"]


POLICIES = Path(__file__).resolve().parent.parent / "policies"


def _broken_variants(text: str, seed: int, n: int = 12):
    """Deterministic damage to a good policy: a line dropped, a token replaced by
    something out of place, the text cut short, or `+ []` after a computed value."""
    import random
    rng = random.Random(seed)
    lines = text.split("\n")
    junk = ["[]", ")", "(", "[", "0 /", "true +", '"', "x.y", "round(1, 99)", "nope(", "→", "\u202e"]
    computed = [i for i, ln in enumerate(lines) if ln.strip().startswith(("let ", "score ", "outcome ", "设 ", "得分 "))]
    for _ in range(n):
        kind = rng.randrange(4 if computed else 3)
        if kind == 3:  # a well-formed line that fails to type: `... + []`
            i = rng.choice(computed)
            yield "\n".join(lines[:i] + [lines[i] + " + []"] + lines[i + 1:])
        elif kind == 0:
            i = rng.randrange(len(lines))
            yield "\n".join(lines[:i] + lines[i + 1:])
        elif kind == 1:
            words = text.split(" ")
            i = rng.randrange(len(words))
            yield " ".join(words[:i] + [rng.choice(junk)] + words[i + 1:])
        else:
            yield text[: rng.randrange(len(text))]


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.perf")), ids=lambda p: p.stem)
def test_damaged_bundled_policies_point_only_at_real_text(path, monkeypatch):
    monkeypatch.chdir(POLICIES.parent)
    rel = path.relative_to(POLICIES.parent)
    text = path.read_text(encoding="utf-8")
    for variant in _broken_variants(text, seed=sum(map(ord, path.name))):
        result = compile_file(rel, variant)
        _assert_spans_in_text(result)


@pytest.mark.parametrize("opening, closing", [("abs(", ")"), ("[", "]")])
def test_too_deep_nesting_points_into_the_file(check, opening, closing):
    result = check("policy r {\n  input q: decimal in 0..1\n  let a = " + opening * 130 + "q" + closing * 130 + "\n}")
    (diag,) = result.diagnostics
    assert diag.code == "PD019" and diag.message == "expression nested more than 120 levels deep"
    assert diag.span.file.endswith(".perf") and diag.span.line == 3
    _assert_spans_in_text(result)


def test_round_inside_a_def_names_the_call_whose_range_does_not_fit(check):
    result = check('''policy r {
  input small: decimal in 0..1
  input big: decimal in 0..100
  def third(x) = round(x / 3, 27)
  let a = third(small)
  let b = third(big)
}''')
    (diag,) = [d for d in result.diagnostics if d.code == "PD023"]
    assert (diag.span.line, diag.span.col) == (4, 18)
    assert [(n.span.line, n.span.col, n.message) for n in diag.notes] == [(6, 11, "for the value passed by this call")]


def test_single_subject_example_expecting_a_value_that_reads_ranks_through_a_let_is_an_error(check):
    result = check('''policy r {
  key id
  input id: text
  input s: decimal in 0..100
  rank by s desc then id asc
  let place = rank(s)
  outcome bonus = if place <= 3 then 100 else 0
  example "e" { given id = "a", s = 95  expect bonus = 100 }
}''')
    assert found(result, "PD020") == [("8:48", "`bonus` depends on the whole cohort and cannot be expected of one subject",
                                       "write a cohort example")]
