"""Per-replication result files: one ``.npz`` per replication, written atomically, read lazily.

A replication's file holds its trace (:meth:`Trace.to_arrays`) and its findings (as JSON)
together, so a file that exists is a complete replication: it is written to a temporary
file in the same directory and renamed into place (``os.replace``), so a run killed at
any moment leaves either the whole file or none. Resuming a run skips the replications
whose file exists. Reading is lazy: :class:`StoredTraces` loads one trace at a time, so a
large run is aggregated from disk without holding every trace in memory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, overload

import numpy as np

from feedbacksim.analyzers.base import Finding
from feedbacksim.core.trace import Trace
from feedbacksim.run.files import atomic_write

FINDINGS_KEY = "__findings__"
_FILE = re.compile(r"^rep-(\d{6,})\.npz$")


def findings_to_json(findings: Sequence[Finding]) -> str:
    """Findings as a JSON array; :func:`findings_from_json` gives back equal findings."""
    return json.dumps([f.to_dict() for f in findings])


def findings_from_json(text: str) -> list[Finding]:
    """Inverse of :func:`findings_to_json`."""
    return [Finding(**item) for item in json.loads(text)]


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
                if entry.name.startswith(".rep-") and entry.name.endswith(".tmp"):
                    os.unlink(entry.path)

    def write(self, index: int, arrays: Mapping[str, np.ndarray], findings_json: str) -> Path:
        """Write replication ``index`` atomically: a temporary file, then ``os.replace``."""
        findings = {FINDINGS_KEY: np.array(findings_json)}

        def write(handle: IO[Any]) -> None:
            # numpy's stub reads a str-keyed mapping as possibly holding ``allow_pickle``.
            np.savez(handle, **arrays, **findings)  # type: ignore[arg-type]

        return atomic_write(self.path(index), write, binary=True)

    def load_trace(self, index: int) -> Trace:
        """The trace of replication ``index`` (read from its file)."""
        with np.load(self.path(index), allow_pickle=False) as data:
            return Trace.from_arrays({k: data[k] for k in data.files if k != FINDINGS_KEY})

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

    def traces(self, replications: int) -> StoredTraces:
        """A lazy sequence over the traces of replications ``0..replications-1``."""
        return StoredTraces(self, replications)


class StoredTraces(Sequence[Trace]):
    """Traces read from a :class:`ReplicationStore` on access, one at a time (none cached)."""

    def __init__(self, store: ReplicationStore, replications: int) -> None:
        self.store = store
        self.replications = replications

    def __len__(self) -> int:
        return self.replications

    @overload
    def __getitem__(self, index: int) -> Trace: ...

    @overload
    def __getitem__(self, index: slice) -> list[Trace]: ...

    def __getitem__(self, index: int | slice) -> Trace | list[Trace]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.replications))]
        if index < 0:
            index += self.replications
        if not 0 <= index < self.replications:
            raise IndexError(f"replication {index} out of range 0..{self.replications - 1}")
        return self.store.load_trace(index)

    def __iter__(self) -> Iterator[Trace]:
        for index in range(self.replications):
            yield self.store.load_trace(index)


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
