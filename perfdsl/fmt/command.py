"""The `perfdsl fmt FILE... [--check]` verb: format files in place, or list those that
would change.

What is formatted:
- a file named on the command line, always;
- under a directory, every `*.perf`, except in directories that hold a file named
  `.perfdsl-fmt-ignore` (tests/golden/ has one: its files are broken on purpose and
  their expected diagnostics quote lines and columns, which formatting would move).
A file that cannot be read or parsed is reported with the parser's message (never a
traceback): named on the command line it makes the exit status 1; found under a
directory it is skipped with a note, since `fmt` is about layout and `perfdsl check`
is what reports broken policies. Files are rewritten atomically and only when they
change.
"""
from __future__ import annotations

from pathlib import Path

from ..diagnostics import Sources, render
from ..io import write_text_atomic
from ..syntax.source import SourceError, read_source
from . import FormatError, format_text

IGNORE_MARKER = ".perfdsl-fmt-ignore"


def files_to_format(paths: list[str]) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for each file `fmt` should look at, in a stable order."""
    out: list[tuple[Path, bool]] = []
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            out.append((path, True))
            continue
        for file in sorted(path.rglob("*.perf")):
            if file.is_file() and not _ignored(file.parent, path):
                out.append((file, False))
    return out


def _ignored(directory: Path, root: Path) -> bool:
    """Whether `directory` or a parent up to `root` holds the ignore marker."""
    d = directory
    while True:
        if (d / IGNORE_MARKER).exists():
            return True
        if d == root or d.parent == d:
            return False
        d = d.parent


def run(paths: list[str], check: bool, say, warn) -> int:
    """Format (or with `check`, only compare) every file; `say`/`warn` print a line to
    stdout/stderr. Exit status: 1 when --check finds a file to reformat or a file named
    explicitly cannot be formatted, else 0."""
    status, changed, same = 0, [], 0
    for file, explicit in files_to_format(paths):
        shown = str(file)
        try:
            text = read_source(file, shown)
            formatted = format_text(text, shown)
        except SourceError as err:
            problem = err.message + (f" ({err.hint})" if err.hint else "")
            formatted = None
        except FormatError as err:
            sources = Sources()
            sources.texts[shown] = text
            problem = "\n".join(render(d, sources) for d in err.diagnostics)
            formatted = None
        if formatted is None:
            if explicit:
                status = 1
                warn(f"{shown}: cannot format:\n{problem}")
            else:
                warn(f"{shown}: skipped, it does not parse:\n{problem}")
            continue
        if formatted == text:
            same += 1
            continue
        changed.append(shown)
        if check:
            say(f"would reformat {shown}")
            status = 1
            continue
        try:
            write_text_atomic(file, formatted)
        except OSError as err:
            warn(f"{shown}: cannot write: {err.strerror}")
            status = 1
            continue
        say(f"reformatted {shown}")
    verb = "would be reformatted" if check else "reformatted"
    say(f"{len(changed)} file(s) {verb}, {same} already formatted")
    return status
