"""perfdsl: performance-appraisal policies as checked, compiled, explainable code.

    policy = perfdsl.load("policies/budget_engineer.perf")
    result = policy.evaluate({"employee_id": "e1", "rejections": 2, ...})
    print(result.total, result.grade)
    print(result.explain())
"""
from .diagnostics import PolicyError
from .policy import Policy, load
from .result import Result
from .validate import InputError, Problem

__all__ = ["load", "Policy", "Result", "PolicyError", "InputError", "Problem"]
