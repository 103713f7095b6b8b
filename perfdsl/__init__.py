"""perfdsl: performance-appraisal policies as checked, compiled, explainable code.

    policy = perfdsl.load("policies/budget_engineer.perf")
    result = policy.evaluate({"employee_id": "e1", "rejections": 2, ...})
    print(result.total, result.grade)
    print(result.explain())

The public names are imported on first use, so `import perfdsl.check` (the checker
alone, as the `check` verb uses it) does not load the backends.
"""
from importlib import import_module

_PUBLIC = {
    "load": "policy", "Policy": "policy", "Result": "result", "PolicyError": "diagnostics",
    "DataError": "io", "DataProblem": "io", "diff": "policydiff",
}

__all__ = sorted(_PUBLIC)


_SUBMODULES = {"verify", "columnar", "cohort", "check", "io", "runtime"}


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'perfdsl' has no attribute {name!r}")
