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
from .result import Result
from .runtime import CONTEXT, EvalError, localcontext
from .io import DataError, DataProblem
from .validate import Validator


class Policy:
    """A checked, compiled policy."""

    def __init__(self, ir: PolicyIR, warnings=(), backend: str = "python"):
        self.ir = ir
        self.warnings = list(warnings)
        self.reference = Interpreter(ir)
        self.backend = self.reference if backend == "reference" else _compiled(ir)
        self._validator = Validator(ir)
        self.last_warnings: list[str] = []  # what the last cohort run warned about

    @property
    def name(self) -> str:
        return self.ir.name

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

    def evaluate(self, record: dict, *, trace: bool = True, validate: bool = True) -> Result:
        """One subject through the individual stage (no cohort rule applies to one)."""
        if validate:
            rec, problems = self._validator.one(record, None)
            if problems:
                raise DataError(problems)
        else:
            rec = record
        # CONTEXT itself is installed for the call (localcontext would copy it each time):
        # the fast path of one subject costs about as much as the arithmetic.
        outer = getcontext()
        setcontext(CONTEXT)
        try:
            return self.backend.individual(rec, trace)
        except EvalError as err:
            raise DataError([DataProblem(None, None, str(err))]) from None
        finally:
            setcontext(outer)

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
            good, problems, unknown = self._validator.many(list(zip(numbers, records)))
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
