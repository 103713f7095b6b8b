"""The columnar backend (perfdsl.columnar) gives exactly what the reference gives.

Every bundled policy: its cohort examples and hypothesis-drawn cohorts, compared row by
row (values, tiers, flags), with the cohort warnings and errors. Then the cases that
matter most for exactness and placement: totals of exactly 90, ties at a quota's cut,
`ties share`, vetoed holders, grouped quotas, values that need Int128 or more than 28
digits, bad data, and the one fallback warning.
"""
from __future__ import annotations

import warnings
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import pytest

pl = pytest.importorskip("polars")  # the columnar backend needs polars (pyproject: dependencies)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdsl.check import compile_file
from perfdsl.cohort import CohortError
from perfdsl.columnar import ColumnarFallback, evaluate_table, frame_from_raw, frame_from_records, run_table
from perfdsl.columnar.agreement import disagreements, outcome_columnar, outcome_reference
from perfdsl.columnar.polars_plan import PolarsPlan
from perfdsl.lower import core as c
from perfdsl.lower import scaled
from perfdsl.io import DataError
from perfdsl.policy import Policy
from perfdsl.verify.strategies import cohorts
from test_cohort import QUOTA_POLICY

ROOT = Path(__file__).resolve().parent.parent
D = Decimal


@cache
def _reference(path: str) -> Policy | None:
    result = compile_file(path)
    if result.module or result.policy is None:
        return None
    return Policy(result.policy, backend="reference")


def _policy_text(tmp_path, text: str) -> Policy:
    path = tmp_path / "p.perf"
    path.write_text(text, encoding="utf-8")
    result = compile_file(path)
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    return Policy(result.policy, backend="reference")


POLICIES = [p for p in sorted((ROOT / "policies").glob("*.perf")) if _reference(str(p)) is not None]
COHORT_EXAMPLES = [(p, i) for p in POLICIES for i, ex in enumerate(_reference(str(p)).ir.examples) if ex.cohort]
BUDGET = str(ROOT / "policies" / "budget_engineer.perf")


def _same(policy: Policy, records: list[dict]):
    a, b = outcome_columnar(policy.ir, records), outcome_reference(policy, records)
    assert a == b
    return a


# ---- every bundled policy ---------------------------------------------------------------------
@pytest.mark.parametrize("path,index", COHORT_EXAMPLES, ids=[f"{p.stem}-{i}" for p, i in COHORT_EXAMPLES])
def test_cohort_examples_agree_with_the_reference(path, index):
    """Equal to the reference, and entirely as columns: no bundled scheme runs per row."""
    policy = _reference(str(path))
    records = [r for _, r in policy.ir.examples[index].records]
    rows, _ = _same(policy, records)
    assert len(rows) == len(records)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColumnarFallback)
        assert run_table(policy, frame_from_records(policy.ir, records)).fallbacks == []


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_drawn_cohorts_agree_with_the_reference(path):
    assert disagreements(_reference(str(path)), examples=12, seed=1) == []


def test_every_bundled_policy_is_covered():
    assert len(POLICIES) >= 10 and len(COHORT_EXAMPLES) >= 10


# ---- budget_engineer: exactness at the boundary, the quota, the output frame -----------------
def _engineer(eid, rejections, overdue, overrun, papers):
    return {"employee_id": eid, "rejections": D(rejections), "overdue": D(overdue), "overrun": D(overrun),
            "papers": D(papers)}


def test_a_total_of_exactly_90_is_excellent():
    policy = _reference(BUDGET)
    records = [_engineer("a", 4, 1, "7", 0),      # 32 + 19.4 + 18.6 + 20 = 90 exactly
               _engineer("b", 5, 0, "0.5", 0),    # 89.9
               _engineer("c", 6, 1, "0", 0), _engineer("d", 25, 0, "0", 0), _engineer("e", 20, 20, "50", 0)]
    _same(policy, records)
    frame = evaluate_table(policy, frame_from_records(policy.ir, records))
    a = frame.row(0, named=True)
    assert a["total"] == D(90) and a["grade"] == "优秀"   # 20% of 5 = 1 place, and a is the only 优秀
    assert frame.row(1, named=True)["grade"] == "良好"
    assert isinstance(frame.schema["total"], pl.Decimal)


def test_quota_keeps_the_best_and_moves_the_rest_down():
    policy = _reference(BUDGET)
    example = next(ex for ex in policy.ir.examples if ex.cohort and len(ex.records) == 10)
    frame = evaluate_table(policy, frame_from_records(policy.ir, [r for _, r in example.records]))
    grades = dict(zip(frame["employee_id"], frame["grade"]))
    assert [k for k, g in grades.items() if g == "优秀"] == ["e01", "e02"]   # e03 ties e02 on total, loses on id
    assert grades["e03"] == grades["e05"] == grades["e04"] == "良好"


def test_output_has_the_key_every_output_and_flags_in_input_order():
    policy = _reference(BUDGET)
    records = [_engineer(f"x{i}", i % 7, i % 3, f"{i % 11}.5", i % 2) for i in range(40)][::-1]
    frame = evaluate_table(policy, frame_from_records(policy.ir, records))
    assert frame.columns == ["employee_id"] + policy.ir.output_names() + ["flags"]
    assert frame["employee_id"].to_list() == [r["employee_id"] for r in records]
    _same(policy, records)


def test_numbers_as_text_take_the_validated_path():
    policy = _reference(BUDGET)
    df = pl.DataFrame({"employee_id": ["a", "b"], "rejections": ["1", "2"], "overdue": ["0", "3"],
                       "overrun": ["2.25", "0"], "papers": ["0", "1"]})
    records = policy.validate(df.to_dicts())
    assert outcome_columnar(policy.ir, records) == outcome_reference(policy, records)
    assert evaluate_table(policy, df)["total"].to_list() == [D("97.55"), D("94.8")]  # 38 + 20 + 19.55 + 20; 36 + 18.2 + 20 + 20.6


def test_bad_data_is_reported_as_evaluate_cohort_reports_it():
    policy = _reference(BUDGET)
    df = pl.DataFrame({"employee_id": ["a", "b", "a", "c"], "rejections": [1, -2, 0, 3], "overdue": [0, 0, 0, 0],
                       "overrun": [D("1.5"), D("0"), D("0"), D("2")], "papers": [0, 0, 0, 0]},
                      schema_overrides={"overrun": pl.Decimal(38, 1)})
    with pytest.raises(DataError) as columnar:
        evaluate_table(policy, df)
    with pytest.raises(DataError) as reference:
        policy.evaluate_cohort(df.to_dicts())
    assert str(columnar.value) == str(reference.value)
    assert "row 2" in str(columnar.value) and "duplicate key" in str(columnar.value)


def test_binary_floats_are_refused():
    policy = _reference(BUDGET)
    df = pl.DataFrame({"employee_id": ["a"], "rejections": [1], "overdue": [0], "overrun": [1.5], "papers": [0]})
    with pytest.raises(DataError, match="binary floats"):
        evaluate_table(policy, df)


def test_int128_and_more_than_28_digits_stay_exact():
    policy = _reference(BUDGET)
    huge = [_engineer("big", 0, 0, "0", 10 ** 20), _engineer("small", 1, 0, "0.01", 0)]   # Int128 columns
    _same(policy, huge)
    digits = [_engineer("long", 0, 0, "1.2345678901234567890123456789", 0), _engineer("s", 1, 0, "0", 0)]
    _same(policy, digits)   # 29 digits: the reference rounds `100 − overrun` to 28; so do the columns
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColumnarFallback)
        assert run_table(policy, frame_from_records(policy.ir, digits)).fallbacks == []


# ---- quotas: ties, ties share, vetoes, groups ---------------------------------------------------
QUOTA = QUOTA_POLICY  # the cohort tests' policy: the same rules on both paths


def _unit(i, dept, score, vetoed=False):
    return {"id": f"u{i}", "dept": dept, "score": D(score), "vetoed": vetoed}


def test_a_tie_at_the_cut_raises_like_the_reference(tmp_path):
    policy = _policy_text(tmp_path, QUOTA.replace("RULES", "quota 先进 at most 40% rank by score desc"))
    records = [_unit(1, "a", "95"), _unit(2, "a", "92"), _unit(3, "a", "92"), _unit(4, "a", "70"), _unit(5, "a", "60")]
    with pytest.raises(CohortError) as columnar:
        evaluate_table(policy, frame_from_records(policy.ir, records))
    with pytest.raises(CohortError) as reference:
        policy.evaluate_cohort(records)
    assert str(columnar.value) == str(reference.value)
    assert str(columnar.value) == ("全体人员：u2、u3 同分（score = 92），在先进名额至多 2 人（5 人的 40%，四舍五入）的分界处"
                                   "无法确定谁在名额之内：其中 1 人可入选、1 人不能；请增加能区分他们的排序依据，或写 `ties share`")


def test_ties_share_and_vetoed_holders_warn_like_the_reference(tmp_path):
    policy = _policy_text(tmp_path, QUOTA.replace("RULES", "quota 先进 at most 20% rank by score desc ties share"))
    records = [_unit(1, "a", "95"), _unit(2, "a", "95"), _unit(3, "a", "91"), _unit(4, "a", "80"), _unit(5, "a", "60")]
    _, warned = _same(policy, records)
    assert warned == ["全体人员：先进 2 人，超出名额 1 人（并列者同享最后名次）"]
    vetoed = QUOTA.replace("veto vetoed -> 良好", "veto vetoed -> 先进").replace(
        "RULES", "quota 先进 count 2..3 rank by score desc then id asc")
    policy = _policy_text(tmp_path, vetoed)
    records = [_unit(i, "a", s, v) for i, (s, v) in enumerate([("50", True), ("60", True), ("70", True), ("95", True),
                                                               ("99", False), ("40", False)])]
    _, warned = _same(policy, records)
    assert warned == ["全体人员：先进 4 人，超出名额 3 人（经否决定等次者保留其等次）"]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["95", "92", "90", "85", "60"]), st.booleans()),
                min_size=1, max_size=25))
def test_grouped_quotas_agree_with_the_reference(rows):
    policy = _grouped_policy()
    records = [_unit(i, dept, score, vetoed and i % 4 == 0) for i, (dept, score, vetoed) in enumerate(rows)]
    _same(policy, records)


@cache
def _grouped_policy() -> Policy:
    import tempfile
    text = QUOTA.replace("veto vetoed -> 良好", "veto vetoed -> 先进").replace(
        "RULES", "quota 先进 at most 25% per dept rank by score desc then id asc\n"
                 "  quota 良好 count 1..2 per dept rank by score desc then id asc")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.perf"
        path.write_text(text, encoding="utf-8")
        result = compile_file(path)
    assert result.policy is not None
    return Policy(result.policy, backend="reference")


# ---- the per-row path is said once ----------------------------------------------------------------
def test_what_cannot_be_held_in_columns_runs_per_row_and_says_so_once():
    """1E-30 beside 10^15 needs 46 digits at one scale: no Int128 holds it, so the policy
    runs per row (the reference's values) and the run names the field."""
    policy = _reference(BUDGET)
    records = [_engineer("tiny", 0, 0, "1E-30", 0), _engineer("big", 1, 0, "1000000000000000", 0)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_table(policy, frame_from_raw(policy.ir, records))
    fallback = [w for w in caught if issubclass(w.category, ColumnarFallback)]
    assert len(fallback) == 1 and "per row" in str(fallback[0].message) and "`overrun`" in str(fallback[0].message)
    assert result.fallbacks and "`overrun`" in result.fallbacks[0]
    _same(policy, records)


def test_village_clinic_runs_entirely_as_columns():
    """Inexact division (`round(population / 1200 * 8000, 2)`) in columns, digit for digit."""
    policy = _reference(str(ROOT / "policies" / "village_clinic.perf"))
    example = next(ex for ex in policy.ir.examples if ex.cohort)
    records = [r for _, r in example.records]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColumnarFallback)
        assert run_table(policy, frame_from_records(policy.ir, records)).fallbacks == []
    _same(policy, records)


def test_budget_engineer_runs_entirely_as_columns():
    policy = _reference(BUDGET)
    example = next(ex for ex in policy.ir.examples if ex.cohort)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColumnarFallback)
        result = run_table(policy, frame_from_records(policy.ir, [r for _, r in example.records]))
    assert result.fallbacks == []


# ---- scaled integers round as decimal does --------------------------------------------------------
_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "floor": ROUND_FLOOR, "ceil": ROUND_CEILING}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(-10 ** 20, 10 ** 20), min_size=1, max_size=20), st.integers(1, 6),
       st.sampled_from(sorted(_MODES)))
def test_integer_rounding_matches_decimal_quantize(values, digits, mode):
    values = values + [5 * 10 ** (digits - 1), -5 * 10 ** (digits - 1), 15 * 10 ** (digits - 1), -25 * 10 ** (digits - 1)]
    num = scaled.Num(digits, min(values), max(values))
    plan = scaled.round_to(scaled.column("x", num), 0, c.Rounding(mode))
    got = pl.DataFrame({"x": values}, schema={"x": pl.Int128 if num.wide else pl.Int64}).select(PolarsPlan(None).expr(plan.node))
    want = [int((D(v).scaleb(-digits)).quantize(D(1), rounding=_MODES[mode])) for v in values]
    assert got.to_series().to_list() == want


def test_group_aggregates_agree_with_the_reference(tmp_path):
    import warnings as _warnings
    from decimal import Decimal as _D

    from perfdsl.check import compile_file as _compile
    from perfdsl.columnar import frame_from_raw
    from perfdsl.policy import Policy as _Policy
    path = tmp_path / "g.perf"
    path.write_text('policy g { key id input id: text input dept: text input total: decimal in 0..100\n'
                    '  outcome avg = mean(total) per dept\n'
                    '  flag "低于部门平均" if total < mean(total) per dept }', encoding="utf-8")
    policy = _Policy(_compile(path).policy)
    recs = [{"id": "a", "dept": "x", "total": "80"}, {"id": "b", "dept": "x", "total": "90"},
            {"id": "c", "dept": "y", "total": "70"}]
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        rows = policy.evaluate_table(frame_from_raw(policy.ir, recs)).to_dicts()
    assert [(r["avg"], r["flags"]) for r in rows] == [(_D(85), "低于部门平均"), (_D(85), ""), (_D(70), "")]
    assert [(r.values["avg"], r.flags) for r in policy.evaluate_cohort(recs)] == [
        (_D(85), ["低于部门平均"]), (_D(85), []), (_D(70), [])]


# ---- every policy in tests/: as columns, equal to the reference ----------------------------------
from test_lower import POLICIES as ALL_POLICIES  # noqa: E402


@pytest.mark.parametrize("name", [n for n, _ in ALL_POLICIES])
def test_every_test_policy_runs_as_columns_like_the_reference(name):
    """Every bundled policy and every policy in tests/ on drawn cohorts: the columnar
    outcome equals the reference's, and no run goes per row (kitchen's `total / 3` and
    sales' ratio of revenue to target, whose quotients spread over more than ten powers of
    ten, included: perfdsl.lower.scaled.divide holds them)."""
    ir = dict(ALL_POLICIES)[name]
    reference = Policy(ir, backend="reference")

    @settings(max_examples=6, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(cohorts(ir, 1, 8))
    def check(records):
        assert outcome_columnar(ir, records, per_row=False) == outcome_reference(reference, records)
    check()
