"""IWOCS with an exact inner solver: the meta-algorithm alone, without reinforcement-learning noise.

Each static problem of RobustCartPole (uncertain half pole length and push force) is solved by the Riccati
controller of its linearised model, whose value -s'Ps and one-step lookahead Q(s, a) serve as the member's
critics. The script prints the worst case and the average over a 10 x 10 grid of the set
(``--grid-points``) for the nominal controller and for IWOCS, per seed (seeds change the search's and
the grid's episodes)::

    python examples/iwocs_exact_cartpole.py --seeds 5
"""

from __future__ import annotations

import argparse

import gymnasium as gym

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.robust import IWOCS, CartPoleLQR, evaluate_grid
from papergym.core.seeding import stream_seed

ENV_ID = "papergym/RobustCartPole-v0"
UNCERTAINTY_SET = {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)}


def riccati_solver(params: dict[str, float]):
    """The Riccati controller of one model, its value function and its Q-function."""
    env = gym.make(ENV_ID)
    env.unwrapped.set_params(**params)
    controller = CartPoleLQR.from_env(env)
    return controller, controller.values, controller.action_values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--grid-points", type=int, default=10)
    args = parser.parse_args()
    nominal = CartPoleLQR.from_env(gym.make(ENV_ID))
    for seed in range(args.seeds):
        iwocs = IWOCS(None, ENV_ID, UNCERTAINTY_SET, solver=riccati_solver, max_iterations=args.iterations,
                      tolerance=None, search_budget=20, search_episodes=5, value_episodes=5, seed=seed)
        iwocs.learn(args.iterations + 1)
        # The reproduction's grid episodes of this seed (base seed 0), apart from IWOCS's own streams.
        evaluation_seed = stream_seed(0, "evaluation", seed, "grid")
        baseline = evaluate_grid(nominal, ENV_ID, UNCERTAINTY_SET, args.grid_points, 1, seed=evaluation_seed)
        robust = evaluate_grid(iwocs, ENV_ID, UNCERTAINTY_SET, args.grid_points, 1, seed=evaluation_seed)
        models = ", ".join(f"({m.params['length']:.2f}, {m.params['force_mag']:.1f})" for m in iwocs.members)
        print(f"seed {seed}: nominal worst {baseline.worst_case:.0f} average {baseline.average:.1f}; "
              f"IWOCS worst {robust.worst_case:.0f} average {robust.average:.1f}; models (length, force) {models}")


if __name__ == "__main__":
    main()
