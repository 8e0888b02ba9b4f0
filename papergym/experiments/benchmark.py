"""Steps per second of each environment: the single env against its native vector env, same run."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from papergym.registration import ENVIRONMENTS, entry


@dataclass
class BenchResult:
    env_id: str
    single_steps_per_s: float
    vector_steps_per_s: float | None
    num_envs: int

    @property
    def speedup(self) -> float | None:
        if self.vector_steps_per_s is None:
            return None
        return self.vector_steps_per_s / self.single_steps_per_s


def _pregenerated_actions(space: gym.Space, count: int, seed: int) -> list:
    space.seed(seed)
    return [space.sample() for _ in range(count)]


def bench_single(env_id: str, steps: int, seed: int = 0) -> float:
    env = gym.make(env_id, disable_env_checker=True).unwrapped  # the raw step, without wrappers
    actions = _pregenerated_actions(env.action_space, min(steps, 1000), seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for index in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[index % len(actions)])
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def bench_vector(env_id: str, steps: int, num_envs: int, seed: int = 0) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    batches = [np.asarray(a) for a in _pregenerated_actions(envs.action_space, 100, seed)]
    envs.reset(seed=seed)
    iterations = max(1, steps // num_envs)
    start = time.perf_counter()
    for index in range(iterations):
        envs.step(batches[index % len(batches)])
    return iterations * num_envs / (time.perf_counter() - start)


def bench(env_ids: list[str] | None = None, steps: int = 20_000, num_envs: int = 64) -> list[BenchResult]:
    ids = env_ids or [e.id for e in ENVIRONMENTS]
    results = []
    for env_id in ids:
        has_vector = entry(env_id).vector_entry_point is not None
        single = bench_single(env_id, steps)
        vector = bench_vector(env_id, steps * 10, num_envs) if has_vector else None
        results.append(BenchResult(env_id, single, vector, num_envs))
    return results
