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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(target: Path) -> list[Path]:
    """Remove temporary folders of earlier runs into ``target`` whose process is gone (SIGKILL, power loss)."""
    removed = []
    for tmp in target.resolve().parent.glob(f".{target.name}.tmp-*"):
        try:
            pid = int(tmp.name.split(".tmp-")[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Make SIGTERM unwind the stack like Ctrl-C, so the temporary folder is removed."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def staged_run_dir(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it becomes ``target``.

    On any error, Ctrl-C or SIGTERM the temporary folder is removed and ``target`` (a previous run)
    is untouched. A run killed outright (SIGKILL) leaves its hidden temporary folder, which the next
    run into the same target removes.
    """
    target = Path(target)
    check_target(target, overwrite)
    remove_stale(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.resolve().parent))
    try:
        with _terminate_as_exit():
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
