"""One writer per run directory: an operating-system lock held for the whole run.

``hold_run_directory(path)`` takes an exclusive lock on ``path/.lock`` (``filelock``: an
``flock`` on POSIX, ``msvcrt`` on Windows; the operating system releases it when the holder
dies, so a killed run never leaves a stale lock). The holder writes who it is (pid, host,
command, start time) to ``path/.lock.holder.json``, so a second writer is refused at once
with a :class:`ScenarioError` (exit 2) that names the holder; a directory that cannot be
created or locked (read-only, full) is a :class:`RunFailure` (exit 3). Within one process
the lock is re-entrant: the runner, the writers of the run's files and the command that
calls them may each hold it, and it is released when the outermost holder is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from feedbacksim.errors import RunFailure, ScenarioError
from feedbacksim.run.files import atomic_write_text

LOCK_FILE = ".lock"
HOLDER_FILE = ".lock.holder.json"

_held: dict[Path, list[Any]] = {}  # resolved directory -> [FileLock, depth]


def holder_of(directory: Path) -> dict[str, Any] | None:
    """Who holds (or last held) the lock of ``directory``, as the holder recorded it."""
    try:
        return json.loads((directory / HOLDER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def describe_holder(holder: dict[str, Any] | None) -> str:
    """``pid 123 on host h since 2026-01-01T00:00:00+00:00: feedbacksim run x.yaml``."""
    if not holder:
        return "another process (it has not recorded who it is yet)"
    who = f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('started')}"
    command = " ".join(map(str, holder.get("command") or []))
    return f"{who}: {command}" if command else who


def acquire(directory: Path, command: Sequence[str] | None = None) -> FileLock:
    """Lock ``directory`` (created if missing) for this process, or refuse naming the holder."""
    if directory.exists() and not directory.is_dir():
        raise ScenarioError(f"{directory} is a file, not a run directory; choose a directory")
    lock = FileLock(str(directory / LOCK_FILE), timeout=0)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise ScenarioError(
            f"{directory} is in use by {describe_holder(holder_of(directory))}; "
            "wait for that run to finish, or choose another directory"
        ) from None
    except OSError as exc:
        raise RunFailure(
            f"cannot use the run directory {directory}: {exc.strerror or exc}"
        ) from exc
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": list(command) if command is not None else ["feedbacksim", *sys.argv[1:]],
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write_text(directory / HOLDER_FILE, json.dumps(holder, indent=2))
    except BaseException:
        lock.release()
        raise
    return lock


def release(directory: Path, lock: FileLock) -> None:
    """Forget the holder record, then release the lock."""
    try:
        with contextlib.suppress(FileNotFoundError):
            (directory / HOLDER_FILE).unlink()
    finally:
        lock.release()


@contextlib.contextmanager
def hold_run_directory(
    directory: str | os.PathLike[str], command: Sequence[str] | None = None
) -> Iterator[Path]:
    """Hold the lock of ``directory`` for the block (re-entrant within this process)."""
    path = Path(directory)
    key = path.resolve()
    entry = _held.get(key)
    if entry is not None:
        entry[1] += 1
        try:
            yield path
        finally:
            entry[1] -= 1
        return
    lock = acquire(path, command)
    _held[key] = [lock, 1]
    try:
        yield path
    finally:
        del _held[key]
        release(path, lock)
