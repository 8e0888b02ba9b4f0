"""LQG: the Riccati-optimal regulator against perturbed gains, no control and random actions.

The table is the mean episode return over seeds (each seed averages ``episodes`` episodes) with a 95%
confidence interval, next to the exact expected return of each linear policy from the closed form.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from papergym.agents.lqg import (
    LinearFeedback,
    LQROptimal,
    finite_horizon_optimal_return,
    linear_policy_return,
)
from papergym.core.agent import BaseAgent, RandomAgent
from papergym.core.rollout import evaluate
from papergym.experiments import LegacyReproduction as Reproduction
from papergym.experiments.reporting import CsvLog, bar_plot, format_table, summary_table, write_json

ENV_ID = "papergym/LQG-v0"


def _agents(env: gym.Env) -> dict[str, BaseAgent]:
    optimal = LQROptimal.from_env(env)

    def scaled(factor: float) -> LinearFeedback:
        return LinearFeedback(factor * optimal.gain, optimal.max_action, env.observation_space, env.action_space)

    return {
        "riccati K": optimal,
        "0.5 K": scaled(0.5),
        "1.5 K": scaled(1.5),
        "no control (K=0)": scaled(0.0),
        "random": RandomAgent(env.observation_space, env.action_space),
    }


def run(out_dir: Path, quick: bool) -> None:
    seeds, episodes = (5, 50) if quick else (10, 500)
    env = gym.make(ENV_ID)
    horizon = env.spec.max_episode_steps
    model = env.unwrapped.model
    agents = _agents(env)
    log = CsvLog(Path(out_dir) / "lqg_returns.csv", ["agent", "seed", "mean_return", "episodes"])
    per_seed: dict[str, list[float]] = {name: [] for name in agents}
    for name, agent in agents.items():
        for seed in range(seeds):
            result = evaluate(agent, env, episodes, seed=1000 * seed)
            per_seed[name].append(float(result.returns.mean()))
            log.append({"agent": name, "seed": seed, "mean_return": per_seed[name][-1], "episodes": episodes})
    summaries = summary_table(per_seed)
    exact = {name: f"{linear_policy_return(model, agent.gain, horizon):.4g}"
             for name, agent in agents.items() if hasattr(agent, "gain")}
    optimum = finite_horizon_optimal_return(model, horizon)
    print(format_table(f"{ENV_ID}: mean episode return over {seeds} seeds x {episodes} episodes (H={horizon})",
                       summaries, "return", {"exact (closed form)": exact}))
    print(f"finite-horizon optimum (time-varying Riccati): {optimum:.4g}")
    write_json(Path(out_dir) / "lqg_summary.json",
               {"env_id": ENV_ID, "seeds": seeds, "episodes": episodes, "horizon": horizon,
                "summaries": summaries, "finite_horizon_optimum": optimum})
    bar_plot(Path(out_dir) / "lqg_returns.png", summaries, "mean episode return",
             f"{ENV_ID}: Riccati gain vs alternatives")
    print(f"wrote {out_dir}/lqg_returns.csv, lqg_summary.json, lqg_returns.png")


REPRODUCTION = Reproduction(
    name="lqg",
    paper="Linear-quadratic Gaussian regulator (closed-form benchmark)",
    description="Riccati-optimal gain vs perturbed gains, no control and random actions on papergym/LQG-v0",
    run=run,
)
