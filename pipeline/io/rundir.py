"""Atomic run directories: write beside the target, rename at the end, never clobber silently."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError, OutputExistsError


def check_target(target: Path, overwrite: bool) -> None:
    """Fail before any work if ``target`` exists (without ``overwrite``) or cannot be created."""
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; a previous run's results are there. "
                                "Fix: choose another --out, or pass --overwrite to replace them")
    parent = target.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {parent} ({exc.strerror}). Fix: choose a "
                          "writable --out") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"the output folder {parent} is not writable. Fix: choose a writable --out")


@contextmanager
def staged_run_dir(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it becomes ``target``.

    On any error the temporary folder is removed and ``target`` (a previous run) is untouched.
    """
    target = Path(target)
    check_target(target, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.resolve().parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
