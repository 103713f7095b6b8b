"""Deterministic synthetic budget_engineer cohorts (seeded), as records and as polars frames.

The distributions are loosely realistic for a monthly appraisal: most engineers have a
few rejections and late submissions, half never overrun the budget, a few publish. About
a third reach 优秀 (total ≥ 90) before the 20% quota, so the quota moves many subjects.
Overruns have two decimals; every number is exact.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "budget_engineer.perf"
SEED = 20240601


def columns(n: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """The raw columns: ints, and overrun in hundredths of a percentage point."""
    rng = np.random.default_rng(seed)
    overrun = np.where(rng.random(n) < 0.5, 0, rng.integers(0, 4001, n))
    return {
        "rejections": rng.poisson(4.0, n).astype(np.int64),
        "overdue": rng.poisson(3.0, n).astype(np.int64),
        "overrun_cents": overrun.astype(np.int64),
        "papers": rng.poisson(0.5, n).astype(np.int64),
    }


def frame(n: int, seed: int = SEED, overrun: str = "decimal") -> pl.DataFrame:
    """The cohort as a DataFrame: employee_id, rejections, overdue, overrun, papers.

    overrun="decimal" gives Decimal(38, 2) (exact), "float" gives Float64."""
    c = columns(n, seed)
    cents = pl.Series("overrun", c["overrun_cents"])
    if overrun == "decimal":
        over = pl.select((pl.lit(cents).cast(pl.Decimal(38, 2)) / 100).alias("overrun")).to_series()
    else:
        over = (cents.cast(pl.Float64) / 100).alias("overrun")
    ids = pl.select(pl.format("e{}", pl.int_range(0, n).cast(pl.String).str.zfill(8)).alias("employee_id")).to_series()
    return pl.DataFrame([ids, pl.Series("rejections", c["rejections"]), pl.Series("overdue", c["overdue"]),
                         over, pl.Series("papers", c["papers"])])


def records(n: int, seed: int = SEED) -> list[dict]:
    """The cohort as validated records (what Policy.evaluate takes with validate=False)."""
    c = columns(n, seed)
    cache: dict[int, Decimal] = {}

    def dec(v: int) -> Decimal:
        d = cache.get(v)
        if d is None:
            d = cache[v] = Decimal(v)
        return d
    cents: dict[int, Decimal] = {}

    def money(v: int) -> Decimal:
        d = cents.get(v)
        if d is None:
            d = cents[v] = Decimal(v).scaleb(-2)
        return d
    return [{"employee_id": f"e{i:08d}", "rejections": dec(r), "overdue": dec(o), "overrun": money(v), "papers": dec(p)}
            for i, (r, o, v, p) in enumerate(zip(c["rejections"].tolist(), c["overdue"].tolist(),
                                                 c["overrun_cents"].tolist(), c["papers"].tolist()))]


def float_records(n: int, seed: int = SEED) -> list[dict]:
    """The same cohort with binary floats (for the hand-written float baseline)."""
    c = columns(n, seed)
    return [{"employee_id": f"e{i:08d}", "rejections": r, "overdue": o, "overrun": v / 100, "papers": p}
            for i, (r, o, v, p) in enumerate(zip(c["rejections"].tolist(), c["overdue"].tolist(),
                                                 c["overrun_cents"].tolist(), c["papers"].tolist()))]
