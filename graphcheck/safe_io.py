"""One guarded reader for every file graphcheck reads besides models: regular files, bounded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MIB = 1024 * 1024
# Ignore files, configuration and baselines are text a person writes: a few KiB each.
AUX_MAX_BYTES = 4 * MIB
# Pseudo-file systems whose "regular" files are endless or block (/proc/kmsg, /sys/...).
PSEUDO_ROOTS = ("/proc", "/sys", "/dev")


class UnsafeFile(OSError):
    """A file graphcheck refuses to read: not a regular file, or over its size bound."""


def read_bounded(path: Path, limit: int = AUX_MAX_BYTES, root: Path | None = None) -> bytes:
    """Return a regular file's bytes; refuse FIFOs, devices, big files and links out of root."""
    check_regular(path, os.stat(path))  # before opening: opening a FIFO can block
    real = os.path.realpath(path)  # /proc and /sys files claim to be regular (and empty)
    if any(real == pseudo or real.startswith(pseudo + "/") for pseudo in PSEUDO_ROOTS):
        raise UnsafeFile(f"{path} resolves to {real}, a pseudo-file graphcheck does not read")
    if root is not None:
        check_inside(path, root)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        check_regular(path, os.fstat(fd))  # the file may have been swapped since the stat
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFile(f"{path} is over the {limit}-byte limit for this kind of file")
    return data


def read_text(path: Path, limit: int = AUX_MAX_BYTES) -> str:
    """Return a bounded regular file as UTF-8 text (undecodable bytes raise UnicodeDecodeError)."""
    return read_bounded(path, limit).decode("utf-8")


def check_inside(path: Path, root: Path) -> None:
    """Raise UnsafeFile when ``path`` resolves outside ``root`` (a model folder's member)."""
    # Following such a link would check, and echo in findings, a file that is not in the tree.
    real, top = os.path.realpath(path), os.path.realpath(root)
    if real != top and not real.startswith(top.rstrip("/") + "/"):
        raise UnsafeFile(f"{path.name} is a symlink to {real}, outside {top}; "
                         "graphcheck does not follow it")


def check_regular(path: Path | str, info: os.stat_result) -> None:
    """Raise UnsafeFile unless ``info`` describes a regular file."""
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{path} is not a regular file ({kind(info.st_mode)}); "
                         "graphcheck does not open it")


def kind(mode: int) -> str:
    """Name a non-regular file type for messages."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def escape_name(name: str) -> str:
    """Show a file name that is not valid UTF-8 (surrogate-escaped bytes) as escaped bytes."""
    from graphcheck.reporters.escape import surrogates

    return surrogates(name)
