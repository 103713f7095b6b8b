"""budget_engineer written by hand as one DuckDB query over Parquet, exact (issue 11 item 6).

    python bench/hand_duckdb.py IN.parquet OUT.parquet

The same work as `perfdsl run policies/budget_engineer.perf`: four indicators, weighted
40/20/20/20, the four standard tiers, and at most 20% (half up) of all subjects 优秀,
best total first, then employee_id. Exact: overrun (DECIMAL(38, 2)) is carried as an
integer of hundredths and the total as an integer of thousandths; no engine decimal
division, ROUND or POWER (issue 11 item 2's rule for the duckdb backend too). The
output has perfdsl's columns, numbers as DECIMAL. branch_employees' forced distribution
is not written here yet (see the report of this round).
"""
from __future__ import annotations

import sys

QUERY = """
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
         CAST(printf('%d.%02d', c100 // 100, c100 % 100) AS DECIMAL(38, 2)) AS cost, a AS ability,
         CAST(printf('%d.%04d', t10000 // 10000, t10000 % 10000) AS DECIMAL(38, 4)) AS total,
         CASE WHEN grade0 = '优秀' AND place > k THEN '良好' ELSE grade0 END AS grade
  FROM placed
  ORDER BY pos
) TO '{target}' (FORMAT parquet)
"""


def run(source: str, target: str) -> None:
    import duckdb
    con = duckdb.connect()
    con.execute(QUERY.format(source=source.replace("'", "''"), target=target.replace("'", "''")))


if __name__ == "__main__":
    run(*sys.argv[1:3])
