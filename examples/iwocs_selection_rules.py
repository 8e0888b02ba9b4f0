"""Which members count in IWOCS's combined policy: the indicator's settings, measured.

* ``cartpole``: RobustCartPole with exact members (each model's Riccati controller, its value and its
  one-step-lookahead Q). For pairs of models and each ``explained_ratio`` (``inf``: every member counts,
  the minimum over all members' Q), the worst case and the average over a grid of the set and the
  combined policy's return on each member's own model.
* ``pendulum``: RobustPendulum with three SAC members (the nominal model and the two heavy corners,
  8,000 steps each, trained as IWOCS trains them). For the linear and quadratic indicators and ratios 1
  and 2, the combined policy's return on each member's model beside the member's own.

    python examples/iwocs_selection_rules.py --study cartpole pendulum
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.robust import IWOCS, CartPoleLQR, evaluate_grid, evaluate_params

CARTPOLE, CARTPOLE_SET = "papergym/RobustCartPole-v0", {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)}
CARTPOLE_PAIRS = (((0.5, 10.0), (2.0, 15.0)), ((0.25, 15.0), (2.0, 3.0)), ((0.5, 10.0), (2.0, 3.0)))
PENDULUM, PENDULUM_SET = "papergym/RobustPendulum-v0", {"m": (0.5, 1.5), "l": (0.75, 1.25)}
PENDULUM_MODELS = ({"m": 1.0, "l": 1.0}, {"m": 1.5, "l": 0.75}, {"m": 1.5, "l": 1.25})


def _own_model_returns(agent, env_id: str, iwocs: IWOCS) -> np.ndarray:
    return np.array([evaluate_params(agent, env_id, [member.params], 3, seed=7).mean() for member in iwocs.members])


def cartpole_study(grid_points: int) -> None:
    for pair in CARTPOLE_PAIRS:
        iwocs = IWOCS(None, CARTPOLE, CARTPOLE_SET, value_episodes=3)
        for length, force in pair:
            env = gym.make(CARTPOLE)
            env.unwrapped.set_params(length=length, force_mag=force)
            controller = CartPoleLQR.from_env(env)
            iwocs.add_member({"length": length, "force_mag": force}, controller, controller.values,
                             controller.action_values)
        for ratio in (1.0, 1.5, 2.0, 5.0, np.inf):
            iwocs.explained_ratio = ratio
            grid = evaluate_grid(iwocs, CARTPOLE, CARTPOLE_SET, grid_points, 1, seed=1_000_000)
            own = _own_model_returns(iwocs, CARTPOLE, iwocs)
            print(f"cartpole members {pair} ratio {ratio:g}: grid worst {grid.worst_case:.0f}, average "
                  f"{grid.average:.1f}; on the members' models {np.round(own, 1).tolist()} (each controller: 500)")


def pendulum_study(steps: int, seed: int) -> None:
    from stable_baselines3 import SAC

    from papergym.experiments.robust import ENVIRONMENTS

    # The members as IWOCS trains them: each one warm-started from the closest member (here the nominal).
    trainer = IWOCS(SAC, PENDULUM, PENDULUM_SET, inner_kwargs=ENVIRONMENTS["pendulum"].inner_kwargs,
                    value_episodes=2, seed=seed)
    for params in PENDULUM_MODELS:
        trainer.train_member(params, steps)
    agents = [member.agent for member in trainer.members]
    for features in ("linear", "quadratic"):
        iwocs = IWOCS(None, PENDULUM, PENDULUM_SET, value_episodes=2, indicator_features=features, seed=seed)
        for params, agent in zip(PENDULUM_MODELS, agents):
            iwocs.add_member(params, agent)
        specialists = np.array([evaluate_params(member.agent, PENDULUM, [member.params], 3, seed=7).mean()
                                for member in iwocs.members])
        for ratio in (1.0, 2.0):
            iwocs.explained_ratio = ratio
            combined = _own_model_returns(iwocs, PENDULUM, iwocs)
            print(f"pendulum {features} indicator, ratio {ratio:g}: on the members' models combined "
                  f"{np.round(combined, 1).tolist()}, specialists {np.round(specialists, 1).tolist()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", nargs="+", choices=("cartpole", "pendulum"), default=["cartpole", "pendulum"])
    parser.add_argument("--grid-points", type=int, default=10)
    parser.add_argument("--steps", type=int, default=8_000, help="SAC steps per Pendulum member")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if "cartpole" in args.study:
        cartpole_study(args.grid_points)
    if "pendulum" in args.study:
        pendulum_study(args.steps, args.seed)


if __name__ == "__main__":
    main()
