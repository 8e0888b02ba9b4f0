"""Every papergym environment id, in one place. Importing ``papergym`` registers them all.

Single-agent environments go to Gymnasium's registry (``gymnasium.make("papergym/<Name>-v0")``),
multi-agent ones to PettingZoo's (``pettingzoo.make("parallel", "papergym/<Name>-v0")``). Registering
twice is harmless: ids already present are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from papergym.envs.lqg.model import DOUBLE_INTEGRATOR


@dataclass(frozen=True)
class EnvEntry:
    """An environment id with its entry points and what ``papergym list`` shows of it."""

    id: str
    entry_point: str
    paper: str
    controls: str
    max_episode_steps: int | None = None
    vector_entry_point: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


LQG_PAPER = "Linear-quadratic Gaussian regulator (benchmark of POIS / TT-POIS)"

ENVIRONMENTS: tuple[EnvEntry, ...] = (
    # --- linear-quadratic Gaussian regulator ---
    EnvEntry(
        id="papergym/LQG-v0",
        entry_point="papergym.envs.lqg:LQGEnv",
        vector_entry_point="papergym.envs.lqg:LQGVectorEnv",
        max_episode_steps=50,
        paper=LQG_PAPER,
        controls="the force u on a 1-D linear system with Gaussian noise",
    ),
    EnvEntry(
        id="papergym/LQG2D-v0",
        entry_point="papergym.envs.lqg:LQGEnv",
        vector_entry_point="papergym.envs.lqg:LQGVectorEnv",
        max_episode_steps=50,
        kwargs=DOUBLE_INTEGRATOR,
        paper=LQG_PAPER,
        controls="the force on a noisy double integrator (position, velocity)",
    ),
)

#: PettingZoo parallel environments (multi-agent); same fields, ``max_episode_steps`` = ``max_cycles``.
MULTI_AGENT_ENVIRONMENTS: tuple[EnvEntry, ...] = ()


def register_all() -> None:
    """Register every papergym environment with Gymnasium and PettingZoo (idempotent)."""
    for entry in ENVIRONMENTS:
        if entry.id in gym.registry:
            continue
        gym.register(id=entry.id, entry_point=entry.entry_point, vector_entry_point=entry.vector_entry_point,
                     max_episode_steps=entry.max_episode_steps, kwargs=dict(entry.kwargs))
    if MULTI_AGENT_ENVIRONMENTS:
        import pettingzoo

        for entry in MULTI_AGENT_ENVIRONMENTS:
            if entry.id in pettingzoo.parallel_registry:
                continue
            pettingzoo.register("parallel", entry.id, entry.entry_point, max_cycles=entry.max_episode_steps,
                                kwargs=dict(entry.kwargs))


def env_ids() -> list[str]:
    """All registered single-agent papergym ids, in registration order."""
    return [entry.id for entry in ENVIRONMENTS]


def entry(env_id: str) -> EnvEntry:
    """The entry of a papergym id; ``ValueError`` lists the known ids when it is unknown."""
    for candidate in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS:
        if candidate.id == env_id:
            return candidate
    known = ", ".join(e.id for e in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS)
    raise ValueError(f"unknown environment id {env_id!r}; known ids: {known}")
