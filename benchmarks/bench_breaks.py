"""Speed of the suggesting-breaks simulation beside the authors' simulator, and of the environments.

* ``paper's unit of work``: 10^4 users over the paper's 100 time units at p = 0 (kappa = 0: ratings from
  the user's true ratings), in one call (the reproduction's path), best of ``--repeats``; printed beside the
  authors' time for the same work. Their figure is not re-run here: 8.4-9.3 s for their numba simulator
  (edensaig/suggest-breaks, commit 0985f03, lvml/core/simulation.py), measured side by side with ours on the
  project's 2-core development machine, December 2026 (our simulation then took 2.9 s). Wall time uses numba's
  threads (``--threads``); CPU time is the sum over them, the fairer figure on a loaded machine.
* ``ODE``: solve_ivp over 100 time units from 1.1 x the equilibrium, per user;
* ``Breaks-v0 single`` and ``native vector``: environment steps (one period each) per second.

Usage: ``python benchmarks/bench_breaks.py [--users N] [--repeats R] [--threads T] [--vector-envs K]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numba
import numpy as np

import papergym  # noqa: F401  (registers the ids)
from papergym.envs.breaks import BreaksVectorEnv, BreaksWorld, equilibrium, ode_engagement

ENV_ID = "papergym/Breaks-v0"
#: The authors' seconds for 10^4 users x 100 time units (kappa = 0), measured side by side on the project's
#: 2-core development machine, December 2026 (issue 26's table), and the users of that work.
AUTHORS_SECONDS = (8.4, 9.3)
PAPER_WORK_USERS = 10_000


def event_simulation(world: BreaksWorld, n_users: int, repeats: int) -> dict[str, float]:
    """Best wall and CPU seconds of ``repeats`` runs of ``n_users`` users from the no-breaks equilibrium."""
    rng = np.random.default_rng(0)
    users = rng.choice(world.viable_users(0.0), size=n_users)
    world.engagement(rng, users[:10], 0.0)  # compile (or load the compiled cache) outside the timing
    best = {"seconds": np.inf, "cpu_seconds": np.inf}
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        engagement = world.engagement(rng, users, 0.0)
        best["seconds"] = min(best["seconds"], time.perf_counter() - started)
        best["cpu_seconds"] = min(best["cpu_seconds"], time.process_time() - cpu_started)
    events = engagement.sum() * world.horizon
    return {**best, "events": events, "engagement": float(engagement.mean()),
            "slots_per_cpu_second": events * world.batch_size / best["cpu_seconds"]}


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


def authors_ratio_text(seconds: float, n_users: int) -> str:
    """The authors' time scaled to ``n_users`` (their simulation is linear in users) over ours, as a range."""
    low, high = (figure * n_users / PAPER_WORK_USERS / seconds for figure in AUTHORS_SECONDS)
    return f"{low:.1f}-{high:.1f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=PAPER_WORK_USERS, help="users of the timed simulation")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the best is reported)")
    parser.add_argument("--threads", type=int, default=numba.get_num_threads(),
                        help="numba threads for the simulation (default: numba's, the cores)")
    parser.add_argument("--vector-envs", type=int, default=256, help="environments of the native vector env")
    args = parser.parse_args(argv)
    numba.set_num_threads(args.threads)
    world = BreaksWorld.build(kappa=0.0)
    result = event_simulation(world, args.users, args.repeats)
    print(f"event simulation, {args.users:,} users x {world.horizon:g} time units, kappa = 0, p = 0 "
          f"(engagement {result['engagement']:.4f}, {result['events']:,.0f} events), best of {args.repeats}:")
    print(f"  ours:    {result['seconds']:.2f} s wall on {args.threads} thread(s), {result['cpu_seconds']:.2f} s CPU "
          f"({result['slots_per_cpu_second']:,.0f} feed slots per CPU second)")
    print(f"  authors: {AUTHORS_SECONDS[0]:g}-{AUTHORS_SECONDS[1]:g} s for 10,000 users (numba; measured side by "
          f"side on the project's 2-core development machine, December 2026)")
    print(f"  ratio:   {authors_ratio_text(result['seconds'], args.users)} by wall time, "
          f"{authors_ratio_text(result['cpu_seconds'], args.users)} by CPU time")
    print(f"ODE (solve_ivp, RK45, rtol 1e-8): {1000 * ode_per_user(world):.1f} ms CPU per user over "
          f"{world.horizon:g} time units")
    single = single_env_steps_per_second()
    vector = vector_env_steps_per_second(args.vector_envs)
    print(f"{ENV_ID}: single env {single:,.0f} steps/s, native vector env ({args.vector_envs} envs) "
          f"{vector:,.0f} steps/s ({vector / single:.0f}x)")


if __name__ == "__main__":
    main()
