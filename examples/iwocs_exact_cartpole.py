"""IWOCS with an exact inner solver: the meta-algorithm alone, without reinforcement-learning noise.

Each static problem of RobustCartPole (uncertain half pole length and push force) is solved by the Riccati
controller of its linearised model, whose value -s'Ps and one-step lookahead Q(s, a) serve as the member's
critics. The script runs the robust reproduction's ``iwocs_exact`` unit for each seed (the same code, seeds
and grid episodes as ``papergym reproduce robust``, base seed 0) and prints the worst case and the average
over a 10 x 10 grid of the set (``--grid-points``) for the nominal controller and for IWOCS::

    python examples/iwocs_exact_cartpole.py --seeds 5
"""

from __future__ import annotations

import argparse

from papergym.experiments import robust
from papergym.experiments.contract import Unit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--grid-points", type=int, default=10)
    args = parser.parse_args(argv)
    settings = robust.PRESETS["quick"].replace(exact_seeds=args.seeds, exact_iterations=args.iterations,
                                                grid_points=args.grid_points, grid_episodes=1)
    for seed in range(args.seeds):
        nominal, iwocs = robust.run_iwocs_exact(settings, Unit(robust.EXACT, seed, {"env": robust.EXACT_ENV}))
        print(f"seed {seed}: nominal worst {nominal['worst_case']:.0f} average {nominal['average']:.1f}; "
              f"IWOCS worst {iwocs['worst_case']:.0f} average {iwocs['average']:.1f}; "
              f"models (length, force) {iwocs['models']}")


if __name__ == "__main__":
    main()
