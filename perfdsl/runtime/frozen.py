"""One base for the immutable data classes of every layer (syntax tree, IR, core program,
scaled plans, traces, diagnostics).

A subclass of `Frozen` is a frozen dataclass without saying so again: `__init_subclass__`
applies `dataclass(frozen=True)` to it, so each class lists only its fields. Options a
class needs beyond that are given in its bases, e.g. `class X(Frozen, eq=False)`.
It lives in the runtime because the runtime is the leaf every layer may import (generated
modules import nothing else of perfdsl), and its trace records are frozen data too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import dataclass_transform


@dataclass_transform(frozen_default=True)
class Frozen:
    """A frozen dataclass: equality and hashing by fields, `dataclasses.replace` to change."""

    def __init_subclass__(cls, **options):
        super().__init_subclass__()
        dataclass(frozen=True, **options)(cls)
