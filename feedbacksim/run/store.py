"""Per-replication result files: one ``.npz`` per replication, written atomically, read lazily.

A replication's file holds its trace (:meth:`Trace.to_arrays`) and its findings (as JSON)
together, so a file that exists is a complete replication: it is written to a temporary
file in the same directory and renamed into place (``os.replace``), so a run killed at
any moment leaves either the whole file or none. Its bytes depend only on its content
(no timestamps), so a replication recomputed on resume is the same file. Resuming a run
skips the replications whose file exists and reads back. Reading is lazy:
:class:`StoredTraces` loads one trace at a time, so a large run is aggregated from disk
without holding every trace in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, overload

import numpy as np

from feedbacksim.analyzers.base import Finding
from feedbacksim.core.trace import Trace
from feedbacksim.run.files import atomic_write, is_temporary

FINDINGS_KEY = "__findings__"
_FILE = re.compile(r"^rep-(\d{6,})\.npz$")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip member can carry


def findings_to_json(findings: Sequence[Finding]) -> str:
    """Findings as a JSON array; :func:`findings_from_json` gives back equal findings."""
    return json.dumps([f.to_dict() for f in findings])


def findings_from_json(text: str) -> list[Finding]:
    """Inverse of :func:`findings_to_json`."""
    return [Finding(**item) for item in json.loads(text)]


def write_npz(handle: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """``arrays`` as an ``.npz`` (what ``numpy.savez`` writes) whose bytes depend on nothing else.

    ``numpy.savez`` stamps each member with the current time; here every member carries
    the same fixed date, so a replication recomputed on resume is the same file, byte for
    byte, as the one an uninterrupted run wrote.
    """
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            with archive.open(member, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(value), allow_pickle=False)


class ReplicationStore:
    """The replication files of one run (or one sweep point) in ``directory``.

    File ``rep-000012.npz`` is replication 12. Only complete files ever carry that name.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path(self, index: int) -> Path:
        """The file of replication ``index``."""
        return self.directory / f"rep-{index:06d}.npz"

    def complete(self) -> set[int]:
        """Indices of the replications whose file exists (and is therefore complete)."""
        if not self.directory.is_dir():
            return set()
        found = set()
        for entry in os.scandir(self.directory):
            match = _FILE.match(entry.name)
            if match:
                found.add(int(match.group(1)))
        return found

    def remove_partial(self) -> None:
        """Delete temporary files left by a run that was killed while writing."""
        if self.directory.is_dir():
            for entry in os.scandir(self.directory):
                if is_temporary(entry.name) and entry.name.startswith(".rep-"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def damage(self, index: int) -> str | None:
        """Why the file of replication ``index`` cannot be read back (``None`` when it can).

        Every member's checksum is verified and the findings parsed, so a truncated,
        garbage or bit-flipped file is found here rather than while aggregating.
        """
        try:
            with zipfile.ZipFile(self.path(index)) as archive:
                bad = archive.testzip()
                if bad is not None:
                    return f"checksum mismatch in {bad}"
            with np.load(self.path(index), allow_pickle=False) as data:
                if FINDINGS_KEY not in data.files:
                    return "no findings in the file"
                findings_from_json(str(data[FINDINGS_KEY]))
                trace = Trace.from_arrays({k: data[k] for k in data.files if k != FINDINGS_KEY})
                len(trace.events)  # decoded now: the log is otherwise read lazily
        except Exception as exc:  # any failure to read it back is damage, whatever its kind
            return f"{type(exc).__name__}: {exc}".splitlines()[0]
        return None

    def discard_damaged(self, indices: set[int]) -> dict[int, str]:
        """Delete the unreadable files among ``indices`` (so they are recomputed); index -> why."""
        damaged = {}
        for index in sorted(indices):
            why = self.damage(index)
            if why is not None:
                damaged[index] = why
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path(index))
        return damaged

    def write(self, index: int, arrays: Mapping[str, np.ndarray], findings_json: str) -> Path:
        """Write replication ``index`` atomically: a temporary file, then ``os.replace``."""
        members = {**arrays, FINDINGS_KEY: np.array(findings_json)}
        return atomic_write(
            self.path(index), lambda handle: write_npz(handle, members), binary=True
        )

    def load_trace(self, index: int, events: bool = True) -> Trace:
        """The trace of replication ``index`` (read from its file; without its event log
        when ``events`` is false)."""
        with np.load(self.path(index), allow_pickle=False) as data:
            return Trace.from_arrays(_TraceMembers(data), events=events)

    def load_findings(self, index: int) -> list[Finding]:
        """The findings of replication ``index`` (only that member of the file is read)."""
        with np.load(self.path(index), allow_pickle=False) as data:
            return findings_from_json(str(data[FINDINGS_KEY]))

    def all_findings(self, replications: int) -> list[Finding]:
        """Findings of replications ``0..replications-1``, in replication order."""
        out: list[Finding] = []
        for index in range(replications):
            out.extend(self.load_findings(index))
        return out

    def traces(self, replications: int, held: Mapping[int, Trace] | None = None) -> StoredTraces:
        """A lazy sequence over the traces of replications ``0..replications-1``.

        ``held``: traces already in memory (the ones this process just wrote), by index.
        """
        return StoredTraces(self, replications, held)


class _TraceMembers(Mapping[str, np.ndarray]):
    """The trace members of a replication file, each read only when asked for."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __getitem__(self, key: str) -> np.ndarray:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.data.files if k != FINDINGS_KEY)

    def __len__(self) -> int:
        return len(self.data.files) - (FINDINGS_KEY in self.data.files)


class StoredTraces(Sequence[Trace]):
    """Traces read from a :class:`ReplicationStore` on access, one at a time.

    Those in ``held`` (written by this process and kept within a memory budget) are served
    from memory; the others are read from their file at each access, none cached.
    """

    def __init__(
        self, store: ReplicationStore, replications: int, held: Mapping[int, Trace] | None = None
    ) -> None:
        self.store = store
        self.replications = replications
        self.held = dict(held or {})

    def __len__(self) -> int:
        return self.replications

    @overload
    def __getitem__(self, index: int) -> Trace: ...

    @overload
    def __getitem__(self, index: slice) -> list[Trace]: ...

    def __getitem__(self, index: int | slice) -> Trace | list[Trace]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.replications))]
        return self._get(index, events=True)

    def _get(self, index: int, events: bool) -> Trace:
        if index < 0:
            index += self.replications
        if not 0 <= index < self.replications:
            raise IndexError(f"replication {index} out of range 0..{self.replications - 1}")
        held = self.held.get(index)
        return held if held is not None else self.store.load_trace(index, events=events)

    def __iter__(self) -> Iterator[Trace]:
        for index in range(self.replications):
            yield self[index]

    def without_events(self, index: int) -> Trace:
        """Replication ``index``'s metrics and metadata, its event log left unread."""
        return self._get(index, events=False)


class DiscardedTraces(Sequence[Trace]):
    """Stands for the traces of a run that kept only its findings (a sweep without a directory)."""

    def __init__(self, replications: int) -> None:
        self.replications = replications

    def __len__(self) -> int:
        return self.replications

    def __getitem__(self, index: Any) -> Any:
        raise LookupError(
            "the traces of this run were not kept; run it with a directory to keep them"
        )
