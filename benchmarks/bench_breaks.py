"""Speed of the suggesting-breaks simulation: the compiled event simulation, the ODE, and the environments.

* ``event simulation``: ``--users`` users (default 10^4) over the paper's 100 time units at p = 0 in one
  compiled call (the reproduction's path); reported as seconds, events and feed slots per second;
* ``ODE``: solve_ivp over 100 time units from 1.1 x the equilibrium, per user;
* ``Breaks-v0 single`` and ``native vector``: environment steps (one period each) per second.

Usage: ``python benchmarks/bench_breaks.py [--users N] [--vector-envs K]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import papergym  # noqa: F401  (registers the ids)
from papergym.envs.breaks import BreaksVectorEnv, BreaksWorld, equilibrium, ode_engagement

ENV_ID = "papergym/Breaks-v0"


def event_simulation(world: BreaksWorld, n_users: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    users = rng.choice(world.viable_users(0.0), size=n_users)
    world.engagement(rng, users[:10], 0.0)  # compile (or load the compiled cache) outside the timing
    started, cpu_started = time.perf_counter(), time.process_time()
    engagement = world.engagement(rng, users, 0.0)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    events = engagement.sum() * world.horizon
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "events": events,
            "slots_per_second": events * world.batch_size / cpu_seconds}


def ode_per_user(world: BreaksWorld, n_users: int = 50) -> float:
    """CPU seconds per user of the ODE over the horizon from 1.1 x the equilibrium of p = 0.1."""
    betas = world.beta[world.viable_users(0.0)[:n_users]]
    started = time.process_time()
    for beta in betas:
        start = 1.1 * np.array(equilibrium(0.1, float(beta), world.params))
        ode_engagement(0.1, float(beta), world.params, world.horizon, initial_state=start)
    return (time.process_time() - started) / len(betas)


def single_env_steps_per_second(episodes: int = 5) -> float:
    env = gym.make(ENV_ID, disable_env_checker=True)
    action = np.array([0.1], dtype=np.float32)
    steps, started = 0, time.perf_counter()
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            steps += 1
    return steps / (time.perf_counter() - started)


def vector_env_steps_per_second(num_envs: int, steps: int = 100) -> float:
    envs = BreaksVectorEnv(num_envs)
    envs.reset(seed=0)
    actions = np.full((num_envs, 1), 0.1, dtype=np.float32)
    envs.step(actions)
    started = time.perf_counter()
    for _ in range(steps):
        envs.step(actions)
    return num_envs * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--vector-envs", type=int, default=256)
    args = parser.parse_args()
    world = BreaksWorld.build()
    result = event_simulation(world, args.users)
    print(f"event simulation: {args.users:,} users x {world.horizon:g} time units in {result['seconds']:.2f} s wall, "
          f"{result['cpu_seconds']:.2f} s CPU ({result['events']:,.0f} events, "
          f"{result['slots_per_second']:,.0f} feed slots per CPU second)")
    print(f"ODE (solve_ivp, RK45, rtol 1e-8): {1000 * ode_per_user(world):.1f} ms CPU per user over "
          f"{world.horizon:g} time units")
    single = single_env_steps_per_second()
    vector = vector_env_steps_per_second(args.vector_envs)
    print(f"{ENV_ID}: single env {single:,.0f} steps/s, native vector env ({args.vector_envs} envs) "
          f"{vector:,.0f} steps/s ({vector / single:.0f}x)")


if __name__ == "__main__":
    main()
