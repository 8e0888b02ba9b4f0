"""Speed of RobustCartPole-v0 against Gymnasium's CartPole-v1, whose dynamics it shares (target: at most 1.2x).

Two measures, back to back in one process (best of ``--repeats`` x ``--steps`` steps, interleaved, fixed action 1,
a reset whenever an episode ends):

* ``unwrapped``: both unwrapped environments (``gym.make(...).unwrapped``), the cost of our step alone;
* ``made``: what ``gymnasium.make`` returns for each id (TimeLimit, OrderEnforcing, the checker).

No authors' figure applies (IWOCS publishes no code); the reference is Gymnasium's own CartPole.

Usage: ``python benchmarks/bench_robust.py [--steps N] [--repeats K]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

import papergym  # noqa: F401  (registers the ids)

IDS = ("papergym/RobustCartPole-v0", "CartPole-v1")


def best_step_seconds(env: gym.Env, steps: int, repeats: int) -> float:
    """The best over ``repeats`` of the mean seconds per step over ``steps`` steps of action 1."""
    best = float("inf")
    for _ in range(repeats):
        env.reset(seed=0)
        started = time.perf_counter()
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(1)
            if terminated or truncated:
                env.reset()
        best = min(best, (time.perf_counter() - started) / steps)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    ratios = {}
    print(f"{'measure':<10} {'RobustCartPole-v0 (us)':>23} {'CartPole-v1 (us)':>17} {'ratio':>6}")
    for measure in ("unwrapped", "made"):
        envs = [gym.make(env_id) for env_id in IDS]
        envs = [env.unwrapped for env in envs] if measure == "unwrapped" else envs
        times = [float("inf")] * len(envs)
        for _ in range(args.repeats):  # interleaved, so that both see the same machine load
            times = [min(best, best_step_seconds(env, args.steps, 1)) for best, env in zip(times, envs)]
        ratios[measure] = times[0] / times[1]
        print(f"{measure:<10} {times[0] * 1e6:>23.2f} {times[1] * 1e6:>17.2f} {ratios[measure]:>5.2f}x")
    return ratios


if __name__ == "__main__":
    main()
