"""The one place where random streams of a reproduction are derived.

Every random stream a reproduction's unit uses (a policy's initialisation, an evaluation's episode seeds, a
market's draw, the noise of a bandit trial) is named, and its seed comes from four things only:

- the settings' ``seed`` (the base seed of the whole run, 0 by default),
- the unit's kind (``"trial"``, ``"train"``, ``"agent"``, ...),
- the unit's seed index (its repetition, 0 .. ``seeds`` - 1),
- the stream's name (``"env"``, ``"policy"``, ``"market"``, ...),

through numpy's :class:`~numpy.random.SeedSequence` (the base seed is its entropy, the other three its
spawn key), so two streams differ whenever any of the four differs and no module does seed arithmetic of
its own. Streams that must be shared across units on purpose (common random numbers: every agent of a
bandit trial sees the same noise) use the same kind for those units' shared stream, e.g. ``kind="trial"``.
"""

from __future__ import annotations

import numpy as np

from papergym.core.errors import PapergymError


def _word(text: str) -> int:
    """A string as a non-negative integer, one-to-one (SeedSequence takes integers of any size)."""
    return int.from_bytes(text.encode("utf-8"), "little")


def seed_sequence(base: int, kind: str, index: int, stream: str) -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` of one named stream of one unit."""
    if index < 0:
        raise PapergymError(f"a unit's seed index must be >= 0, got {index}")
    return np.random.SeedSequence(entropy=base, spawn_key=(_word(kind), index, _word(stream)))


def stream_seed(base: int, kind: str, index: int, stream: str) -> int:
    """An integer seed in [0, 2**32) for APIs that take one (``env.reset(seed=...)``, SB3's ``seed``)."""
    return int(seed_sequence(base, kind, index, stream).generate_state(1, np.uint32)[0])


def stream_rng(base: int, kind: str, index: int, stream: str) -> np.random.Generator:
    """A numpy generator for one named stream of one unit."""
    return np.random.default_rng(seed_sequence(base, kind, index, stream))
