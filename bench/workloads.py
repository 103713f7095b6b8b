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


# ---- records for the four bundled individual schemes (raw, as a Python caller passes them) --
SCHEMES = ("budget_engineer", "branch_employees", "village_clinic", "county_towns")


def scheme_records(scheme: str, n: int, seed: int = SEED) -> list[dict]:
    """n raw records of `scheme`: ints for whole numbers, Decimals with up to two decimals,
    bools, text and lists, as a Python caller gives them to Policy.evaluate."""
    import random
    if scheme == "budget_engineer":
        return records(n, seed)
    rng = random.Random(f"{scheme}-{seed}")

    def dec(lo: int, hi: int, places: int = 1) -> Decimal:
        return Decimal(rng.randint(lo * 10 ** places, hi * 10 ** places)).scaleb(-places)
    out = []
    for i in range(n):
        if scheme == "branch_employees":
            out.append({"employee_id": f"e{i:08d}", "dist_group": f"g{rng.randint(0, 40)}",
                        "performance": dec(50, 100), "behavior": dec(50, 100),
                        "dept_rating": rng.choice(("优秀", "良好", "合格", "欠佳")),
                        "violation_minor": rng.random() < 0.05, "violation_severe": rng.random() < 0.02,
                        "history": [rng.choice(("优秀", "良好", "合格", "欠佳")) for _ in range(rng.randint(0, 3))]})
        elif scheme == "village_clinic":
            out.append({"clinic_id": f"c{i:08d}", "basic_medical": dec(15, 30), "public_health": dec(15, 30),
                        "ncms": dec(5, 10), "integration": dec(5, 10), "admin_finance": dec(2, 5),
                        "environment": dec(2, 5), "satisfaction": dec(5, 10), "population": rng.randint(300, 5000),
                        "top3_last_year": rng.random() < 0.1, "bottom3_fail_last_year": rng.random() < 0.05,
                        "failed_first_half": rng.random() < 0.1})
        elif scheme == "county_towns":
            def count(p: float) -> int:
                return rng.randint(1, 3) if rng.random() < p else 0
            out.append({"unit_id": f"u{i:08d}", "major_accident": rng.random() < 0.02,
                        "security_veto": rng.random() < 0.02, "corruption_case": rng.random() < 0.02,
                        "index_mid": dec(0, 1, 3) + Decimal("0.3"), "index_end": dec(0, 1, 3) + Decimal("0.3"),
                        "leader_mid": dec(5, 10), "leader_end": dec(5, 10),
                        "cmd_city_party": count(0.2), "cmd_province_party": count(0.1), "cmd_central": count(0.02),
                        "cmd_city_dept": count(0.3), "cmd_province_dept": count(0.1), "cmd_ministry": count(0.05),
                        "extra_bonus": dec(0, 1) if rng.random() < 0.1 else Decimal(0),
                        "criticized_province": count(0.05), "criticized_city": count(0.1),
                        "criticized_county": count(0.2), "complaints": count(0.1), "disciplined": count(0.05),
                        "accountability": count(0.05), "dereliction": rng.random() < 0.01})
        else:
            raise ValueError(f"no workload for {scheme}")
    return out
