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


def bench_large(campaign, horizon: int, c0: float, T0: int) -> None:
    """The paper's large-scale unit of work: the exact DP to T0 (RLB-NN's table) and one compiled replay of
    episodes of ``horizon`` auctions (Lin's bids: the replay loop without the network's cost)."""
    from papergym.agents.rtb import LinearBidder, evaluation_config, kept_dp_rows, replay_linear, solve_increment_rows

    config = evaluation_config(campaign, campaign.default_split(), horizon, c0)
    width = int(1.5 * config.problem.budget * T0 / horizon) + config.problem.max_bid
    solve_increment_rows(campaign.market_price_pdf, campaign.theta_avg, 4, 10, [4])  # compile first
    seconds, _ = _timed(solve_increment_rows, campaign.market_price_pdf, campaign.theta_avg, T0, width,
                        kept_dp_rows(T0))
    print(f"  exact DP to T0 = {T0}, budgets 0..{width}: {seconds:.2f} s ({T0 * width / seconds:,.0f} cells/s)")
    lin = LinearBidder(campaign, config.problem, 10.0)
    replay_linear(lin, config)
    seconds, result = _timed(replay_linear, lin, config)
    print(f"  compiled replay of {int(result.auctions.sum()):,} auctions (T = {horizon}): {seconds * 1e3:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", default="synthetic", help="'synthetic' or an iPinYou campaign folder")
    parser.add_argument("--horizon", "--T", dest="horizon", type=int, default=1000,
                        help="auctions per episode (T); --T is its old name")
    parser.add_argument("--c0", type=float, default=1 / 32)
    parser.add_argument("--numpy-rows", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--large-t0", type=int, default=1000,
                        help="T0 of the large-scale DP benchmark (the paper's 5000 takes minutes)")
    args = parser.parse_args(argv)
    campaign = load_campaign(args.campaign)
    bench_dp(campaign, args.horizon, args.c0, args.numpy_rows)
    bench_steps(campaign, args.steps, args.num_envs)
    bench_large(campaign, max(args.horizon, 10 * args.large_t0), args.c0, args.large_t0)


if __name__ == "__main__":
    main()
