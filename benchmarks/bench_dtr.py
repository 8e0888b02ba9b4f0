"""Patients per second of the DTR bandit learners: the Gymnasium loop vs the compiled path simulation.

* ``gym loop``: ``papergym/DTRBandit-v0`` stepped patient by patient, ``act``/``update`` in Python;
* ``compiled``: :func:`papergym.agents.dtr.simulate`, a whole path in numba (the reproduction's path).

Also the seconds of one path of T patients per learner (the reproduction's unit) and the projected
seconds of ``paths`` paths of every learner on one preset, on one core. Usage:
``python benchmarks/bench_dtr.py [--patients T] [--paths N] [--preset NAME] [--authors]``; ``--authors``
times the authors' learners of the linear-Gaussian study instead (their DTR bandit, greedy, static and
recourse bandits), e.g. at the scale of preset ``paper-linear-gaussian``:
``python benchmarks/bench_dtr.py --preset linear-gaussian --authors --patients 50000 --paths 192``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.dtr import (
    LSVIUCB,
    AuthorsDTRBandit,
    AuthorsGreedy,
    DTRBandit,
    EpsilonGreedy,
    ExploreThenCommit,
    Greedy,
    OptimalRegime,
    RecourseBandit,
    StaticBandit,
    simulate,
)
from papergym.envs.dtr import make_model

LEARNERS = (DTRBandit, Greedy, EpsilonGreedy, LSVIUCB, ExploreThenCommit, OptimalRegime)
AUTHORS_LEARNERS = (AuthorsDTRBandit, AuthorsGreedy, StaticBandit, RecourseBandit)


def gym_loop(agent_class, preset: str, patients: int) -> float:
    env = gym.make("papergym/DTRBandit-v0", preset=preset, disable_env_checker=True).unwrapped
    agent = agent_class(env.model, horizon=patients, seed=0)
    started = time.perf_counter()
    for patient in range(patients):
        observation, _ = env.reset(seed=patient)
        terminated = False
        while not terminated:
            action = agent.act(observation)
            observation, reward, terminated, _, info = env.step(action)
            agent.update(action, reward, info)
    return patients / (time.perf_counter() - started)


def compiled_seconds(agent_class, preset: str, patients: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one compiled path (CPU time is what a shared machine does not inflate)."""
    model = make_model(preset)
    simulate(agent_class(model, horizon=100, seed=0), model.draw(np.random.default_rng(0), 100))  # compile
    path = model.draw(np.random.default_rng(1), patients)
    wall, cpu = time.perf_counter(), time.process_time()
    simulate(agent_class(model, horizon=patients, seed=0), path)
    return time.perf_counter() - wall, time.process_time() - cpu


#: The authors' code on the same work (one beta-mixture path of T = 10^4, q = 5, h = 0.5; identical regrets):
#: measured side by side on the project's 2-core development machine, December 2026 (issue 26's table).
AUTHORS_SECONDS = {"DTRBandit": (27.0, 29.0), "Greedy": (26.0, 28.0), "EpsilonGreedy": (26.0, 28.0)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--paths", type=int, default=40)
    parser.add_argument("--preset", default="beta-mixture")
    parser.add_argument("--gym-patients", type=int, default=300, help="patients of the (slow) Gymnasium loop")
    parser.add_argument("--authors", action="store_true", help="the authors' linear-Gaussian learners instead")
    args = parser.parse_args(argv)
    learners = AUTHORS_LEARNERS if args.authors else LEARNERS
    print(f"{'learner':<20} {'gym loop patients/s':>20} {'compiled wall s/path':>21} {'compiled CPU s/path':>20} "
          f"{'authors s/path':>15} {'ratio':>10}")
    total = 0.0
    for agent_class in learners:
        seconds, cpu = compiled_seconds(agent_class, args.preset, args.patients)  # compiles first
        loop_rate = gym_loop(agent_class, args.preset, min(args.patients, args.gym_patients))
        total += cpu
        authors = AUTHORS_SECONDS.get(agent_class.__name__)
        same_work = authors is not None and args.preset == "beta-mixture" and args.patients == 10_000
        theirs = f"{authors[0]:g}-{authors[1]:g}" if same_work else "-"
        ratio = f"{authors[0] / cpu:,.0f}-{authors[1] / cpu:,.0f}x" if same_work else "-"
        print(f"{agent_class.__name__:<20} {loop_rate:>20,.0f} {seconds:>21.3f} {cpu:>20.3f} {theirs:>15} {ratio:>10}")
    print(f"one path of T={args.patients:,} for all {len(learners)} learners: {total:.2f} CPU s; {args.paths} paths: "
          f"{args.paths * total:.1f} CPU s (one core)")
    if args.preset == "beta-mixture" and args.patients == 10_000:
        print("authors: their code on the same path, measured side by side on the project's 2-core development "
              "machine, December 2026 (not re-run here)")


if __name__ == "__main__":
    main()
