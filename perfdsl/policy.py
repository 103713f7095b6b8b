"""The public API: `load` a policy, `evaluate` one subject, `evaluate_cohort` many.

A Policy hides which backend runs. `evaluate` uses the generated Python module
(cached by the policy's content hash); the reference interpreter stays available as
`policy.reference` for differential testing and for tracing on demand.
"""
from __future__ import annotations

from decimal import getcontext, setcontext
from pathlib import Path

from . import cohort
from .check import compile_file
from .diagnostics import PolicyError
from .eval.interpret import Interpreter
from .ir import Policy as PolicyIR
from .runtime import Result
from .runtime import CONTEXT, EvalError, localcontext
from .io import DataError, DataProblem


class Policy:
    """A checked, compiled policy."""

    def __init__(self, ir: PolicyIR, warnings=(), backend: str = "python"):
        self.ir = ir
        self.warnings = list(warnings)
        self.reference = Interpreter(ir)
        self.backend = self.reference if backend == "reference" else _compiled(ir)
        self._model_validator = None  # the pydantic model is built when first needed
        self._fast_of = self.backend  # its generated entry (check, then evaluate), looked up once
        # what the fast path returns: a Result that traces through this policy when asked
        self._rerun = self.traced  # one bound method for every result (a new one per result is one more object to collect)
        self._on_demand = type("OnDemand", (OnDemand,), {"__slots__": (), "_rerun": self._rerun})
        self._fast = getattr(self.backend, "evaluate", None)
        # the input check generated into the policy's module (codegen/validation.py), if any
        self._check = getattr(getattr(self.backend, "module", None), "check", None)
        self.last_warnings: list[str] = []  # what the last cohort run warned about

    @property
    def name(self) -> str:
        return self.ir.name

    def traced(self, record: dict) -> Result:
        """`record` (validated) through the individual stage with its trace, on the reference:
        how a result evaluated without a trace is explained."""
        with localcontext(CONTEXT):
            return self.reference.individual(record, True)

    @property
    def _validator(self):
        if self._model_validator is None:
            from .validate import Validator
            self._model_validator = Validator(self.ir)
        return self._model_validator

    @property
    def input_model(self):
        return self._validator.model

    def validate(self, records, first_row: int = 1) -> list[dict]:
        """Check raw records; raise DataError listing every bad row and field."""
        rows = list(enumerate(records, start=first_row))
        good, problems, _ = self._validator.many(rows)
        if problems:
            raise DataError(problems)
        return good

    def evaluate(self, record: dict, *, trace: bool | None = None, validate: bool = True) -> Result:
        """One subject through the individual stage (no cohort rule applies to one).

        By default the record is checked by the code generated for this policy (the
        pydantic model `input_model` only words what it rejects) and evaluated without a
        trace; `result.trace` and `result.explain()` evaluate it again with tracing when
        first asked. `trace=True` traces now, `trace=False` gives a Result without one."""
        backend = self.backend
        fast = self._fast if backend is self._fast_of else getattr(backend, "evaluate", None)
        outer = getcontext()
        # CONTEXT itself is installed for the call (localcontext would copy it each time):
        # the fast path of one subject costs about as much as the arithmetic.
        if trace is None and validate and fast is not None:
            setcontext(CONTEXT)
            try:
                result = fast(record, self._on_demand)
            except EvalError as err:
                raise DataError([DataProblem(None, None, str(err))]) from None
            finally:
                setcontext(outer)
            if result is not None:
                return result
        if validate:
            rec, problems = self._validator.one(record, None)
            if problems:
                raise DataError(problems)
        else:
            rec = record
        setcontext(CONTEXT)
        try:
            if trace is None:
                return self.backend.individual(rec, False, self._on_demand) if fast is not None \
                    else self._on_demand(*_parts(self.backend.individual(rec, True)))
            result = self.backend.individual(rec, trace)
            result.rerun = self._rerun
            return result
        except EvalError as err:
            raise DataError([DataProblem(None, None, str(err))]) from None
        finally:
            setcontext(outer)

    def evaluate_many(self, records, *, validate: bool = True, first_row: int = 1) -> list[dict]:
        """Many subjects through the individual stage, as output rows (`Result.as_row()`:
        the key, every output, `flags` joined by `;`), not Result objects: for callers that
        score millions in Python. No cohort rule applies (use evaluate_cohort for that).
        Bad records raise one DataError naming every bad row (numbered from `first_row`)
        and field; nothing is returned partially."""
        row = getattr(self.backend, "row", None)
        out, problems = [], []
        outer = getcontext()
        setcontext(CONTEXT)
        try:
            for number, raw in enumerate(records, start=first_row):
                try:
                    r = row(raw) if validate and row is not None else None
                    if r is None:
                        if validate:
                            rec, errs = self._validator.one(raw, number)
                            if errs:
                                problems += errs
                                continue
                        else:
                            rec = raw
                        r = self.backend.individual(rec, False).as_row()
                except EvalError as err:
                    problems.append(DataProblem(number, None, str(err)))
                    continue
                out.append(r)
        finally:
            setcontext(outer)
        if problems:
            raise DataError(problems)
        return out

    def evaluate_cohort(self, records, *, trace: bool = True, validate: bool = True,
                        row_numbers: list[int] | None = None, progress=None) -> list[Result]:
        """Every subject through the whole pipeline, cohort stage included, in input order.

        Bad data raises DataError listing every bad row (numbered as in `row_numbers`,
        else from 1); nothing is returned partially. `progress(iterable, total)` may wrap
        the per-subject loop (the CLI passes a progress bar for large files)."""
        records = list(records)
        numbers = row_numbers or list(range(1, len(records) + 1))
        notes: list[str] = []
        if validate:
            good, problems, unknown = self._validator.many(list(zip(numbers, records)), self._check)
            if problems:
                raise DataError(problems)
            notes = [str(w) for w in unknown]
        else:
            good = records
        results, problems = [], []
        with localcontext(CONTEXT):
            pairs = zip(numbers, good)
            for number, rec in (progress(pairs, len(good)) if progress else pairs):
                try:
                    results.append(self.backend.individual(rec, trace))
                except EvalError as err:
                    problems.append(DataProblem(number, None, str(err)))
            if problems:
                raise DataError(problems)
            self.last_warnings = notes + cohort.apply(self.ir, self.backend, results, numbers)
        return results

    def evaluate_table(self, df, *, validate: bool = True, row_numbers: list[int] | None = None):
        """A polars DataFrame of records through the whole pipeline on the columnar backend:
        the key, every output column and `flags`, in input order, as `evaluate_cohort`
        gives them (cohort warnings in `last_warnings`). See perfdsl.columnar."""
        from .columnar import run_table
        result = run_table(self.ir, df, validate=validate, row_numbers=row_numbers)
        self.last_warnings = result.warnings
        return result.frame


class OnDemand(Result):
    """A Result of the default `Policy.evaluate`: evaluated without a trace, it traces the
    subject again through its policy (`_rerun`, Policy.traced: the reference, the same
    semantics, so the same trace a traced run gives) the first time `trace` or `explain()`
    is read. Each Policy makes its own subclass, which sets `_rerun`.

    The flags are kept as a tuple until first read (then as the list a Result holds): a
    list is an object the garbage collector tracks, and one more per subject kept alive
    costs about as much as a subject's arithmetic (bench/run.py)."""
    __slots__ = ("_trace", "_flags")
    _rerun = None

    def __init__(self, policy, record, values, flags, trace=None, tiers=None):
        # positional and without the dataclass's defaults: this runs once per subject
        self.policy, self.record, self.values, self._trace = policy, record, values, trace
        self._flags = tuple(flags) if flags else ()
        self.tiers = {} if tiers is None else tiers
        self.cohort_notes, self.through_cohort = (), False

    @property
    def flags(self) -> list:
        f = self._flags
        if type(f) is tuple:
            f = self._flags = list(f)
        return f

    @flags.setter
    def flags(self, value):
        self._flags = value

    @property
    def trace(self):
        t = self._trace
        if t is None and not self.through_cohort:
            t = self._trace = self._rerun(self.record).trace
        return t

    @trace.setter
    def trace(self, value):
        self._trace = value


def _parts(r: Result) -> tuple:
    return r.policy, r.record, r.values, r.flags, r.trace, r.tiers


def _compiled(ir: PolicyIR):
    from .codegen import load_module
    return load_module(ir)


def load(path: str | Path, backend: str = "python") -> Policy:
    """Check and compile a policy file; raise PolicyError with every diagnostic on failure."""
    result = compile_file(path)
    if result.policy is None:
        raise PolicyError(result.diagnostics, result.sources)
    return Policy(result.policy, [d for d in result.diagnostics if not d.is_error], backend)


__all__ = ["Policy", "load", "DataError", "DataProblem", "PolicyError", "Result"]
