"""budget_engineer and branch_employees written by hand as DuckDB queries over Parquet,
exact, Parquet out (the baseline of bench/sql_scale.py, issue 11 item 6).

    python bench/hand_duckdb.py SCHEME IN.parquet OUT.parquet [--memory 5GB] [--temp DIR]

The same work as `perfdsl run policies/SCHEME.perf --input IN.parquet --output OUT.parquet`,
written from the policy text and LANGUAGE.md §1/§6, checks included:

* the input checks perfdsl makes (every field present, `int in 0..` and `decimal in
  0..100` ranges, `one of` choices, history items tier names, the key employee_id
  unique): every bad row listed with its row number (from 1) and fields, nothing written,
  exit 1;
* budget_engineer: four indicators weighted 40/20/20/20, four tiers, at most 20% (half
  up) keep 优秀 by total desc, employee_id asc, the rest 良好. With the key unique, two
  subjects never tie on (total, employee_id), so the quota has no tie to report, and with
  no veto and no lower bound it has no warning to give;
* branch_employees: the 70/30 total, four tiers, `limit`, `veto`, the forced distribution
  per dist_group (§6: bounds round half up, the `when` lines in order, later ones winning;
  dept_rating constant in a group and every group feasible, else an error naming the
  groups and nothing written; vetoed subjects pinned in 欠佳 taking its bounds; then from
  优秀 down k = clamp(q, max(lo', rem − Σhi' later), min(hi', rem − Σlo' later)) of the best
  allowed), the warnings perfdsl gives (a tier's final count outside its bounds, fewer
  allowed than k), and the contract flag on the final grade.

Exact: decimals are carried as integers of their smallest unit (the Parquet types of
bench/scale_data.py, checked) and made DECIMAL again by an exact product (n · 0.01); no
engine decimal division, ROUND or POWER (issue 11 item 2). Output rows in input order,
with perfdsl's columns (flags as a list).

Out of core: the connection gets SETTINGS (memory_limit, temp_directory,
preserve_insertion_order = false: order comes from ORDER BY pos, threads = the machine's
cores); perfdsl's duckdb backend is compared fairly only under the same settings.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

RATINGS = ("优秀", "良好", "合格", "欠佳")
_RATING_LIST = "[" + ", ".join(f"'{r}'" for r in RATINGS) + "]"


def settings(memory: str, temp: str) -> list[str]:
    """The DuckDB settings of an out-of-core run (the duckdb backend's must be the same)."""
    return [f"SET memory_limit = '{memory}'", f"SET temp_directory = '{temp}'",
            "SET preserve_insertion_order = false", f"SET threads = {os.cpu_count() or 1}"]


# ---- input checks: (field, condition that makes a row bad) and the Parquet types assumed --------
CHECKS = {
    "budget_engineer": [
        ("employee_id", "employee_id IS NULL"),
        ("rejections", "rejections IS NULL OR rejections < 0"),
        ("overdue", "overdue IS NULL OR overdue < 0"),
        ("overrun", "overrun IS NULL OR overrun < 0"),
        ("papers", "papers IS NULL OR papers < 0"),
    ],
    "branch_employees": [
        ("employee_id", "employee_id IS NULL"),
        ("dist_group", "dist_group IS NULL"),
        ("performance", "performance IS NULL OR performance < 0 OR performance > 100"),
        ("behavior", "behavior IS NULL OR behavior < 0 OR behavior > 100"),
        ("dept_rating", f"dept_rating IS NULL OR NOT list_contains({_RATING_LIST}, dept_rating)"),
        ("violation_minor", "violation_minor IS NULL"),
        ("violation_severe", "violation_severe IS NULL"),
        ("history", f"history IS NULL OR len(list_filter(history, x -> x IS NULL OR NOT list_contains("
                    f"{_RATING_LIST}, x))) > 0"),
    ],
}
TYPES = {  # the queries below read decimals at these scales as integers
    "budget_engineer": {"rejections": "BIGINT", "overdue": "BIGINT", "overrun": "DECIMAL(38,2)",
                        "papers": "BIGINT"},
    "branch_employees": {"performance": "DECIMAL(38,1)", "behavior": "DECIMAL(38,1)"},
}


def _bad_rows(scheme: str) -> str:
    fields = ", ".join(f"CASE WHEN {bad} THEN '{name}' END" for name, bad in CHECKS[scheme])
    where = " OR ".join(f"({bad})" for _, bad in CHECKS[scheme])
    return (f"SELECT file_row_number + 1 AS row, concat_ws(', ', {fields}) AS fields "
            f"FROM read_parquet('{{source}}', file_row_number = true) WHERE {where} ORDER BY row")


DUPLICATES = """
SELECT employee_id, list(file_row_number + 1 ORDER BY file_row_number) AS rows
FROM read_parquet('{source}', file_row_number = true)
WHERE employee_id IN (SELECT employee_id FROM read_parquet('{source}') GROUP BY employee_id HAVING count(*) > 1)
GROUP BY employee_id ORDER BY min(file_row_number)
"""

# ---- budget_engineer ------------------------------------------------------------------------
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
                   WHEN t10000 >= 600000 THEN '合格' ELSE '不合格' END AS grade0
    FROM g
  ), placed AS (
    SELECT *, CASE WHEN grade0 = '优秀' THEN row_number() OVER (
                PARTITION BY grade0 = '优秀' ORDER BY t10000 DESC, employee_id ASC) END AS place
    FROM graded
  )
  SELECT employee_id, q AS quality, e AS efficiency,
         CAST(c100 AS DECIMAL(18, 0)) * 0.01 AS cost, a AS ability,
         CAST(t10000 AS DECIMAL(18, 0)) * 0.0001 AS total,
         CASE WHEN grade0 = '优秀' AND place > (2 * 20 * (SELECT count(*) FROM read_parquet('{source}')) + 100) // 200
              THEN '良好' ELSE grade0 END AS grade,
         []::VARCHAR[] AS flags
  FROM placed
  ORDER BY pos
) TO '{target}' (FORMAT parquet)
"""


# ---- branch_employees -----------------------------------------------------------------------
def _rh(percent: int) -> str:
    """round half up of percent% of the group size n, in integers."""
    return f"(2 * {percent} * n + 100) // 200"


# Each group's size, rating and vetoed count, and its bounds after the `when` lines (§6 step 1).
GROUPS = """
CREATE OR REPLACE TEMP TABLE groups AS
WITH sizes AS (
  SELECT dist_group, count(*) AS n, min(dept_rating) AS rating, max(dept_rating) AS other_rating,
         count(*) FILTER (WHERE violation_severe) AS pinned
  FROM read_parquet('{source}') GROUP BY dist_group
)
SELECT dist_group, n, rating, other_rating, pinned,
  CASE WHEN n < 5 OR rating = '合格' THEN 0 ELSE {lo0} END AS lo0,
  CASE WHEN n < 5 AND rating = '优秀' THEN 1 WHEN n < 5 OR rating = '合格' THEN 0 ELSE {hi0} END AS hi0,
  CASE WHEN n < 5 THEN 0 ELSE {lo1} END AS lo1,
  CASE WHEN n < 5 THEN n WHEN rating = '合格' THEN {hi1p} ELSE {hi1} END AS hi1,
  CASE WHEN n < 5 THEN 0 ELSE {lo2} END AS lo2,
  CASE WHEN n < 5 THEN n ELSE {hi2} END AS hi2,
  CASE WHEN n < 5 AND rating = '欠佳' THEN 1 WHEN n < 5 THEN 0 ELSE {lo3} END AS lo3,
  CASE WHEN n < 5 THEN n ELSE {hi3} END AS hi3
FROM sizes
""".replace("{lo0}", _rh(10)).replace("{hi0}", _rh(20)).replace("{lo1}", _rh(40)).replace("{hi1}", _rh(50)).replace(
    "{hi1p}", _rh(70)).replace("{lo2}", _rh(25)).replace("{hi2}", _rh(35)).replace("{lo3}", _rh(5)).replace(
    "{hi3}", _rh(10))

# Groups perfdsl refuses (§6: a `when` field not constant in the group; Σlo > n or Σhi < n).
GROUP_PROBLEMS = """
SELECT dist_group, CASE WHEN rating <> other_rating THEN 'dept_rating not constant: ' || rating || ', ' || other_rating
                        ELSE 'infeasible: n = ' || n || ', Σlo = ' || (lo0 + lo1 + lo2 + lo3)
                             || ', Σhi = ' || (hi0 + hi1 + hi2 + hi3) END AS problem
FROM groups
WHERE rating <> other_rating OR lo0 + lo1 + lo2 + lo3 > n OR hi0 + hi1 + hi2 + hi3 < n
ORDER BY dist_group
"""


def _step(t: int, source: str) -> str:
    """Tier t's cut in every group: the k best waiting subjects allowed tier t (short: fewer
    allowed than k, perfdsl's warning)."""
    later_hi = " + ".join(f"hi{i}" for i in range(t + 1, 4))
    later_lo = " + ".join(f"lo{i}" for i in range(t + 1, 4))
    return f"""
  step{t}_counts AS (
    SELECT *, sum(CASE WHEN tier IS NULL THEN 1 ELSE 0 END) OVER w AS rem,
              sum(CASE WHEN tier IS NULL AND idx <= {t} THEN 1 ELSE 0 END) OVER w AS q,
              sum(CASE WHEN tier IS NULL AND cap <= {t} THEN 1 ELSE 0 END) OVER w AS allowed,
              sum(CASE WHEN tier IS NULL AND cap <= {t} THEN 1 ELSE 0 END) OVER (
                  PARTITION BY dist_group ORDER BY total DESC, employee_id ASC
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS place
    FROM {source}
    WINDOW w AS (PARTITION BY dist_group)
  ), step{t}_k AS (
    SELECT *, least(rem, greatest(greatest(lo{t}, rem - ({later_hi})),
                                  least(q, least(hi{t}, rem - ({later_lo}))))) AS k
    FROM step{t}_counts
  ), step{t} AS (
    SELECT * EXCLUDE (tier, rem, q, allowed, place, k, short),
           CASE WHEN tier IS NULL AND cap <= {t} AND place <= k THEN {t} ELSE tier END AS tier,
           short OR allowed < k AS short
    FROM step{t}_k
  )"""


# Every subject's final tier (0..3 = 优秀..欠佳) and flag; `short` marks a group where a step
# found fewer allowed than it should take.
RESULT = """
CREATE OR REPLACE TEMP TABLE result AS
WITH s AS (
  SELECT file_row_number AS pos, employee_id, dist_group, history,
         7 * CAST(performance * 10 AS BIGINT) + 3 * CAST(behavior * 10 AS BIGINT) AS total,
         violation_minor AS minor, violation_severe AS severe
  FROM read_parquet('{source}', file_row_number = true)
), i AS (
  SELECT *, CASE WHEN severe THEN 3 ELSE greatest(
              CASE WHEN total >= 9000 THEN 0 WHEN total >= 8000 THEN 1 WHEN total >= 6000 THEN 2 ELSE 3 END,
              CASE WHEN minor THEN 2 ELSE 0 END) END AS idx,
            CASE WHEN minor THEN 2 ELSE 0 END AS cap
  FROM s
), placed AS (
  SELECT i.*, lo0, hi0, lo1, hi1, lo2, hi2,
         greatest(lo3 - pinned, 0) AS lo3, greatest(hi3 - pinned, 0) AS hi3,
         CASE WHEN severe THEN 3 END AS tier, false AS short
  FROM i JOIN groups USING (dist_group)
),{steps}
SELECT pos, employee_id, dist_group, total, coalesce(tier, 3) AS tier, short,
       (coalesce(tier, 3) = 3 AND history[-1] = '欠佳')
       OR len(list_filter(history, x -> x = '欠佳')) + CASE WHEN coalesce(tier, 3) = 3 THEN 1 ELSE 0 END >= 3
       AS fire
FROM step2
""".replace("{steps}", ",".join(_step(t, "placed" if t == 0 else f"step{t - 1}") for t in range(3)))

# The groups perfdsl warns about: a tier's final count outside its bounds (vetoed subjects
# can push 欠佳 over), or a step with fewer allowed than its k.
WARNINGS = """
SELECT g.dist_group, c.c0, c.c1, c.c2, c.c3, c.short
FROM (SELECT dist_group, count(*) FILTER (WHERE tier = 0) AS c0, count(*) FILTER (WHERE tier = 1) AS c1,
             count(*) FILTER (WHERE tier = 2) AS c2, count(*) FILTER (WHERE tier = 3) AS c3, bool_or(short) AS short
      FROM result GROUP BY dist_group) c JOIN groups g USING (dist_group)
WHERE c.short OR c0 NOT BETWEEN lo0 AND hi0 OR c1 NOT BETWEEN lo1 AND hi1
      OR c2 NOT BETWEEN lo2 AND hi2 OR c3 NOT BETWEEN lo3 AND hi3
ORDER BY g.dist_group
"""

BRANCH = f"""
COPY (
  SELECT employee_id, CAST(total AS DECIMAL(18, 0)) * 0.01 AS total, {_RATING_LIST}[tier + 1] AS grade,
         CASE WHEN fire THEN ['解除或终止劳动合同'] ELSE []::VARCHAR[] END AS flags
  FROM result
  ORDER BY pos
) TO '{{target}}' (FORMAT parquet)
"""

QUERIES = {"budget_engineer": BUDGET, "branch_employees": BRANCH}


class Refused(Exception):
    """Bad rows or groups: what perfdsl would refuse, listed; nothing written."""


def _fill(sql: str, source: str, target: str = "") -> str:
    return sql.replace("{source}", source.replace("'", "''")).replace("{target}", target.replace("'", "''"))


def _check(con, scheme: str, source: str) -> None:
    types = {name: t for name, t, *_ in con.execute(_fill("DESCRIBE SELECT * FROM read_parquet('{source}')", source))
             .fetchall()}
    wrong = [f"{f} is {types.get(f)}, not {t}" for f, t in TYPES[scheme].items() if types.get(f) != t]
    if wrong:
        raise Refused("input types this hand-written query does not read: " + "; ".join(wrong))
    bad = con.execute(_fill(_bad_rows(scheme), source)).fetchall()
    dups = con.execute(_fill(DUPLICATES, source)).fetchall()
    if bad or dups:
        raise Refused("\n".join([f"row {row}: {fields}" for row, fields in bad]
                                + [f"rows {', '.join(map(str, rows))}: duplicate key {key!r}" for key, rows in dups]))


def run(scheme: str, source: str, target: str, memory: str = "5GB", temp: str | None = None) -> list:
    """Check, compute and write; returns perfdsl's warnings as rows (branch_employees' groups)."""
    import duckdb
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(dir=temp) as spill:
        for s in settings(memory, spill):
            con.execute(s)
        warnings = compute(con, scheme, source)
        con.execute(_fill(QUERIES[scheme], source, target))
        con.close()
    return warnings


def compute(con, scheme: str, source: str) -> list:
    """Everything before the output is written: the checks, and for branch_employees the
    temp tables `groups` and `result` its output reads; perfdsl's warnings as rows."""
    _check(con, scheme, source)
    if scheme != "branch_employees":
        return []
    con.execute(_fill(GROUPS, source))
    problems = con.execute(GROUP_PROBLEMS).fetchall()
    if problems:
        raise Refused("\n".join(f"group {g}: {p}" for g, p in problems))
    con.execute(_fill(RESULT, source))
    return con.execute(WARNINGS).fetchall()


def output(scheme: str, source: str) -> str:
    """The SELECT of the output rows (what QUERIES copies to the target), after compute()."""
    return _fill(QUERIES[scheme], source).split("COPY (", 1)[1].rsplit(") TO", 1)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scheme", choices=sorted(QUERIES))
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("--memory", default="5GB", help="DuckDB memory_limit (default 5GB)")
    ap.add_argument("--temp", default=None, help="where DuckDB spills (default: the system's temporary directory)")
    args = ap.parse_args()
    try:
        warnings = run(args.scheme, args.source, args.target, args.memory, args.temp)
    except Refused as refused:
        Path(args.target).unlink(missing_ok=True)
        print(refused, file=sys.stderr)
        raise SystemExit(1) from None
    for w in warnings[:5]:
        print("warning: group", w[0], "counts", w[1:5], "short" if w[5] else "", file=sys.stderr)
    if warnings:
        print(f"warning: {len(warnings)} groups in all", file=sys.stderr)


if __name__ == "__main__":
    main()
