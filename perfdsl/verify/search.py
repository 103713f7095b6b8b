"""The one hypothesis search loop every check uses (properties, backend agreement).

`search(strategy, test, examples, seed)` draws up to `examples` cases; `test(case)`
returns None when the case is fine, else a description of the failure. The result is
how many cases ran and the description for the shrunk (smallest) failing case.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hyp_seed


def search(strategy, test, examples: int, seed: int | None = None):
    tried = 0
    failures: list = []

    @settings(max_examples=examples, database=None, deadline=None, derandomize=seed is None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case):
        nonlocal tried
        tried += 1
        problem = test(case)
        if problem is not None:
            failures.append(problem)
            raise AssertionError("counterexample")

    if seed is not None:
        run = hyp_seed(seed)(run)
    try:
        run()
    except AssertionError:
        return tried, failures[-1]  # hypothesis replays the shrunk case last
    return tried, None
