"""TT-POIS vs POIS at equal budget per iteration (Poiani, Metelli & Restelli, ICML 2023).

Two parts:

1. Learning curves. POIS (full-length trajectories) and TT-POIS (the robust truncation schedule) with
   the same budget of transitions per iteration, over seeds, on ``papergym/LQG-v0`` (where the return of
   a linear controller is exact: ``linear_policy_return``, and the optimum is the Riccati gain),
   ``CartPole-v1`` and ``Pendulum-v1``. After every iteration the deterministic controller (the
   hyper-policy mean, or the Gaussian policy's mean) is evaluated: exactly on LQG, on fixed-seed
   episodes elsewhere (undiscounted return). The table reports the final return and its mean over the
   iterations (area under the curve), with 95% confidence intervals over seeds.
2. Confidence-interval width of the truncated estimator against full-length trajectories at equal
   budget ``Lambda = 20 T``: the Hoeffding width ratio (closed form) for several ``gamma`` and ``T``, and
   the measured standard deviation of both estimators of the Riccati controller's discounted return on
   LQG over independent batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from papergym.experiments import LegacyReproduction as Reproduction
from papergym.experiments.reporting import CsvLog, format_table, summary_table, write_json

LQG_ID = "papergym/LQG-v0"


@dataclass(frozen=True)
class Task:
    """One environment of the comparison and the settings shared by POIS and TT-POIS on it."""

    env_id: str
    horizon: int
    episodes_per_iteration: int  # POIS's trajectories per iteration; the budget is this times the horizon
    iterations: int
    policy: str = "HyperPolicy"
    gamma: float = 0.99
    delta: float = 0.4
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_episodes: int = 5

    @property
    def budget(self) -> int:
        return self.episodes_per_iteration * self.horizon

    @property
    def total_transitions(self) -> int:
        return self.iterations * self.budget

    @property
    def label(self) -> str:
        family = "P" if self.policy == "HyperPolicy" else "A"
        return f"{self.env_id} ({family}-POIS)"


def tasks(quick: bool) -> list[Task]:
    lqg_policy = {"with_bias": False, "log_std_init": float(np.log(0.3))}
    scale = 3 if quick else 1
    return [
        Task(LQG_ID, 50, 20, 30 // scale, policy_kwargs=lqg_policy),
        Task(LQG_ID, 50, 20, 30 // scale, policy="ActionPolicy", policy_kwargs=lqg_policy),
        Task("CartPole-v1", 200, 10, 30 // scale),
        Task("Pendulum-v1", 200, 10, 30 // scale),
    ]


def _make_env(task: Task):
    import gymnasium as gym

    import papergym  # noqa: F401  (registers the ids)

    return gym.make(task.env_id, max_episode_steps=task.horizon)


class _Evaluator:
    """The return of the current deterministic controller: exact on LQG, from fixed episodes otherwise."""

    def __init__(self, task: Task):
        self.task = task
        self.env = _make_env(task)
        self.lqg = getattr(self.env.unwrapped, "model", None) if task.env_id == LQG_ID else None

    def __call__(self, model) -> dict[str, float]:
        if self.lqg is not None:
            from papergym.agents.lqg import linear_policy_return

            gain = -model.policy.get_vector()[:model.policy.controller.n_params].numpy().reshape(1, -1)
            return {"return": linear_policy_return(self.lqg, gain, self.task.horizon), "gain": float(gain[0, 0])}
        from papergym.core.rollout import evaluate

        result = evaluate(model.policy, self.env, self.task.eval_episodes, seed=10_000, deterministic=True)
        return {"return": float(result.returns.mean()), "gain": float("nan")}


def run_curve(task: Task, algorithm_name: str, seed: int, log: CsvLog) -> list[dict[str, float]]:
    """Train until ``task.total_transitions`` are spent, evaluating after each iteration; rows go to ``log``.

    Both algorithms get the same number of transitions; where episodes terminate early (CartPole) POIS's
    full-length batches use fewer than the budget, so it makes more iterations.
    """
    from papergym.agents.ttpois import POIS, TTPOIS

    algorithm = {"POIS": POIS, "TT-POIS": TTPOIS}[algorithm_name]
    model = algorithm(task.policy, _make_env(task), budget=task.budget, gamma=task.gamma, delta=task.delta,
                      seed=seed, policy_kwargs=task.policy_kwargs)
    evaluator = _Evaluator(task)
    rows, iteration = [], 0
    while True:
        row = {"task": task.label, "algorithm": algorithm_name, "seed": seed, "iteration": iteration,
               "transitions": model.num_timesteps, **evaluator(model)}
        log.append(row)
        rows.append(row)
        if model.num_timesteps >= task.total_transitions:
            return rows
        model.learn(1, reset_num_timesteps=False)  # exactly one iteration: collect, optimise offline
        iteration += 1


def width_study(gammas=(0.9, 0.95, 0.99, 0.999), horizons=(50, 100, 200, 500)) -> list[dict[str, float]]:
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


def measured_width_study(gammas=(0.9, 0.99), horizons=(50, 200), batches: int = 400,
                         seed: int = 0) -> list[dict[str, float]]:
    """Standard deviation of both estimators of the Riccati controller's discounted return on LQG.

    Every trajectory is simulated for ``T`` steps and the truncated estimator reads only the first ``h_i``
    rewards of trajectory ``i``, which has the same distribution as stopping it at ``h_i``.
    """
    from papergym.agents.lqg import riccati_gain
    from papergym.agents.ttpois import full_length_schedule, robust_schedule
    from papergym.envs.lqg import LQGVectorEnv

    rows = []
    for horizon in horizons:
        budget = 20 * horizon
        for gamma in gammas:
            schedules = {"full": full_length_schedule(budget, horizon, gamma),
                         "truncated": robust_schedule(budget, horizon, gamma)}
            stds = {}
            for name, schedule in schedules.items():
                lengths = schedule.lengths
                rewards = _lqg_rewards(LQGVectorEnv, riccati_gain, batches * len(lengths), horizon, seed)
                rewards = rewards.reshape(batches, len(lengths), horizon)
                estimates = [schedule.estimate(batch, lengths) for batch in rewards]
                stds[name] = float(np.std(estimates, ddof=1))
            rows.append({"gamma": gamma, "horizon": horizon, "budget": budget, "std_full": stds["full"],
                         "std_truncated": stds["truncated"], "std_ratio": stds["truncated"] / stds["full"],
                         "hoeffding_ratio": schedules["truncated"].confidence_width()
                         / schedules["full"].confidence_width()})
    return rows


def _lqg_rewards(vector_env_class, riccati_gain, n: int, horizon: int, seed: int) -> np.ndarray:
    envs = vector_env_class(num_envs=n)
    gain = riccati_gain(envs.model)[0]
    observations, _ = envs.reset(seed=seed)
    rewards = np.zeros((n, horizon))
    limit = envs.model.max_action
    for t in range(horizon):
        actions = np.clip(-observations @ gain.T, -limit, limit).astype(np.float32)
        observations, rewards[:, t], _, _, _ = envs.step(actions)
    return rewards


def _curves_on_grid(rows: list[dict[str, Any]], task: Task, algorithm: str, grid: np.ndarray) -> np.ndarray:
    """``(seeds, len(grid))``: each seed's return of the latest controller after ``grid`` transitions."""
    curves = {}
    for row in rows:
        if row["task"] == task.label and row["algorithm"] == algorithm:
            curves.setdefault(row["seed"], []).append((row["transitions"], row["return"]))
    result = []
    for points in curves.values():
        transitions, returns = np.array(points).T
        result.append(returns[np.searchsorted(transitions, grid, side="right") - 1])
    return np.array(result)


def _grid(task: Task) -> np.ndarray:
    return np.linspace(0, task.total_transitions, 61)


def _summaries(rows: list[dict[str, Any]], task: Task) -> tuple[dict, dict]:
    """Final return and mean return over the transition grid (area under the curve), per algorithm."""
    final, area = {}, {}
    for algorithm in ("POIS", "TT-POIS"):
        curves = _curves_on_grid(rows, task, algorithm, _grid(task))
        final[algorithm], area[algorithm] = curves[:, -1], curves[:, 1:].mean(axis=1)
    return summary_table(final), summary_table(area)


def _final_gain(rows: list[dict[str, Any]], task: Task, algorithm: str) -> float:
    """Mean over seeds of the last learnt LQG gain."""
    last = {}
    for row in rows:
        if row["task"] == task.label and row["algorithm"] == algorithm:
            last[row["seed"]] = row["gain"]
    return float(np.mean(list(last.values())))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)


def _plot_curves(path: Path, rows: list[dict[str, Any]], task_list: list[Task], optimum: float) -> None:
    """Return vs transitions (mean and 95% CI over seeds); on LQG the gap to the optimum, log scale."""
    from papergym.core.stats import summarize

    figure, axes = _pyplot().subplots(1, len(task_list), figsize=(4.2 * len(task_list), 3.6))
    for axis, task in zip(np.atleast_1d(axes), task_list):
        grid = _grid(task)
        for algorithm, color in (("POIS", "tab:blue"), ("TT-POIS", "tab:orange")):
            curves = _curves_on_grid(rows, task, algorithm, grid)
            if task.env_id == LQG_ID:
                curves = optimum - curves
            summaries = [summarize(column) for column in curves.T]
            axis.plot(grid, [summary.mean for summary in summaries], color=color, label=algorithm)
            axis.fill_between(grid, [summary.ci_low for summary in summaries],
                              [summary.ci_high for summary in summaries], color=color, alpha=0.2)
        if task.env_id == LQG_ID:
            axis.set_yscale("log")
            axis.set_ylabel("gap to the finite-horizon optimum")
        else:
            axis.set_ylabel("return of the deterministic controller")
        axis.set_title(task.label, fontsize=9)
        axis.set_xlabel("transitions")
        axis.legend(fontsize=8)
    _save(figure, path)


def _plot_widths(path: Path, rows: list[dict[str, float]]) -> None:
    figure, axis = _pyplot().subplots(figsize=(5, 3.6))
    for gamma in sorted({row["gamma"] for row in rows}):
        mine = [row for row in rows if row["gamma"] == gamma]
        axis.plot([row["horizon"] for row in mine], [row["width_ratio"] for row in mine], marker="o",
                  label=f"gamma = {gamma}")
    axis.axhline(1.0, color="black", linewidth=1)
    axis.set_xscale("log")
    axis.set_xlabel("horizon T (budget 20 T)")
    axis.set_ylabel("CI width: truncated / full-length")
    axis.legend(fontsize=8)
    _save(figure, path)


def run(out_dir: Path, quick: bool) -> None:
    from tqdm import tqdm

    from papergym.agents.lqg import finite_horizon_optimal_return, linear_policy_return, riccati_gain
    from papergym.envs.lqg import LQGModel

    out_dir = Path(out_dir)
    seeds = range(3 if quick else 8)
    task_list = tasks(quick)

    widths = width_study()
    width_log = CsvLog(out_dir / "ttpois_widths.csv", list(widths[0]))
    for row in widths:
        width_log.append(row)
    measured = measured_width_study(batches=100 if quick else 400)
    measured_log = CsvLog(out_dir / "ttpois_measured_widths.csv", list(measured[0]))
    for row in measured:
        measured_log.append(row)

    log = CsvLog(out_dir / "ttpois_curves.csv",
                 ["task", "algorithm", "seed", "iteration", "transitions", "return", "gain"])
    rows: list[dict[str, Any]] = []
    runs = [(task, algorithm, seed) for task in task_list for seed in seeds for algorithm in ("POIS", "TT-POIS")]
    for task, algorithm, seed in tqdm(runs, desc="ttpois runs"):
        rows += run_curve(task, algorithm, seed, log)

    lqg = LQGModel.from_kwargs()
    riccati_return = linear_policy_return(lqg, riccati_gain(lqg)[0], 50)
    summary: dict[str, Any] = {"seeds": len(seeds), "tasks": {}, "widths": widths, "measured_widths": measured,
                               "lqg_riccati_return": riccati_return,
                               "lqg_finite_horizon_optimum": finite_horizon_optimal_return(lqg, 50)}
    for task in task_list:
        final, area = _summaries(rows, task)
        extra = {"budget/iteration": {name: str(task.budget) for name in final},
                 "mean over transitions": {name: str(area[name]) for name in final}}
        if task.env_id == LQG_ID:
            extra["gap to Riccati K"] = {name: f"{riccati_return - final[name].mean:.3g}" for name in final}
            extra["final gain (K* = 0.618)"] = {name: f"{_final_gain(rows, task, name):.3f}" for name in final}
        print(format_table(f"{task.label}: return after {task.total_transitions} transitions, {len(seeds)} seeds",
                           final, "final return", extra))
        print()
        summary["tasks"][task.label] = {"budget": task.budget, "transitions": task.total_transitions,
                                        "final": final, "area": area}
    print(f"LQG: Riccati gain return {riccati_return:.4g}, "
          f"finite-horizon optimum {summary['lqg_finite_horizon_optimum']:.4g} (H = 50)\n")
    print("Hoeffding CI width, truncated / full-length, budget 20 T:")
    for row in widths:
        print(f"  gamma={row['gamma']:<6} T={row['horizon']:<4} ratio={row['width_ratio']:.3f} "
              f"({row['trajectories']} trajectories, mean length {row['mean_length']:.1f}, "
              f"worth {row['effective_full_trajectories']:.1f} full ones vs 20)")
    print("Measured std of the return estimate on LQG (Riccati controller), truncated / full-length:")
    for row in measured:
        print(f"  gamma={row['gamma']:<5} T={row['horizon']:<4} std full={row['std_full']:.4g} "
              f"truncated={row['std_truncated']:.4g} ratio={row['std_ratio']:.3f} "
              f"(Hoeffding ratio {row['hoeffding_ratio']:.3f})")
    write_json(out_dir / "ttpois_summary.json", summary)
    _plot_curves(out_dir / "ttpois_curves.png", rows, task_list, summary["lqg_finite_horizon_optimum"])
    _plot_widths(out_dir / "ttpois_widths.png", widths)
    print(f"wrote {out_dir}/ttpois_curves.csv, ttpois_widths.csv, ttpois_measured_widths.csv, "
          f"ttpois_summary.json, ttpois_curves.png, ttpois_widths.png")


REPRODUCTION = Reproduction(
    name="ttpois",
    paper="Truncating Trajectories in Monte Carlo RL (Poiani, Metelli & Restelli, ICML 2023)",
    description="POIS vs TT-POIS at equal budget on LQG, CartPole, Pendulum; CI width truncated vs full",
    run=run,
)
