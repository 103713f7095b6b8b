"""budget_engineer and branch_employees written by hand as DuckDB queries over Parquet,
exact, Parquet out (the baseline of bench/sql_scale.py, issue 11 item 6).

    python bench/hand_duckdb.py SCHEME IN.parquet OUT.parquet

The same work as `perfdsl run policies/SCHEME.perf`, from the policy text and LANGUAGE.md:
budget_engineer's four indicators weighted 40/20/20/20, four tiers and at most 20% (half
up) 优秀 by total desc, employee_id asc; branch_employees' 70/30 total, four tiers,
`limit`, `veto`, the forced distribution per dist_group (LANGUAGE.md §6: the `when`
bounds, vetoed subjects pinned, then from 优秀 down k = clamp(q, max(lo, rem − Σhi later),
min(hi, rem − Σlo later)) of the best allowed) and the contract flag. Exact: decimals are
carried as integers of their smallest unit and made DECIMAL again by an exact product
(n · 0.01); no engine decimal division, ROUND or POWER (issue 11 item 2). Output rows in input order,
with perfdsl's columns (flags as a list).
"""
from __future__ import annotations

import sys

BUDGET = """
COPY (
  WITH s AS (
    SELECT file_row_number AS pos, employee_id,
           greatest(0, 100 - 5 * rejections)::BIGINT AS q,
           greatest(0, 100 - 3 * overdue)::BIGINT AS e,
           greatest(0, 10000 - CAST(overrun * 100 AS BIGINT)) AS c100,
           (100 + 3 * papers)::BIGINT AS a
    FROM read_parquet('{source}', file_row_number = true)
  ), g AS (
    SELECT pos, employee_id, q, e, c100, a,
           4000 * q + 2000 * e + 20 * c100 + 2000 * a AS t10000,
    FROM s
  ), graded AS (
    SELECT *, CASE WHEN t10000 >= 900000 THEN '优秀' WHEN t10000 >= 800000 THEN '良好'
                   WHEN t10000 >= 600000 THEN '合格' ELSE '不合格' END AS grade0,
           (2 * 20 * count(*) OVER () + 100) // 200 AS k
    FROM g
  ), placed AS (
    SELECT *, CASE WHEN grade0 = '优秀' THEN row_number() OVER (
                PARTITION BY grade0 = '优秀' ORDER BY t10000 DESC, employee_id ASC) END AS place
    FROM graded
  )
  SELECT employee_id, q AS quality, e AS efficiency,
         CAST(c100 AS DECIMAL(18, 0)) * 0.01 AS cost, a AS ability,
         CAST(t10000 AS DECIMAL(18, 0)) * 0.0001 AS total,
         CASE WHEN grade0 = '优秀' AND place > k THEN '良好' ELSE grade0 END AS grade,
         []::VARCHAR[] AS flags
  FROM placed
  ORDER BY pos
) TO '{target}' (FORMAT parquet)
"""


def _rh(percent: int) -> str:
    """round half up of percent% of the group size n, in integers."""
    return f"(2 * {percent} * n + 100) // 200"


def _step(t: int, source: str) -> str:
    """Tier t's cut in every group: the k best waiting subjects allowed tier t."""
    later_hi = " + ".join(f"hi{i}" for i in range(t + 1, 4))
    later_lo = " + ".join(f"lo{i}" for i in range(t + 1, 4))
    return f"""
  step{t}_counts AS (
    SELECT *, sum(CASE WHEN tier IS NULL THEN 1 ELSE 0 END) OVER (PARTITION BY dist_group) AS rem,
              sum(CASE WHEN tier IS NULL AND idx <= {t} THEN 1 ELSE 0 END) OVER (PARTITION BY dist_group) AS q,
              sum(CASE WHEN tier IS NULL AND cap <= {t} THEN 1 ELSE 0 END) OVER (
                  PARTITION BY dist_group ORDER BY total DESC, employee_id ASC
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS place
    FROM {source}
  ), step{t} AS (
    SELECT * EXCLUDE (tier, rem, q, place),
           CASE WHEN tier IS NULL AND cap <= {t} AND place <= least(rem, greatest(greatest(lo{t}, rem - ({later_hi})),
                     least(q, least(hi{t}, rem - ({later_lo}))))) THEN {t} ELSE tier END AS tier
    FROM step{t}_counts
  )"""


BRANCH = """
COPY (
  WITH s AS (
    SELECT file_row_number AS pos, employee_id, dist_group, dept_rating, history,
           7 * CAST(performance * 10 AS BIGINT) + 3 * CAST(behavior * 10 AS BIGINT) AS total,
           violation_minor AS minor, violation_severe AS severe
    FROM read_parquet('{source}', file_row_number = true)
  ), i AS (
    SELECT *, CASE WHEN severe THEN 3 ELSE greatest(
                CASE WHEN total >= 9000 THEN 0 WHEN total >= 8000 THEN 1 WHEN total >= 6000 THEN 2 ELSE 3 END,
                CASE WHEN minor THEN 2 ELSE 0 END) END AS idx,
              CASE WHEN minor THEN 2 ELSE 0 END AS cap
    FROM s
  ), sizes AS (
    SELECT dist_group, count(*) AS n, first(dept_rating) AS rating,
           sum(CASE WHEN severe THEN 1 ELSE 0 END) AS pinned
    FROM i GROUP BY dist_group
  ), bounds AS (
    SELECT dist_group, n,
      CASE WHEN n < 5 OR rating = '合格' THEN 0 ELSE {lo0} END AS b_lo0,
      CASE WHEN n < 5 AND rating = '优秀' THEN 1 WHEN n < 5 OR rating = '合格' THEN 0 ELSE {hi0} END AS b_hi0,
      CASE WHEN n < 5 THEN 0 ELSE {lo1} END AS b_lo1,
      CASE WHEN n < 5 THEN n WHEN rating = '合格' THEN {hi1p} ELSE {hi1} END AS b_hi1,
      CASE WHEN n < 5 THEN 0 ELSE {lo2} END AS b_lo2,
      CASE WHEN n < 5 THEN n ELSE {hi2} END AS b_hi2,
      CASE WHEN n < 5 AND rating = '欠佳' THEN 1 WHEN n < 5 THEN 0 ELSE {lo3} END AS b_lo3,
      CASE WHEN n < 5 THEN n ELSE {hi3} END AS b_hi3,
      pinned
    FROM sizes
  ), placed AS (
    SELECT i.*, b_lo0 AS lo0, b_hi0 AS hi0, b_lo1 AS lo1, b_hi1 AS hi1, b_lo2 AS lo2, b_hi2 AS hi2,
           greatest(b_lo3 - pinned, 0) AS lo3, greatest(b_hi3 - pinned, 0) AS hi3,
           CASE WHEN severe THEN 3 END AS tier
    FROM i JOIN bounds USING (dist_group)
  ),{steps}
  , graded AS (
    SELECT pos, employee_id, total, history,
           ['优秀', '良好', '合格', '欠佳'][coalesce(tier, 3) + 1] AS grade
    FROM step2
  )
  SELECT employee_id, CAST(total AS DECIMAL(18, 0)) * 0.01 AS total, grade,
         CASE WHEN (grade = '欠佳' AND history[-1] = '欠佳')
                   OR len(list_filter(history, x -> x = '欠佳')) + CASE WHEN grade = '欠佳' THEN 1 ELSE 0 END >= 3
              THEN ['解除或终止劳动合同'] ELSE []::VARCHAR[] END AS flags
  FROM graded
  ORDER BY pos
) TO '{target}' (FORMAT parquet)
""".replace("{steps}", ",".join(_step(t, "placed" if t == 0 else f"step{t - 1}") for t in range(3))).replace(
    "{lo0}", _rh(10)).replace("{hi0}", _rh(20)).replace("{lo1}", _rh(40)).replace("{hi1}", _rh(50)).replace(
    "{hi1p}", _rh(70)).replace("{lo2}", _rh(25)).replace("{hi2}", _rh(35)).replace("{lo3}", _rh(5)).replace(
    "{hi3}", _rh(10))

QUERIES = {"budget_engineer": BUDGET, "branch_employees": BRANCH}


def run(scheme: str, source: str, target: str, memory_limit: str | None = None) -> None:
    import duckdb
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(QUERIES[scheme].replace("{source}", source.replace("'", "''")).replace(
        "{target}", target.replace("'", "''")))


if __name__ == "__main__":
    run(*sys.argv[1:4])
