"""A whole cohort through a policy as polars columns: `evaluate_table(policy, df)`.

The core program (perfdsl.lower) printed over a frame: each assignment a `with_columns`,
each guard a when/then merge of the names it assigns, numbers through the scaled-integer
plan (perfdsl.lower.scaled, printed by polars_plan.py), the cohort steps by
perfdsl.lower.polars_cohort (sorts and windows), ranks and group values as windows. The
result has the key, every output column and `flags`, in input order, with the
reference's values.

Errors: the plan marks where the reference raises (division by zero, too many digits,
an empty list...). When a row is so marked, the run asks the reference for the error of
the whole cohort, so the messages, rows and order are exactly its own. What the plan
cannot hold exactly (numbers needing more than 38 digits at one scale, ...) runs the
whole policy per row through the reference and says so, naming the construct, with a
`ColumnarFallback` warning (`per row`).
"""
from __future__ import annotations

import time
import warnings as pywarnings
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from ..ir import Policy
from ..lower import core as c
from ..lower import scaled as s
from ..lower.cohort_stage import CohortError
from ..lower.evaluate import evaluate_cohort
from ..lower.lower import lower_policy, tier_slots
from ..lower.polars_cohort import place_frame, place_quota
from .inputs import DEC_PRECISION, ROW, Inputs, prepare
from .polars_plan import PolarsPlan


class ColumnarFallback(UserWarning):
    """The policy ran per row in Python instead of as columns."""


@dataclass
class TableResult:
    frame: pl.DataFrame
    warnings: list[str] = field(default_factory=list)   # the cohort stage's, as evaluate_cohort gives
    fallbacks: list[str] = field(default_factory=list)  # what made the run go per row, and why
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, for profiling
    # with a cohort stage: each individual-stage tier set's tier index (0 = best) before it
    # moved anyone, in input order (what perfdsl.summary.Recorder notes on the python backend)
    individual_tiers: pl.DataFrame | None = None


def evaluate_table(policy, df: pl.DataFrame, *, validate: bool = True,
                   row_numbers: list[int] | None = None) -> pl.DataFrame:
    """Every row of `df` through the whole policy, cohort stage included (see run_table)."""
    return run_table(policy, df, validate=validate, row_numbers=row_numbers).frame


def run_table(policy, df: pl.DataFrame, *, validate: bool = True,
              row_numbers: list[int] | None = None) -> TableResult:
    """Like Policy.evaluate_cohort over a DataFrame: DataError for bad data (every bad row),
    CohortError when the cohort cannot be placed; else the output frame and warnings."""
    ir: Policy = getattr(policy, "ir", policy)
    t0 = time.perf_counter()
    inputs = prepare(ir, df, validate, row_numbers)
    timings = {"inputs": time.perf_counter() - t0}
    program = lower_policy(ir)
    numbers = row_numbers or list(range(1, (len(inputs.records) if inputs.unsupported else inputs.frame.height) + 1))
    try:
        if inputs.unsupported is not None:
            raise inputs.unsupported
        run = _Columns(ir, program, inputs)
        frame = run.run()
    except (s.Unsupported, _Failed) as why:
        frame, warnings = _per_row(ir, program, inputs, numbers)  # a failing row: raises the reference's error
        # else a row marked failing passed: a partial sum reached 28 digits, which the reference
        # rounds, or a quotient lay below the span one scale holds (scaled.divide)
        note = str(why) if isinstance(why, s.Unsupported) else \
            "a row's value lies outside what one scale holds (a partial sum of 28 digits, or a quotient too small)"
        pywarnings.warn(f"columnar backend, policy {ir.name}: evaluated per row in Python: {note}",
                        ColumnarFallback, stacklevel=2)
        return TableResult(frame, warnings, [note], timings)
    timings["columns"] = time.perf_counter() - t0 - timings["inputs"]
    if run.problems:
        raise CohortError(run.problems)
    return TableResult(frame, run.warnings, [], timings, run.individual_tiers)


class _Failed(Exception):
    """Some row raises in the reference: its error is the reference's to word."""


def _records(ir: Policy, inputs: Inputs) -> list[dict]:
    if inputs.records is not None:
        return inputs.records
    rows = inputs.source.to_dicts()
    nums = [inp.name for inp in ir.inputs if inp.type.kind == "num"]
    lists = [inp.name for inp in ir.inputs if inp.type.kind == "list"]
    for r in rows:
        for n in nums:
            if not isinstance(r[n], Decimal):
                r[n] = Decimal(r[n])
        for n in lists:
            r[n] = tuple(r[n])
    return rows


def _per_row(ir: Policy, program: c.Program, inputs: Inputs, numbers: list[int]):
    """The reference on every row: (output frame, warnings), or its DataError."""
    results, warnings = evaluate_cohort(program, ir, _records(ir, inputs), numbers)
    rows = [r.as_row() for r in results]
    names = list(rows[0]) if rows else ([ir.key] if ir.key else []) + [n for n in ir.output_names() if n != ir.key] + ["flags"]
    return pl.DataFrame([_series(n, [r[n] for r in rows]) for n in names], height=len(rows)), warnings


def _series(name: str, values: list) -> pl.Series:
    if values and all(isinstance(v, Decimal) for v in values):
        scale = max(s.places(v) for v in values)
        if scale <= DEC_PRECISION and all(abs(s.unscaled(v, scale)) < s.WIDE_LIMIT for v in values):
            return pl.Series(name, values, dtype=pl.Decimal(DEC_PRECISION, scale))
    if values and all(isinstance(v, (str, bool)) for v in values):
        return pl.Series(name, values)
    return pl.Series(name, values, dtype=pl.Object)


def _has_assignment(stmts) -> bool:
    return any(type(x) is c.Let or type(x) is c.Guard and (_has_assignment(x.then) or _has_assignment(x.else_))
               for x in stmts)


class _Scaler(s.Scaler):
    """The plan of expressions over the run's current names; ranks and group values in
    the cohort stage (`cohort`), `size` the cohort's."""

    def __init__(self, run: "_Columns", cohort: bool, size: s.Value | None = None):
        super().__init__(None, size)
        self.run, self.cohort = run, cohort

    @property
    def env(self):
        return self.run.env

    @env.setter
    def env(self, value):
        pass

    def hold(self, v: s.Value) -> s.Value:
        """A division, rounding or 28-digit result computed once, in a column of its own;
        where it fails stays with the value (it may sit in a branch not taken)."""
        if isinstance(v.node, (s.Column, s.Const)):
            return v
        name = self.run.fresh("h")
        self.run.lf = self.run.lf.with_columns(self.run.plan.expr(v.node).alias(name))
        return s.Value(s.Column(name, v.num.wide), v.kind, v.num, v.fails, v.item, v.length)

    def visit_RankOf(self, e: c.RankOf) -> s.Value:
        if not self.cohort:
            return super().visit_RankOf(e)
        return self.run.rank(e)

    def visit_GroupValue(self, e: c.GroupValue) -> s.Value:
        if not self.cohort:
            return super().visit_GroupValue(e)
        return s.group_value(e.aggregate, self.visit(e.aggregate.arg), self.run.n)


class _Columns:
    """One table run: the frame, what each core name holds, the tests marking failing rows."""

    def __init__(self, ir: Policy, program: c.Program, inputs: Inputs):
        self.ir, self.program = ir, program
        self.frame = inputs.frame
        self.lf = self.frame.lazy()
        self.n = self.frame.height
        self.env: dict[str, s.Value] = dict(inputs.values)
        self.plan = PolarsPlan(self.name_expr)
        self.path = None  # the test under which statements now run (inside guards)
        self.fail_cols: list[str] = []
        self.count = 0
        self.warnings: list[str] = []
        self.problems: list[str] = []
        self._ranks: dict[int, str] = {}
        self.individual_tiers: pl.DataFrame | None = None

    def name_expr(self, name: str) -> pl.Expr:
        return self.plan.expr(self.env[name].node)

    # ---- columns -------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"#{prefix}{self.count}"

    def fail(self, test) -> None:
        test = s.both(self.path, test) if test is not None else None
        if test is None:
            return
        name = self.fresh("fail")
        self.lf = self.lf.with_columns(self.plan.expr(test).fill_null(True).alias(name))
        self.fail_cols.append(name)

    def put(self, v: s.Value) -> s.Value:
        """v held in a column of its own (its failures recorded), unless it is one already,
        a constant, or only a trace reads it."""
        self.fail(v.fails)
        v = s.Value(v.node, v.kind, v.num, None, v.item, v.length)
        if v.kind in ("none", "mixed", "tuple") or isinstance(v.node, (s.Column, s.Const)):
            return v
        if isinstance(v.node, s.Pick) and isinstance(v.node.index, (s.Column, s.Const)):
            return v
        name = self.fresh("v")
        self.lf = self.lf.with_columns(self.plan.expr(v.node).alias(name))
        return s.Value(s.Column(name, bool(v.num and v.num.wide and v.kind == "num")), v.kind, v.num, None, v.item,
                       v.length)

    def flush(self) -> None:
        """Compute what is pending; a row marked as failing ends the run (_Failed)."""
        self.frame = self.lf.collect()
        if self.fail_cols:
            if self.frame.select(pl.any_horizontal(self.fail_cols).any()).item():
                raise _Failed()
            self.frame = self.frame.drop(self.fail_cols)
            self.fail_cols = []
        self.lf = self.frame.lazy()

    # ---- statements ----------------------------------------------------------------
    def block(self, stmts, scaler: _Scaler) -> None:
        for st in stmts:
            if type(st) is c.Let:
                self.env[st.name] = self.put(scaler.visit(st.expr))
            elif type(st) is c.Guard and _has_assignment((st,)):
                self.guard(st, scaler)

    def guard(self, g: c.Guard, scaler: _Scaler) -> None:
        test = self.put(scaler.visit(g.test))
        before, outer = dict(self.env), self.path
        self.path = s.both(outer, test.node)
        self.block(g.then, scaler)
        then_env, self.env = self.env, dict(before)
        self.path = s.both(outer, s.negate(test.node))
        self.block(g.else_, scaler)
        else_env, self.env, self.path = self.env, dict(before), outer
        for name in dict.fromkeys(list(then_env) + list(else_env)):
            a, b = then_env.get(name), else_env.get(name)
            if a is b:
                continue
            if a is None or b is None:
                self.env[name] = s.Value(None, "mixed")
                continue
            self.env[name] = self.put(s.cond(test, a, b))

    def define(self, d: c.Define, scaler: _Scaler) -> None:
        self.block(d.body, scaler)
        self.env[d.name] = self.put(scaler.visit(d.result))

    # ---- the cohort ----------------------------------------------------------------
    def rank(self, e: c.RankOf) -> s.Value:
        """Competition ranks of a core Ranking (1, 2, 2, 4), a column computed once."""
        r = e.ranking
        if id(r) not in self._ranks:
            self.flush()
            keys = [self.name_expr(tier_slots(k.name).index if k.by_tier else k.name) for k in r.keys]
            parts = [self.name_expr(f) for f in r.partition.fields]
            cols = [f"#p{j}" for j in range(len(parts))] + [f"#k{j}" for j in range(len(keys))]
            df = self.frame.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("#r"),
                                   *[x.alias(n) for x, n in zip(parts + keys, cols)])
            df = df.sort(cols, descending=[False] * len(parts) + [k.descending for k in r.keys], maintain_order=True)
            pos = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
            pos = pos.over([f"#p{j}" for j in range(len(parts))]) if parts else pos
            changed = pl.any_horizontal([pl.col(x) != pl.col(x).shift(1) for x in cols]).fill_null(True) if cols else pl.lit(True)
            size = pl.len().over([f"#p{j}" for j in range(len(parts))]) if parts else pl.len()
            df = df.with_columns(pl.when(changed).then(pos).forward_fill().alias("#rank"), size.cast(pl.Int64).alias("#size"))
            df = df.sort("#r")
            name = self.fresh("rank")
            self.frame = self.frame.with_columns(df["#rank"].alias(name), df["#size"].alias(name + "n"))
            self.lf = self.frame.lazy()
            self._ranks[id(r)] = name
        name = self._ranks[id(r)]
        num = s.Num(0, 1, max(self.n, 1))
        if not e.from_bottom:
            return s.Value(s.Column(name), "num", num)
        return s.Value(s.Arith("-", s.Arith("+", s.Column(name + "n"), s.Const(1), False), s.Column(name), False), "num", num)

    def subjects(self, names, extra=()) -> pl.DataFrame:
        """The frame a cohort step reads: each core name's column under that name."""
        out = [self.name_expr(n).alias(n) for n in dict.fromkeys(names)]
        return self.frame.select(out + list(extra))

    def _key_frame_names(self, ranking: c.Ranking, tierset: str) -> list[str]:
        slots = tier_slots(tierset)
        names = list(ranking.partition.fields) + [k.name for k in ranking.keys if not k.by_tier]
        names += [slots.index, slots.pinned]
        if self.program.key:
            names.append(self.program.key)
        return names

    def distribute(self, d: c.Distribute) -> None:
        fields = d.ranking.partition.fields
        size = s.Value(s.Window("len", s.Const(True), fields), "num", s.Num(0, 1, max(self.n, 1)))
        scaler = _Scaler(self, True, size)
        parts = [self.name_expr(f) for f in fields]
        first = pl.col(ROW) == (pl.col(ROW).min().over(parts) if parts else pl.col(ROW).min())
        for j, w in enumerate(d.whens):  # read on each group's first member: only its failure counts
            v = scaler.visit(w.test)
            self.lf = self.lf.with_columns(self.plan.expr(v.node).alias(f"#when{j}"))
            if v.fails is not None:
                name = self.fresh("fail")
                self.lf = self.lf.with_columns((self.plan.expr(v.fails).fill_null(True) & first).alias(name))
                self.fail_cols.append(name)
        self.flush()
        names = self._key_frame_names(d.ranking, d.tierset) + [d.slots.ceiling, d.slots.limit] + list(d.constant_fields)
        frame = self.subjects(names, [pl.col(f"#when{j}") for j in range(len(d.whens))])
        placed = place_frame(d, self._readable(frame, d.ranking, d.constant_fields), self.program.key, self.program.language,
                             [f"#when{j}" for j in range(len(d.whens))])
        self._placed(d.slots.index, placed)

    def quota(self, q: c.Quota) -> None:
        frame = self.subjects(self._key_frame_names(q.ranking, q.tierset))
        self._placed(tier_slots(q.tierset).index, place_quota(q, self._readable(frame, q.ranking), self.program.key,
                                                              self.program.language))

    def _readable(self, frame: pl.DataFrame, ranking: c.Ranking, more=()) -> pl.DataFrame:
        """Number columns a message may show (rank keys, groups, `more`) as exact decimals."""
        names = list(ranking.partition.fields) + [k.name for k in ranking.keys if not k.by_tier] + list(more)
        if self.program.key:
            names.append(self.program.key)
        out = []
        for n in dict.fromkeys(names):
            v = self.env[n]
            if v.kind == "num":
                out.append(_decimal(frame.get_column(n), v.num).alias(n))
        return frame.with_columns(out) if out else frame

    def _placed(self, index_name: str, placed) -> None:
        if not isinstance(self.env[index_name].node, s.Column):  # a constant band: give it a column
            name = self.fresh("v")
            self.frame = self.frame.with_columns(self.name_expr(index_name).alias(name))
            self.env[index_name] = s.Value(s.Column(name), "int")
        column = self.env[index_name].node.name
        self.frame = self.frame.with_columns(placed.index.cast(self.frame.schema[column]).alias(column))
        self.lf = self.frame.lazy()
        self.warnings += placed.warnings
        self.problems += placed.problems

    # ---- the run -------------------------------------------------------------------
    def run(self) -> pl.DataFrame:
        p = self.program
        plain = _Scaler(self, False)
        for d in p.individual:
            self.define(d, plain)
        for f in p.flags:
            self.fail(plain.visit(f.test).fails)
        self.flush()
        if p.steps:
            self.individual_tiers = self.frame.select(
                [self.plan.expr(self.env[d.tier.index].node).alias(d.name) for d in p.individual if d.tier is not None])
            for step in p.steps:
                self.distribute(step) if type(step) is c.Distribute else self.quota(step)
            if self.problems:
                raise CohortError(self.problems)
        for d in p.post:
            self.define(d, plain)
        cohort = _Scaler(self, True, s.Value(s.Const(self.n), "num", s.Num(0, self.n, self.n)))
        for d in p.cohort:
            self.define(d, cohort)
        flags = [self.put(cohort.visit(f.test)) for f in p.cohort_flags]
        self.flush()
        return self.output(flags)

    def output(self, flags: list[s.Value]) -> pl.DataFrame:
        """The key, every output column and `flags`, in input order (LANGUAGE.md §11)."""
        ir = self.ir
        names = ([ir.key] if ir.key else []) + [n for n in ir.output_names() if n != ir.key]
        exprs, later = [pl.col(ROW)], {}
        for name in names:
            v = self.env[name]
            if v.kind in ("num", "list"):  # scaled integers: made decimals below
                later[name] = v
            exprs.append(self.plan.expr(v.node).alias(name))
        labels = [f.label for f in self.program.cohort_flags]
        if labels:
            joined = pl.concat_str([pl.when(self.plan.expr(v.node)).then(pl.lit(label)) for v, label in zip(flags, labels)],
                                   separator=";", ignore_nulls=True)
        else:
            joined = pl.lit("")
        exprs.append(joined.alias("flags"))
        out = self.frame.select(exprs)
        for name, v in later.items():
            if v.kind == "num":
                out = out.with_columns(_decimal(out.get_column(name), v.num).alias(name))
            else:
                out = out.with_columns(_list_out(out.get_column(name), v))
        return out.select(names + ["flags"])


def _decimal(col: pl.Series, num: s.Num) -> pl.Series:
    """Scaled integers as the exact decimals they stand for (polars Decimal(38, scale))."""
    dtype = pl.Decimal(DEC_PRECISION, num.scale)
    if 10 ** num.scale <= s.INT64_MAX and num.magnitude * 10 ** num.scale < s.WIDE_LIMIT:
        if num.scale == 0:
            return col.cast(dtype)
        # Int → Decimal casts by value; dividing the cast value back down is exact
        return col.to_frame().select(pl.col(col.name).cast(dtype) / pl.lit(10 ** num.scale, dtype=pl.Decimal(DEC_PRECISION, 0))) \
            .to_series().cast(dtype)
    return pl.Series(col.name, [s.to_decimal(v, num.scale) for v in col.to_list()], dtype=dtype)


def _list_out(col: pl.Series, v: s.Value) -> pl.Series:
    if v.item != "num":
        return pl.Series(col.name, [tuple(x) for x in col.to_list()], dtype=pl.Object)
    return pl.Series(col.name, [tuple(s.to_decimal(i, v.num.scale) for i in x) for x in col.to_list()], dtype=pl.Object)
