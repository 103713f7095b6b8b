"""What a command shows a person at the terminal while it works: lines on stdout or
stderr, and a progress bar for a large run. Shared by perfdsl.cli and the run modules,
which say notes (a column read by its label, a construct run per row) as they find them."""
from __future__ import annotations

import sys

PROGRESS_FROM = 20_000  # subjects; smaller runs finish before a bar would help


def out(text: str = "", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")


def progress(iterable, total):
    """A progress bar on stderr, only for a person watching a large run."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, unit=" subjects", file=sys.stderr, leave=False)
