"""Atomic run directories: write beside the target, rename at the end, never clobber silently."""

from __future__ import annotations

import ctypes
import errno
import glob
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError, OutputExistsError
from .manifest import MANIFEST, seal_manifest


def is_run_dir(path: Path) -> bool:
    """True if ``path`` is a folder holding a carbon-sink run's manifest (what ``overwrite`` may replace)."""
    manifest = Path(path) / MANIFEST
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(content, dict) and "carbon_sink_version" in content


def check_target(target: Path, overwrite: bool, protected: list[Path] | None = None) -> list[Path]:
    """Fail before any work if ``target`` exists (without ``overwrite``), is anything but a previous
    run or an empty folder (with ``overwrite``), holds the current folder or any of ``protected`` (the
    config and its inputs), or cannot be created. Nothing is touched when it fails.

    Previous results that a killed run left set aside (see :func:`restore_orphaned`) are put back
    first, so they count as existing results. Returns the folders made for ``target``'s parent,
    outermost first (:func:`remove_empty_dirs` takes them away again after a failed run)."""
    target = Path(target)
    resolved = target.resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise OutputExistsError(f"--out {target} is the current folder or holds it; a run replaces its whole "
                                "output folder. Fix: give a new folder, e.g. --out runs/my-run")
    for path in protected or []:
        if path is not None and resolved in Path(path).resolve().parents:
            raise OutputExistsError(f"--out {target} holds an input of this run ({path}); replacing it would "
                                    "delete the input. Fix: give a folder of its own, e.g. --out runs/my-run")
    restore_orphaned(target)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; a previous run's results are there. "
                                "Fix: choose another --out, or pass --overwrite to replace them")
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise OutputExistsError(f"{target} is a file, not a run directory; --overwrite replaces only a "
                                    "previous run's folder, so nothing was touched. Fix: choose another --out")
        if any(target.iterdir()) and not is_run_dir(target):
            raise OutputExistsError(f"{target} is not empty and holds no carbon-sink run ({MANIFEST} missing or "
                                    "not a run's); --overwrite replaces only a previous run, so nothing was "
                                    "touched. Fix: choose another --out, or empty the folder yourself")
    parent = target.resolve().parent
    missing = [d for d in (parent, *parent.parents) if not d.exists()][::-1]
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_empty_dirs(missing)
        raise OutputError(f"cannot create the output folder {parent} ({exc.strerror}). Fix: choose a "
                          "writable --out") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"the output folder {parent} is not writable. Fix: choose a writable --out")
    return missing


def remove_empty_dirs(folders: list[Path]) -> None:
    """Remove ``folders`` (outermost first, as :func:`check_target` returns them), innermost first,
    each only if it is empty: a failed run leaves no empty folders behind, and never removes a file."""
    for d in reversed(folders):
        try:
            d.rmdir()
        except FileNotFoundError:
            continue
        except OSError:  # not empty (someone else's files): leave it and its parents
            return


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _old_name(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.old-{pid}")


def restore_orphaned(target: Path) -> list[Path]:
    """Deal with ``.<target>.old-PID`` folders of runs whose process is gone.

    Without an atomic exchange (see :func:`_swap`) a run puts the previous results aside as
    ``.<target>.old-PID`` and renames its own folder to ``target``. Killed between the two renames,
    it leaves no ``target``: the previous results are then renamed back to ``target``. When
    ``target`` exists (the kill came after the second rename), the old folder is only a leftover and
    is removed. Returns the folders restored or removed."""
    target = Path(target)
    parent = target.resolve().parent
    if not parent.is_dir():
        return []
    done = []
    for old in sorted(parent.glob(f"{glob.escape('.' + target.name)}.old-*")):
        try:
            pid = int(old.name.rsplit(".old-", 1)[1])
        except (IndexError, ValueError):
            continue
        if _pid_alive(pid) or not old.is_dir():
            continue
        final = parent / target.name
        if not final.exists() and not final.is_symlink():
            os.replace(old, final)  # the previous results, back where they were
        else:
            shutil.rmtree(old, ignore_errors=True)
        done.append(old)
    return done


def remove_stale(target: Path) -> list[Path]:
    """Remove temporary folders of earlier runs into ``target`` whose process is gone (SIGKILL, power
    loss), after putting back previous results such a run had set aside."""
    restore_orphaned(target)
    removed = []
    for tmp in target.resolve().parent.glob(f"{glob.escape('.' + target.name)}.tmp-*"):
        try:
            pid = int(tmp.name.split(".tmp-")[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


#: The SIGINT or SIGTERM received during the current staged run, if any (see :func:`_terminate_as_exit`).
_RECEIVED: dict = {}


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a SIGINT or SIGTERM arrived during the current staged run, also when
    the KeyboardInterrupt its handler raised was swallowed (inside a finalizer): the run's long loops
    call this between steps, so an interrupted run stops at the next step instead of computing to
    the end before it gives up."""
    import threading

    if _RECEIVED and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt(f"signal {_RECEIVED['signal']}")


@contextmanager
def _terminate_as_exit() -> Iterator[dict]:
    """Make SIGTERM unwind the stack like Ctrl-C, so the temporary folder is removed; yield a dict
    that records any SIGINT or SIGTERM received.

    The record matters because Python runs signal handlers between any two bytecodes of the main
    thread, finalizers (``__del__``, weakref callbacks) included, and a KeyboardInterrupt raised
    inside a finalizer is printed and dropped: the run would go on and replace the previous results.
    The run checks the record between its steps (:func:`raise_if_interrupted`) and before it
    publishes anything.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield {}
        return
    received = _RECEIVED
    received.clear()

    def handler(signum, frame):
        received["signal"] = signum
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        received.clear()


@contextmanager
def staged_run_dir(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it becomes ``target``.

    On any error, Ctrl-C or SIGTERM the temporary folder is removed and ``target`` (a previous run)
    is untouched. A run killed outright (SIGKILL) leaves its hidden temporary folder, which the next
    run into the same target removes. Before the rename the manifest gets the checksums of every
    output (:func:`~pipeline.io.manifest.seal_manifest`); the rename itself is an atomic exchange
    where the system allows it (:func:`_swap`).
    """
    target = Path(target)
    check_target(target, overwrite)
    remove_stale(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.resolve().parent))
    try:
        with _terminate_as_exit():
            yield tmp
            seal_manifest(tmp)  # every output is written: record their checksums
            raise_if_interrupted()  # an interrupt that some finalizer swallowed: never publish an interrupted run
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(tmp, target)


#: ``renameat2`` flag: exchange the two paths atomically (Linux >= 3.15; ext4, xfs, btrfs, tmpfs...).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the directories ``a`` and ``b`` (``renameat2(RENAME_EXCHANGE)``). Returns
    False where the system or file system cannot (then nothing has changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # no libc symbol (glibc < 2.28, musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # this kernel or file system cannot exchange: the caller falls back to two renames
    raise OSError(err, f"cannot exchange {a} and {b}: {os.strerror(err)}")


def _swap(tmp: Path, target: Path) -> None:
    """Make the finished folder ``tmp`` the ``target``, replacing previous results so that a kill at
    any instant leaves either the previous or the new results at ``target`` (or, in the fallback,
    the previous ones set aside, put back by the next run's :func:`restore_orphaned`)."""
    if not target.exists():
        os.replace(tmp, target)
        return
    if target.is_dir() and not target.is_symlink() and _exchange(tmp, target):
        # target holds the new results, tmp the previous ones: a kill now leaves a stale tmp folder
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = _old_name(target, os.getpid())
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
