"""Speed of RLB's dynamic programme: the numba-compiled solve against the same recursion in plain numpy.

Prints cell updates per second (one cell = one V(t, b)) and the speed-up, for T = 1000 and the budget of
c0 = 1/32 on the synthetic campaign (B ~ 2500), or of an iPinYou campaign folder given with --campaign.
The numpy reference is timed on the first --numpy-rows rows of t only (it is slow) and both solves are
checked to agree on those rows. Also prints the single and vector environment step rates.

    python benchmarks/bench_rtb.py [--campaign path/to/ipinyou/2997] [--c0 0.03125] [--horizon 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from gymnasium.vector import AutoresetMode

from papergym.agents.rtb import solve_value_function, solve_value_function_numpy
from papergym.envs.rtb import RTBEnv, RTBVectorEnv, load_campaign


def _timed(function, *args) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def bench_dp(campaign, horizon: int, c0: float, numpy_rows: int) -> None:
    budget = campaign.budget(horizon, c0)
    pdf, theta = campaign.market_price_pdf, campaign.theta_avg
    solve_value_function(pdf, theta, 2, 10)  # compile (or load the cached machine code) first
    numba_seconds, values = _timed(solve_value_function, pdf, theta, horizon, budget)
    numpy_seconds, reference = _timed(solve_value_function_numpy, pdf, theta, numpy_rows, budget)
    difference = float(np.max(np.abs(values[: numpy_rows + 1] - reference)))
    numba_rate = horizon * (budget + 1) / numba_seconds
    numpy_rate = numpy_rows * (budget + 1) / numpy_seconds
    print(f"campaign {campaign.name}: T = {horizon}, c0 = {c0:g}, B = {budget}")
    print(f"  numba  solve: {numba_seconds:8.3f} s for T = {horizon}      {numba_rate:14,.0f} cells/s")
    print(f"  numpy  solve: {numpy_seconds:8.3f} s for T = {numpy_rows} rows  {numpy_rate:14,.0f} cells/s")
    print(f"  speed-up {numba_rate / numpy_rate:.1f}x; numpy for T = {horizon} would take about "
          f"{numpy_seconds * horizon / numpy_rows:.0f} s; max |V difference| {difference:.2e}")


def bench_steps(campaign, steps: int, num_envs: int) -> None:
    env = RTBEnv(campaign)
    env.reset(seed=0)
    started = time.perf_counter()
    for _ in range(steps):
        if env.step(60)[2]:
            env.reset()
    single = steps / (time.perf_counter() - started)
    envs = RTBVectorEnv(num_envs, campaign=campaign, autoreset_mode=AutoresetMode.NEXT_STEP)
    envs.reset(seed=0)
    bids = np.full(num_envs, 60)
    started = time.perf_counter()
    for _ in range(steps // num_envs):
        envs.step(bids)
    vector = (steps // num_envs) * num_envs / (time.perf_counter() - started)
    print(f"  env steps/s: single {single:,.0f}; vector ({num_envs} envs) {vector:,.0f} "
          f"({vector / single:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", default="synthetic", help="'synthetic' or an iPinYou campaign folder")
    parser.add_argument("--horizon", "--T", dest="horizon", type=int, default=1000,
                        help="auctions per episode (T); --T is its old name")
    parser.add_argument("--c0", type=float, default=1 / 32)
    parser.add_argument("--numpy-rows", type=int, default=100)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--num-envs", type=int, default=64)
    args = parser.parse_args()
    campaign = load_campaign(args.campaign)
    bench_dp(campaign, args.horizon, args.c0, args.numpy_rows)
    bench_steps(campaign, args.steps, args.num_envs)


if __name__ == "__main__":
    main()
