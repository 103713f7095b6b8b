"""branch_employees' forced distribution written by hand in polars, from LANGUAGE.md §6
(not from perfdsl/lower/polars_cohort.py), and a benchmark of the two in one process.

    python bench/hand_distribute.py                 # 1,000,000 subjects
    python bench/hand_distribute.py --subjects 200000 --repeat 3

Two comparisons: the placement alone (the hand-written `distribute` against the core's
step printed by `place_frame`), and the whole policy from a typed frame (`whole`: the
checks `evaluate_table` makes of the data, total, tiers, distribute, the contract flag
and the output frame, by hand) against `perfdsl.columnar.evaluate_table`; both pairs
must give the same result before anything is timed.

The individual stage is shared (hand-written too: total in hundredths = 7·performance
tenths + 3·behavior tenths, exact; band; `limit` → at most 合格; `veto` → 欠佳, pinned).
Then both contenders place every group: the hand-written `distribute` below, and the
core's `Distribute` step of the bundled policy printed by `place_frame`. They must give
the same tier to every subject, and the hand-written one must equal perfdsl's reference
on a sample, before anything is timed. Groups hold about 25 subjects (a department).
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

RATINGS = ("优秀", "良好", "合格", "欠佳")
NAMES = ("优秀", "良好", "合格", "欠佳")
POLICY = HERE.parent / "policies" / "branch_employees.perf"


def frame(n: int, seed: int = 7, per_group: int = 25) -> pl.DataFrame:
    """n subjects: scores with one decimal in 50..100 (as tenths), groups of about
    `per_group` with one department rating each, 5% minor and 2% severe violations."""
    rng = np.random.default_rng(seed)
    groups = max(1, n // per_group)
    group = rng.integers(0, groups, n)
    rating = rng.integers(0, 4, groups)[group]
    return pl.DataFrame({
        "employee_id": pl.select(pl.format("e{}", pl.int_range(0, n).cast(pl.String).str.zfill(8))).to_series(),
        "dist_group": pl.select(pl.concat_str(pl.lit("g"), pl.lit(pl.Series(group)).cast(pl.String))).to_series(),
        "performance10": rng.integers(500, 1001, n), "behavior10": rng.integers(500, 1001, n),
        "dept_rating": pl.Series([RATINGS[i] for i in range(4)])[rating],
        "violation_minor": rng.random(n) < 0.05, "violation_severe": rng.random(n) < 0.02,
    })


def individual(df: pl.DataFrame) -> pl.DataFrame:
    """total (hundredths), the tier after band, limit and veto, and what distribute needs."""
    total = 7 * pl.col("performance10") + 3 * pl.col("behavior10")  # 70%·p + 30%·b, in hundredths
    band = pl.when(total >= 9000).then(0).when(total >= 8000).then(1).when(total >= 6000).then(2).otherwise(3)
    minor, severe = pl.col("violation_minor"), pl.col("violation_severe")
    limited = pl.when(minor).then(pl.max_horizontal(band, pl.lit(2))).otherwise(band)
    index = pl.when(severe).then(3).otherwise(limited)
    changed = minor & (band < 2) & ~severe
    limit = pl.when(minor).then(2).otherwise(0)
    ceiling = pl.max_horizontal(pl.when(changed).then(limited).otherwise(0), limit)
    return df.with_columns(total.alias("total"), index.cast(pl.Int64).alias("grade#index"),
                           ceiling.cast(pl.Int64).alias("grade#ceiling"), severe.alias("grade#pinned"),
                           limit.cast(pl.Int64).alias("grade#limit"))


def _round_half_up(percent: int, n: pl.Expr) -> pl.Expr:
    return (2 * percent * n + 100) // 200


def distribute(df: pl.DataFrame) -> pl.Series:
    """§6 for branch_employees: bounds with the `when` lines, vetoed subjects pinned, then
    from 优秀 down: k = clamp(q, max(lo', rem − Σhi' later), min(hi', rem − Σlo' later)),
    the k best allowed by (total desc, employee_id asc); 欠佳 takes the rest."""
    sizes = df.group_by("dist_group").agg(pl.len().alias("n"), pl.col("dept_rating").first())
    n, rating = pl.col("n").cast(pl.Int64), pl.col("dept_rating")
    small = n < 5
    lo = [_round_half_up(10, n), _round_half_up(40, n), _round_half_up(25, n), _round_half_up(5, n)]
    hi = [_round_half_up(20, n), _round_half_up(50, n), _round_half_up(35, n), _round_half_up(10, n)]
    poor = rating == "合格"
    lo[0], hi[0] = pl.when(poor).then(0).otherwise(lo[0]), pl.when(poor).then(0).otherwise(hi[0])
    hi[1] = pl.when(poor).then(_round_half_up(70, n)).otherwise(hi[1])
    for t in range(4):
        lo[t], hi[t] = pl.when(small).then(0).otherwise(lo[t]), pl.when(small).then(n).otherwise(hi[t])
    hi[0] = pl.when(small & (rating == "优秀")).then(1).when(small).then(0).otherwise(hi[0])
    lo[3] = pl.when(small & (rating == "欠佳")).then(1).otherwise(lo[3])
    hi[3] = pl.when(small & (rating == "欠佳")).then(n).otherwise(hi[3])
    pins = df.filter(pl.col("grade#pinned")).group_by("dist_group").agg(
        *[(pl.col("grade#index") == t).sum().alias(f"p{t}") for t in range(4)])
    bounds = sizes.with_columns(*[x.alias(f"lo{t}") for t, x in enumerate(lo)], *[x.alias(f"hi{t}") for t, x in enumerate(hi)]) \
        .join(pins, on="dist_group", how="left").fill_null(0)
    bounds = bounds.select("dist_group", *[pl.max_horizontal(pl.col(f"lo{t}") - pl.col(f"p{t}"), 0).alias(f"lo{t}") for t in range(4)],
                           *[pl.max_horizontal(pl.col(f"hi{t}") - pl.col(f"p{t}"), 0).alias(f"hi{t}") for t in range(4)])
    rows = df.with_row_index("row").select("row", "dist_group", "total", "employee_id", "grade#index", "grade#pinned",
                                          pl.max_horizontal("grade#ceiling", "grade#limit").alias("cap")) \
        .sort(["dist_group", "total", "employee_id"], descending=[False, True, False]) \
        .join(bounds, on="dist_group", how="left", maintain_order="left") \
        .with_columns(pl.when(pl.col("grade#pinned")).then(pl.col("grade#index")).alias("tier"))
    for t in range(3):
        waiting = pl.col("tier").is_null()
        counts = rows.group_by("dist_group").agg(waiting.sum().alias("rem"),
                                                 (waiting & (pl.col("grade#index") <= t)).sum().alias("q"))
        later_hi = pl.sum_horizontal(*[pl.col(f"hi{i}") for i in range(t + 1, 4)])
        later_lo = pl.sum_horizontal(*[pl.col(f"lo{i}") for i in range(t + 1, 4)])
        rows = rows.join(counts, on="dist_group", how="left", maintain_order="left")
        k = pl.min_horizontal(pl.col("rem"), pl.max_horizontal(pl.max_horizontal(pl.col(f"lo{t}"), pl.col("rem") - later_hi),
                                                               pl.min_horizontal(pl.col("q"), pl.min_horizontal(
                                                                   pl.col(f"hi{t}"), pl.col("rem") - later_lo))))
        eligible = waiting & (pl.col("cap") <= t)
        place = eligible.cast(pl.Int32).cum_sum().over("dist_group")
        rows = rows.with_columns(pl.when(eligible & (place <= k)).then(t).otherwise(pl.col("tier")).alias("tier")) \
            .drop("rem", "q")
    return rows.select(pl.col("tier").fill_null(3).sort_by("row"))["tier"]


def typed(n: int, seed: int = 7) -> pl.DataFrame:
    """The policy's inputs as a typed frame (what `perfdsl run` hands evaluate_table):
    scores as Decimal(38, 1), history as a List(String) of tier names."""
    raw = frame(n, seed)
    rng = np.random.default_rng(seed + 1)
    sizes = rng.choice([0, 1, 2, 3], n, p=[0.7, 0.1, 0.1, 0.1])
    picks = rng.integers(0, 4, int(sizes.sum()))
    history, at = [], 0
    for k in sizes.tolist():
        history.append([NAMES[i] for i in picks[at:at + k]])
        at += k

    def tenths(c: str) -> pl.Expr:
        return pl.format("{}.{}", pl.col(c) // 10, pl.col(c) % 10).cast(pl.Decimal(38, 1))
    return raw.select("employee_id", "dist_group", tenths("performance10").alias("performance"),
                      tenths("behavior10").alias("behavior"), "dept_rating", "violation_minor", "violation_severe",
                      pl.Series("history", history, dtype=pl.List(pl.String)))


def whole(df: pl.DataFrame) -> pl.DataFrame:
    """branch_employees by hand from a typed frame, with the checks evaluate_table makes:
    no missing values, scores in 0..100, ratings and history items among their names,
    unique keys; then total, tiers, distribute, the contract flag and the output frame."""
    p, b = pl.col("performance").to_physical(), pl.col("behavior").to_physical()  # tenths
    bad = pl.any_horizontal(*[pl.col(c).is_null() for c in df.columns], p < 0, p > 1000, b < 0, b > 1000,
                            ~pl.col("dept_rating").is_in(list(RATINGS)),
                            pl.col("history").list.eval(~pl.element().is_in(list(NAMES))).list.any())
    if df.select(bad.any()).item() or df.select(pl.col("employee_id").n_unique()).item() < df.height:
        raise ValueError("bad data")
    ind = individual(df.with_columns(p.alias("performance10"), b.alias("behavior10")))
    grade = pl.Series("grade", NAMES)[distribute(ind)]
    out = ind.select("employee_id", "total", "history").with_columns(grade)
    last = pl.concat_list("history", "grade")
    streak = last.list.reverse().list.eval((pl.element() != "欠佳").cum_sum() == 0).list.sum()
    count = last.list.eval(pl.element() == "欠佳").list.sum()
    flag = pl.when((streak >= 2) | (count >= 3)).then(pl.lit("解除或终止劳动合同")).otherwise(pl.lit(""))
    total = pl.col("total").cast(pl.Decimal(38, 2)) / pl.lit(100, dtype=pl.Decimal(38, 0))
    return out.select("employee_id", total.cast(pl.Decimal(38, 2)).alias("total"), "grade", flag.alias("flags"))


def printed(df: pl.DataFrame, step) -> pl.Series:
    from perfdsl.lower.polars_cohort import place_frame
    placed = place_frame(step, df, "employee_id")
    assert not placed.problems, placed.problems[:3]
    return placed.index


def checked_against_reference(n: int = 3000) -> None:
    """The hand-written placement equals perfdsl's reference on n subjects."""
    from decimal import Decimal

    from perfdsl import load
    df = frame(n, seed=11, per_group=6)  # small groups too: the `size < 5` lines
    policy = load(POLICY, backend="reference")
    records = [{"employee_id": r["employee_id"], "dist_group": r["dist_group"],
                "performance": Decimal(r["performance10"]).scaleb(-1), "behavior": Decimal(r["behavior10"]).scaleb(-1),
                "dept_rating": r["dept_rating"], "violation_minor": r["violation_minor"],
                "violation_severe": r["violation_severe"], "history": ()} for r in df.iter_rows(named=True)]
    want = [NAMES.index(r.values["grade"]) for r in policy.evaluate_cohort(records, trace=False, validate=False)]
    assert distribute(individual(df)).to_list() == want, "the hand-written distribution differs from perfdsl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from perfdsl.check import compile_file
    from perfdsl.lower import lower_policy
    (step,) = lower_policy(compile_file(POLICY).policy).steps
    checked_against_reference()
    df = individual(frame(args.subjects))
    hand, core = distribute(df), printed(df, step)
    assert hand.to_list() == core.to_list(), "the printed distribution differs from the hand-written one"
    from perfdsl.columnar import evaluate_table
    policy = compile_file(POLICY).policy
    frame_in = typed(args.subjects)
    by_hand, perfdsl = whole(frame_in), evaluate_table(policy, frame_in)
    assert by_hand.equals(perfdsl), "evaluate_table differs from the hand-written whole policy"
    print(f"{args.subjects:,} subjects, medians of {args.repeat} (CPU: all threads of this process)")
    _race({"hand-written polars": lambda: distribute(df), "core printed to polars": lambda: printed(df, step)},
          args.repeat, "placement alone")
    _race({"hand-written whole policy": lambda: whole(frame_in), "evaluate_table": lambda: evaluate_table(policy, frame_in)},
          args.repeat, "whole policy from a typed frame")


def _race(contenders: dict, repeat: int, what: str) -> None:
    """Time the two contenders alternately (load on a shared machine hits both alike)."""
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            gc.collect()
            t, p = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - p)
    print(what)
    for name in contenders:
        print(f"  {name:28s} wall {statistics.median(wall[name]):7.3f} s   CPU {statistics.median(cpu[name]):7.3f} s")
    hand, ours = list(contenders)
    ratio = {k: statistics.median(v[ours]) / statistics.median(v[hand]) for k, v in (("wall", wall), ("CPU", cpu))}
    print(f"  ratio {ours}/{hand}: wall {ratio['wall']:.2f}, CPU {ratio['CPU']:.2f}")


if __name__ == "__main__":
    main()
