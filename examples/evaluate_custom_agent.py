"""Write your own agent in ten lines and evaluate it with papergym's harness and with SB3's.

Any object with SB3's ``predict`` signature is a papergym agent.

    python examples/evaluate_custom_agent.py
"""

import gymnasium as gym
import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy

import papergym  # noqa: F401  (registers the environments)
from papergym.core import evaluate


class ProportionalController:
    """u = -gain * x, clipped to the action bound: a hand-tuned regulator."""

    def __init__(self, gain: float = 0.5):
        self.gain = gain

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        action = np.clip(-self.gain * np.asarray(observation), -1.0, 1.0).astype(np.float32)
        return action, state


def main() -> None:
    agent = ProportionalController(gain=0.5)
    result = evaluate(agent, "papergym/LQG-v0", n_episodes=200, seed=0, info_keys=["state_cost"])
    summary = result.summary()
    print(f"papergym evaluate: mean return {summary.mean:.4g}, 95% CI [{summary.ci_low:.4g}, {summary.ci_high:.4g}]")
    print(f"  mean state cost per step: {np.mean(np.concatenate(result.info_series['state_cost'])):.4g}")

    mean, std = evaluate_policy(agent, gym.make("papergym/LQG-v0"), n_eval_episodes=200, warn=False)
    print(f"SB3 evaluate_policy: mean return {mean:.4g} ± {std:.3g} (std)")


if __name__ == "__main__":
    main()
