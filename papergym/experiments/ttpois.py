"""TT-POIS vs POIS at equal interaction budget (Poiani, Metelli & Restelli, ICML 2023).

Truncation pays where the trajectory length T is long against the effective horizon 1 / (1 - gamma): the
rewards after a few effective horizons weigh little in the discounted return, so full-length episodes
spend most of the budget where it barely narrows the confidence interval. The reproduction runs, per task
(an environment, T, gamma and the budget of transitions per iteration, 20 T by default), units of three kinds:

- ``widths`` (one unit): the closed-form ratio of the Hoeffding confidence widths, truncated (the width-
  minimising allocation) over full-length, at budget 20 T on a grid of (gamma, T);
- ``estimator`` (one per task): the standard deviation, over many independent batches drawn at one fixed
  policy (the algorithms' initial behaviour policy), of the full-length and of the truncated estimator of
  the discounted return, each batch spending the same budget; beside it the closed-form ratio of their
  Hoeffding confidence widths;
- ``curve`` (one per task, algorithm and seed): one seed of POIS or TT-POIS, the deterministic controller
  evaluated after every iteration: its discounted return (the objective both optimise) exactly on LQG
  (closed form) and from episode lengths on CartPole (reward 1 per step), and its undiscounted return on
  fixed-seed episodes elsewhere. The table gives the final value and its mean over the transition grid
  (area under the curve) with 95% confidence intervals over seeds. POIS and TT-POIS of one seed share
  their seed (the seed index's ``algorithm`` stream), so their final values are paired by seed.

A user's agent (``--agent``) is evaluated once per task on the evaluation episodes every controller is
scored on (:data:`EVAL_SEED`). The claims (:data:`CLAIMS`) check TT-POIS against POIS on the long-horizon
tasks and on a short one, and the width ratios.

The tasks ``lqg``/``cartpole``/``pendulum`` use gamma = 0.99 with T = 50 or 200 (T (1 - gamma) <= 2:
truncation barely matters there); ``lqg-long`` and ``cartpole-long`` use gamma = 0.9 with T = 200, where
T is 20 effective horizons. Every task, ``lqg-long`` and ``cartpole-long`` included, is our own: the paper's
experiments section was not read, so no figure of the paper is named here or in the claims.

Sources: only the paper's abstract was read (arXiv 2305.04361, OpenReview GDVczeyqFa; PMLR 202:27994-28042).
It says the allocation provably minimises the confidence width of the return estimate and that a comparison
of TT-POIS with POIS agrees with the theory, truncation being able to improve performance. The paper's
environments, horizons, discounts, budgets and figures were not reachable (see :data:`PAPER_SOURCE`), so the
tasks above, and the T(1 - gamma) reading of where truncation pays, are this reproduction's choices, not the
paper's protocol; the claims say which parts are the paper's and which are ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.linalg

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import initial_state_covariance, linear_policy_return
from papergym.core.rollout import evaluate
from papergym.core.stats import Summary, summarize
from papergym.envs.lqg import LQGModel
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
from papergym.experiments.plotting import pyplot, save_figure
from papergym.experiments.reporting import CsvLog, format_table, summary_table

LQG_ID = "papergym/LQG-v0"
ALGORITHMS = ("POIS", "TT-POIS")
#: Episodes that evaluate a controller where no closed form exists: consecutive episode seeds from EVAL_SEED.
#: A protocol constant (a fixed test set), not a stream: every controller of every unit (both algorithms, every
#: seed and iteration, a user's agent) is scored on the same episodes, whatever the settings' base seed.
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

    seeds: int = setting(10, low=1, help="independent runs of each algorithm on each task")
    tasks: tuple[str, ...] = setting(("lqg", "lqg-action", "cartpole", "pendulum", "lqg-long", "cartpole-long"),
                                     choices=tuple(TASKS), nonempty=True, help="tasks of the comparison")
    iterations: int = setting(30, low=2, help="POIS iterations' worth of transitions per run (x budget)")
    estimator_batches: int = setting(300, low=2, help="independent batches per estimator for the std ratio")


PRESETS = {
    "quick": TTPOISSettings(seeds=3, tasks=("lqg", "lqg-long"), iterations=10, estimator_batches=60),
    "paper": TTPOISSettings(),
}


# --- environments and evaluation -------------------------------------------------------------------------


def make_env(task: Task) -> gym.Env:
    return gym.make(task.env_id, max_episode_steps=task.horizon)


def discounted_linear_return(model, gain: np.ndarray, horizon: int, gamma: float) -> float:
    """Exact expected discounted return of u = -K x over ``horizon`` steps on an LQG model."""
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
        gain = -model.policy.get_vector()[:model.policy.controller.n_params].numpy().reshape(1, -1)
        return {"return": linear_policy_return(self.lqg, gain, self.task.horizon),
                "discounted": discounted_linear_return(self.lqg, gain, self.task.horizon, self.task.gamma),
                "gain": float(gain[0, 0])}

    def agent(self, agent) -> dict[str, float]:
        """The returns of any agent with SB3's ``predict`` on the task's fixed-seed evaluation episodes."""
        result = evaluate(agent, self.env, EVAL_EPISODES, seed=EVAL_SEED, deterministic=True)
        discounted = float("nan")
        if self.task.env_id.startswith("CartPole"):
            discounted = float(np.mean((1.0 - self.task.gamma ** result.lengths) / (1.0 - self.task.gamma)))
        return {"return": float(result.returns.mean()), "discounted": discounted, "gain": float("nan")}


# --- units ----------------------------------------------------------------------------------------------

WIDTHS, ESTIMATOR, CURVE = "widths", "estimator", "curve"

#: What the report and the claims read from each kind's records. The widths' and the estimator's CSV files take
#: their columns from the first record, so every field those units write is read from every record.
WIDTHS_RECORD = RecordSchema({
    "gamma": Value.NUMBER, "horizon": Value.INTEGER, "budget": Value.INTEGER, "width_ratio": Value.NUMBER,
    "trajectories": Value.INTEGER, "mean_length": Value.NUMBER, "effective_full_trajectories": Value.NUMBER})
ESTIMATOR_RECORD = RecordSchema({
    "task": Value.STRING, "gamma": Value.NUMBER, "horizon": Value.INTEGER, "budget": Value.INTEGER,
    "batches": Value.INTEGER, "std_full": Value.NUMBER, "std_truncated": Value.NUMBER, "std_ratio": Value.NUMBER,
    "width_ratio": Value.NUMBER, "trajectories_full": Value.INTEGER, "trajectories_truncated": Value.INTEGER})
#: A controller's returns after some transitions (a learner's curve point, or a user's agent once).
CURVE_RECORD = RecordSchema({
    "task": Value.STRING, "algorithm": Value.STRING, "seed": Value.INTEGER, "iteration": Value.INTEGER,
    "transitions": Value.INTEGER, "return": Value.NUMBER, "discounted": Value.NUMBER, "gain": Value.NUMBER})


def units(settings: TTPOISSettings) -> list[Unit]:
    """The closed-form width study, one estimator study per task, and one curve per task, algorithm and seed."""
    found = [Unit(WIDTHS)]
    for task in settings.tasks:
        found.append(Unit(ESTIMATOR, None, {"task": task}))
        found += [Unit(CURVE, seed, {"task": task, "algorithm": algorithm})
                  for seed in range(settings.seeds) for algorithm in ALGORITHMS]
    return found


def agent_units(settings: TTPOISSettings) -> list[Unit]:
    """A user's agent is evaluated once per task, on the task's evaluation episodes."""
    return [Unit(CURVE, None, {"task": task}) for task in settings.tasks]


def run_widths(settings: TTPOISSettings, unit: Unit) -> list[Record]:
    return width_study()


def run_estimator(settings: TTPOISSettings, unit: Unit) -> list[Record]:
    """The estimator spread on one task; the behaviour policy's and the environments' seeds are this unit's
    streams, the same for the full-length and the truncated estimator (common random numbers)."""
    spread = estimator_spread(TASKS[unit["task"]], settings.estimator_batches,
                              policy_seed=unit.stream_seed(settings, "policy"),
                              env_seed=unit.stream_seed(settings, "env"))
    return [{"task": unit["task"], **spread}]


def run_curve_unit(settings: TTPOISSettings, unit: Unit) -> list[Record]:
    """One seed of one algorithm on one task. The algorithm's seed is the seed index's ``algorithm`` stream,
    shared by POIS and TT-POIS of that seed (same initial policy and environment draws), so the table pairs
    them by seed."""
    rows = run_curve(TASKS[unit["task"]], unit["algorithm"], unit.stream_seed(settings, "algorithm", kind=CURVE),
                     settings.iterations)
    return [{"task": unit["task"], "seed": unit.seed, **row} for row in rows]


def evaluate_user_agent(settings: TTPOISSettings, unit: Unit) -> list[Record]:
    """A user's agent on the task's evaluation episodes (the ones every learnt controller is scored on)."""
    evaluator = Evaluator(TASKS[unit["task"]])
    returns = evaluator.agent(load_agent(unit.agent, evaluator.env))
    return [{"task": unit["task"], "algorithm": agent_label(unit.agent), "seed": 0, "iteration": 0,
             "transitions": 0, **returns}]


def make_vec_env(task: Task, n_envs: int):
    from stable_baselines3.common.vec_env import DummyVecEnv

    return DummyVecEnv([lambda: make_env(task)] * n_envs)


def run_curve(task: Task, algorithm_name: str, seed: int, iterations: int) -> list[dict[str, Any]]:
    """Train with ``seed`` until ``iterations x budget`` transitions are spent, evaluating after each iteration.

    Both algorithms get the same number of transitions; where episodes terminate early (CartPole) POIS's
    full-length batches use fewer than the budget, so it makes more iterations. Training goes one iteration
    at a time (not through ``agents.training.fit``) because the controller is evaluated between iterations.
    """
    from papergym.agents.ttpois import POIS, TTPOIS

    algorithm = {"POIS": POIS, "TT-POIS": TTPOIS}[algorithm_name]
    model = algorithm(task.policy, make_vec_env(task, task.n_envs), budget=task.budget, gamma=task.gamma,
                      delta=task.delta, seed=seed, policy_kwargs=task.policy_kwargs)
    evaluator = Evaluator(task)
    total = iterations * task.budget
    rows, iteration = [], 0
    while True:
        rows.append({"algorithm": algorithm_name, "iteration": iteration, "transitions": model.num_timesteps,
                     **evaluator.controller(model)})
        if model.num_timesteps >= total:
            return rows
        model.learn(1, reset_num_timesteps=False)  # exactly one iteration: collect, optimise offline
        iteration += 1


def estimator_spread(task: Task, batches: int, *, policy_seed: int, env_seed: int) -> dict[str, float]:
    """Std of the full-length and the truncated estimate of the discounted return at one fixed policy.

    The policy is the algorithms' initial behaviour policy (seeded with ``policy_seed``); every batch spends
    the task's budget, full-length (POIS's schedule) or truncated (TT-POIS's), through the collector the
    algorithms use, on a vector env of 20 environments seeded with ``env_seed``.
    """
    from papergym.agents.ttpois import POIS, TTPOIS, TruncatedRollouts

    stds = {}
    for name, algorithm in (("full", POIS), ("truncated", TTPOIS)):
        vec_env = make_vec_env(task, 20)
        model = algorithm(task.policy, vec_env, budget=task.budget, horizon=task.horizon, gamma=task.gamma,
                          delta=task.delta, seed=policy_seed, policy_kwargs=task.policy_kwargs)
        vec_env.seed(env_seed)
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
            rows.append({"gamma": gamma, "horizon": horizon, "budget": budget,
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
    return float(discounted_riccati_gain(LQGModel.from_kwargs(), task.gamma)[0, 0])


def _task_report(name: str, task: Task, rows: list[Record], settings: TTPOISSettings) -> tuple[str, dict]:
    curves = [row for row in rows if row["task"] == name]
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
    for measure, label in (("final", "final"), ("area", "mean over transitions")):
        difference = paired_difference(rows, name, settings, measure)
        if difference.size:
            text += "\n" + _paired_text(difference, label)
    best = best_linear_return(task) if task.env_id == LQG_ID else None
    return text, {"grid": grid, "curves": curve_data, "key": key, "best": best}


def best_linear_return(task: Task) -> float:
    """The largest exact discounted return over T of a scalar linear gain on LQG-v0 (bounded search)."""
    import scipy.optimize

    model = LQGModel.from_kwargs()
    result = scipy.optimize.minimize_scalar(
        lambda gain: -discounted_linear_return(model, np.array([[gain]]), task.horizon, task.gamma),
        bounds=(0.0, 2.0), method="bounded", options={"xatol": 1e-8})
    return float(-result.fun)


def seed_values(records: list[Record], name: str, settings: TTPOISSettings) -> list[Record]:
    """One record per algorithm and seed on task ``name``: the compared value (see :func:`_metric`) of its
    latest controller within the run's ``iterations x budget`` transitions (``final``) and its mean over the
    transition grid (``area``, the area under the learning curve), as in the table."""
    task = TASKS[name]
    key, grid = _metric(task)[0], np.linspace(0, settings.iterations * task.budget, GRID_POINTS)
    curves: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for row in records:
        if row.get("task") == name and row.get("algorithm") in ALGORITHMS:
            curves.setdefault((row["algorithm"], row["seed"]), []).append((row["transitions"], float(row[key])))
    found = []
    for (algorithm, seed), points in sorted(curves.items()):
        transitions, values = np.array(sorted(points)).T
        on_grid = values[np.searchsorted(transitions, grid, side="right") - 1]
        found.append({"algorithm": algorithm, "seed": seed, "final": float(on_grid[-1]),
                      "area": float(on_grid[1:].mean())})
    return found


def paired_difference(records: list[Record], name: str, settings: TTPOISSettings,
                      measure: str = "final") -> np.ndarray:
    """TT-POIS's ``final`` (or ``area``) value minus POIS's on task ``name``, paired by seed."""
    return claims.paired(seed_values(records, name, settings), measure, by="algorithm", first="TT-POIS",
                         second="POIS")


def _paired_text(difference: np.ndarray, label: str = "final") -> str:
    paired = summarize(difference)
    return (f"TT-POIS - POIS, {label} (paired by seed): {paired.mean:+.4g} [{paired.ci_low:+.4g}, "
            f"{paired.ci_high:+.4g}] 95% CI, n = {paired.n} (verdict: the claims)")


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


def report(settings: TTPOISSettings, results: Results, out_dir: Path) -> str:
    out_dir = Path(out_dir)
    widths, estimators = results.of_kind(WIDTHS), results.of_kind(ESTIMATOR)
    curves = results.of_kind(CURVE) + results.of_kind(AGENT_KIND)
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
    log = CsvLog(path, list(rows[0]))
    for row in rows:
        log.append(row)


def _plot_curves(path: Path, plotted: dict[str, dict]) -> None:
    """The compared value vs transitions, mean and 95% CI over seeds, one panel per task."""
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


# --- claims -------------------------------------------------------------------------------------------

#: What was read of the paper, and where. Only the abstract could be read: arXiv 2305.04361 (abstract page and the
#: Hugging Face papers page), OpenReview GDVczeyqFa (ICML 2023 poster), PMLR 202:27994-28042 (the reference as
#: listed in albertometelli/albertometelli.github.io, _publications/0025-2023-Truncating-Trajectories-in-Monte-
#: Carlo-Reinforcement-Learning.md, commit f200156e4f2f1668f64d87f38877c9c538aaa356). The copies of the full
#: text (a Markdown mirror of arXiv 2305.04361) come back only from their opening (abstract, start of the
#: introduction); no HTML or PDF text of the experiments section, and no public code of the authors (looked for
#: under "TT-POIS" and among the first author's repositories) were found.
ABSTRACT = ("Poiani, Metelli & Restelli, ICML 2023 (PMLR 202:27994-28042; arXiv 2305.04361), abstract")
PAPER_SOURCE = (ABSTRACT + "; the experiments section (its environments, T, gamma, budgets, figures) was not read: "
                "only the abstract and the opening of the introduction could be reached in the copies found, and "
                "no public code of the authors was found")
THEORY_SOURCE = (ABSTRACT + "; the bound itself (section, equation) was not read: the width here is the Hoeffding "
                 "bound as derived in papergym/agents/ttpois/allocation.py")
#: What the abstract says about the policy-optimisation experiments, in our words.
ABSTRACT_EXPERIMENTS = ("abstract: a numerical comparison of TT-POIS with POIS whose results agree with the theory and "
                        "show that a suitable truncation can improve performance; which environments, horizons, "
                        "discounts and budgets, and by how much: not read (no figure number or value)")


def _short_of_paper(settings: TTPOISSettings) -> str:
    """Why these settings are smaller than the paper preset's (empty when they are not)."""
    paper = PRESETS["paper"]
    if settings.seeds < paper.seeds or settings.iterations < paper.iterations:
        return (f"{settings.seeds} seeds x {settings.iterations} iterations, the paper preset runs "
                f"{paper.seeds} x {paper.iterations}")
    return ""


def _beats_pois(settings: TTPOISSettings, results: Results, *, task: str, measure: str = "final") -> Finding:
    """TT-POIS beats POIS on ``task`` (a long-horizon one), paired by seed: its final controller
    (``measure="final"``) or its learning curve's mean over the transition grid (``measure="area"``)."""
    difference = paired_difference(results.of_kind(CURVE), task, settings, measure)
    value = "final" if measure == "final" else "mean over the transition grid of the"
    return claims.sign_test(difference, claimed="positive", short_of_paper=_short_of_paper(settings),
                            what=f"TT-POIS - POIS on {task}, {value} {_metric(TASKS[task])[0]} return paired "
                                 "by seed")


def _no_difference(settings: TTPOISSettings, results: Results, *, task: str) -> Finding:
    """Where T(1 - gamma) is small, TT-POIS and POIS end level: the paired difference's 95% CI includes 0.

    At the quick preset's budget (10 iterations) on lqg, three 10-seed runs (base seeds 0 and 1, and the old
    seeds 0-9) gave -0.083, -0.029 and +0.020; pooled, -0.031 [-0.061, -0.001] (n = 30): a small edge of
    POIS's that 3 seeds can show or hide by chance, hence not shown below the paper preset."""
    difference = paired_difference(results.of_kind(CURVE), task, settings)
    what = f"TT-POIS - POIS on {task}, final {_metric(TASKS[task])[0]} return paired by seed"
    if difference.size == 0:
        return claims.missing(what)
    summary = summarize(difference)
    if summary.n < 2:
        return Finding(Verdict.NOT_SHOWN, f"{what}: one sample, no interval", summary)
    if summary.ci_low <= 0 <= summary.ci_high:
        return Finding(Verdict.REPRODUCED, f"{what}: the 95% CI includes 0 (no difference detected with "
                       f"n = {summary.n}; not a proof of equality)", summary)
    better = "TT-POIS" if summary.ci_low > 0 else "POIS"
    why = _short_of_paper(settings)
    return Finding(Verdict.NOT_SHOWN if why else Verdict.CONTRADICTED,
                   f"{what}: {better} is better, the 95% CI excludes 0" + (f" ({why})" if why else ""), summary)


#: Slack on "never wider": the ratios are closed-form floats, so anything above 1 by more than rounding is a wider one.
WIDTH_SLACK = 1e-9


def _widths_never_wider(settings: TTPOISSettings, results: Results) -> Finding:
    """The abstract's claim: the allocation minimises the confidence width over every way of spending the
    budget, and full-length trajectories (20 of length T) are one such way, so the width ratio truncated /
    full-length is at most 1 at every (gamma, T) of the study (up to :data:`WIDTH_SLACK`). One ratio above it
    contradicts the claim; the measured value is the largest ratio."""
    rows = results.of_kind(WIDTHS)
    if not rows:
        return claims.missing("the closed-form width study")
    ratio = {(row["gamma"], row["horizon"]): float(row["width_ratio"]) for row in rows}
    widest = max(ratio, key=ratio.get)
    measured = summarize([ratio[widest]])
    where = f"gamma = {widest[0]}, T = {widest[1]}"
    if ratio[widest] > 1 + WIDTH_SLACK:
        return Finding(Verdict.CONTRADICTED, f"the truncated interval is wider than the full-length one at {where}: "
                       f"ratio {ratio[widest]:.3f} > 1", measured)
    narrower = sum(value < 1 - WIDTH_SLACK for value in ratio.values())
    return Finding(Verdict.REPRODUCED, f"no ratio above 1 over {len(ratio)} (gamma, T) pairs (largest "
                   f"{ratio[widest]:.3f} at {where}; {narrower} strictly below 1)", measured)


def _widths_shrink(settings: TTPOISSettings, results: Results) -> Finding:
    """Every width ratio (truncated / full-length) is below 1 and falls as T grows at each gamma and as
    gamma falls at each T, i.e. as T(1 - gamma) grows."""
    rows = results.of_kind(WIDTHS)
    if not rows:
        return claims.missing("the closed-form width study")
    ratio = {(row["gamma"], row["horizon"]): float(row["width_ratio"]) for row in rows}
    gammas, horizons = sorted({g for g, _ in ratio}), sorted({h for _, h in ratio})
    longest = max(ratio, key=lambda where: where[1] * (1 - where[0]))
    measured = summarize([ratio[longest]])
    at = f"ratio {ratio[longest]:.3f} at gamma = {longest[0]}, T = {longest[1]} (the largest T(1-gamma))"
    widest = max(ratio, key=ratio.get)
    if ratio[widest] >= 1:
        return Finding(Verdict.CONTRADICTED, f"truncation does not narrow the interval at gamma = {widest[0]}, "
                       f"T = {widest[1]}: ratio {ratio[widest]:.3f} >= 1", measured)
    rising = [f"gamma = {g}: T = {h} -> {k}" for g in gammas for h, k in pairwise(horizons)
              if (g, h) in ratio and (g, k) in ratio and ratio[g, k] >= ratio[g, h]]
    rising += [f"T = {h}: gamma = {f} -> {g}" for h in horizons for g, f in pairwise(gammas)
               if (g, h) in ratio and (f, h) in ratio and ratio[g, h] >= ratio[f, h]]
    if rising:
        return Finding(Verdict.CONTRADICTED, f"the ratio does not fall as T(1-gamma) grows ({rising[0]}; "
                       f"{len(rising)} such step(s)); {at}", measured)
    return Finding(Verdict.REPRODUCED, f"all {len(ratio)} ratios < 1 (largest {ratio[widest]:.3f} at gamma = "
                   f"{widest[0]}, T = {widest[1]}), falling as T(1-gamma) grows; {at}", measured)


def _spread_shrinks(settings: TTPOISSettings, results: Results, *, task: str) -> Finding:
    """At the initial behaviour policy the truncated estimator's measured std is below the full-length one's
    on ``task``: the 95% F interval of the std ratio (the two estimators' batches taken as independent) lies
    below 1."""
    rows = [row for row in results.of_kind(ESTIMATOR) if row["task"] == task]
    what = f"std ratio truncated / full-length on {task}"
    if not rows:
        return claims.missing(what)
    import scipy.stats

    row = rows[0]
    ratio, dof = float(row["std_ratio"]), int(row["batches"]) - 1
    low = ratio / math.sqrt(scipy.stats.f.ppf(0.975, dof, dof))
    high = ratio / math.sqrt(scipy.stats.f.ppf(0.025, dof, dof))
    measured = Summary(ratio, float("nan"), low, high, int(row["batches"]), 0.95)
    theory = f"theory's width ratio {row['width_ratio']:.3f}"
    if high < 1:
        return Finding(Verdict.REPRODUCED, f"{what} < 1: its 95% F interval excludes 1 ({theory})", measured)
    if low > 1:
        return Finding(Verdict.CONTRADICTED, f"{what} > 1: its 95% F interval excludes 1 ({theory})", measured)
    return Finding(Verdict.NOT_SHOWN, f"{what}: its 95% F interval includes 1 ({row['batches']} batches; "
                   f"{theory})", measured)


CLAIMS = (
    Claim("ttpois-beats-pois-long",
          "At equal interaction budget TT-POIS ends better than POIS where a trajectory spans many effective "
          "horizons (lqg-long, our task: T(1-gamma) = 20), paired by seed",
          ABSTRACT_EXPERIMENTS + "; the setting (LQG, T = 200, gamma = 0.9) is ours", PAPER_SOURCE, ("paper",),
          partial(_beats_pois, task="lqg-long")),
    Claim("ttpois-learns-faster-long",
          "At every interaction budget up to the run's, TT-POIS's controller is better than POIS's on lqg-long "
          "(our task) on average: the learning curve's mean over the transition grid, paired by seed",
          ABSTRACT_EXPERIMENTS + "; whether the paper compares whole learning curves or final values: not read",
          PAPER_SOURCE, ("paper",), partial(_beats_pois, task="lqg-long", measure="area")),
    Claim("ttpois-beats-pois-cartpole-long",
          "At equal interaction budget TT-POIS ends better than POIS on CartPole with gamma = 0.9 and T = 200 "
          "(cartpole-long, our task: T(1-gamma) = 20), paired by seed",
          ABSTRACT_EXPERIMENTS + "; the setting (CartPole, T = 200, gamma = 0.9) is ours; whether CartPole is among "
          "the paper's environments: not read",
          PAPER_SOURCE, ("paper",), partial(_beats_pois, task="cartpole-long")),
    Claim("no-difference-short",
          "Where T(1-gamma) is small (lqg: T = 50, gamma = 0.99, T(1-gamma) = 0.5) truncation buys little and "
          "TT-POIS and POIS end level, paired by seed",
          "the abstract says nothing of short horizons; what the experiments show where T is near 1/(1-gamma): "
          "not read (no figure number or value)", PAPER_SOURCE, ("quick", "paper"),
          partial(_no_difference, task="lqg")),
    Claim("width-ratio",
          "The width-minimising allocation of the budget never gives a wider Hoeffding confidence interval of the "
          "return estimate than full-length trajectories at equal budget (20 T): the width ratio truncated / "
          "full-length is at most 1 at every (gamma, T) of the study",
          "abstract: the allocation provably minimises the width of the confidence interval of the return "
          "estimate (full-length trajectories being one allocation, the ratio is at most 1); the bound's "
          "equation and any width values: not read", THEORY_SOURCE, ("quick", "paper"), _widths_never_wider,
          min_n=1),  # the widths are computed exactly, not sampled
    Claim("width-ratio-trend",
          "The width ratio truncated / full-length is below 1 everywhere and falls as T(1-gamma) grows: as T "
          "grows at each gamma and as gamma falls at each T (budget 20 T)",
          "", "ours: the trend over (gamma, T) is not in the abstract; the part of the paper that may state it "
          "was not read", ("quick", "paper"), _widths_shrink),
    Claim("estimator-spread-long",
          "At one fixed policy and equal budget the truncated return estimate varies less than the full-length "
          "one where T(1-gamma) is large (lqg-long; measured over independent batches)",
          "", "ours: the measured counterpart of the width-ratio claim (estimator units)", ("quick", "paper"),
          partial(_spread_shrinks, task="lqg-long")),
)

REPRODUCTION = Reproduction(
    name="ttpois",
    paper="Truncating Trajectories in Monte Carlo RL (Poiani, Metelli & Restelli, ICML 2023)",
    description="POIS vs TT-POIS at equal budget where T ~ 1/(1-gamma) and where T >> 1/(1-gamma); "
                "estimator std and CI width ratios",
    presets=PRESETS,
    units=units,
    kinds={WIDTHS: run_widths, ESTIMATOR: run_estimator, CURVE: run_curve_unit},
    report=report,
    record_schemas={WIDTHS: WIDTHS_RECORD, ESTIMATOR: ESTIMATOR_RECORD, CURVE: CURVE_RECORD,
                    AGENT_KIND: CURVE_RECORD},
    agent_units=agent_units,
    evaluate_agent=evaluate_user_agent,
    claims=CLAIMS,
)
