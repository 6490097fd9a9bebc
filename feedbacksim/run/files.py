"""Atomic file writes: a temporary file in the target's folder, then a rename.

Every file of a run directory is written here. A reader (a resumed sweep, a report) sees
either the old file or the complete new one, never half of it: the content goes to a
temporary file with a unique name (``.<name>.<random>.tmp``, so two writers of one file
never share a temporary file), is flushed to disk, then renamed over the target. A failed
write (a full disk, a crash of the writing code) removes its temporary file and leaves the
target as it was; an operating-system error becomes a :class:`RunFailure` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from feedbacksim.errors import RunFailure

TEMP_SUFFIX = ".tmp"


def is_temporary(name: str) -> bool:
    """Whether ``name`` is the temporary file of an unfinished (or killed) atomic write."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


@contextlib.contextmanager
def atomic_file(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle to write ``path`` through; the file appears (0644) only when the block succeeds."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        handle: IO[Any] = (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        )
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise RunFailure(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def atomic_write(path: Path, write: Callable[[IO[Any]], object], binary: bool = False) -> Path:
    """Create ``path`` atomically with ``write(handle)``; the file is world-readable (0644)."""
    with atomic_file(path, binary) as handle:
        write(handle)
    return Path(path)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda handle: handle.write(text))


def atomic_save_figure(figure: Any, path: Path, **options: Any) -> Path:
    """Save a matplotlib ``figure`` to ``path`` atomically, in the format its suffix names."""
    path = Path(path)
    kind = path.suffix.lstrip(".") or "png"
    return atomic_write(path, lambda handle: figure.savefig(handle, format=kind, **options), True)
