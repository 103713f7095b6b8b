"""Hand-written polars scripts doing what `perfdsl run` does, CSV → CSV, for the baseline
of bench/cli_run.py (issue 15 item 2): budget_engineer, branch_employees, village_clinic.

    python bench/hand_polars.py SCHEME IN.csv OUT.csv

Written from the policy text and LANGUAGE.md, not from perfdsl's code: exact decimal work
throughout (inputs read as polars Decimal(38, 8), then computed as scaled integers; no
float anywhere), the cohort rules (budget_engineer's 20% quota, branch_employees' forced
distribution of bench/hand_distribute.py, village_clinic's rank flags), and the output
as perfdsl writes it: the same columns, numbers without trailing zeros (round(x, 2)
values with two decimals), UTF-8 with a byte order mark. What a hand script does not do
is perfdsl's care for hostile data (formula guards, every bad row worded): the
benchmark's data has none. bench/cli_run.py checks the two outputs are byte-identical.
"""
from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

S = 8  # the scale decimals are read at: exact for inputs with up to 8 decimals
UNIT = 10 ** S
DEC = pl.Decimal(38, S)


def unscaled(name: str) -> pl.Expr:
    """A decimal input column as integers in units of 10^-S."""
    return pl.col(name).cast(DEC).to_physical().cast(pl.Int64)


def positions(df: pl.DataFrame, by: list[str], descending: list[bool]) -> pl.Series:
    """Each row's 1-based position in the order `by` (no two rows tie: the key is last)."""
    order = df.select(pl.arg_sort_by(by, descending=descending)).to_series()
    return pl.zeros(df.height, dtype=pl.Int64, eager=True).scatter(order, pl.int_range(1, df.height + 1, eager=True))


def text(u: pl.Expr, scale: int, places: int = 0) -> pl.Expr:
    """The non-negative number u·10^-scale as perfdsl writes it: no trailing fractional
    zeros, at least `places` decimals."""
    whole = (u // 10 ** scale).cast(pl.String)
    frac = (u % 10 ** scale).cast(pl.String).str.zfill(scale).str.strip_chars_end("0")
    if places:
        frac = frac.str.pad_end(places, "0")
    return pl.when(frac == "").then(whole).otherwise(pl.concat_str([whole, pl.lit("."), frac]))


def half_up(numerator: pl.Expr, denominator: int) -> pl.Expr:
    """round half up of numerator / denominator, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def four_level(total: pl.Expr, unit: int, worst: str) -> pl.Expr:
    return (pl.when(total >= 90 * unit).then(pl.lit("优秀")).when(total >= 80 * unit).then(pl.lit("良好"))
            .when(total >= 60 * unit).then(pl.lit("合格")).otherwise(pl.lit(worst)))


def budget_engineer(df: pl.DataFrame) -> pl.DataFrame:
    """Four indicators weighted 40/20/20/20 (total in units of 10^-(S+1)), the standard four
    tiers, and at most 20% (half up) of everyone 优秀, best total first, then employee_id."""
    q = (100 - 5 * pl.col("rejections").cast(pl.Int64)).clip(lower_bound=0)
    e = (100 - 3 * pl.col("overdue").cast(pl.Int64)).clip(lower_bound=0)
    c = (100 * UNIT - unscaled("overrun")).clip(lower_bound=0)
    a = 100 + 3 * pl.col("papers").cast(pl.Int64)
    out = df.select("employee_id", q.alias("q"), e.alias("e"), c.alias("c"), a.alias("a"))
    total = 4 * pl.col("q") * UNIT + 2 * pl.col("e") * UNIT + 2 * pl.col("c") + 2 * pl.col("a") * UNIT
    out = out.with_columns(total.alias("t")).with_columns(four_level(pl.col("t"), 10 * UNIT, "不合格").alias("grade"))
    k = (2 * 20 * out.height + 100) // 200
    best = pl.col("grade") == "优秀"
    out = out.with_columns(positions(out, ["t", "employee_id"], [True, False]).alias("place"))
    place_among = pl.when(best).then(pl.col("place")).rank("ordinal")  # total desc, employee_id asc
    out = out.with_columns(pl.when(best & (place_among > k)).then(pl.lit("良好")).otherwise("grade").alias("grade"))
    return out.select("employee_id", text(pl.col("q"), 0).alias("quality"), text(pl.col("e"), 0).alias("efficiency"),
                      text(pl.col("c"), S).alias("cost"), text(pl.col("a"), 0).alias("ability"),
                      text(pl.col("t"), S + 1).alias("total"), "grade", pl.lit(None, dtype=pl.String).alias("flags"))


def branch_employees(df: pl.DataFrame) -> pl.DataFrame:
    """total = 70%·performance + 30%·behavior, four tiers, `limit` and `veto`, the forced
    distribution per dist_group (bench/hand_distribute.py), and the contract flag."""
    from hand_distribute import distribute
    total = 7 * unscaled("performance") + 3 * unscaled("behavior")  # units of 10^-(S+1)
    unit = 10 * UNIT
    band = (pl.when(total >= 90 * unit).then(0).when(total >= 80 * unit).then(1)
            .when(total >= 60 * unit).then(2).otherwise(3))
    minor = pl.col("violation_minor") == "true"
    severe = pl.col("violation_severe") == "true"
    work = df.select("employee_id", "dist_group", "dept_rating", "history", total.alias("total"),
                     band.alias("band"), minor.alias("minor"), severe.alias("severe"))
    band, minor, severe = pl.col("band"), pl.col("minor"), pl.col("severe")
    limited = pl.when(minor).then(pl.max_horizontal(band, pl.lit(2))).otherwise(band)
    changed = minor & (band < 2) & ~severe
    limit = pl.when(minor).then(2).otherwise(0)
    work = work.with_columns(
        pl.when(severe).then(3).otherwise(limited).cast(pl.Int64).alias("grade#index"),
        pl.max_horizontal(pl.when(changed).then(limited).otherwise(0), limit).cast(pl.Int64).alias("grade#ceiling"),
        severe.alias("grade#pinned"), limit.cast(pl.Int64).alias("grade#limit"))
    names = pl.Series(["优秀", "良好", "合格", "欠佳"])
    work = work.with_columns(pl.lit(names).gather(distribute(work)).alias("grade"))
    history = pl.col("history").str.split(";").list.eval(pl.element().filter(pl.element() != ""))
    poor = pl.col("grade") == "欠佳"
    earlier = history.list.eval((pl.element() == "欠佳").cast(pl.Int64)).list.sum()
    streak2 = poor & (history.list.last() == "欠佳")
    fired = streak2 | (earlier + poor.cast(pl.Int64) >= 3)
    return work.select("employee_id", text(pl.col("total"), S + 1).alias("total"), "grade",
                       pl.when(fired).then(pl.lit("解除或终止劳动合同")).alias("flags"))


CLINIC_PARTS = ("basic_medical", "public_health", "ncms", "integration", "admin_finance", "environment", "satisfaction")
CLINIC_FLAGS = ("优秀村卫生室", "通报批评", "负责人诫勉半年", "奖励负责人1000元", "免去负责人职务", "建议收回执业证书")


def village_clinic(df: pl.DataFrame) -> pl.DataFrame:
    """total = the seven parts; 合格 from 80; subsidy = population / 1200 × 8000 yuan to the
    cent (half up), times total / 80 when 不合格 (to the cent); rank flags by total desc,
    clinic_id asc over the whole town."""
    total = pl.sum_horizontal([unscaled(p) for p in CLINIC_PARTS])
    cents = half_up(pl.col("population").cast(pl.Int64) * 2000, 3)  # p/1200·8000 yuan = p·2000/3 cents
    out = df.select("clinic_id", total.alias("t"), cents.alias("standard"),
                    *[(pl.col(f) == "true").alias(f) for f in ("top3_last_year", "bottom3_fail_last_year",
                                                               "failed_first_half")])
    ok = pl.col("t") >= 80 * UNIT
    subsidy = pl.when(ok).then(pl.col("standard")).otherwise(half_up(pl.col("t") * pl.col("standard"), 80 * UNIT))
    n = out.height
    rank = positions(out, ["t", "clinic_id"], [True, False])
    out = out.with_columns(ok.alias("ok"), subsidy.alias("subsidy"), rank.alias("rank"))
    top3, bottom = pl.col("ok") & (pl.col("rank") <= 3), n + 1 - pl.col("rank")
    fails = ~pl.col("ok")
    conditions = [top3, fails & (bottom <= 3), fails & (bottom == 1), pl.col("top3_last_year") & top3,
                  pl.col("bottom3_fail_last_year") & fails & (bottom <= 3), pl.col("failed_first_half") & fails]
    flags = pl.concat_str([pl.when(c).then(pl.lit(label)) for c, label in zip(conditions, CLINIC_FLAGS)],
                          separator=";", ignore_nulls=True)
    return out.select("clinic_id", text(pl.col("standard"), 2, 2).alias("standard"), text(pl.col("t"), S).alias("total"),
                      pl.when(pl.col("ok")).then(pl.lit("合格")).otherwise(pl.lit("不合格")).alias("grade"),
                      text(pl.col("subsidy"), 2).alias("subsidy"), pl.when(flags != "").then(flags).alias("flags"))


SCHEMES = {"budget_engineer": budget_engineer, "branch_employees": branch_employees, "village_clinic": village_clinic}


def run(scheme: str, source: str, target: str) -> None:
    df = pl.read_csv(source, infer_schema=False)
    SCHEMES[scheme](df).write_csv(target, include_bom=True)  # a null is written as an empty cell


if __name__ == "__main__":
    run(*sys.argv[1:4])
