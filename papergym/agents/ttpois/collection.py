"""Collect trajectories of prescribed lengths from an SB3 ``VecEnv``: truncated Monte-Carlo rollouts.

Monte-Carlo estimators usually spend their budget on full-length episodes. :class:`TruncatedRollouts`
collects instead one trajectory per entry of a list of lengths (for instance the schedule of
``papergym.agents.ttpois.robust_schedule``), filling the ``VecEnv``'s slots as they free up: a slot whose
trajectory reaches its length is reset (``env_method("reset")``) and starts the next trajectory.

A trajectory that the environment terminates before its length keeps that length: the rest of it sits in
the absorbing state with reward 0, which is what an unbiased truncated estimator needs. An environment
that *truncates* (time limit) before the prescribed length is an error: the length exceeds its horizon.

Observation-transforming ``VecEnv`` wrappers (``VecNormalize``, frame stacking) are not supported: the
observation after a forced reset comes from the underlying environment.

    collector = TruncatedRollouts(vec_env, lengths=[50, 50, 20, 7])
    batch = collector.collect(lambda obs, trajectories: policy(obs))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from papergym.core.errors import PapergymError

#: ``act(observations, trajectory_indices) -> actions``: one action per active slot.
ActFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: Called after every ``VecEnv`` step with its ``infos`` and ``dones``; returning False stops collection.
StepHook = Callable[[list, np.ndarray], bool]


@dataclass
class TrajectoryBatch:
    """Trajectories padded to a common horizon.

    ``observations[i, t]``, ``actions[i, t]`` (as returned by the policy, before any clipping to the
    action space) and ``rewards[i, t]`` hold step ``t`` of trajectory ``i`` for ``t < steps[i]`` and zeros
    after. ``lengths`` are the prescribed lengths; ``steps[i] < lengths[i]`` when the environment
    terminated the trajectory. ``env_steps`` counts every ``VecEnv`` step taken, idle slots included.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    steps: np.ndarray
    env_steps: int

    @property
    def n_transitions(self) -> int:
        """Transitions that belong to a trajectory (the budget the batch used)."""
        return int(self.steps.sum())

    @property
    def step_mask(self) -> np.ndarray:
        """``(N, T)``: True where step ``t`` of trajectory ``i`` was taken."""
        return np.arange(self.rewards.shape[1])[None, :] < self.steps[:, None]

    @property
    def reach_mask(self) -> np.ndarray:
        """``(N, T)``: True where trajectory ``i`` was prescribed to reach step ``t``."""
        return np.arange(self.rewards.shape[1])[None, :] < self.lengths[:, None]


class TruncatedRollouts:
    """Collect one trajectory per prescribed length from ``env``, longest first."""

    def __init__(self, env: VecEnv, lengths: Sequence[int]):
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or lengths.size == 0 or not np.issubdtype(lengths.dtype, np.integer) \
                or lengths.min() < 1:
            raise PapergymError(f"lengths must be a non-empty sequence of integers >= 1, got {lengths.tolist()}")
        self.env = env
        self.lengths = lengths.astype(np.int64)
        self.horizon = int(self.lengths.max())
        self._order = np.argsort(-self.lengths, kind="stable")

    def collect(self, act: ActFunction, on_step: StepHook | None = None) -> TrajectoryBatch | None:
        """Roll out every trajectory; ``None`` if ``on_step`` asked to stop before the end."""
        env, n_slots = self.env, self.env.num_envs
        n = len(self.lengths)
        observation_shape = env.observation_space.shape
        observations = np.zeros((n, self.horizon, *observation_shape), dtype=np.float32)
        rewards = np.zeros((n, self.horizon))
        steps = np.zeros(n, dtype=np.int64)
        actions: np.ndarray | None = None
        pending = list(self._order[::-1])  # pop() takes the longest first
        slot_trajectory = np.array([pending.pop() if pending else -1 for _ in range(n_slots)])
        current = env.reset()
        env_steps = 0
        while np.any(slot_trajectory >= 0):
            active = np.flatnonzero(slot_trajectory >= 0)
            trajectories = slot_trajectory[active]
            chosen = np.asarray(act(current[active], trajectories))
            if actions is None:
                actions = np.zeros((n, self.horizon, *chosen.shape[1:]), dtype=chosen.dtype)
            t = steps[trajectories]
            observations[trajectories, t] = current[active]
            actions[trajectories, t] = chosen
            next_observations, step_rewards, dones, infos = env.step(self._env_actions(chosen, active))
            env_steps += n_slots
            rewards[trajectories, t] = step_rewards[active]
            steps[trajectories] += 1
            for slot, trajectory in zip(active, trajectories):
                ended = steps[trajectory] >= self.lengths[trajectory]
                if dones[slot] and not ended and infos[slot].get("TimeLimit.truncated", False):
                    raise PapergymError(f"the environment truncated a trajectory after {steps[trajectory]} "
                                     f"steps, before its prescribed length {self.lengths[trajectory]}")
                if not (ended or dones[slot]):
                    continue
                if not dones[slot]:
                    next_observations[slot] = env.env_method("reset", indices=int(slot))[0][0]
                slot_trajectory[slot] = pending.pop() if pending else -1
            current = next_observations
            if on_step is not None and on_step(infos, dones) is False:
                return None
        return TrajectoryBatch(observations, actions, rewards, self.lengths.copy(), steps, env_steps)

    def _env_actions(self, chosen: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Actions for every slot: the chosen ones clipped to a Box, a neutral one for idle slots."""
        space = self.env.action_space
        if isinstance(space, spaces.Box):
            full = np.zeros((self.env.num_envs, *space.shape), dtype=space.dtype)
            full[active] = np.clip(chosen, space.low, space.high)
            return np.clip(full, space.low, space.high)
        full = np.full(self.env.num_envs, getattr(space, "start", 0), dtype=np.int64)
        full[active] = chosen
        return full
