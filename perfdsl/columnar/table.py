"""A whole cohort through a policy as polars columns: `evaluate_table(policy, df)`.

The stages are those of `Policy.evaluate_cohort` (perfdsl.cohort.apply): the individual
stage for every row, quotas and `distribute`, then `post` definitions, then `cohort`
definitions and every flag. What lowers (compile.py) runs as polars expressions over
scaled integers (scaled.py); what does not runs per row in Python (fallback.py), one
definition or flag at a time, and the run says so once with a `ColumnarFallback`
warning. The result has the key, every output column (ir.output_names()) and `flags`,
in input order, with the reference's values.
"""
from __future__ import annotations

import time
import warnings as pywarnings
from dataclasses import dataclass, field

import polars as pl

from .. import cohort as cohort_stage
from ..eval.interpret import Interpreter
from ..io import DataError, DataProblem
from ..ir import Definition, GroupAgg, Policy, Rank, RankOrder
from ..result import Result, TierState
from ..runtime import CONTEXT, localcontext
from . import fallback, placement
from .compile import TIER_DTYPE, Col, Scope, definition_steps, flag_col, lower
from .inputs import ROW, Inputs, internal_name, number_column, prepare, tier_names
from .scaled import Num, Unsupported, cast, checked, fits_output, to_decimal, to_output


class ColumnarFallback(UserWarning):
    """Part of a policy ran per row in Python instead of as columns."""


@dataclass
class TableResult:
    frame: pl.DataFrame
    warnings: list[str] = field(default_factory=list)   # the cohort stage's, as evaluate_cohort gives
    fallbacks: list[str] = field(default_factory=list)  # what ran per row in Python, and why
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, for profiling


def evaluate_table(policy, df: pl.DataFrame, *, validate: bool = True,
                   row_numbers: list[int] | None = None) -> pl.DataFrame:
    """Every row of `df` through the whole policy, cohort stage included (see run_table)."""
    return run_table(policy, df, validate=validate, row_numbers=row_numbers).frame


def run_table(policy, df: pl.DataFrame, *, validate: bool = True,
              row_numbers: list[int] | None = None) -> TableResult:
    """Like Policy.evaluate_cohort over a DataFrame: DataError for bad data (every bad row),
    CohortError when the cohort cannot be placed; else the output frame and warnings."""
    ir: Policy = getattr(policy, "ir", policy)
    clock = _Clock()
    inputs = prepare(ir, df, validate, row_numbers)
    clock.lap("inputs")
    run = _Run(ir, inputs, row_numbers)
    with localcontext(CONTEXT):
        run.individual()
        clock.lap("individual")
        placer = cohort_stage.Placer(ir, [])
        for q in sorted(ir.quotas, key=lambda q: q.tier):  # best tier first: the excess cascades down
            placement.quota(run, q, placer)
        if ir.distributes:
            run.note("`distribute` (placed group by group by perfdsl.cohort)")
            placement.distribute(run, placer)
        if placer.problems:
            raise cohort_stage.CohortError(placer.problems)
        clock.lap("placement")
        run.post()
        run.cohort()
        clock.lap("post_and_cohort")
        frame = run.output()
        clock.lap("output")
    if run.fallbacks:
        pywarnings.warn(f"columnar backend, policy {ir.name}: evaluated per row in Python: "
                        + "; ".join(run.fallbacks), ColumnarFallback, stacklevel=2)
    return TableResult(frame, placer.warnings, run.fallbacks, clock.laps)


class _Clock:
    def __init__(self):
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._t
        self._t = now


class _Scope(Scope):
    def __init__(self, run: _Run, cohort: bool):
        self.run, self.cohort = run, cohort

    def ref(self, name: str) -> Col:
        col = self.run.cols[name]
        if col.kind == "list":
            raise Unsupported(f"the list `{name}`")
        if col.kind == "python":
            raise Unsupported(f"`{name}`, whose values are too wide for a column")
        return col

    def tier_names(self, tierset: str) -> tuple[str, ...]:
        return self.run.tier_names(tierset)

    def size(self, span) -> Col:
        if not self.cohort:
            return super().size(span)
        n = self.run.n
        return Col(pl.lit(n, dtype=pl.Int64), "num", Num(0, n, n))

    def rank(self, node: Rank) -> Col:
        if not self.cohort:
            return super().rank(node)
        rank, n = self.run.rank_columns(node.order)
        expr = (pl.col(n) + 1 - pl.col(rank)) if node.from_bottom else pl.col(rank)
        return Col(expr, "num", Num(0, 1, max(self.run.n, 1)))

    def aggregate(self, node: GroupAgg) -> Col:
        if not self.cohort:
            return super().aggregate(node)
        if node.fn == "mean":
            raise Unsupported("a group mean (a division)", node.span)
        arg = lower(node.arg, self)
        g = self.run.group_expr(node.group) if node.group is not None else None

        def over(e: pl.Expr) -> pl.Expr:
            return e.over(g) if g is not None else e
        n = self.run.n
        if node.fn == "count":
            return Col(over(arg.expr.cast(pl.Int64).sum()), "num", Num(0, 0, n))
        if arg.kind != "num":
            raise Unsupported(f"`{node.fn}` of a value that is not a number", node.span)
        if node.fn in ("min", "max"):
            return Col(over(getattr(arg.expr, node.fn)()), "num", arg.num)
        a = arg.num
        out = checked(Num(a.scale, min(0, n * a.lo), max(0, n * a.hi)), "a group sum", node.span)
        return Col(over(cast(arg.expr, out).sum()), "num", out)


class _Run:
    """The state of one table run: the frame of internal columns and what they hold."""

    def __init__(self, ir: Policy, inputs: Inputs, row_numbers: list[int] | None):
        self.ir, self.inputs = ir, inputs
        self.frame = inputs.frame
        self.n = self.frame.height
        self.numbers = row_numbers or list(range(1, self.n + 1))
        self.cols: dict[str, Col] = dict(inputs.cols)
        self.colname = {inp.name: internal_name(i) for i, inp in enumerate(ir.inputs)}
        self.python: dict[str, list] = dict(inputs.python)
        self.tier_state: dict[str, dict | None] = {}
        self._tiers = tier_names(ir)
        self.interpreter = Interpreter(ir)
        self.pending: list[dict[str, pl.Expr]] = []
        self.fallbacks: list[str] = []
        self._dead: set[int] = set()
        self._ranks: dict[RankOrder, tuple[str, str]] = {}
        self._aggs: dict[GroupAgg, list] = {}
        self._defs = {d.name: k for k, d in enumerate(ir.definitions)}
        self.flag_cols: list[str] = []
        self.late_errors: dict[int, Exception] = {}  # row → its first error of `post` or `cohort`

    # ---- stages ---------------------------------------------------------------------------
    def individual(self) -> None:
        errors: dict[int, Exception] = {}
        scope = _Scope(self, cohort=False)
        for d in self.ir.definitions:
            if d.stage != "cohort":
                self.define(d, scope, errors)
        for f in self.ir.flags:  # only a Python flag can fail; the reference tests these here too
            if f.stage != "cohort":
                try:
                    flag_col(f.cond, scope)
                except Unsupported:
                    self.flush()
                    fallback.evaluate_condition(self, f, False, errors)
        self.flush()
        if errors:
            raise DataError([DataProblem(self.numbers[i], None, str(err)) for i, err in sorted(errors.items())])

    def post(self) -> None:
        scope = _Scope(self, cohort=False)
        for d in self.ir.definitions:
            if d.stage == "post" and d.tiers is None:
                self.define(d, scope, self.late_errors)
        self.flush()

    def cohort(self) -> None:
        scope = _Scope(self, cohort=True)
        for d in self.ir.definitions:
            if d.stage == "cohort":
                self.define(d, scope, self.late_errors)
        for j, f in enumerate(self.ir.flags):
            name = f"f{j}"
            try:
                col = flag_col(f.cond, scope)  # may flush `pending` (ranks) before it is appended to
                self.pending.append({name: col.expr})
            except Unsupported as u:
                self.flush()
                self.note(f"flag {f.label!r} ({u})")
                values = fallback.evaluate_condition(self, f, True, self.late_errors)
                self.frame = self.frame.with_columns(pl.Series(name, values, dtype=pl.Boolean))
            self.flag_cols.append(name)
        self.flush()
        if self.late_errors:
            raise cohort_stage.CohortError([DataProblem(self.numbers[i], None, str(err))
                                            for i, err in sorted(self.late_errors.items())])

    def define(self, d: Definition, scope: _Scope, errors: dict | None) -> None:
        out = f"v{self._defs[d.name]}"
        try:
            low = definition_steps(d, out, scope)
        except Unsupported as u:
            self.flush()
            self.note(f"`{d.name}` ({u})")
            values = fallback.evaluate_definition(self, d, d.expressions(), scope.cohort, errors)
            if errors:
                self._dead.update(errors)
            self.store(d, out, values)
            return
        self.pending.extend(low.steps)
        self.cols[d.name], self.colname[d.name] = low.col, out
        if d.tiers is not None:
            self.tier_state[d.name] = low.state

    def dead(self, i: int) -> bool:
        return i in self._dead

    def note(self, text: str) -> None:
        if text not in self.fallbacks:
            self.fallbacks.append(text)

    def flush(self) -> None:
        if self.pending:
            lf = self.frame.lazy()
            for step in self.pending:
                lf = lf.with_columns(**step)
            self.frame = lf.collect()
            self.pending.clear()  # the same list: a caller may hold `self.pending.append`

    # ---- columns from Python values ----------------------------------------------------------
    def store(self, d: Definition, out: str, values: list) -> None:
        self.colname[d.name] = out
        if d.tiers is not None:
            names = {k: f"{out}~{k}" for k in ("pinned", "limit", "ceiling")}
            states = [s for _, s in values]
            self.frame = self.frame.with_columns(
                pl.Series(out, [s.index for s in states], dtype=TIER_DTYPE),
                pl.Series(names["pinned"], [s.pinned for s in states], dtype=pl.Boolean),
                pl.Series(names["limit"], [s.limit for s in states], dtype=TIER_DTYPE),
                pl.Series(names["ceiling"], [s.ceiling for s in states], dtype=TIER_DTYPE))
            self.cols[d.name] = Col(pl.col(out), "tier", tierset=d.name)
            self.tier_state[d.name] = names
            return
        self.cols[d.name] = self._column(out, d.type, values)

    def _column(self, out: str, typ, values: list) -> Col:
        kind = typ.kind
        if kind == "num":
            series, col, wide = number_column(out, values)
            self.frame = self.frame.with_columns(series)
            if wide is None:
                self.python.pop(out, None)
            else:
                self.python[out] = wide
            return col
        if kind == "tier":
            index = {t: k for k, t in enumerate(self.tier_names(typ.tierset))}
            self.frame = self.frame.with_columns(pl.Series(out, [index[v] for v in values], dtype=TIER_DTYPE))
            return Col(pl.col(out), "tier", tierset=typ.tierset)
        if kind in ("bool", "text"):
            dtype = pl.Boolean if kind == "bool" else pl.String
            self.frame = self.frame.with_columns(pl.Series(out, values, dtype=dtype))
            return Col(pl.col(out), kind)
        self.python[out] = values
        return Col(pl.lit(None), "list")

    # ---- columns as Python values --------------------------------------------------------------
    def tier_names(self, tierset: str) -> tuple[str, ...]:
        return self._tiers[tierset]

    def group_expr(self, group) -> pl.Expr:
        """The column a `per` group is keyed by: its field's, or for `per (F1, F2)` one text
        joining the fields' values (hashable, as the group-value dictionaries need)."""
        if isinstance(group, str):
            return self.cols[group].expr
        return pl.concat_str([self.cols[f].expr.cast(pl.String) for f in group], separator="\x1f")

    def python_values(self, name) -> list:
        """The Python value of `name` (an input or a definition) on every row; for the
        fields of a `per (F1, F2)` group, the tuple of their values."""
        if isinstance(name, tuple):
            return list(zip(*(self.python_values(f) for f in name)))
        col = self.cols[name]
        internal = self.colname.get(name, name)
        if col.kind in ("list", "python"):
            return self.python[name] if name in self.python else self.python[internal]
        s = self.frame.get_column(internal)
        if col.kind == "num":
            scale = col.num.scale
            return [to_decimal(v, scale) for v in s.to_list()]
        if col.kind == "tier":
            names = self.tier_names(col.tierset)
            return [names[v] for v in s.to_list()]
        return s.to_list()

    def python_value(self, name, row: int):
        if isinstance(name, tuple):
            return tuple(self.python_value(f, row) for f in name)
        col = self.cols[name]
        if col.kind in ("list", "python"):
            return self.python_values(name)[row]
        v = self.frame.get_column(self.colname[name])[row]
        if col.kind == "num":
            return to_decimal(v, col.num.scale)
        if col.kind == "tier":
            return self.tier_names(col.tierset)[v]
        return v

    def results_for(self, rows: list[int], names: list[str] | None) -> list[Result]:
        """Results for perfdsl.cohort: `names` (with the key), or everything when None."""
        ir = self.ir
        tiersets = [d.name for d in ir.definitions if d.tiers is not None and d.name in self.cols]
        if names is None:
            wanted = [inp.name for inp in ir.inputs] + [d.name for d in ir.definitions if d.name in self.cols]
        else:
            wanted = ([ir.key] if ir.key else []) + [n for n in names if n not in tiersets]
        inputs = {inp.name for inp in ir.inputs}
        values = {n: self.python_values(n) for n in dict.fromkeys(wanted)}
        states = {}
        for ts in tiersets if names is None else [n for n in names if n in tiersets]:
            idx = self.frame.get_column(self.colname[ts]).to_list()
            st = self.tier_state.get(ts)
            if st:
                cols = [self.frame.get_column(st[k]).to_list() for k in ("ceiling", "pinned", "limit")]
                states[ts] = [(i, c, p, lim) for i, c, p, lim in zip(idx, *cols)]
            else:
                states[ts] = [(i, 0, False, 0) for i in idx]
        out = []
        for row in rows:
            rec = {n: v[row] for n, v in values.items() if n in inputs}
            val = {n: v[row] for n, v in values.items() if n not in inputs}
            tiers = {ts: TierState(*s[row]) for ts, s in states.items()}
            for ts in tiers:
                val.setdefault(ts, self.tier_names(ts)[tiers[ts].index])
            out.append(Result(ir, rec, val, [], None, tiers))
        return out

    def group_size(self, field: str | None, row: int) -> int:
        if field is None:
            return self.n
        e = self.group_expr(field)
        return self.frame.select((e == e.get(row)).sum()).item()

    # ---- the cohort stage's columns -------------------------------------------------------------
    def rank_key(self, name: str) -> Col:
        """A rank key's column: a tier set ranks by index, anything else by its value (numbers
        held per row by their order codes, which sort and tie as the values do)."""
        col = self.cols[name]
        if col.kind == "python":
            return Col(col.expr, "code")
        if col.kind == "tier" and name not in self._tiers:  # a value holding a tier name
            names = self.tier_names(col.tierset)
            return Col(col.expr.replace_strict(list(range(len(names))), list(names), return_dtype=pl.String), "text")
        return col

    def move_tier(self, tierset: str, where: pl.Expr | None, rows: pl.Series | None, index: int) -> None:
        """Give tier `index` to the rows `where` holds and to the rows numbered in `rows`."""
        name = self.colname[tierset]
        if where is not None:
            self.frame = self.frame.with_columns(
                pl.when(where).then(pl.lit(index, dtype=TIER_DTYPE)).otherwise(pl.col(name)).alias(name))
        if rows is not None and rows.len():
            self.frame = self.frame.with_columns(self.frame.get_column(name).clone().scatter(rows, index))

    def set_tier_column(self, tierset: str, indices: list[int]) -> None:
        self.frame = self.frame.with_columns(pl.Series(self.colname[tierset], indices, dtype=TIER_DTYPE))

    def rank_columns(self, order: RankOrder) -> tuple[str, str]:
        """Columns with every row's competition rank and group size in `order` (once per order)."""
        if order not in self._ranks:
            self.flush()
            j = len(self._ranks)
            rank, n = placement.ranks(self, order)
            names = (f"~rank{j}", f"~rankn{j}")
            self.frame = self.frame.with_columns(rank.alias(names[0]), n.alias(names[1]))
            self._ranks[order] = names
        return self._ranks[order]

    def rank_values(self, order: RankOrder) -> list[tuple[int, int]]:
        rank, n = self.rank_columns(order)
        return list(zip(self.frame.get_column(rank).to_list(), self.frame.get_column(n).to_list()))

    def _aggregate(self, node: GroupAgg) -> list:
        if node not in self._aggs:
            self._aggs[node] = fallback.group_aggregate(self, node, self.late_errors)
        return self._aggs[node]

    # ---- the output -----------------------------------------------------------------------------
    def output(self) -> pl.DataFrame:
        """The key, every output column and `flags`, in input order (LANGUAGE.md §11)."""
        ir = self.ir
        names = ([ir.key] if ir.key else []) + [n for n in ir.output_names() if n != ir.key]
        exprs, python = [], {}
        for name in names:
            col, internal = self.cols[name], self.colname[name]
            c = pl.col(internal)
            if col.kind == "num":
                if fits_output(col.num):
                    exprs.append(to_output(c, col.num).alias(name))
                else:  # exact too, built from the Python values
                    dtype = pl.Decimal(38, col.num.scale) if col.num.scale <= 38 else pl.Object
                    python[name] = pl.Series(name, self.python_values(name), dtype=dtype)
            elif col.kind == "tier":
                tiers = pl.Series(self.tier_names(col.tierset), dtype=pl.String)
                exprs.append(pl.lit(tiers).gather(c).alias(name))
            elif col.kind in ("list", "python"):
                python[name] = pl.Series(name, self.python_values(name), dtype=pl.Object)
            else:
                exprs.append(c.alias(name))
        labels = [f.label for f in ir.flags]
        if labels:
            flags = pl.concat_str([pl.when(pl.col(c)).then(pl.lit(label)) for c, label in zip(self.flag_cols, labels)],
                                  separator=";", ignore_nulls=True)
        else:
            flags = pl.lit("")
        exprs.append(flags.alias("flags"))
        out = self.frame.select([pl.col(ROW)] + exprs)  # ROW keeps the height when all else is literal
        if python:
            out = out.with_columns(list(python.values()))
        return out.select(names + ["flags"])
