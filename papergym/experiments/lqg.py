"""LQG: the Riccati-optimal regulator against perturbed gains, no control and random actions.

The table is the mean episode return over seeds (each seed averages ``episodes`` episodes) with a 95%
confidence interval, next to the exact expected return of each linear policy from the closed form.
A unit is one agent on one seed: ``episodes`` episodes reset with seeds ``1000 * seed + i``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from papergym.core.rollout import evaluate
from papergym.experiments.contract import (
    Record,
    Reproduction,
    Settings,
    Unit,
    agent_label,
    load_agent,
    require_setting_int,
)
from papergym.experiments.reporting import bar_plot, format_table, group_values, summary_table, write_csv

ENV_ID = "papergym/LQG-v0"
AGENTS = ("riccati K", "0.5 K", "1.5 K", "no control (K=0)", "random")
#: Gain of each linear agent as a multiple of the Riccati gain.
GAIN_FACTORS = {"riccati K": 1.0, "0.5 K": 0.5, "1.5 K": 1.5, "no control (K=0)": 0.0}


@dataclass(frozen=True, kw_only=True)
class LQGSettings(Settings):
    """``seeds`` seeds of ``episodes`` episodes for every agent."""

    episodes: int = 50

    def validate(self) -> None:
        require_setting_int("episodes", self.episodes, 1)


PRESETS = {"quick": LQGSettings(seeds=5, episodes=50), "paper": LQGSettings(seeds=10, episodes=500)}


def build_agent(name: str, env: gym.Env):
    """The named paper agent (a Riccati-scaled linear gain or random actions) for ``env``."""
    from papergym.agents.lqg import LinearFeedback, LQROptimal
    from papergym.core.agent import RandomAgent

    if name == "random":
        return RandomAgent(env.observation_space, env.action_space)
    optimal = LQROptimal.from_env(env)
    if GAIN_FACTORS[name] == 1.0:
        return optimal
    return LinearFeedback(GAIN_FACTORS[name] * optimal.gain, optimal.max_action, env.observation_space,
                          env.action_space)


def units(settings: LQGSettings) -> list[Unit]:
    rows = [*AGENTS, *settings.agents]
    return [Unit({"agent": agent, "seed": seed}) for agent in rows for seed in range(settings.seeds)]


def run_unit(settings: LQGSettings, unit: Unit) -> list[Record]:
    env = gym.make(ENV_ID)
    name = unit["agent"]
    agent = build_agent(name, env) if name in AGENTS else load_agent(name, env)
    result = evaluate(agent, env, settings.episodes, seed=1000 * unit["seed"])
    label = name if name in AGENTS else agent_label(name)
    return [{"agent": label, "seed": unit["seed"], "mean_return": float(result.returns.mean()),
             "episodes": settings.episodes}]


def report(settings: LQGSettings, records: list[Record], out_dir: Path) -> str:
    from papergym.agents.lqg import finite_horizon_optimal_return, linear_policy_return

    env = gym.make(ENV_ID)
    horizon, model = env.spec.max_episode_steps, env.unwrapped.model
    summaries = summary_table(group_values(records, "agent", "mean_return"))
    exact = {}
    for name in GAIN_FACTORS:
        agent = build_agent(name, env)
        exact[name] = f"{linear_policy_return(model, agent.gain, horizon):.4g}"
    optimum = finite_horizon_optimal_return(model, horizon)
    write_csv(Path(out_dir) / "lqg_returns.csv", records)
    bar_plot(Path(out_dir) / "lqg_returns.png", summaries, "mean episode return",
             f"{ENV_ID}: Riccati gain vs alternatives")
    return "\n".join([
        format_table(f"{ENV_ID}: mean episode return over {settings.seeds} seeds x {settings.episodes} episodes "
                     f"(H={horizon})", summaries, "return", {"exact (closed form)": exact}),
        f"finite-horizon optimum (time-varying Riccati): {optimum:.4g}",
        "wrote lqg_returns.csv, lqg_returns.png",
    ])


REPRODUCTION = Reproduction(
    name="lqg",
    paper="Linear-quadratic Gaussian regulator (closed-form benchmark)",
    description="Riccati-optimal gain vs perturbed gains, no control and random actions on papergym/LQG-v0",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)
