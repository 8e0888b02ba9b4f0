"""Robust MDPs as a sequence of static problems (IWOCS): worst-case and average return over a grid.

For RobustCartPole (PPO inner solver) and RobustPendulum (SAC inner solver), on a 2-D uncertainty set
(CartPole: pole half-length and push force; Pendulum: rod mass and length; both 2-D faces of the
environments' default sets, the other parameters nominal), each seed trains

* ``nominal``: the inner algorithm on the nominal model;
* ``domain randomisation``: the inner algorithm with the model drawn from the set at every episode;
* ``worst corner``: the inner algorithm on the corner where the nominal agent does worst;
* ``IWOCS``: nominal model first, then ``iterations`` worst models found by CMA-ES (the budget per
  static problem equals each baseline's budget, so IWOCS uses ``iterations + 1`` times more steps);

and evaluates every agent on a grid over the set (bounds included). The table gives the worst case
(lowest grid-point mean return) and the average over the grid, with 95% confidence intervals over
seeds; the IWOCS trace gives the lower and upper bounds per iteration. Seeds run in parallel worker
processes (one torch thread each); rows are appended to the CSV files as each seed finishes.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from papergym.core.stats import summarize
from papergym.experiments import LegacyReproduction as Reproduction
from papergym.experiments.reporting import CsvLog, format_table, write_json

METHODS = ("nominal", "domain randomisation", "worst corner", "IWOCS")


@dataclass(frozen=True)
class Setting:
    """One environment of the comparison and its inner solver."""

    env_id: str
    inner: str
    uncertainty_set: dict[str, tuple[float, float]]
    timesteps: int
    quick_timesteps: int
    inner_kwargs: dict[str, Any] = field(default_factory=dict)


SETTINGS = {
    "cartpole": Setting("papergym/RobustCartPole-v0", "PPO", {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)},
                        timesteps=30_000, quick_timesteps=4_000),
    "pendulum": Setting("papergym/RobustPendulum-v0", "SAC", {"m": (0.5, 1.5), "l": (0.75, 1.25)},
                        timesteps=10_000, quick_timesteps=600,
                        inner_kwargs={"policy_kwargs": {"net_arch": [64, 64]}, "learning_starts": 200}),
}


@dataclass(frozen=True)
class Budget:
    seeds: int
    iterations: int
    search_budget: int
    search_episodes: int
    grid_points: int
    grid_episodes: int


FULL = Budget(seeds=5, iterations=2, search_budget=24, search_episodes=3, grid_points=5, grid_episodes=5)
QUICK = Budget(seeds=2, iterations=1, search_budget=6, search_episodes=1, grid_points=3, grid_episodes=2)


def run_seed(name: str, seed: int, quick: bool) -> dict[str, Any]:
    """Train and evaluate every method on one setting for one seed (runs in a worker process)."""
    import stable_baselines3
    import torch

    from papergym.agents.robust import IWOCS, train_domain_randomization, train_on_params, worst_corner
    from papergym.wrappers.robust import evaluate_grid

    torch.set_num_threads(1)
    setting, budget = SETTINGS[name], QUICK if quick else FULL
    inner = getattr(stable_baselines3, setting.inner)
    steps = setting.quick_timesteps if quick else setting.timesteps
    common = {"seed": seed, "inner_kwargs": setting.inner_kwargs}
    agents = {"nominal": train_on_params(inner, setting.env_id, None, steps, **common)}
    agents["domain randomisation"] = train_domain_randomization(
        inner, setting.env_id, steps, uncertainty_set=setting.uncertainty_set, **common)
    corner = worst_corner(agents["nominal"], setting.env_id, setting.uncertainty_set, budget.grid_episodes,
                          seed=seed)
    agents["worst corner"] = train_on_params(inner, setting.env_id, corner, steps, **common)
    iwocs = IWOCS(inner, setting.env_id, setting.uncertainty_set, inner_kwargs=setting.inner_kwargs,
                  max_iterations=budget.iterations, tolerance=None, search_budget=budget.search_budget,
                  search_episodes=budget.search_episodes, value_episodes=max(2, budget.grid_episodes), seed=seed)
    agents["IWOCS"] = iwocs.learn(steps * (budget.iterations + 1))
    results: dict[str, Any] = {"name": name, "seed": seed, "methods": {}, "grid": [], "trace": []}
    for method, agent in agents.items():
        grid = evaluate_grid(agent, setting.env_id, setting.uncertainty_set, budget.grid_points,
                             budget.grid_episodes, seed=10_000 + seed)
        timesteps = iwocs.num_timesteps if method == "IWOCS" else steps
        results["methods"][method] = {"worst_case": grid.worst_case, "average": grid.average,
                                      "worst_params": grid.worst_params, "timesteps": timesteps}
        results["grid"] += [{"method": method, **row} for row in grid.rows()]
    results["trace"] = [record.as_row() for record in iwocs.trace]
    results["worst_corner"] = corner
    return results


class _Logs:
    """The CSV files of the reproduction, appended to as each seed's results arrive."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.returns = CsvLog(out_dir / "robust_returns.csv",
                              ["env", "method", "seed", "worst_case", "average", "timesteps", "worst_params"])
        self.grid: dict[str, CsvLog] = {}
        self.trace: dict[str, CsvLog] = {}

    def append(self, result: dict[str, Any]) -> None:
        name, seed = result["name"], result["seed"]
        for method, values in result["methods"].items():
            self.returns.append({"env": name, "method": method, "seed": seed, **values,
                                 "worst_params": _params_text(values["worst_params"])})
        if name not in self.grid:
            self.grid[name] = CsvLog(self.out_dir / f"robust_grid_{name}.csv",
                                     ["seed", *result["grid"][0].keys()])
            self.trace[name] = CsvLog(self.out_dir / f"iwocs_trace_{name}.csv", ["seed", *result["trace"][0]])
        for row in result["grid"]:
            self.grid[name].append({"seed": seed, **row})
        for row in result["trace"]:
            self.trace[name].append({"seed": seed, **row})


def _params_text(params: dict[str, float]) -> str:
    return " ".join(f"{key}={value:.4g}" for key, value in params.items())


def run(out_dir: Path, quick: bool) -> None:
    out_dir = Path(out_dir)
    budget = QUICK if quick else FULL
    jobs = [(name, seed) for name in SETTINGS for seed in range(budget.seeds)]
    logs, results = _Logs(out_dir), []
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    print(f"robust: {len(jobs)} (environment, seed) runs on {workers} worker processes")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_seed, name, seed, quick) for name, seed in jobs]
        for future in as_completed(futures):
            result = future.result()
            logs.append(result)
            results.append(result)
            print(f"  done: {result['name']} seed {result['seed']}")
    summary = _report(results, budget, quick)
    write_json(out_dir / "robust_summary.json", summary)
    _plot(out_dir, results, summary)
    print(f"wrote {out_dir}/robust_returns.csv, robust_grid_*.csv, iwocs_trace_*.csv, robust_summary.json, "
          "robust_worst_vs_average.png, robust_heatmaps.png, iwocs_trace.png")


def _report(results: list[dict[str, Any]], budget: Budget, quick: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {"budget": budget.__dict__, "quick": quick, "settings": {}}
    for name, setting in SETTINGS.items():
        mine = sorted((r for r in results if r["name"] == name), key=lambda r: r["seed"])
        worst = {m: summarize([r["methods"][m]["worst_case"] for r in mine]) for m in METHODS}
        average = {m: summarize([r["methods"][m]["average"] for r in mine]) for m in METHODS}
        steps = {m: str(mine[0]["methods"][m]["timesteps"]) for m in METHODS}
        average_text = {m: f"{s.mean:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}]" for m, s in average.items()}
        print(format_table(
            f"{setting.env_id} ({setting.inner}; set {setting.uncertainty_set}; {budget.grid_points}^2 grid x "
            f"{budget.grid_episodes} episodes; {len(mine)} seeds): worst case over the grid",
            worst, "worst case", {"average over the grid [95% CI]": average_text, "training steps": steps}))
        final = [r["trace"][-1] for r in mine]
        print(f"IWOCS final bounds (mean over seeds): lower {np.mean([t['lower_bound'] for t in final]):.4g}, "
              f"upper {np.mean([t['upper_bound'] for t in final]):.4g}\n")
        summary["settings"][name] = {"env_id": setting.env_id, "inner": setting.inner,
                                     "uncertainty_set": setting.uncertainty_set, "worst_case": worst,
                                     "average": average, "timesteps": steps,
                                     "trace": {r["seed"]: r["trace"] for r in mine},
                                     "worst_corner": {r["seed"]: r["worst_corner"] for r in mine}}
    return summary


def _plot(out_dir: Path, results: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(SETTINGS)
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4))
    for axis, name in zip(np.atleast_1d(axes), names):
        for method in METHODS:
            worst, average = (summary["settings"][name][key][method] for key in ("worst_case", "average"))
            axis.errorbar(average.mean, worst.mean, xerr=average.half_width, yerr=worst.half_width,
                          fmt="o", capsize=3, label=method)
        axis.set_xlabel("average return over the grid")
        axis.set_ylabel("worst-case return over the grid")
        axis.set_title(SETTINGS[name].env_id)
        axis.legend(fontsize=8)
    _save(figure, out_dir / "robust_worst_vs_average.png")

    figure, axes = plt.subplots(len(names), len(METHODS), figsize=(4 * len(METHODS), 3.4 * len(names)),
                                squeeze=False)
    for row, name in enumerate(names):
        x, y = SETTINGS[name].uncertainty_set
        for column, method in enumerate(METHODS):
            cells = [g for r in results if r["name"] == name for g in r["grid"] if g["method"] == method]
            xs, ys = sorted({c[x] for c in cells}), sorted({c[y] for c in cells})
            table = np.array([[np.mean([c["mean_return"] for c in cells if c[x] == xv and c[y] == yv])
                               for xv in xs] for yv in ys])
            image = axes[row, column].pcolormesh(xs, ys, table, shading="nearest", cmap="viridis")
            figure.colorbar(image, ax=axes[row, column])
            axes[row, column].set_title(f"{name}: {method}", fontsize=9)
            axes[row, column].set_xlabel(x)
            axes[row, column].set_ylabel(y)
    _save(figure, out_dir / "robust_heatmaps.png")

    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4))
    for axis, name in zip(np.atleast_1d(axes), names):
        for seed, trace in summary["settings"][name]["trace"].items():
            iterations = [t["iteration"] for t in trace]
            axis.plot(iterations, [t["upper_bound"] for t in trace], "-^", color=f"C{seed}", label=f"seed {seed}")
            axis.plot(iterations, [t["lower_bound"] for t in trace], "--v", color=f"C{seed}")
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_xlabel("IWOCS iteration")
        axis.set_ylabel("return (upper: solid, lower: dashed)")
        axis.set_title(SETTINGS[name].env_id)
        axis.legend(fontsize=8)
    _save(figure, out_dir / "iwocs_trace.png")


def _save(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


REPRODUCTION = Reproduction(
    name="robust",
    paper="Solving robust MDPs as a sequence of static RL problems (IWOCS; Zouitine, Geist, Rachelson et al., 2024)",
    description="worst-case and average return over the uncertainty set: nominal, domain randomisation, "
                "worst corner and IWOCS on RobustCartPole (PPO) and RobustPendulum (SAC)",
    run=run,
)
