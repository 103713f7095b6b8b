"""The one hypothesis search loop every check uses (properties, backend agreement).

`search(strategy, test, examples, seed)` draws up to `examples` cases; `test(case)`
returns None when the case is fine, else a description of the failure. The result is
how many cases ran and the description for the shrunk (smallest) failing case.

Nothing is left in the user's working directory: no example database (`database=None`),
and the files hypothesis keeps for itself (a cache of constants, Unicode tables), which
it would write to `./.hypothesis/`, go to a private temporary directory for the search.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import configuration
from hypothesis import seed as hyp_seed

_HOME = "__hypothesis_home_directory"  # hypothesis.configuration's own global (no getter exists)


@contextmanager
def _private_storage():
    """Point hypothesis's storage at a fresh 0700 directory, removed afterwards, and put
    back what was set before (a test session's own `.hypothesis/`, say)."""
    before = vars(configuration).get(_HOME)
    with tempfile.TemporaryDirectory(prefix="perfdsl-hypothesis-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(before)


def search(strategy, test, examples: int, seed: int | None = None):
    with _private_storage():
        return _search(strategy, test, examples, seed)


def _search(strategy, test, examples: int, seed: int | None):
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
