"""Seconds per iteration of POIS and TT-POIS on the reproduction's tasks, and of the estimator units.

The paper's unit of work is one iteration of the optimiser: collect a batch of ``budget`` transitions
(full-length episodes for POIS, the width-minimising truncated ones for TT-POIS), then optimise the bound
offline. For each task named (default: the paper preset's long-horizon ones) this prints the best of
``--repeats`` timings of one iteration of each algorithm after a warm-up iteration, with its collection and
optimisation shares, and one estimator-spread unit's seconds per batch. It runs with one torch thread by
default, as the reproduction's units do: on a 2-core machine with other work, torch's default two threads made
TT-POIS's optimisation step about 11x slower (1.1 s against 0.1 s an iteration on lqg-long).

No authors' figure is printed: no public code of TT-POIS was found to run beside ours, so there is no
side-by-side measurement to compare with. Usage:
``python benchmarks/bench_ttpois.py [--tasks lqg-long cartpole-long] [--repeats R] [--threads N]``.
"""

from __future__ import annotations

import argparse
import time

from papergym.agents.ttpois import POIS, TTPOIS
from papergym.experiments.runner import limit_threads
from papergym.experiments.ttpois import TASKS, estimator_spread, make_vec_env

ALGORITHMS = {"POIS": POIS, "TT-POIS": TTPOIS}


def iteration_seconds(task_name: str, algorithm_name: str, repeats: int) -> tuple[float, float]:
    """Best seconds of one learning iteration (after a warm-up one) and the share of it spent collecting."""
    task = TASKS[task_name]
    model = ALGORITHMS[algorithm_name](task.policy, make_vec_env(task, task.n_envs), budget=task.budget,
                                       gamma=task.gamma, delta=task.delta, seed=0, policy_kwargs=task.policy_kwargs)
    model.learn(1, reset_num_timesteps=False)
    collect = model._collect
    collect_seconds = 0.0

    def timed_collect(*args, **kwargs):
        nonlocal collect_seconds
        started = time.perf_counter()
        try:
            return collect(*args, **kwargs)
        finally:
            collect_seconds += time.perf_counter() - started

    model._collect = timed_collect
    best, best_collect = float("inf"), 0.0
    for _ in range(repeats):
        collect_seconds = 0.0
        started = time.perf_counter()
        model.learn(1, reset_num_timesteps=False)
        seconds = time.perf_counter() - started
        if seconds < best:
            best, best_collect = seconds, collect_seconds
    return best, best_collect / best


def estimator_seconds_per_batch(task_name: str, batches: int) -> float:
    """Seconds per batch of one estimator-spread unit (both estimators, ``batches`` batches each)."""
    started = time.perf_counter()
    estimator_spread(TASKS[task_name], batches, policy_seed=0, env_seed=0)
    return (time.perf_counter() - started) / batches


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["lqg-long", "cartpole-long"], choices=sorted(TASKS),
                        help="the reproduction's tasks to time")
    parser.add_argument("--repeats", type=int, default=3, help="timed iterations per algorithm (best is printed)")
    parser.add_argument("--batches", type=int, default=10, help="batches of the estimator unit timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the reproduction's units use 1)")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    print(f"{args.threads} torch thread(s); authors' figure: none (no public TT-POIS code was found to run "
          "beside ours)")
    print(f"{'task':<14} {'algorithm':<8} {'T':>4} {'gamma':>5} {'budget':>7} {'s/iteration':>12} {'collecting':>11}")
    for name in args.tasks:
        task = TASKS[name]
        for algorithm in ALGORITHMS:
            seconds, collecting = iteration_seconds(name, algorithm, args.repeats)
            print(f"{name:<14} {algorithm:<8} {task.horizon:>4} {task.gamma:>5} {task.budget:>7} {seconds:>12.3f} "
                  f"{collecting:>10.0%}")
        print(f"{name:<14} estimator unit: {estimator_seconds_per_batch(name, args.batches):.3f} s per batch "
              "(full-length and truncated)")


if __name__ == "__main__":
    main()
