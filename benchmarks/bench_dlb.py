"""Rounds per second of DynLin-UCB on the dynamical linear bandit: Gymnasium loops vs the compiled simulator.

Three ways of running the same trials of the paper's synthetic case (noise std 0.01):

* ``gym single``: ``papergym/DynamicalLinearBandit-v0`` stepped round by round, ``act``/``update`` in Python;
* ``gym vector``: the native vector env with one agent per trial, stepped round by round;
* ``compiled``: :func:`papergym.agents.dlb.simulate`, a whole trial in numba (the reproduction's path).

By default it prints only our time for the paper's unit of work (one DynLin-UCB trial of 10^5 rounds on the
synthetic sigma = 0.01 case) beside the authors' figure; ``--loops`` adds the three paths, whose ratios are
against the single-environment loop, measured in the same run. Usage:
``python benchmarks/bench_dlb.py [--loops] [--rounds N] [--trials K]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.dlb import DynLinUCB, LinUCB, simulate, trial_noise
from papergym.envs.dlb import DLBModel

ENV_ID = "papergym/DynamicalLinearBandit-v0"
PRESET = "synthetic-0.01"


def gym_single(agent_class, rounds: int, trials: int) -> float:
    env = gym.make(ENV_ID, preset=PRESET, horizon=rounds, disable_env_checker=True).unwrapped
    agent = agent_class(env.model, rounds, seed=0)
    started = time.perf_counter()
    for trial in range(trials):
        env.reset(seed=trial)
        agent.reset()
        for _ in range(rounds):
            action = agent.act()
            _, reward, _, _, _ = env.step(action)
            agent.update(action, reward)
    return trials * rounds / (time.perf_counter() - started)


def gym_vector(agent_class, rounds: int, trials: int) -> float:
    envs = gym.make_vec(ENV_ID, num_envs=trials, vectorization_mode="vector_entry_point", preset=PRESET,
                        horizon=rounds)
    agents = [agent_class(envs.unwrapped.model, rounds, seed=trial) for trial in range(trials)]
    envs.reset(seed=0)
    started = time.perf_counter()
    for _ in range(rounds):
        actions = np.array([agent.act() for agent in agents])
        _, rewards, _, _, _ = envs.step(actions)
        for agent, action, reward in zip(agents, actions, rewards):
            agent.update(action, reward)
    return trials * rounds / (time.perf_counter() - started)


def compiled(agent_class, rounds: int, trials: int) -> float:
    model = DLBModel.from_kwargs(PRESET)
    agent = agent_class(model, rounds, seed=0)
    simulate(agent, trial_noise(model, 100, 0))  # compile (or load the cache) before timing
    started = time.perf_counter()
    for trial in range(trials):
        simulate(agent, trial_noise(model, rounds, trial))
    return trials * rounds / (time.perf_counter() - started)


#: The authors' time for the paper's unit of work (marcomussi/DLB, DynLin-UCB, T = 10^5, synthetic sigma = 0.01,
#: one trial), measured side by side on the project's 2-core development machine, December 2026 (issue 26).
AUTHORS_SECONDS = (2.5, 3.2)
PAPER_UNIT_ROUNDS = 100_000


def paper_unit_seconds(repeats: int = 3) -> float:
    """Best of ``repeats`` compiled DynLin-UCB (lambda = log T) trials of 10^5 rounds on synthetic sigma = 0.01."""
    model = DLBModel.from_kwargs(PRESET)
    agent = DynLinUCB(model, PAPER_UNIT_ROUNDS, lam=float(np.log(PAPER_UNIT_ROUNDS)), seed=0)
    noise = trial_noise(model, PAPER_UNIT_ROUNDS, 0)
    simulate(agent, noise[:100])  # compile (or load the cache) before timing
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        simulate(agent, noise)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", action="store_true", help="also time the Gymnasium loops against the compiled one")
    parser.add_argument("--rounds", type=int, default=20_000, help="rounds per trial for the Gymnasium loops")
    parser.add_argument("--compiled-rounds", type=int, default=1_000_000, help="rounds per compiled trial")
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args(argv)
    ours = paper_unit_seconds()
    low, high = AUTHORS_SECONDS
    print(f"DynLin-UCB, T = 10^5, synthetic sigma = 0.01, one trial: ours {ours:.4f} s; authors {low}-{high} s "
          "(measured side by side on the project's 2-core development machine, December 2026); "
          f"ratio {low / ours:,.0f}-{high / ours:,.0f}x")
    if not args.loops:
        return
    print(f"{'agent':<10} {'path':<12} {'rounds/s':>14} {'vs gym single':>14}")
    for agent_class in (DynLinUCB, LinUCB):
        reference = gym_single(agent_class, args.rounds, args.trials)
        rows = [("gym single", reference), ("gym vector", gym_vector(agent_class, args.rounds, args.trials)),
                ("compiled", compiled(agent_class, args.compiled_rounds, args.trials))]
        for path, speed in rows:
            print(f"{agent_class.__name__:<10} {path:<12} {speed:>14,.0f} {speed / reference:>13.1f}x")
    per_case = 10 * 1_000_000 / rows[-1][1]
    print(f"a paper-scale case (10 trials x 10^6 rounds) of LinUCB takes {per_case:.1f} s compiled")


if __name__ == "__main__":
    main()
