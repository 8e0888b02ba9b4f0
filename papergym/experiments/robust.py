"""Robust MDPs as a sequence of static problems (IWOCS): worst-case and average return over a grid.

For each environment of the comparison (its inner solver and uncertainty set in :data:`ENVIRONMENTS`),
each seed trains

* ``nominal``: the inner algorithm on the nominal model;
* ``domain randomisation``: the inner algorithm with the model drawn from the set at every episode;
* ``worst corner``: the inner algorithm on the corner where the nominal agent does worst;
* ``IWOCS``: the nominal model first, then ``iterations`` iterations, each solving the worst model found
  by the worst-case search (or, when the set holds that model already, training its member further), each
  static problem with the baselines' budget (IWOCS uses ``iterations + 1`` times more steps). The
  gap-based stopping rule is off (it assumes near-optimal specialists; at small budgets the specialists'
  own returns fall below the robust policy's worst case and the rule would stop at once);
* ``nominal (equal total)`` and ``domain randomisation (equal total)``: the baselines with IWOCS's total
  budget, ``(iterations + 1)`` times the per-problem budget (comparison at equal total budget);

and evaluates every agent on a grid over the set (``grid_points`` values per parameter, bounds included,
as the Robust RL Suite's evaluation sets), ``grid_episodes`` episodes per point. The table gives the worst
case (lowest grid-point mean return) and the average over the grid, with 95% confidence intervals over
seeds; the IWOCS trace gives, per iteration, the worst return found for the current robust policy and the
lowest specialist return of its models. Grid episodes are held out: their seeds are used by no training,
search or value episode.

Presets: ``quick`` runs CartPole (PPO, 8 x 10^4 steps per static problem), Pendulum (SAC, 8,000 steps) and
InvertedPendulum (TD3 with 64-unit layers, not the paper's 256, and updates from step 1,000, not 25,000;
3 x 10^4 steps; RRLS's 1-D pole-mass set), budgets at which the inner solvers mostly learn their nominal
tasks, 2 IWOCS iterations, 5 seeds; ``paper`` runs RRLS's 3-D MuJoCo sets (2-D for InvertedPendulum) with
TD3 at 10^6 steps per static problem and 5 IWOCS iterations: days of CPU, meant to be spread over workers.

A unit is one method (or one user agent) on one environment for one seed. The nominal agent of the
``worst corner`` unit is retrained inside the unit (same seed, identical agent), so units stay independent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from papergym.core.stats import summarize
from papergym.envs.robust.mujoco import MODELS as MUJOCO_MODELS
from papergym.experiments.contract import (
    Record,
    Reproduction,
    Settings,
    SettingsError,
    Unit,
    agent_label,
    load_agent,
    require_setting_int,
)
from papergym.experiments.reporting import format_table, summary_table, write_csv

#: TD3's hyperparameters (Fujimoto et al., 2018), the inner solver of the paper's deep IWOCS: Adam 3e-4,
#: two 256-unit layers, batch 256, tau 0.005, gamma 0.99, policy delay 2, target noise 0.2 clipped at 0.5,
#: Gaussian exploration noise 0.1 (SB3's TD3 with the action noise set), 25,000 random steps first.
TD3_PAPER_KWARGS: dict[str, Any] = {
    "learning_rate": 3e-4, "buffer_size": 1_000_000, "batch_size": 256, "tau": 0.005, "gamma": 0.99,
    "policy_delay": 2, "target_policy_noise": 0.2, "target_noise_clip": 0.5, "learning_starts": 25_000,
    "policy_kwargs": {"net_arch": [256, 256]}, "exploration_noise": 0.1,
}

#: PPO's CartPole hyperparameters of RL Baselines3 Zoo (constant learning rate and clip range instead of
#: its linear schedules; one environment, 256 steps per rollout as the zoo's 8 x 32): it balances the
#: nominal pole in about 10^5 steps.
PPO_CARTPOLE_KWARGS: dict[str, Any] = {
    "n_steps": 256, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20, "ent_coef": 0.0,
    "learning_rate": 1e-3, "clip_range": 0.2,
}

PER_PROBLEM_METHODS = ("nominal", "domain randomisation", "worst corner", "IWOCS")
EQUAL_TOTAL_METHODS = ("nominal (equal total)", "domain randomisation (equal total)")
METHODS = PER_PROBLEM_METHODS + EQUAL_TOTAL_METHODS


@dataclass(frozen=True)
class Environment:
    """One environment of the comparison: its id, inner solver, uncertainty set and per-problem budgets.

    ``warm_start``: whether IWOCS starts each new problem from the closest solved model's agent (off for
    PPO: a converged PPO policy explores too little to relearn a changed model).
    ``iwocs_kwargs``: IWOCS's indicator settings where its defaults do not tell the models apart (Pendulum:
    the quadratic indicator with ratio 1, chosen with ``examples/iwocs_selection_rules.py``).
    """

    env_id: str
    inner: str
    uncertainty_set: dict[str, tuple[float, float]]
    quick_timesteps: int
    paper_timesteps: int
    inner_kwargs: dict[str, Any] = field(default_factory=dict)
    warm_start: bool = True
    iwocs_kwargs: dict[str, Any] = field(default_factory=dict)


ENVIRONMENTS = {
    "cartpole": Environment("papergym/RobustCartPole-v0", "PPO", {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)},
                            quick_timesteps=80_000, paper_timesteps=200_000, inner_kwargs=PPO_CARTPOLE_KWARGS,
                            warm_start=False),
    "pendulum": Environment("papergym/RobustPendulum-v0", "SAC", {"m": (0.5, 1.5), "l": (0.75, 1.25)},
                            quick_timesteps=8_000, paper_timesteps=20_000,
                            inner_kwargs={"policy_kwargs": {"net_arch": [64, 64]}, "learning_starts": 200},
                            iwocs_kwargs={"indicator_features": "quadratic", "explained_ratio": 1.0}),
    "inverted_pendulum": Environment("papergym/RobustInvertedPendulum-v0", "TD3", {"polemass": (1.0, 31.0)},
                                     quick_timesteps=30_000, paper_timesteps=1_000_000,
                                     inner_kwargs={**TD3_PAPER_KWARGS, "learning_starts": 1_000,
                                                   "policy_kwargs": {"net_arch": [64, 64]}}),
}
#: The MuJoCo sets of the paper's benchmark (RRLS's 3-D sets; InvertedPendulum's 2-D set), for ``paper``.
for _name, _key in (("Hopper", "hopper"), ("HalfCheetah", "halfcheetah"), ("Walker2d", "walker2d"),
                    ("Ant", "ant"), ("HumanoidStandup", "humanoidstandup")):
    ENVIRONMENTS[_key] = Environment(f"papergym/Robust{_name}-v0", "TD3", MUJOCO_MODELS[_name].sets["3d"],
                                     quick_timesteps=5_000, paper_timesteps=1_000_000,
                                     inner_kwargs=TD3_PAPER_KWARGS)
ENVIRONMENTS["inverted_pendulum_2d"] = Environment(
    "papergym/RobustInvertedPendulum-v0", "TD3", MUJOCO_MODELS["InvertedPendulum"].sets["2d"], quick_timesteps=5_000,
    paper_timesteps=1_000_000, inner_kwargs=TD3_PAPER_KWARGS)


@dataclass(frozen=True, kw_only=True)
class RobustSettings(Settings):
    """Settings of the robust comparison (see the module docstring).

    ``budget`` picks each environment's per-problem training steps (``quick`` or ``paper``), unless
    ``timesteps`` sets one number for every environment.
    """

    seeds: int = 5
    envs: tuple[str, ...] = ("cartpole", "pendulum")
    methods: tuple[str, ...] = PER_PROBLEM_METHODS
    budget: str = "quick"
    timesteps: int | None = None
    iterations: int = 2
    search_budget: int = 24
    search_episodes: int = 3
    grid_points: int = 5
    grid_episodes: int = 5

    def validate(self) -> None:
        _require_choices("envs", self.envs, ENVIRONMENTS)
        _require_choices("methods", self.methods, METHODS)
        if self.budget not in ("quick", "paper"):
            raise SettingsError(f"budget must be 'quick' or 'paper', got {self.budget!r}")
        if self.timesteps is not None:
            require_setting_int("timesteps", self.timesteps, 1)
        require_setting_int("iterations", self.iterations, 0)
        require_setting_int("search_budget", self.search_budget, 2)
        require_setting_int("search_episodes", self.search_episodes, 1)
        require_setting_int("grid_points", self.grid_points, 2)
        require_setting_int("grid_episodes", self.grid_episodes, 1)

    def per_problem_timesteps(self, env: str) -> int:
        if self.timesteps is not None:
            return self.timesteps
        environment = ENVIRONMENTS[env]
        return environment.quick_timesteps if self.budget == "quick" else environment.paper_timesteps


def _require_choices(name: str, values: tuple[str, ...], allowed: Any) -> None:
    if not values or any(value not in allowed for value in values):
        raise SettingsError(f"{name} must be a non-empty subset of {', '.join(allowed)}, got {values!r}")


PRESETS = {
    "quick": RobustSettings(seeds=5, envs=("cartpole", "pendulum", "inverted_pendulum"),
                            methods=("nominal", "domain randomisation", "IWOCS", "domain randomisation (equal total)"),
                            iterations=2, search_budget=8, search_episodes=3, grid_points=10, grid_episodes=1),
    "paper": RobustSettings(seeds=5, budget="paper", methods=METHODS,
                            envs=("hopper", "halfcheetah", "walker2d", "ant", "humanoidstandup",
                                  "inverted_pendulum_2d"),
                            iterations=5, search_budget=40, search_episodes=3, grid_points=10, grid_episodes=3),
}


def units(settings: RobustSettings) -> list[Unit]:
    """One unit per environment, seed and method (IWOCS: the whole run of one seed), then user agents."""
    return [Unit({"env": env, "method": method, "seed": seed})
            for env in settings.envs for seed in range(settings.seeds)
            for method in (*settings.methods, *settings.agents)]


def _evaluation_seed(seed: int) -> int:
    """Grid episodes start from seeds that no training or search episode uses (IWOCS's are below 10^6)."""
    return 1_000_000 + 1_000 * seed


def run_unit(settings: RobustSettings, unit: Unit) -> list[Record]:
    """Train (or load) one method on one environment for one seed and evaluate it on the grid."""
    env, method, seed = unit["env"], unit["method"], unit["seed"]
    environment = ENVIRONMENTS[env]
    agent, timesteps, trace = _build_agent(settings, env, method, seed)
    from papergym.agents.robust import evaluate_grid

    grid = evaluate_grid(agent, environment.env_id, environment.uncertainty_set, settings.grid_points,
                         settings.grid_episodes, seed=_evaluation_seed(seed))
    label = agent_label(method) if method in settings.agents else method
    common = {"env": env, "method": label, "seed": seed}
    records: list[Record] = [{"kind": "summary", **common, "worst_case": grid.worst_case, "average": grid.average,
                              "timesteps": timesteps, "worst_params": _params_text(grid.worst_params)}]
    records += [{"kind": "grid", **common, **row} for row in grid.rows()]
    records += [{"kind": "trace", **common, **row} for row in trace]
    return records


def _build_agent(settings: RobustSettings, env: str, method: str, seed: int) -> tuple[Any, int, list[dict]]:
    """The agent of ``method`` (or of a user agent spec), its training steps and IWOCS's trace rows."""
    import gymnasium as gym
    import stable_baselines3

    from papergym.agents.robust import IWOCS, train_domain_randomization, train_on_params, worst_corner

    environment = ENVIRONMENTS[env]
    if method in settings.agents:
        return load_agent(method, gym.make(environment.env_id)), 0, []
    inner = getattr(stable_baselines3, environment.inner)
    steps = settings.per_problem_timesteps(env)
    total = steps * (settings.iterations + 1)
    common = {"seed": seed, "inner_kwargs": environment.inner_kwargs}
    if method == "nominal":
        return train_on_params(inner, environment.env_id, None, steps, **common), steps, []
    if method == "nominal (equal total)":
        return train_on_params(inner, environment.env_id, None, total, **common), total, []
    if method in ("domain randomisation", "domain randomisation (equal total)"):
        budget = steps if method == "domain randomisation" else total
        return train_domain_randomization(inner, environment.env_id, budget,
                                          uncertainty_set=environment.uncertainty_set, **common), budget, []
    if method == "worst corner":
        nominal = train_on_params(inner, environment.env_id, None, steps, **common)
        corner = worst_corner(nominal, environment.env_id, environment.uncertainty_set, settings.grid_episodes,
                              seed=seed)
        return train_on_params(inner, environment.env_id, corner, steps, **common), steps, []
    iwocs = IWOCS(inner, environment.env_id, environment.uncertainty_set, inner_kwargs=environment.inner_kwargs,
                  max_iterations=settings.iterations, tolerance=None, search_budget=settings.search_budget,
                  search_episodes=settings.search_episodes, value_episodes=max(2, settings.grid_episodes),
                  warm_start=environment.warm_start, seed=seed, **environment.iwocs_kwargs)
    iwocs.learn(total)
    return iwocs, iwocs.num_timesteps, [record.as_row() for record in iwocs.trace]


def _params_text(params: dict[str, float]) -> str:
    return " ".join(f"{key}={value:.4g}" for key, value in params.items())


# --- report -------------------------------------------------------------------------------------------


def report(settings: RobustSettings, records: list[Record], out_dir: Path) -> str:
    """Tables of the worst case and the average over the grid per environment; CSV files and plots."""
    out_dir = Path(out_dir)
    summaries = [r for r in records if r["kind"] == "summary"]
    write_csv(out_dir / "robust_returns.csv", summaries)
    write_csv(out_dir / "robust_grid.csv", [r for r in records if r["kind"] == "grid"])
    traces = [r for r in records if r["kind"] == "trace"]
    if traces:
        write_csv(out_dir / "iwocs_trace.csv", traces)
    texts = []
    tables: dict[str, dict[str, Any]] = {}
    for env in settings.envs:
        mine = [r for r in summaries if r["env"] == env]
        methods = list(dict.fromkeys(r["method"] for r in mine))
        worst = summary_table({m: [r["worst_case"] for r in mine if r["method"] == m] for m in methods})
        average = summary_table({m: [r["average"] for r in mine if r["method"] == m] for m in methods})
        steps = {m: str(next(r["timesteps"] for r in mine if r["method"] == m)) for m in methods}
        average_text = {m: f"{s.mean:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}]" for m, s in average.items()}
        environment = ENVIRONMENTS[env]
        grid = f"{settings.grid_points}^{len(environment.uncertainty_set)} grid x {settings.grid_episodes} episodes"
        texts.append(format_table(
            f"{environment.env_id} ({environment.inner}; set {environment.uncertainty_set}; {grid}): "
            "worst case over the grid", worst, "worst case",
            {"average over the grid [95% CI]": average_text, "training steps": steps}))
        tables[env] = {"worst": worst, "average": average}
        texts[-1] += "\n" + _reading(mine, [r for r in traces if r["env"] == env])
    _plot(settings, records, tables, out_dir)
    return "\n\n".join(texts)


def _reading(summaries: list[Record], traces: list[Record]) -> str:
    """Whether IWOCS's worst case beats nominal and domain randomisation (paired by seed, 95% CI), and, when
    it does not, what its trace says of the static problems it solved."""
    by_method: dict[str, dict[int, float]] = {}
    for record in summaries:
        by_method.setdefault(record["method"], {})[record["seed"]] = record["worst_case"]
    if "IWOCS" not in by_method:
        return ""
    lines, beaten = [], True
    for baseline in ("nominal", "domain randomisation", "domain randomisation (equal total)"):
        if baseline not in by_method:
            continue
        seeds = sorted(set(by_method["IWOCS"]) & set(by_method[baseline]))
        difference = summarize([by_method["IWOCS"][s] - by_method[baseline][s] for s in seeds])
        if baseline != "domain randomisation (equal total)":
            beaten &= difference.ci_low > 0
        lines.append(f"IWOCS - {baseline}, worst case (paired by seed): {difference.mean:+.4g} "
                     f"[{difference.ci_low:+.4g}, {difference.ci_high:+.4g}]")
    if beaten:
        lines.append("IWOCS's worst case beats nominal and domain randomisation at equal per-problem budget "
                     "(the paper's claim).")
    else:
        last = {}
        for row in traces:
            if row["method"] == "IWOCS":
                last[row["seed"]] = row
        specialists = ", ".join(f"{last[seed]['min_specialist_return']:.4g}" for seed in sorted(last))
        lines.append("IWOCS's worst case does not beat both nominal and domain randomisation here (the paper's "
                     "claim). IWOCS assumes each static problem is solved: the lowest return of its specialists "
                     f"on their own models, per seed, is {specialists}; compare it with the task's best return.")
    return "\n".join(lines)


def heatmap(axes: Any, rows: list[Record], x: str, y: str, title: str) -> Any:
    """Mean return over two parameters (the mean over ``rows`` of each grid point) as a heat map on ``axes``."""
    xs, ys = sorted({row[x] for row in rows}), sorted({row[y] for row in rows})
    table = np.full((len(ys), len(xs)), np.nan)
    for i, y_value in enumerate(ys):
        for j, x_value in enumerate(xs):
            values = [row["mean_return"] for row in rows if row[x] == x_value and row[y] == y_value]
            if values:
                table[i, j] = np.mean(values)
    image = axes.pcolormesh(xs, ys, table, shading="nearest", cmap="viridis")
    axes.figure.colorbar(image, ax=axes)
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(title, fontsize=9)
    return image


def _plot(settings: RobustSettings, records: list[Record], tables: dict[str, dict[str, Any]], out_dir: Path) -> None:
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    envs = list(tables)
    figure, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 4), squeeze=False)
    for axis, env in zip(axes[0], envs):
        for method, worst in tables[env]["worst"].items():
            average = tables[env]["average"][method]
            axis.errorbar(average.mean, worst.mean, xerr=average.half_width, yerr=worst.half_width,
                          fmt="o", capsize=3, label=method)
        axis.set_xlabel("average return over the grid")
        axis.set_ylabel("worst-case return over the grid")
        axis.set_title(ENVIRONMENTS[env].env_id)
        axis.legend(fontsize=7)
    save_figure(figure, out_dir / "robust_worst_vs_average.png")

    two_dimensional = [env for env in envs if len(ENVIRONMENTS[env].uncertainty_set) == 2]
    if two_dimensional:
        methods = list(dict.fromkeys(r["method"] for r in records if r["kind"] == "grid"))
        figure, axes = plt.subplots(len(two_dimensional), len(methods),
                                    figsize=(4 * len(methods), 3.4 * len(two_dimensional)), squeeze=False)
        for row, env in enumerate(two_dimensional):
            x, y = ENVIRONMENTS[env].uncertainty_set
            for column, method in enumerate(methods):
                cells = [r for r in records if r["kind"] == "grid" and r["env"] == env and r["method"] == method]
                if cells:
                    heatmap(axes[row, column], cells, x, y, f"{env}: {method}")
        save_figure(figure, out_dir / "robust_heatmaps.png")

    traces = [r for r in records if r["kind"] == "trace"]
    if traces:
        figure, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 4), squeeze=False)
        for axis, env in zip(axes[0], envs):
            for seed in sorted({r["seed"] for r in traces if r["env"] == env}):
                trace = [r for r in traces if r["env"] == env and r["seed"] == seed]
                iterations = [r["iteration"] for r in trace]
                axis.plot(iterations, [r["min_specialist_return"] for r in trace], "-^", color=f"C{seed % 10}",
                          label=f"seed {seed}")
                axis.plot(iterations, [r["worst_found_return"] for r in trace], "--v", color=f"C{seed % 10}")
            axis.xaxis.get_major_locator().set_params(integer=True)
            axis.set_xlabel("IWOCS iteration")
            axis.set_ylabel("min specialist return (solid), worst found (dashed)")
            axis.set_title(ENVIRONMENTS[env].env_id)
            axis.legend(fontsize=7)
        save_figure(figure, out_dir / "iwocs_trace.png")


REPRODUCTION = Reproduction(
    name="robust",
    paper="Solving robust MDPs as a sequence of static RL problems (IWOCS; Zouitine, Geist, Rachelson et al., 2024)",
    description="worst-case and average return over a 10-point-per-parameter grid of the uncertainty set: "
                "nominal, domain randomisation, worst corner and IWOCS, at equal per-problem and equal total "
                "budget; quick: RobustCartPole (PPO), RobustPendulum (SAC), RobustInvertedPendulum (TD3); "
                "paper: the MuJoCo sets of RRLS (TD3)",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)
