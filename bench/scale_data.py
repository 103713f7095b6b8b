"""Parquet inputs of budget_engineer and branch_employees at 10M or 100M subjects, written
in chunks so that no more than one chunk is ever in memory (issue 11 item 6).

    python bench/scale_data.py --scheme budget_engineer --n 10000000 --out /tmp/scale

Columns are the policies' inputs with exact types: whole numbers as Int64, decimals as
Decimal(38, 2) (budget_engineer's overrun) or Decimal(38, 1) (scores), booleans, text,
and branch_employees' history as a list of text. Groups (dist_group) hold about 25
subjects each, with one department rating per group (the policy requires it). The data
is deterministic per chunk (seeded by scheme and chunk index).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

CHUNK = 1_000_000
RATINGS = ["优秀", "良好", "合格", "欠佳"]
PER_GROUP = 25
HISTORY = 3  # most past ratings a subject has
SEEDS = {"budget_engineer": 1, "branch_employees": 3}


def _decimal(name: str, units: np.ndarray, scale: int) -> pl.Series:
    """Integers counted in 10^-scale as an exact Decimal(38, scale) column."""
    s = pl.Series(units)
    text = (s // 10 ** scale).cast(pl.String) + "." + (s % 10 ** scale).cast(pl.String).str.zfill(scale)
    return text.cast(pl.Decimal(38, scale)).alias(name)


def _lists(lengths: np.ndarray, flat: np.ndarray) -> pl.Series:
    """Row k's history: the next lengths[k] items of flat as ratings, built as columns (item
    j of every row, then each list cut to its length) rather than a Python list per row."""
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    last = max(len(flat) - 1, 0)
    names = pl.Series(RATINGS)
    items = [names.gather(flat[np.minimum(start + j, last)]).alias(f"x{j}") for j in range(HISTORY)]
    return pl.DataFrame([*items, pl.Series("length", lengths)]).select(
        pl.concat_list([f"x{j}" for j in range(HISTORY)]).list.head(pl.col("length")).alias("history")).to_series()


def chunk(scheme: str, start: int, n: int) -> pl.DataFrame:
    rng = np.random.default_rng([SEEDS[scheme], start])
    index = pl.Series("i", np.arange(start, start + n))
    frame = pl.DataFrame(index)
    if scheme == "budget_engineer":
        return frame.select(
            (pl.lit("e") + pl.col("i").cast(pl.String).str.zfill(9)).alias("employee_id"),
            pl.Series("rejections", rng.integers(0, 8, n)), pl.Series("overdue", rng.integers(0, 8, n)),
            _decimal("overrun", rng.integers(0, 4000, n), 2),
            pl.Series("papers", rng.integers(0, 3, n)))
    group = pl.col("i") // PER_GROUP
    history_len = rng.integers(0, HISTORY + 1, n)
    history = _lists(history_len, rng.integers(0, 4, int(history_len.sum())))
    return frame.select(
        (pl.lit("e") + pl.col("i").cast(pl.String).str.zfill(9)).alias("employee_id"),
        (pl.lit("g") + group.cast(pl.String)).alias("dist_group"),
        _decimal("performance", rng.integers(500, 1001, n), 1),
        _decimal("behavior", rng.integers(500, 1001, n), 1),
        pl.lit(pl.Series(RATINGS)).gather((group * 7 + 3) % 4).alias("dept_rating"),
        pl.Series("violation_minor", rng.random(n) < 0.05), pl.Series("violation_severe", rng.random(n) < 0.02),
    ).with_columns(history)


def write(scheme: str, n: int, out: Path) -> Path:
    """`out/scheme-n.parquet`: chunks of CHUNK rows written as parts, then streamed into one
    file by polars' streaming engine (sink_parquet), so no more than a chunk is held."""
    target = out / f"{scheme}-{n}.parquet"
    if target.exists():
        return target
    parts = out / f"{scheme}-{n}.parts"
    parts.mkdir(parents=True, exist_ok=True)
    for k, start in enumerate(range(0, n, CHUNK)):
        part = parts / f"part-{k:05d}.parquet"
        if not part.exists():  # written whole or not at all, so a stopped run can go on
            chunk(scheme, start, min(CHUNK, n - start)).write_parquet(part.with_suffix(".partial"))
            part.with_suffix(".partial").rename(part)
    partial = target.with_suffix(".partial")
    pl.scan_parquet(sorted(parts.glob("part-*.parquet"))).sink_parquet(partial)
    partial.rename(target)
    for part in parts.glob("part-*.parquet"):
        part.unlink()
    parts.rmdir()
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scheme", choices=["budget_engineer", "branch_employees"], required=True)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--out", default="/tmp/perfdsl-scale")
    args = ap.parse_args()
    print(write(args.scheme, args.n, Path(args.out)))


if __name__ == "__main__":
    main()
