"""Named, independent random streams derived from one SeedSequence.

Each component of a replication (the environment, every agent) draws from its own
``numpy.random.Generator``. The stream of a component depends only on the replication's
seed and the component's *name*, so adding or removing a component never shifts the
draws of the others.
"""

from __future__ import annotations

import zlib

import numpy as np


def as_seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """Return ``seed`` as a SeedSequence (an int becomes its entropy)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(seed)


def child_sequence(parent: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """The child of ``parent`` named ``name``: stable across runs, platforms and Python versions."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, key))


def named_generator(parent: np.random.SeedSequence, name: str) -> np.random.Generator:
    """A PCG64 generator for the component ``name`` of the replication seeded by ``parent``."""
    return np.random.Generator(np.random.PCG64(child_sequence(parent, name)))


def replication_sequences(seed: int | None, count: int) -> list[np.random.SeedSequence]:
    """Seeds of replications ``0..count-1`` of a run: child ``i`` of the run's SeedSequence.

    ``SeedSequence.spawn`` numbers children from zero, so replication ``i`` has the same seed
    whatever the number of replications, the executor or the sweep point.
    """
    root = as_seed_sequence(seed)
    return [
        np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, i)) for i in range(count)
    ]
