"""The IR's typed discriminators and the Definition union, as its readers rely on them.

The enums are str-valued and print as their plain word, so a reader comparing with a
string, formatting a message or printing code from the IR sees what it saw before they
were enums. The pure operations are named once for the IR and the core.
"""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from perfdsl.check import compile_file
from perfdsl.ir import (AggFn, DefKind, Fn, IndicatorDef, RefKind, Rounding, RuleKind, Stage, TiersDef, ValueDef)
from perfdsl.lower import core
from perfdsl.operations import CORE_ONLY, IR_ONLY, PURE


@pytest.mark.parametrize("member, word", [
    (RefKind.INPUT, "input"), (RefKind.SIZE, "size"), (Stage.COHORT, "cohort"), (AggFn.MEAN, "mean"),
    (Rounding.HALF_EVEN, "half_even"), (RuleKind.VETO, "veto"), (DefKind.OUTCOME, "outcome"),
])
def test_a_discriminator_is_its_word(member, word):
    assert member == word and hash(member) == hash(word)
    assert f"{member}" == str(member) == word
    assert repr(member) == repr(word)  # generated code prints it as the plain string
    assert type(member)(word) is member


def test_stages_are_ordered():
    assert Stage.latest([]) is Stage.INDIVIDUAL
    assert Stage.latest([Stage.POST, Stage.INDIVIDUAL]) is Stage.POST
    assert Stage.latest([Stage.POST, Stage.COHORT, Stage.INDIVIDUAL]) is Stage.COHORT


def test_the_pure_operations_are_named_once():
    pure = {name for name, _ in PURE}
    assert {f.name for f in Fn} == pure | {name for name, _ in IR_ONLY}
    assert {o.name for o in core.Op} == pure | {name for name, _ in CORE_ONLY}
    assert all(Fn[name].value == core.Op[name].value for name in pure)
    assert core.Op.ADD.value == "+" and Fn.DIV.value == "/" and core.Op.PICK.value == "pick"
    assert "DIV" not in core.Op.__members__ and "STEP" not in Fn.__members__


def test_each_definition_is_one_variant_that_still_answers_the_other_bodies(tmp_path):
    path = tmp_path / "p.perf"
    path.write_text('''policy p {
  input late: int in 0..5
  indicator att "出勤" weight 100% { base 20  deduct 2 per late "迟到"  floor 0 }
  score total = weighted(att)
  tiers grade by total { 好 >= 15  差 otherwise }
  veto late > 4 -> 差 "屡次迟到"
}
''', encoding="utf-8")
    policy = compile_file(path).policy
    att, total, grade = (policy.definition(n) for n in ("att", "total", "grade"))
    assert isinstance(att, IndicatorDef) and att.kind is DefKind.INDICATOR and att.weight == D(1)
    assert isinstance(total, ValueDef) and total.kind is DefKind.SCORE
    assert isinstance(grade, TiersDef) and grade.tiers.rules[0].kind is RuleKind.VETO
    # a reader not yet moved to the union asks for every body
    assert (att.expr, att.tiers) == (None, None) and att.indicator is not None
    assert (total.indicator, total.tiers, total.weight, total.max) == (None, None, None, None)
    assert (grade.expr, grade.indicator) == (None, None)
    assert [type(e).__name__ for e in grade.expressions()] == ["Ref", "Prim"]
