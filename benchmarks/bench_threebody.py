"""Microseconds per step of the three-body integrators, on the paper's initial conditions.

* ``hermite numba (interval)``: :func:`hermite_interval`, the loop compiled too (the environment's path);
* ``hermite numba (per call)``: :func:`hermite_step` called from Python once per step;
* ``hermite numpy``: the same step in numpy (:func:`hermite_step_numpy`);
* ``ias15 (rebound)``: ``--steps`` IAS15 steps in one ``sim.steps(N)`` call (epsilon 1e-9, rebound's
  default, and 1e-4), also per force evaluation (counted in a separate, callback-instrumented run).

Every method starts from the same state (``paper_initial_conditions`` drawn with ``STATE_SEED``, N-body units). The
per-call and numpy Hermite runs take the fixed step ``dt`` = 1e-3 times the initial pair timescale; the
interval run takes the adaptive shared step with eta = 1e-3 (the same step size, re-evaluated every step) and
is divided by the steps it took; IAS15 chooses its own step. The numbers compare the cost of one step and of
one force evaluation. Usage: ``python benchmarks/bench_threebody.py [--steps N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from papergym.envs.threebody import integrators, paper_initial_conditions

#: The one problem instance every method integrates (a model constant, not a random stream).
STATE_SEED = 0


def initial_state():
    positions, velocities, masses = paper_initial_conditions(np.random.default_rng(STATE_SEED))
    accelerations, jerks = integrators.accelerations_and_jerks_numpy(positions, velocities, masses, 1.0)
    dt = float(integrators.shared_timestep(positions, velocities, masses, 1.0, 1e-3))
    return positions, velocities, accelerations, jerks, masses, dt


def best_of(function, repeats: int) -> float:
    """The fastest of ``repeats`` timings (seconds) of ``function()``."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def hermite_interval_us(steps: int, repeats: int) -> float:
    positions, velocities, accelerations, jerks, masses, dt = initial_state()

    def run():
        x, v, a, j = positions.copy(), velocities.copy(), accelerations.copy(), jerks.copy()
        # eta is chosen so that the shared step stays near dt: a fixed count of steps over steps * dt
        integrators.hermite_interval(x, v, a, j, masses, 1.0, 1e-3, steps * dt, 10 * steps)
        return x

    run()  # compile or load the cache
    x, v, a, j = positions.copy(), velocities.copy(), accelerations.copy(), jerks.copy()
    _, done, _ = integrators.hermite_interval(x, v, a, j, masses, 1.0, 1e-3, steps * dt, 10 * steps)
    return 1e6 * best_of(run, repeats) / done


def hermite_call_us(steps: int, repeats: int) -> float:
    positions, velocities, accelerations, jerks, masses, dt = initial_state()
    scratch = np.empty((4, 3, 3))

    def run():
        x, v, a, j = positions.copy(), velocities.copy(), accelerations.copy(), jerks.copy()
        for _ in range(steps):
            integrators.hermite_step(x, v, a, j, masses, 1.0, dt, scratch)

    run()
    return 1e6 * best_of(run, repeats) / steps


def hermite_numpy_us(steps: int, repeats: int) -> float:
    positions, velocities, accelerations, jerks, masses, dt = initial_state()

    def run():
        state = (positions, velocities, accelerations, jerks)
        for _ in range(steps):
            state = integrators.hermite_step_numpy(*state, masses, 1.0, dt)

    return 1e6 * best_of(run, repeats) / steps


def ias15_us(steps: int, repeats: int, epsilon: float) -> tuple[float, float]:
    """(microseconds per IAS15 step, force evaluations per step)."""
    import rebound

    positions, velocities, _, _, masses, dt = initial_state()

    def simulation(count=None):
        sim = rebound.Simulation()
        sim.G = 1.0
        for m, x, v in zip(masses, positions, velocities):
            sim.add(m=float(m), x=x[0], y=x[1], z=x[2], vx=v[0], vy=v[1], vz=v[2])
        sim.integrator = "ias15"
        sim.integrator.epsilon = epsilon
        sim.dt = dt
        if count is not None:
            def counter(_):
                count[0] += 1
            sim.additional_forces = counter
        return sim

    def run():
        simulation().steps(steps)

    seconds = best_of(run, repeats)
    count = [0]
    simulation(count).steps(steps)
    return 1e6 * seconds / steps, count[0] / steps


def env_steps_per_second(num_envs: int, steps: int, action: int = 6) -> tuple[float, float]:
    """(single-env steps/s through gymnasium.make, vector-env system-steps/s with ``num_envs`` systems), both
    at the fixed action ``action`` (eta = 0.01), measured back to back from the same seed."""
    import gymnasium as gym

    import papergym  # noqa: F401  (registers the ids)

    single = gym.make("papergym/ThreeBody-v0")
    single.reset(seed=0)
    started = time.perf_counter()
    for _ in range(steps):
        if any(single.step(action)[2:4]):
            single.reset()
    single_rate = steps / (time.perf_counter() - started)
    vector = gym.make_vec("papergym/ThreeBody-v0", num_envs=num_envs, vectorization_mode="vector_entry_point")
    vector.reset(seed=0)
    actions = np.full(num_envs, action)
    vector.step(actions)  # compile or load the cache
    rounds = max(steps // num_envs, 1)
    started = time.perf_counter()
    for _ in range(rounds):
        vector.step(actions)
    return single_rate, rounds * num_envs / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--env-steps", type=int, default=4000, help="steps of the env-throughput comparison")
    parser.add_argument("--num-envs", type=int, default=16)
    args = parser.parse_args(argv)
    single_rate, vector_rate = env_steps_per_second(args.num_envs, args.env_steps)
    print(f"ThreeBody-v0 env steps/s at eta=0.01: single env {single_rate:,.0f} ({1e6 / single_rate:.0f} us/step), "
          f"native vector env x{args.num_envs} {vector_rate:,.0f} ({1e6 / vector_rate:.0f} us/system-step), "
          f"ratio {vector_rate / single_rate:.2f}x")
    rows = [("hermite numba (interval)", hermite_interval_us(args.steps, args.repeats), 1.0),
            ("hermite numba (per call)", hermite_call_us(args.steps, args.repeats), 1.0),
            ("hermite numpy", hermite_numpy_us(max(args.steps // 20, 100), args.repeats), 1.0)]
    try:
        for epsilon in (1e-9, 1e-4):
            per_step, evaluations = ias15_us(args.steps, args.repeats, epsilon)
            rows.append((f"ias15 rebound (epsilon={epsilon:g})", per_step, evaluations))
    except ImportError:
        print("rebound is not installed (pip install 'papergym[astro]'): IAS15 skipped")
    print(f"{'method':<34}{'us / step':>12}{'force evals / step':>20}{'us / force eval':>17}")
    for name, microseconds, evaluations in rows:
        print(f"{name:<34}{microseconds:>12.3f}{evaluations:>20.1f}{microseconds / evaluations:>17.3f}")


if __name__ == "__main__":
    main()
