"""Train PPO on a papergym environment and compare it with a random policy and the paper's agent.

    python examples/train_sb3.py                      # papergym/LQG-v0, 20k steps
    python examples/train_sb3.py papergym/LQG2D-v0 50000
"""

import sys

import gymnasium as gym
from stable_baselines3 import PPO

import papergym  # noqa: F401  (registers the environments)
from papergym.agents import LQROptimal, RandomAgent
from papergym.core import evaluate


def main(env_id: str = "papergym/LQG-v0", steps: int = 20_000) -> None:
    env = gym.make(env_id)
    model = PPO("MlpPolicy", env, seed=0, verbose=0)
    model.learn(total_timesteps=steps, progress_bar=True)

    candidates = {"PPO": model, "random": RandomAgent(env.observation_space, env.action_space)}
    if env_id.startswith("papergym/LQG"):
        candidates["Riccati optimum"] = LQROptimal.from_env(env)
    for name, agent in candidates.items():
        summary = evaluate(agent, env_id, n_episodes=100, seed=1_000).summary()
        print(f"{name:>16}: mean return {summary.mean:9.4g}  95% CI [{summary.ci_low:.4g}, {summary.ci_high:.4g}]")


if __name__ == "__main__":
    main(*(sys.argv[1:2]), *(int(arg) for arg in sys.argv[2:3]))
