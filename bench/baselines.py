"""Hand-written budget_engineer, the baselines perfdsl is measured against.

Each does what policies/budget_engineer.perf says: quality, efficiency and cost start at
100 and lose 5 per rejection, 3 per late submission and 1 per point of overrun (floor
0); ability is 100 + 3 per paper; total = 40/20/20/20% of them; grade 优秀 ≥ 90, 良好 ≥
80, 合格 ≥ 60, else 不合格. The polars ones also apply the quota: at most
round_half_up(20% · n) keep 优秀, best total first, then employee_id; the rest → 良好.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import polars as pl

from perfdsl.runtime import CONTEXT

# ---- per subject: Decimal and float ---------------------------------------------------
_0, _100, _3, _5, _90, _80, _60 = (Decimal(x) for x in (0, 100, 3, 5, 90, 80, 60))
_W40, _W20 = Decimal("0.40"), Decimal("0.20")


def decimal_subject(r: dict) -> tuple:
    """One subject in exact decimals (call inside decimal.localcontext(CONTEXT))."""
    quality = _100 - _5 * r["rejections"]
    if quality < _0:
        quality = _0
    efficiency = _100 - _3 * r["overdue"]
    if efficiency < _0:
        efficiency = _0
    cost = _100 - r["overrun"]
    if cost < _0:
        cost = _0
    ability = _100 + _3 * r["papers"]
    total = _W40 * quality + _W20 * efficiency + _W20 * cost + _W20 * ability
    grade = "优秀" if total >= _90 else "良好" if total >= _80 else "合格" if total >= _60 else "不合格"
    return quality, efficiency, cost, ability, total, grade


def decimal_all(records: list[dict]) -> list[tuple]:
    with localcontext(CONTEXT):
        return [decimal_subject(r) for r in records]


def float_subject(r: dict) -> tuple:
    quality = max(0.0, 100.0 - 5.0 * r["rejections"])
    efficiency = max(0.0, 100.0 - 3.0 * r["overdue"])
    cost = max(0.0, 100.0 - r["overrun"])
    ability = 100.0 + 3.0 * r["papers"]
    total = 0.4 * quality + 0.2 * efficiency + 0.2 * cost + 0.2 * ability
    grade = "优秀" if total >= 90 else "良好" if total >= 80 else "合格" if total >= 60 else "不合格"
    return quality, efficiency, cost, ability, total, grade


def float_all(records: list[dict]) -> list[tuple]:
    return [float_subject(r) for r in records]


# ---- whole cohort: polars --------------------------------------------------------------
def quota_count(n: int) -> int:
    """round_half_up(20% · n), exactly."""
    return int((Decimal("0.20") * n).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _grade(total: pl.Expr, t90, t80, t60) -> pl.Expr:
    return (pl.when(total >= t90).then(pl.lit("优秀")).when(total >= t80).then(pl.lit("良好"))
            .when(total >= t60).then(pl.lit("合格")).otherwise(pl.lit("不合格")))


def _quota(df: pl.DataFrame) -> pl.DataFrame:
    """Sort-based 20% quota on 优秀: the best k by (total desc, employee_id asc) keep it."""
    k = quota_count(df.height)
    keep = (df.lazy().filter(pl.col("grade") == "优秀").select("employee_id", "total")
            .sort(["total", "employee_id"], descending=[True, False]).head(k).select("employee_id").collect())
    demote = (pl.col("grade") == "优秀") & ~pl.col("employee_id").is_in(keep.get_column("employee_id"))
    return df.with_columns(pl.when(demote).then(pl.lit("良好")).otherwise(pl.col("grade")).alias("grade"))


def polars_float(df: pl.DataFrame) -> pl.DataFrame:
    """Binary floats throughout (fast; a total of exactly 90 on paper may land below it)."""
    out = (df.lazy().select(
        "employee_id",
        (100.0 - 5.0 * pl.col("rejections")).clip(lower_bound=0.0).alias("quality"),
        (100.0 - 3.0 * pl.col("overdue")).clip(lower_bound=0.0).alias("efficiency"),
        (100.0 - pl.col("overrun")).clip(lower_bound=0.0).alias("cost"),
        (100.0 + 3.0 * pl.col("papers")).alias("ability"))
        .with_columns((0.4 * pl.col("quality") + 0.2 * pl.col("efficiency") + 0.2 * pl.col("cost")
                       + 0.2 * pl.col("ability")).alias("total"))
        .with_columns(_grade(pl.col("total"), 90.0, 80.0, 60.0).alias("grade")).collect())
    return _quota(out)


def _dec(value: str, scale: int) -> pl.Expr:
    return pl.lit(Decimal(value), dtype=pl.Decimal(38, scale))


def polars_decimal(df: pl.DataFrame) -> pl.DataFrame:
    """Exact: whole-number indicators as Int64, cost and total as polars Decimal.

    overrun arrives as Decimal(38, 2). polars multiplies decimals at the larger of the two
    scales, so the weighted sum is computed at scale 3 (0.20 · cost has 3 decimals)."""
    d3 = pl.Decimal(38, 3)
    out = (df.lazy().select(
        "employee_id",
        (100 - 5 * pl.col("rejections")).clip(lower_bound=0).alias("quality"),
        (100 - 3 * pl.col("overdue")).clip(lower_bound=0).alias("efficiency"),
        (_dec("100", 2) - pl.col("overrun")).clip(lower_bound=_dec("0", 2)).alias("cost"),
        (100 + 3 * pl.col("papers")).alias("ability"))
        .with_columns((_dec("0.40", 3) * pl.col("quality").cast(d3) + _dec("0.20", 3) * pl.col("efficiency").cast(d3)
                       + _dec("0.20", 3) * pl.col("cost").cast(d3) + _dec("0.20", 3) * pl.col("ability").cast(d3))
                      .alias("total"))
        .with_columns(_grade(pl.col("total"), _dec("90", 3), _dec("80", 3), _dec("60", 3)).alias("grade")).collect())
    return _quota(out)


# ---- zen-engine (GoRules), when installed -------------------------------------------------
ZEN_JDM = {
    "nodes": [
        {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
        {"id": "score", "type": "expressionNode", "name": "budget_engineer", "position": {"x": 200, "y": 0},
         "content": {"expressions": [
             {"id": "1", "key": "quality", "value": "max([0, 100 - 5 * rejections])"},
             {"id": "2", "key": "efficiency", "value": "max([0, 100 - 3 * overdue])"},
             {"id": "3", "key": "cost", "value": "max([0, 100 - overrun])"},
             {"id": "4", "key": "ability", "value": "100 + 3 * papers"},
             {"id": "5", "key": "total",
              "value": "0.40 * $.quality + 0.20 * $.efficiency + 0.20 * $.cost + 0.20 * $.ability"},
             {"id": "6", "key": "grade",
              "value": "$.total >= 90 ? '优秀' : ($.total >= 80 ? '良好' : ($.total >= 60 ? '合格' : '不合格'))"}]}},
        {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}}],
    "edges": [{"id": "e1", "sourceId": "in", "targetId": "score", "type": "edge"},
              {"id": "e2", "sourceId": "score", "targetId": "out", "type": "edge"}],
}


def zen_engine():
    """A zen-engine holding budget_engineer under the key "budget_engineer", or None when
    zen is not installed. Evaluate with `evaluate_batch`: one `ZenDecision.evaluate` call
    costs ~20× more per subject in its Python binding."""
    try:
        import zen
    except ImportError:
        return None
    return zen.ZenEngine({"loader": {"type": "static", "content": {"budget_engineer": ZEN_JDM}}})


def zen_all(engine, records: list[dict]) -> list:
    out = engine.evaluate_batch([{"key": "budget_engineer", "context": r} for r in records])
    if not all(o.get("success") for o in out):
        raise RuntimeError(next(o.get("error") for o in out if not o.get("success")))
    return out


# ---- the other bundled individual schemes, hand-written (individual stage, exact) -----------
# Each returns the values Policy.evaluate gives for one subject (and its individual flags),
# written as a programmer would: the same exact arithmetic, no validation, no trace.
_1, _4, _05, _07, _03, _1200, _8000 = (Decimal(x) for x in ("1", "4", "0.5", "0.70", "0.30", "1200", "8000"))
_CENT = Decimal("0.01")
_BRANCH = ("优秀", "良好", "合格", "欠佳")


def branch_subject(r: dict) -> tuple:
    """branch_employees: total = 70% performance + 30% behavior; grade by 90/80/60; a minor
    violation caps it at 合格, a severe one gives 欠佳; the flag reads history + [grade]."""
    total = _07 * r["performance"] + _03 * r["behavior"]
    g = 0 if total >= _90 else 1 if total >= _80 else 2 if total >= _60 else 3
    if r["violation_minor"] and g < 2:
        g = 2
    if r["violation_severe"]:
        g = 3
    grade = _BRANCH[g]
    history = list(r["history"]) + [grade]
    streak = 0
    for h in reversed(history):
        if h != "欠佳":
            break
        streak += 1
    flag = streak >= 2 or history.count("欠佳") >= 3
    return total, grade, flag


def clinic_subject(r: dict) -> tuple:
    """village_clinic: total = the seven parts; 合格 ≥ 80; standard = round(population / 1200 ·
    8000, 2); subsidy = standard, or round(total / 80 · standard, 2) when 不合格."""
    total = (r["basic_medical"] + r["public_health"] + r["ncms"] + r["integration"] + r["admin_finance"]
             + r["environment"] + r["satisfaction"])
    grade = "合格" if total >= _80 else "不合格"
    standard = (r["population"] / _1200 * _8000).quantize(_CENT, rounding=ROUND_HALF_UP)
    subsidy = standard if grade == "合格" else (total / _80 * standard).quantize(_CENT, rounding=ROUND_HALF_UP)
    flag = r["failed_first_half"] and grade == "不合格"
    return total, grade, standard, subsidy, flag


_TOWN = ("先进", "合格", "不合格")


def towns_subject(r: dict) -> tuple:
    """county_towns: index = 90 · (50%·min(mid, 1) + 50%·min(end, 1)); leader = the mean of
    two; bonus and penalty summed per item, each capped at 4; total = index + leader + bonus
    − penalty; 先进 ≥ 90, 合格 ≥ 60; any of three cases caps at 合格; dereliction → 不合格."""
    completion = _05 * min(r["index_mid"], _1) + _05 * min(r["index_end"], _1)
    leader = _05 * r["leader_mid"] + _05 * r["leader_end"]
    bonus = min(_4, 2 * r["cmd_city_party"] + 3 * r["cmd_province_party"] + 4 * r["cmd_central"]
                + r["cmd_city_dept"] + 2 * r["cmd_province_dept"] + 3 * r["cmd_ministry"] + r["extra_bonus"])
    penalty = min(_4, 2 * r["criticized_province"] + r["criticized_city"] + _05 * r["criticized_county"]
                  + _05 * r["complaints"] + r["disciplined"] + _05 * r["accountability"])
    index = _90 * completion
    total = index + leader + bonus - penalty
    g = 0 if total >= _90 else 1 if total >= _60 else 2
    if (r["major_accident"] or r["security_veto"] or r["corruption_case"]) and g < 1:
        g = 1
    if r["dereliction"]:
        g = 2
    return completion, leader, bonus, penalty, index, total, _TOWN[g]


SUBJECT_FNS = {"budget_engineer": decimal_subject, "branch_employees": branch_subject,
               "village_clinic": clinic_subject, "county_towns": towns_subject}


def hand_all(scheme: str, records: list[dict]) -> list[tuple]:
    """Every record through the hand-written function of `scheme`, inside CONTEXT."""
    fn = SUBJECT_FNS[scheme]
    with localcontext(CONTEXT):
        return [fn(r) for r in records]
