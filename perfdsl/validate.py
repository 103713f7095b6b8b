"""Raw records → typed inputs, with every problem named by row and field.

Problems are `io.DataProblem`s, raised together as one `io.DataError`, the single
exception type for bad data from file to cohort. `input_model(policy)` is the pydantic model of one record (fields aliased to the
policy's input names, so any Unicode or hostile name stays data). `validate_records`
runs it over a whole file's rows and also checks what a single record cannot see:
duplicate keys. Numbers become exact Decimals; tiers and choices stay strings.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from .columns import input_labels
from .io import DataProblem as Problem
from .ir import InputDef, Policy
from .runtime.checks import bool_word, list_text
from .numbers import NumberError, brief, check_number, decimal_text, parse_number



def _bool(v: Any) -> Any:
    if isinstance(v, str):
        b = bool_word(v)
        return v if b is None else b
    return v


def _fail(message: str) -> PydanticCustomError:
    """A field error whose message is ours, word for word (see `_message`)."""
    return PydanticCustomError("perf_value", "{message}", {"message": message})


def _number(whole: bool):
    """The number a field holds, read only in the forms of LANGUAGE.md §12.2.

    Text goes through numbers.parse_number (its size limits apply before any
    arithmetic); ints and Decimals from JSON, XLSX or Python through check_number.
    Booleans and binary floats are errors: `true` is not 1, and 0.1 is not exact."""
    noun = "a whole number" if whole else "a number"

    def read(v: Any) -> Any:
        if isinstance(v, bool):
            raise _fail(f"expected {noun}, got {'true' if v else 'false'}")
        if isinstance(v, float):
            raise _fail("binary floats are not accepted; give the number as text or a JSON number")
        try:
            if isinstance(v, str):
                d = parse_number(v, percent=not whole)
            elif isinstance(v, (int, Decimal)):
                d = check_number(v)
            else:
                return v  # a list, None, a date...: pydantic names its type
        except NumberError as err:
            raise _fail(f"expected {noun}, got {_shown(v)}" if err.malformed else str(err)) from None
        if not whole:
            return d
        if d != d.to_integral_value():
            raise _fail(f"expected {noun}, got {_shown(v)}")
        return int(d)
    return read


def _shown(v: Any) -> str:
    """A value in a message: text quoted and shortened, a Decimal as its digits."""
    if isinstance(v, Decimal):
        return decimal_text(v) if v.is_finite() else repr(str(v))
    return brief(v) if isinstance(v, str) else repr(v)


def _list(v: Any) -> Any:
    return list_text(v) if isinstance(v, str) else v


def _scalar_annotation(inp: InputDef, elem: bool = False) -> Any:
    t = inp.type.elem if elem else inp.type
    rng = inp.range
    if t.kind == "bool":
        return Annotated[bool, BeforeValidator(_bool)]
    if t.kind == "num":
        bounds = {}
        if rng is not None and rng.lo is not None:
            bounds["ge"] = rng.lo
        if rng is not None and rng.hi is not None:
            bounds["le"] = rng.hi
        base = int if inp.is_int else Decimal
        extra = {} if inp.is_int else {"allow_inf_nan": False}
        return Annotated[base, BeforeValidator(_number(inp.is_int)), Field(**bounds, **extra)]
    if inp.choices is not None and not elem:
        return Literal[inp.choices]
    return str


def _annotation(inp: InputDef, tier_names: dict[str, tuple[str, ...]]) -> Any:
    t = inp.type
    if t.kind == "list":
        if t.elem.kind == "tier":
            elem: Any = Literal[tier_names[t.elem.tierset]]
        else:
            elem = _scalar_annotation(inp, elem=True)
        bounds = {}
        if inp.length is not None:
            bounds["min_length"] = int(inp.length.lo)
            if inp.length.hi is not None:
                bounds["max_length"] = int(inp.length.hi)
        return Annotated[list[elem], BeforeValidator(_list), Field(**bounds)]
    if t.kind == "tier":
        return Literal[tier_names[t.tierset]]
    return _scalar_annotation(inp)


def input_model(policy: Policy) -> type[BaseModel]:
    """The pydantic model of one input record of this policy."""
    tier_names = {d.name: d.tiers.names() for d in policy.definitions if d.tiers is not None}
    fields = {f"f{i}": (_annotation(inp, tier_names), Field(alias=inp.name))
              for i, inp in enumerate(policy.inputs)}
    return create_model("InputRecord", __config__=ConfigDict(extra="ignore", coerce_numbers_to_str=True,
                                                              populate_by_name=False), **fields)


def _message(err: dict, inp: InputDef) -> str:
    kind, value = err["type"], err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else "this value"
    if kind == "perf_value":
        return err["msg"]
    if kind == "missing":
        return "missing"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"expected a whole number, got {shown}"
    if kind in ("decimal_parsing", "decimal_type", "decimal_finite_number", "value_error"):
        return f"expected a number, got {shown}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{value} is outside the declared range {_range(inp)}"
    if kind == "bool_parsing" or kind == "bool_type":
        return f"expected true or false, got {shown}"
    if kind == "literal_error":
        return f"expected one of {err.get('ctx', {}).get('expected', '')}, got {shown}"
    if kind in ("too_short", "too_long"):
        n = len(value) if isinstance(value, list) else "?"
        return f"the list has {n} item(s); declared length {_range_of(inp.length)}"
    if kind == "string_type":
        return f"expected text, got {shown}"
    if kind == "list_type":
        return f"expected a list, got {shown}"
    return err.get("msg", "invalid value")


def _range(inp: InputDef) -> str:
    return _range_of(inp.range)


def _range_of(rng) -> str:
    return str(rng) if rng is not None else ""


def _convert(inp: InputDef, value: Any) -> Any:
    if inp.type.kind == "num":
        return Decimal(value)
    if inp.type.kind == "list":
        if inp.type.elem.kind == "num":
            return tuple(Decimal(x) for x in value)
        return tuple(value)
    return value


class Validator:
    """Validates records of one policy; reuse it for many rows."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.model = input_model(policy)
        self.by_alias = {inp.name: inp for inp in policy.inputs}
        self.field_of = {f"f{i}": inp for i, inp in enumerate(policy.inputs)}
        # §12.2: a column may be titled by its input's label (`迟到次数` for `late`); a name wins
        self.label_of = input_labels(policy)
        self._renames: dict[tuple, dict | None] = {}  # per distinct header (a few): label → name
        self._lists = tuple(inp.name for inp in policy.inputs if inp.type.kind == "list")

    def by_label(self, raw: Any) -> Any:
        """`raw` with columns titled by a label renamed to the input's name, unless the
        record also has that name (then the labelled column is an unknown field)."""
        if not isinstance(raw, dict) or not self.label_of:
            return raw
        header = tuple(raw)
        rename = self._renames.get(header, False)
        if rename is False:
            wanted = {k: self.label_of.get(k.strip()) for k in header if isinstance(k, str) and k not in self.by_alias}
            rename = {k: n for k, n in wanted.items() if n is not None and n not in raw} or None
            if len(self._renames) < 64:  # JSON objects may each order their keys anew
                self._renames[header] = rename
        return raw if rename is None else {rename.get(k, k): v for k, v in raw.items()}

    def one(self, raw: dict, row: int | None) -> tuple[dict | None, list[Problem]]:
        if not isinstance(raw, dict):
            return None, [Problem(row, None, "expected an object of field values")]
        raw = self.by_label(raw)
        try:
            parsed = self.model.model_validate(raw)
        except ValidationError as err:
            problems = []
            for e in err.errors(include_url=False):
                field = e["loc"][0] if e["loc"] else None
                inp = self.by_alias.get(field) if isinstance(field, str) else None
                problems.append(Problem(row, field if isinstance(field, str) else None,
                                        _message(e, inp) if inp else e.get("msg", "invalid")))
            return None, problems
        return {inp.name: _convert(inp, getattr(parsed, f)) for f, inp in self.field_of.items()}, []

    def _listed(self, raw: Any) -> Any:
        """`raw` with list inputs given as text (a CSV or XLSX cell) read into lists by
        `_list`, which the model runs first on them too, for the fast check (which takes
        lists only); whatever `_list` makes of a cell, the model's verdict is the same."""
        if type(raw) is not dict:
            return raw
        out = None
        for name in self._lists:
            v = raw.get(name)
            if type(v) is str:
                if out is None:
                    out = dict(raw)
                try:
                    out[name] = _list(v)
                except Exception:  # noqa: BLE001 — not sure: the model decides
                    return None
        return raw if out is None else out

    def many(self, rows: list[tuple[int, dict]], check=None) -> tuple[list[dict], list[Problem], list[Problem]]:
        """(records, errors, warnings) — warnings name unknown fields once per field.

        `check` is the fast input check generated for this policy (codegen/validation.py):
        the validated record, exactly as `one` gives it, or None when not sure — then the
        pydantic model decides and words the errors."""
        records, problems, warnings = [], [], []
        key = self.policy.key
        seen: dict[Any, int] = {}
        unknown: dict[str, int] = {}
        one, lists = self.one, self._lists
        for number, raw in rows:
            raw = self.by_label(raw)
            rec = None
            if check is not None:
                rec = check(self._listed(raw) if lists else raw)
            if rec is None:
                rec, errs = one(raw, number)
                problems += errs
            if isinstance(raw, dict):
                for name in raw:
                    if name not in self.by_alias and name not in unknown:
                        unknown[name] = number
            if rec is None:
                continue
            if key is not None:
                k = rec[key]
                if k in seen:
                    problems.append(Problem(number, key, f"duplicate key {k!r} (first at row {seen[k]})"))
                else:
                    seen[k] = number
            records.append(rec)
        for name, number in unknown.items():
            warnings.append(Problem(number, str(name), "unknown field, ignored"))
        return records, problems, warnings
