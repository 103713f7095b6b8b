"""An explanation asked for in the other language (`explanation(result, "en")`) says the
same facts in that language's words: the branch_employees distribution example, whose
Chinese reading tests/test_explain.py checks line by line, read in English."""
from __future__ import annotations

from pathlib import Path

from perfdsl import load
from perfdsl.explain import explanation

POLICIES = Path(__file__).resolve().parent.parent / "policies"
KINDS = ("veto", "distribute", "when", "bounds", "pinned", "cut", "placed")


def test_a_chinese_distribution_read_in_english():
    # 10 people, department rated 合格: 优秀 0, 良好 40%..70% = 4..7, 合格 25%..35% = 3..4 (half up),
    # 欠佳 5%..10% = 1; V1–V4 vetoed into 欠佳 first; of the other six X1 (rank 2) is not taken
    # for 优秀 (0 places) and is the first of 4 taken for 良好 (at least 4 beats at most 6 − 3 = 3).
    policy = load(POLICIES / "branch_employees.perf")
    ex = next(e for e in policy.ir.examples if e.cohort and "4人一票否决" in e.label)
    by_key = {r.key: r for r in policy.evaluate_cohort([rec for _, rec in ex.records], validate=False)}
    when = ('as 部门年度绩效（三级经理一组为分公司年度绩效） "合格" = "合格" (holds): '
            "优秀 0, 良好 4..7 (40%..70% of 10)")
    counts = ("head counts (rounded half up): 优秀 0, 良好 4..7 (40%..70% of 10), 合格 3..4 (25%..35% of 10), "
              "欠佳 1 (5%..10% of 10)")
    x1 = explanation(by_key["X1"], "en")
    assert x1.language == "en"
    assert [s.text for s in x1.steps if s.kind in KINDS] == [
        "distribute: 10 in group dist_group = 企划部, ranked by 年度绩效得分 desc, then 工号 asc: rank 2 of 10; "
        "优秀 on its own",
        when, counts, "the vetoed are placed first (欠佳 4); the other 6 are distributed",
        "优秀: 6 left, 1 of them 优秀 or better on their own; takes 0 (at least 0, at most 0); "
        "this one is 1st of those left: not taken",
        "良好: 6 left, 3 of them 良好 or better on their own; takes 4 (at least 4, at most 3, the least wins; "
        "3 must be left for the tiers below); this one is 1st of those left: placed in 良好",
        "优秀 → 良好"]
    v1 = explanation(by_key["V1"], "en")
    assert [s.text for s in v1.steps if s.kind in KINDS] == [
        "veto (违规违纪被公司通报（情节严重），个人绩效等级直接进入欠佳): 优秀 → 欠佳",
        "distribute: 10 in group dist_group = 企划部, ranked by 年度绩效得分 desc, then 工号 asc: rank 1 of 10; "
        "欠佳 on its own",
        when, counts, "the vetoed are placed first (欠佳 4); this one is vetoed into 欠佳 and not distributed"]
    assert explanation(by_key["X1"]).language == "zh"  # the policy's own language by default


def test_every_phrase_is_written_in_every_language():
    import tomllib

    from perfdsl.explain.words import PHRASES
    from perfdsl.language import LANGUAGES
    table = tomllib.loads(PHRASES.read_text(encoding="utf-8"))
    assert {"subject", "distribute", "cut_verdict", "flags"} <= set(table)
    for key, phrase in table.items():
        assert len(phrase) == len(LANGUAGES) and all(isinstance(p, str) and p for p in phrase), key


def test_the_policy_label_is_safe_to_print_in_either_language(tmp_path):
    # English used to print the policy's label raw in the head line (Chinese escaped it):
    # a right-to-left override in it would reorder the line on the terminal.
    from decimal import Decimal
    path = tmp_path / "p.perf"
    path.write_text('policy p "Sales\u202eteam" {\n  key id\n  input id: text\n  input score: decimal in 0..100\n'
                    "  score total = score\n}\n", encoding="utf-8")
    r = load(path).evaluate({"id": "a", "score": Decimal(5)}, trace=True)
    assert explanation(r, "en").steps[0].text == "Sales\\u202eteam (p) — id = a"
    assert explanation(r, "zh").steps[0].text == "Sales\\u202eteam：id a"
