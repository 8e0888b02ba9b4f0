"""LQG: the Riccati-optimal regulator against perturbed gains, no control and random actions.

The table is the mean episode return over seeds (each seed averages ``episodes`` episodes) with a 95%
confidence interval, next to the exact expected return of each linear policy from the closed form.
A unit (kind ``evaluation``) is one agent on one seed: ``episodes`` consecutive episode seeds from the
seed's ``episodes`` stream, the same for every agent of that seed (a user's agent included), so rows
differ by their policies alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from papergym.agents.lqg import LinearFeedback, LQROptimal, finite_horizon_optimal_return, linear_policy_return
from papergym.core.agent import RandomAgent
from papergym.core.rollout import evaluate
from papergym.experiments import claims
from papergym.experiments.claims import Claim, Finding, Verdict
from papergym.experiments.contract import (
    AGENT_KIND,
    Record,
    RecordSchema,
    Reproduction,
    Results,
    Settings,
    Unit,
    Value,
    agent_label,
    load_agent,
    setting,
)
from papergym.experiments.reporting import bar_plot, format_table, group_values, summary_table, write_csv

ENV_ID = "papergym/LQG-v0"
#: The rows of the table: the paper's linear gains and random actions (papergym.agents.AGENTS holds the named agents).
PAPER_AGENTS = ("riccati K", "0.5 K", "1.5 K", "no control (K=0)", "random")
#: Gain of each linear agent as a multiple of the Riccati gain.
GAIN_FACTORS = {"riccati K": 1.0, "0.5 K": 0.5, "1.5 K": 1.5, "no control (K=0)": 0.0}


@dataclass(frozen=True, kw_only=True)
class LQGSettings(Settings):
    """``seeds`` seeds of ``episodes`` episodes for every agent."""

    episodes: int = setting(50, low=1, help="episodes per agent and seed")


PRESETS = {"quick": LQGSettings(seeds=5, episodes=50), "paper": LQGSettings(seeds=10, episodes=500)}


def build_agent(name: str, env: gym.Env):
    """The named paper agent (a Riccati-scaled linear gain or random actions) for ``env``."""
    if name == "random":
        return RandomAgent(env.observation_space, env.action_space)
    optimal = LQROptimal.from_env(env)
    if GAIN_FACTORS[name] == 1.0:
        return optimal
    return LinearFeedback(GAIN_FACTORS[name] * optimal.gain, optimal.max_action, env.observation_space,
                          env.action_space)


EVALUATION = "evaluation"


def units(settings: LQGSettings) -> list[Unit]:
    return [Unit(EVALUATION, seed, {"agent": name}) for name in PAPER_AGENTS for seed in range(settings.seeds)]


def agent_units(settings: LQGSettings) -> list[Unit]:
    """A user's agent is evaluated on every seed, as the paper agents are."""
    return [Unit(EVALUATION, seed) for seed in range(settings.seeds)]


def run_evaluation(settings: LQGSettings, unit: Unit) -> list[Record]:
    env = gym.make(ENV_ID)
    return [_evaluation_record(settings, unit, unit["agent"], build_agent(unit["agent"], env), env)]


def evaluate_user_agent(settings: LQGSettings, unit: Unit) -> list[Record]:
    env = gym.make(ENV_ID)
    return [_evaluation_record(settings, unit, agent_label(unit.agent), load_agent(unit.agent, env), env)]


#: What the report and the claims read from every evaluation record (a paper agent's or a user's).
EVALUATION_RECORD = RecordSchema({"agent": Value.STRING, "seed": Value.INTEGER, "mean_return": Value.NUMBER})


def _evaluation_record(settings: LQGSettings, unit: Unit, label: str, agent, env: gym.Env) -> Record:
    episode_seed = unit.stream_seed(settings, "episodes", kind=EVALUATION)
    result = evaluate(agent, env, settings.episodes, seed=episode_seed)
    return {"agent": label, "seed": unit.seed, "mean_return": float(result.returns.mean()),
            "episodes": settings.episodes}


def report(settings: LQGSettings, results: Results, out_dir: Path) -> str:
    records = results.records
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


def _riccati_best_linear(settings: LQGSettings, results: Results) -> Finding:
    """The Riccati gain's exact return is the highest of the linear gains' exact returns, and its measured
    mean return is above every other row's (paired by seed)."""
    records = results.records
    env = gym.make(ENV_ID)
    horizon, model = env.spec.max_episode_steps, env.unwrapped.model
    exact = {name: linear_policy_return(model, build_agent(name, env).gain, horizon) for name in GAIN_FACTORS}
    if max(exact, key=exact.get) != "riccati K":
        return Finding(Verdict.CONTRADICTED, f"closed form: {max(exact, key=exact.get)} beats the Riccati gain")
    rivals = [name for name in {r["agent"] for r in records} if name != "riccati K"]
    gaps = {name: claims.paired(records, "mean_return", by="agent", first="riccati K", second=name)
            for name in rivals}
    if not rivals or not len(gaps[rivals[0]]):
        return claims.missing("the Riccati gain and another agent")
    closest = min(rivals, key=lambda name: gaps[name].mean())
    return claims.sign_test(gaps[closest], claimed="positive",
                            what=f"Riccati - {closest} (the closest other row), mean return paired by seed")


def _measured_matches_closed_form(settings: LQGSettings, results: Results) -> Finding:
    """The Riccati gain's measured mean return agrees with its exact expected return."""
    env = gym.make(ENV_ID)
    horizon, model = env.spec.max_episode_steps, env.unwrapped.model
    exact = linear_policy_return(model, build_agent("riccati K", env).gain, horizon)
    measured = claims.values(results.records, "mean_return", agent="riccati K")
    tolerance = 0.02 * abs(exact)
    return claims.matches(measured, exact, tolerance=tolerance,
                          what="Riccati gain's mean return (exact value within 2%)")


CLAIMS = (
    Claim("riccati-optimal", "The Riccati gain has the highest expected return of the linear policies and "
          "beats every other row of the table", "optimal among linear feedbacks (infinite-horizon LQR theory)",
          "closed form: the discrete algebraic Riccati equation (Bertsekas, Dynamic Programming, Vol. I, Ch. 4)",
          ("quick", "paper"), _riccati_best_linear),
    Claim("closed-form-return", "Simulated returns agree with the closed-form expected return of the linear "
          "policy", "the exact expected return of the Riccati gain over the horizon",
          "closed form: papergym.agents.lqg.linear_policy_return (Lyapunov recursion of the state covariance)",
          ("quick", "paper"), _measured_matches_closed_form),
)

REPRODUCTION = Reproduction(
    name="lqg",
    paper="Linear-quadratic Gaussian regulator (closed-form benchmark)",
    description="Riccati-optimal gain vs perturbed gains, no control and random actions on papergym/LQG-v0",
    presets=PRESETS,
    units=units,
    kinds={EVALUATION: run_evaluation},
    report=report,
    record_schemas={EVALUATION: EVALUATION_RECORD, AGENT_KIND: EVALUATION_RECORD},
    agent_units=agent_units,
    evaluate_agent=evaluate_user_agent,
    claims=CLAIMS,
)
