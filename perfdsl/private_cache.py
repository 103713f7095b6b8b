"""A cache directory that only its owner can fill: nothing planted there is ever run.

Generated modules are kept between processes in `resources.cache_dir()` and executed when
read back, so a file another local user could write there would run as us (as root under
`sudo -E`). The directory is therefore trusted only when it is ours and writable by no one
else, and each file only when, opened without following symlinks, the descriptor we read
from is a regular file that is ours and writable by no one else. Every file operation goes
through one descriptor of the directory (`dir_fd`), so swapping the directory or a file
for a symlink between the check and the use changes nothing we read. Writes go to a
private temporary file that is renamed into place: a reader never sees half a file, and a
planted symlink is replaced, not followed.

A directory that fails the test is not used: one warning on stderr, then no caching.
"""
from __future__ import annotations

import os
import secrets
import stat
import sys

from .resources import cache_dir

MAX_FILE = 64 * 1024 * 1024
_WARNED: set[str] = set()
# Where descriptors relative to a directory are missing (Windows), nothing is cached.
# (`os.replace` is listed under its twin `os.rename`.)
_SUPPORTED = hasattr(os, "O_NOFOLLOW") and os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd


def read(name: str) -> bytes | None:
    """The cached file `name`, or None when caching is off or the file is absent or not trusted."""
    dir_fd = _open_dir()
    if dir_fd is None:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0), dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > MAX_FILE:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE + 1)[:MAX_FILE]
    except OSError:
        return None
    finally:
        os.close(fd)


def write(name: str, data: bytes) -> None:
    """Store `data` as `name` atomically; any failure only means nothing is cached."""
    dir_fd = _open_dir()
    if dir_fd is None:
        return
    tmp = f".tmp-{secrets.token_hex(8)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
        os.close(dir_fd)


def _open_dir() -> int | None:
    """A descriptor of the cache directory, created private if missing; None when caching
    is off, impossible here, or the directory is not private to us (warned once)."""
    path = cache_dir()
    if path is None or not _SUPPORTED:
        return None
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A symlink to the directory is followed: what is checked is the directory opened.
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None  # cannot be made or opened: nothing to warn about, and no cache
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if _private(st):
        return fd
    os.close(fd)
    key = str(path)
    if key not in _WARNED:
        _WARNED.add(key)
        whose = "another user's" if st.st_uid != os.geteuid() else "writable by others"
        print(f"perfdsl: warning: not caching in {path!s}: the directory is {whose}; "
              "set PERFDSL_CACHE to a private directory (or to '' to turn caching off)", file=sys.stderr)
    return None


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
