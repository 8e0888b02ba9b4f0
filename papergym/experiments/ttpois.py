"""TT-POIS vs POIS at equal interaction budget (Poiani, Metelli & Restelli, ICML 2023).

Truncation pays where the trajectory length T is long against the effective horizon 1 / (1 - gamma): the
rewards after a few effective horizons weigh little in the discounted return, so full-length episodes
spend most of the budget where it barely narrows the confidence interval. The reproduction runs, per task
(an environment, T, gamma and the budget of transitions per iteration, 20 T by default):

- **estimator units**: the standard deviation, over many independent batches drawn at one fixed policy
  (the algorithms' initial behaviour policy), of the full-length and of the truncated estimator of the
  discounted return, each batch spending the same budget; beside it the closed-form ratio of their
  Hoeffding confidence widths;
- **curve units**: one seed of POIS or TT-POIS, the deterministic controller evaluated after every
  iteration: its discounted return (the objective both optimise) exactly on LQG (closed form) and from
  episode lengths on CartPole (reward 1 per step), and its undiscounted return on fixed-seed episodes
  elsewhere. The table gives the final value and its mean over the transition grid (area under the
  curve) with 95% confidence intervals over seeds;
- **agent units**: a user's agent (``--agent``) evaluated once on the task's evaluation episodes.

The tasks ``lqg``/``cartpole``/``pendulum`` use gamma = 0.99 with T = 50 or 200 (T (1 - gamma) <= 2:
truncation barely matters there); ``lqg-long`` and ``cartpole-long`` use gamma = 0.9 with T = 200, where
T is 20 effective horizons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from papergym.experiments.contract import (
    Record,
    Reproduction,
    Settings,
    SettingsError,
    Unit,
    agent_label,
    require_setting_int,
)
from papergym.experiments.plotting import pyplot, save_figure
from papergym.experiments.reporting import format_table, summary_table

LQG_ID = "papergym/LQG-v0"
ALGORITHMS = ("POIS", "TT-POIS")
#: Episodes (fixed seeds from EVAL_SEED) that evaluate a controller where no closed form exists.
EVAL_EPISODES, EVAL_SEED = 5, 10_000
#: Points of the transition grid on which the learning curves are compared and plotted.
GRID_POINTS = 61
#: The closed-form width study: (gamma, T) pairs at budget 20 T.
WIDTH_GAMMAS, WIDTH_HORIZONS = (0.9, 0.95, 0.99, 0.999), (50, 100, 200, 500)


@dataclass(frozen=True)
class Task:
    """One environment of the comparison and the settings POIS and TT-POIS share on it."""

    env_id: str
    horizon: int
    episodes_per_iteration: int  # POIS's trajectories per iteration; the budget is this times the horizon
    policy: str = "HyperPolicy"
    gamma: float = 0.99
    delta: float = 0.4
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    #: Environments stepped side by side while collecting (idle slots count as spent transitions).
    n_envs: int = 1

    @property
    def budget(self) -> int:
        return self.episodes_per_iteration * self.horizon

    @property
    def effective_horizons(self) -> float:
        """T (1 - gamma): how many effective horizons one full trajectory spans."""
        return self.horizon * (1.0 - self.gamma)

    @property
    def family(self) -> str:
        return "P-POIS" if self.policy == "HyperPolicy" else "A-POIS"


_LQG_POLICY = {"with_bias": False, "log_std_init": math.log(0.3)}
TASKS: dict[str, Task] = {
    "lqg": Task(LQG_ID, 50, 20, policy_kwargs=_LQG_POLICY),
    "lqg-action": Task(LQG_ID, 50, 20, policy="ActionPolicy", policy_kwargs=_LQG_POLICY),
    "cartpole": Task("CartPole-v1", 200, 10),
    "pendulum": Task("Pendulum-v1", 200, 10),
    "lqg-long": Task(LQG_ID, 200, 20, gamma=0.9, policy_kwargs=_LQG_POLICY, n_envs=10),
    "cartpole-long": Task("CartPole-v1", 200, 10, gamma=0.9, n_envs=10),
}


@dataclass(frozen=True, kw_only=True)
class TTPOISSettings(Settings):
    """``tasks``: names from :data:`TASKS`; ``iterations``: POIS iterations' worth of transitions per run
    (iterations x budget); ``estimator_batches``: independent batches per estimator for the std ratio."""

    seeds: int = 10
    tasks: tuple[str, ...] = ("lqg", "lqg-action", "cartpole", "pendulum", "lqg-long", "cartpole-long")
    iterations: int = 30
    estimator_batches: int = 300

    def validate(self) -> None:
        unknown = [name for name in self.tasks if name not in TASKS]
        if not self.tasks or unknown:
            raise SettingsError(f"tasks must be a non-empty list of {', '.join(TASKS)}, got {self.tasks!r}")
        for name in ("iterations", "estimator_batches"):
            require_setting_int(name, getattr(self, name), 2)


PRESETS = {
    "quick": TTPOISSettings(seeds=3, tasks=("lqg", "lqg-long"), iterations=10, estimator_batches=60),
    "paper": TTPOISSettings(),
}


# --- environments and evaluation -------------------------------------------------------------------------


def make_env(task: Task):
    import gymnasium as gym

    import papergym  # noqa: F401  (registers the ids)

    return gym.make(task.env_id, max_episode_steps=task.horizon)


def make_vec_env(task: Task, n_envs: int):
    from stable_baselines3.common.vec_env import DummyVecEnv

    return DummyVecEnv([lambda: make_env(task)] * n_envs)


def discounted_linear_return(model, gain: np.ndarray, horizon: int, gamma: float) -> float:
    """Exact expected discounted return of u = -K x over ``horizon`` steps on an LQG model."""
    from papergym.agents.lqg import initial_state_covariance

    closed_loop = model.A - model.B @ gain
    step_cost = model.Q + gain.T @ model.R @ gain
    covariance, total = initial_state_covariance(model), 0.0
    for t in range(horizon):
        total += gamma**t * float(np.trace(step_cost @ covariance))
        covariance = closed_loop @ covariance @ closed_loop.T + model.noise_cov
    return -total


def discounted_riccati_gain(model, gamma: float) -> np.ndarray:
    """The gain K* (u = -K* x) that maximises the infinite-horizon discounted return: the Riccati
    solution of the system scaled by sqrt(gamma)."""
    import scipy.linalg

    scale = math.sqrt(gamma)
    P = scipy.linalg.solve_discrete_are(scale * model.A, scale * model.B, model.Q, model.R)
    return np.linalg.solve(model.R + gamma * model.B.T @ P @ model.B, gamma * model.B.T @ P @ model.A)


class Evaluator:
    """The returns of a deterministic controller on a task: exact on LQG, from fixed-seed episodes otherwise.

    ``discounted`` is the objective (gamma-discounted over T): closed form on LQG, from the episode
    lengths on CartPole (reward 1 per step), NaN elsewhere; ``return`` is undiscounted over T.
    """

    def __init__(self, task: Task):
        self.task = task
        self.env = make_env(task)
        self.lqg = self.env.unwrapped.model if task.env_id == LQG_ID else None

    def controller(self, model) -> dict[str, float]:
        """The returns of the learnt deterministic controller (the hyper-policy or policy mean)."""
        if self.lqg is None:
            return self.agent(model.policy)
        from papergym.agents.lqg import linear_policy_return

        gain = -model.policy.get_vector()[:model.policy.controller.n_params].numpy().reshape(1, -1)
        return {"return": linear_policy_return(self.lqg, gain, self.task.horizon),
                "discounted": discounted_linear_return(self.lqg, gain, self.task.horizon, self.task.gamma),
                "gain": float(gain[0, 0])}

    def agent(self, agent) -> dict[str, float]:
        """The returns of any agent with SB3's ``predict`` on the task's fixed-seed evaluation episodes."""
        from papergym.core.rollout import evaluate

        result = evaluate(agent, self.env, EVAL_EPISODES, seed=EVAL_SEED, deterministic=True)
        discounted = float("nan")
        if self.task.env_id.startswith("CartPole"):
            discounted = float(np.mean((1.0 - self.task.gamma ** result.lengths) / (1.0 - self.task.gamma)))
        return {"return": float(result.returns.mean()), "discounted": discounted, "gain": float("nan")}


# --- units --------------------------------------------------------------------------------------------


def units(settings: TTPOISSettings) -> list[Unit]:
    found = [Unit({"part": "widths"})]
    for task in settings.tasks:
        found.append(Unit({"part": "estimator", "task": task}))
        found += [Unit({"part": "curve", "task": task, "algorithm": algorithm, "seed": seed})
                  for seed in range(settings.seeds) for algorithm in ALGORITHMS]
        found += [Unit({"part": "agent", "task": task, "agent": spec}) for spec in settings.agents]
    return found


def run_unit(settings: TTPOISSettings, unit: Unit) -> list[Record]:
    part = unit["part"]
    if part == "widths":
        return width_study()
    task = TASKS[unit["task"]]
    if part == "estimator":
        return [{"task": unit["task"], **estimator_spread(task, settings.estimator_batches)}]
    if part == "agent":
        from papergym.experiments.contract import load_agent

        evaluator = Evaluator(task)
        returns = evaluator.agent(load_agent(unit["agent"], evaluator.env))
        return [{"task": unit["task"], "algorithm": agent_label(unit["agent"]), "seed": 0, "iteration": 0,
                 "transitions": 0, **returns}]
    rows = run_curve(task, unit["algorithm"], unit["seed"], settings.iterations)
    return [{"task": unit["task"], **row} for row in rows]


def run_curve(task: Task, algorithm_name: str, seed: int, iterations: int) -> list[dict[str, Any]]:
    """Train until ``iterations x budget`` transitions are spent, evaluating after each iteration.

    Both algorithms get the same number of transitions; where episodes terminate early (CartPole) POIS's
    full-length batches use fewer than the budget, so it makes more iterations.
    """
    from papergym.agents.ttpois import POIS, TTPOIS

    algorithm = {"POIS": POIS, "TT-POIS": TTPOIS}[algorithm_name]
    model = algorithm(task.policy, make_vec_env(task, task.n_envs), budget=task.budget, gamma=task.gamma,
                      delta=task.delta, seed=seed, policy_kwargs=task.policy_kwargs)
    evaluator = Evaluator(task)
    total = iterations * task.budget
    rows, iteration = [], 0
    while True:
        rows.append({"algorithm": algorithm_name, "seed": seed, "iteration": iteration,
                     "transitions": model.num_timesteps, **evaluator.controller(model)})
        if model.num_timesteps >= total:
            return rows
        model.learn(1, reset_num_timesteps=False)  # exactly one iteration: collect, optimise offline
        iteration += 1


def estimator_spread(task: Task, batches: int, seed: int = 0) -> dict[str, float]:
    """Std of the full-length and the truncated estimate of the discounted return at one fixed policy.

    The policy is the algorithms' initial behaviour policy (seeded with ``seed``); every batch spends the
    task's budget, full-length (POIS's schedule) or truncated (TT-POIS's), through the collector the
    algorithms use, on a vector env of 20 environments.
    """
    from papergym.agents.ttpois import POIS, TTPOIS, TruncatedRollouts

    stds = {}
    for name, algorithm in (("full", POIS), ("truncated", TTPOIS)):
        vec_env = make_vec_env(task, 20)
        model = algorithm(task.policy, vec_env, budget=task.budget, horizon=task.horizon, gamma=task.gamma,
                          delta=task.delta, seed=seed, policy_kwargs=task.policy_kwargs)
        vec_env.seed(seed)
        collector = TruncatedRollouts(vec_env, model.schedule.lengths)
        estimates = [model.schedule.estimate(batch.rewards, batch.lengths)
                     for batch in (collector.collect(_behaviour(model)) for _ in range(batches))]
        stds[name] = float(np.std(estimates, ddof=1))
        stds[f"{name}_trajectories"] = len(model.schedule.lengths)
        stds[f"{name}_width"] = model.schedule.confidence_width()
    return {"gamma": task.gamma, "horizon": task.horizon, "budget": task.budget, "batches": batches,
            "std_full": stds["full"], "std_truncated": stds["truncated"],
            "std_ratio": stds["truncated"] / stds["full"], "width_ratio": stds["truncated_width"] / stds["full_width"],
            "trajectories_full": stds["full_trajectories"], "trajectories_truncated": stds["truncated_trajectories"]}


def _behaviour(model):
    """The behaviour policy's action function for the collector, new parameters drawn per batch."""
    import torch as th

    weights = model.policy.sample_weights(len(model.schedule.lengths)) if model.parameter_based else None

    def act(observations: np.ndarray, trajectories: np.ndarray) -> np.ndarray:
        with th.no_grad():
            observations = th.as_tensor(observations)
            if weights is not None:
                return model.policy.act(observations, weights[trajectories]).numpy()
            return model.policy.sample(observations).numpy()

    return act


def width_study(gammas=WIDTH_GAMMAS, horizons=WIDTH_HORIZONS) -> list[dict[str, float]]:
    """Hoeffding half-width of the truncated estimator relative to full-length trajectories, Lambda = 20 T."""
    from papergym.agents.ttpois import full_length_schedule, robust_schedule

    rows = []
    for gamma in gammas:
        for horizon in horizons:
            budget = 20 * horizon
            robust, full = robust_schedule(budget, horizon, gamma), full_length_schedule(budget, horizon, gamma)
            rows.append({"part": "widths", "gamma": gamma, "horizon": horizon, "budget": budget,
                         "width_ratio": robust.confidence_width() / full.confidence_width(),
                         "trajectories": len(robust.lengths), "mean_length": float(robust.lengths.mean()),
                         "effective_full_trajectories": robust.effective_full_trajectories()})
    return rows


# --- report -------------------------------------------------------------------------------------------


def _curves_on_grid(rows: list[Record], algorithm: str, grid: np.ndarray, key: str) -> np.ndarray:
    """``(seeds, len(grid))``: each seed's value of the latest controller after ``grid`` transitions."""
    curves: dict[int, list[tuple[float, float]]] = {}
    for row in rows:
        if row["algorithm"] == algorithm:
            curves.setdefault(row["seed"], []).append((row["transitions"], row[key]))
    result = []
    for points in curves.values():
        transitions, values = np.array(points).T
        result.append(values[np.searchsorted(transitions, grid, side="right") - 1])
    return np.array(result)


def _metric(task: Task) -> tuple[str, str]:
    """The record key the table compares on a task, and its description."""
    if task.env_id == LQG_ID or task.env_id.startswith("CartPole"):
        return "discounted", f"discounted return (gamma = {task.gamma})"
    return "return", "undiscounted return of fixed-seed episodes"


def _optimal_gain(task: Task) -> float:
    """K* for the task's discount: the discounted Riccati gain (the plain Riccati gain at gamma = 1)."""
    from papergym.envs.lqg import LQGModel

    return float(discounted_riccati_gain(LQGModel.from_kwargs(), task.gamma)[0, 0])


def _task_report(name: str, task: Task, rows: list[Record], settings: TTPOISSettings) -> tuple[str, dict]:
    curves = [row for row in rows if row.get("task") == name and row.get("part") is None]
    learners = [row for row in curves if row["algorithm"] in ALGORITHMS]
    key, description = _metric(task)
    grid = np.linspace(0, settings.iterations * task.budget, GRID_POINTS)
    final, area, curve_data = {}, {}, {}
    for algorithm in ALGORITHMS:
        values = _curves_on_grid(learners, algorithm, grid, key)
        if values.size:
            curve_data[algorithm] = values
            final[algorithm], area[algorithm] = values[:, -1], values[:, 1:].mean(axis=1)
    agents = {row["algorithm"]: [row[key]] for row in curves if row["algorithm"] not in ALGORITHMS}
    summaries = summary_table({**final, **agents})
    areas = summary_table(area)
    extra = {"mean over transitions": {name: f"{areas[name].mean:.4g}" for name in areas}}
    if task.env_id == LQG_ID:
        optimum = _optimal_gain(task)
        last_gain: dict[str, dict[int, float]] = {}
        for row in learners:
            last_gain.setdefault(row["algorithm"], {})[row["seed"]] = row["gain"]
        extra[f"final gain (K* = {optimum:.3f})"] = {
            algorithm: f"{np.mean(list(gains.values())):.3f}" for algorithm, gains in last_gain.items()}
    title = (f"{name}: {task.env_id} ({task.family}), T = {task.horizon}, gamma = {task.gamma} "
             f"(T(1-gamma) = {task.effective_horizons:.3g}), budget {task.budget}/iteration; {description} "
             f"after {settings.iterations * task.budget} transitions")
    text = format_table(title, summaries, key, extra)
    if len(final) == 2:
        text += "\n" + _paired_text(final["TT-POIS"] - final["POIS"], areas)
    best = best_linear_return(task) if task.env_id == LQG_ID else None
    return text, {"grid": grid, "curves": curve_data, "key": key, "best": best}


def best_linear_return(task: Task) -> float:
    """The largest exact discounted return over T of a scalar linear gain on LQG-v0 (bounded search)."""
    import scipy.optimize

    from papergym.envs.lqg import LQGModel

    model = LQGModel.from_kwargs()
    result = scipy.optimize.minimize_scalar(
        lambda gain: -discounted_linear_return(model, np.array([[gain]]), task.horizon, task.gamma),
        bounds=(0.0, 2.0), method="bounded", options={"xatol": 1e-8})
    return float(-result.fun)


def _paired_text(difference: np.ndarray, areas) -> str:
    from papergym.core.stats import summarize

    paired = summarize(difference)
    verdict = ("TT-POIS better" if paired.ci_low > 0 else "POIS better" if paired.ci_high < 0
               else "no significant difference")
    return (f"TT-POIS - POIS, final (paired by seed): {paired.mean:+.4g} [{paired.ci_low:+.4g}, "
            f"{paired.ci_high:+.4g}] 95% CI: {verdict}")


def _estimator_text(rows: list[Record]) -> str:
    lines = ["Return estimator at a fixed policy (the initial behaviour policy), equal budget per batch:",
             f"  {'task':<14} {'gamma':>6} {'T':>4} {'T(1-g)':>7} {'batches':>7} {'std full':>10} "
             f"{'std trunc':>10} {'std ratio':>9} {'width ratio (theory)':>21}"]
    for row in rows:
        lines.append(f"  {row['task']:<14} {row['gamma']:>6} {row['horizon']:>4} "
                     f"{row['horizon'] * (1 - row['gamma']):>7.3g} {row['batches']:>7} {row['std_full']:>10.4g} "
                     f"{row['std_truncated']:>10.4g} {row['std_ratio']:>9.3f} {row['width_ratio']:>21.3f}")
    return "\n".join(lines)


def _widths_text(rows: list[Record]) -> str:
    lines = ["Hoeffding CI width, truncated / full-length, budget 20 T (closed form):"]
    for row in rows:
        lines.append(f"  gamma={row['gamma']:<6} T={row['horizon']:<4} ratio={row['width_ratio']:.3f} "
                     f"({row['trajectories']} trajectories, mean length {row['mean_length']:.1f}, "
                     f"worth {row['effective_full_trajectories']:.1f} full ones vs 20)")
    return "\n".join(lines)


def report(settings: TTPOISSettings, records: list[Record], out_dir: Path) -> str:
    from papergym.experiments.reporting import CsvLog

    out_dir = Path(out_dir)
    widths = [row for row in records if row.get("part") == "widths"]
    estimators = [row for row in records if "std_ratio" in row]
    curves = [row for row in records if "iteration" in row]
    texts, plotted = [], {}
    for name in settings.tasks:
        if any(row["task"] == name for row in curves):
            text, plotted[name] = _task_report(name, TASKS[name], curves, settings)
            texts.append(text)
    columns = ["task", "algorithm", "seed", "iteration", "transitions", "return", "discounted", "gain"]
    log = CsvLog(out_dir / "ttpois_curves.csv", columns)
    for row in curves:
        log.append(row)
    if estimators:
        texts.append(_estimator_text(estimators))
        _write_rows(out_dir / "ttpois_estimator_spread.csv", estimators)
    if widths:
        texts.append(_widths_text(widths))
        _write_rows(out_dir / "ttpois_widths.csv", widths)
        _plot_widths(out_dir / "ttpois_widths.png", widths)
    if plotted:
        _plot_curves(out_dir / "ttpois_curves.png", plotted)
    return "\n\n".join(texts)


def _write_rows(path: Path, rows: list[Record]) -> None:
    from papergym.experiments.reporting import CsvLog

    log = CsvLog(path, list(rows[0]))
    for row in rows:
        log.append(row)


def _plot_curves(path: Path, plotted: dict[str, dict]) -> None:
    """The compared value vs transitions, mean and 95% CI over seeds, one panel per task."""
    from papergym.core.stats import summarize

    plt = pyplot()
    figure, axes = plt.subplots(1, len(plotted), figsize=(4.2 * len(plotted), 3.6), squeeze=False)
    for axis, (name, data) in zip(axes[0], plotted.items()):
        task = TASKS[name]
        for algorithm, color in (("POIS", "tab:blue"), ("TT-POIS", "tab:orange")):
            if algorithm not in data["curves"]:
                continue
            curves = data["curves"][algorithm]
            if data["best"] is not None:  # LQG: the gap to the best linear gain, on a log scale
                curves = np.maximum(data["best"] - curves, 1e-9)
            summaries = [summarize(column) for column in curves.T]
            axis.plot(data["grid"], [s.mean for s in summaries], color=color, label=algorithm)
            axis.fill_between(data["grid"], [s.ci_low for s in summaries], [s.ci_high for s in summaries],
                              color=color, alpha=0.2)
        axis.set_title(f"{name}: T={task.horizon}, gamma={task.gamma}", fontsize=9)
        axis.set_xlabel("transitions")
        if data["best"] is not None:
            axis.set_yscale("log")
            axis.set_ylabel("gap to the best linear gain's discounted return", fontsize=8)
        else:
            axis.set_ylabel(_metric(task)[1], fontsize=8)
        axis.legend(fontsize=8)
    save_figure(figure, path)


def _plot_widths(path: Path, rows: list[Record]) -> None:
    figure, axis = pyplot().subplots(figsize=(5, 3.6))
    for gamma in sorted({row["gamma"] for row in rows}):
        mine = [row for row in rows if row["gamma"] == gamma]
        axis.plot([row["horizon"] for row in mine], [row["width_ratio"] for row in mine], marker="o",
                  label=f"gamma = {gamma}")
    axis.axhline(1.0, color="black", linewidth=1)
    axis.set_xscale("log")
    axis.set_xlabel("horizon T (budget 20 T)")
    axis.set_ylabel("CI width: truncated / full-length")
    axis.legend(fontsize=8)
    save_figure(figure, path)


REPRODUCTION = Reproduction(
    name="ttpois",
    paper="Truncating Trajectories in Monte Carlo RL (Poiani, Metelli & Restelli, ICML 2023)",
    description="POIS vs TT-POIS at equal budget where T ~ 1/(1-gamma) and where T >> 1/(1-gamma); "
                "estimator std and CI width ratios",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)
