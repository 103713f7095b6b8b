"""One rule for the language a policy is answered in (perfdsl.language): explanations,
output column titles, the run summary and the report agree, even for a policy whose only
Chinese is in its reasons (before, explanations came in Chinese and headers in English)."""
from __future__ import annotations

from perfdsl.check import compile_file
from perfdsl.explain import language as explain_language
from perfdsl.language import policy_language
from perfdsl.outputs import language as outputs_language
from perfdsl.report.words import ZH, words_for

REASONS_ONLY = """policy p {
  key id
  input id: text
  input score: decimal in 0..100
  input late: int in 0..
  indicator att weight 100% {
    base 100
    deduct 1 per late "迟到一次扣1分"
    floor 0
  }
  score total = weighted(att)
  tiers grade by total {
    good >= 90
    poor otherwise
  }
}
"""


def _ir(tmp_path, text):
    path = tmp_path / "p.perf"
    path.write_text(text, encoding="utf-8")
    result = compile_file(path)
    assert result.policy is not None
    return result.policy


def test_chinese_reasons_make_every_output_chinese(tmp_path):
    ir = _ir(tmp_path, REASONS_ONLY)
    assert policy_language(ir) == explain_language(ir) == outputs_language(ir) == "zh"
    assert words_for(ir) is ZH


def test_an_english_policy_is_answered_in_english(tmp_path):
    ir = _ir(tmp_path, REASONS_ONLY.replace("迟到一次扣1分", "one point per late arrival"))
    assert policy_language(ir) == explain_language(ir) == outputs_language(ir) == "en"
    assert words_for(ir) is not ZH
