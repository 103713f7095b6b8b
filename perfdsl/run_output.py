"""What a run writes besides the values themselves: output rows made from a columnar
frame or a SQL engine's rows (lists as lists, the joined flags as io.Flags), the
layout of the file (titles, decimals, the `汇总` sheet of an XLSX) and `--trace`."""
from __future__ import annotations

from . import io


def groups_listed(args) -> int | None:
    """How many groups of a rule the run's summary lists: every one for the `汇总` sheet
    of an XLSX output (None), none where nothing is printed (--quiet), else as many as the
    terminal lists (past them it gives their number)."""
    from .summary import MAX_GROUPS
    return None if args.output.lower().endswith(".xlsx") else 0 if args.quiet else MAX_GROUPS


def file_layout(plan, args, done):
    from . import summary
    return io.Layout(titles=plan.titles, places=plan.places, encoding=args.encoding,
                     summary=summary.sheet(done) if args.output.lower().endswith(".xlsx") else None)


def frame_rows(frame, ir) -> list[dict]:
    """A columnar output frame as output rows: lists as lists, the flags as Flags."""
    return flags_read([{k: list(v) if isinstance(v, tuple) else v for k, v in row.items()}
                       for row in frame.to_dicts()], ir)


def flags_read(rows: list[dict], ir) -> list[dict]:
    """Each row's joined `flags` text as Flags (what perfdsl.io writes and the summary counts)."""
    labels = [f.label for f in ir.flags]
    for row in rows:
        row["flags"] = io.Flags(_split_flags(row.get("flags") or "", labels))
    return rows


def _split_flags(joined: str, labels: list[str]) -> list[str]:
    """The flags of a joined `a;b` string, matched against the labels in their order
    (a label may itself hold a `;`)."""
    out, rest = [], joined
    for label in labels:
        if rest == label or rest.startswith(label + ";"):
            out.append(label)
            rest = rest[len(label) + 1:]
    return out


def write_trace(path: str, results) -> None:
    """`run --trace OUT.jsonl`: every subject's explanation as versioned JSON, one object a
    line, in input order (perfdsl.explain: the same steps `explain --format json` prints)."""
    from .explain import dumps
    io.write_text_atomic(path, "".join(dumps(r.explanation().as_json()) + "\n" for r in results))
