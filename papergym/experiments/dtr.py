"""DTR bandit (Hu & Kallus, arXiv 2005.02791): cumulative regret of the DTR bandit and its baselines.

Units: one agent on one preset on one path (a path = T patients drawn once from the preset's seed and the
path index, so every agent of a path treats the same patients with the same noise: common random
numbers). Records: the cumulative expected regret (V*(x1) minus the value of the sequence played, outcome
noise removed) and the realised regret against the noise-matched optimal regime (what the paper plots) at
checkpoints on a linear and a logarithmic grid. A second study runs the DTR bandit over a grid of q and h
on one preset (the paper's sensitivity figure). The report writes the table at T, regret curves with 95%
bands, regret against log t with the growth exponent of each method, and the sensitivity table and plot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papergym.experiments.contract import Record, Reproduction, Settings, SettingsError, Unit, agent_label, load_agent

METHODS = ("DTR bandit", "greedy", "epsilon-greedy", "LSVI-UCB", "explore-then-commit", "optimal")
PRESET_INDEX = {"beta-mixture": 0, "linear-gaussian": 1, "depression": 2}
MAIN, SENSITIVITY = "main", "sensitivity"


@dataclass(frozen=True, kw_only=True)
class DTRSettings(Settings):
    """The paper's protocol: T patients per path, ``seeds`` paths, six methods on each preset.

    Per-preset DTR bandit parameters follow the authors' runs: q = 5, h = 0.5 on beta-mixture; q = 20,
    h = 0.5 on linear-gaussian; q = 2, h = 10 with thresholds h (stage 1) and h/2 (stage 2) and LSVI-UCB's
    beta = 8 sqrt(log 8T) on depression (elsewhere thresholds h/2, h/2 and beta = 4 sqrt(log 4T)).
    """

    seeds: int = 40
    horizon: int = 10_000
    presets: tuple[str, ...] = ("beta-mixture", "linear-gaussian", "depression")
    methods: tuple[str, ...] = METHODS
    beta_mixture_q: int = 5
    beta_mixture_h: float = 0.5
    linear_gaussian_q: int = 20
    linear_gaussian_h: float = 0.5
    depression_q: int = 2
    depression_h: float = 10.0
    epsilon: float = 0.1
    sensitivity_preset: str = "beta-mixture"
    sensitivity_seeds: int = 40
    q_grid: tuple[int, ...] = (3, 5, 10)
    h_grid: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 1.0, 5.0)
    curve_points: int = 30
    seed: int = 0

    def validate(self) -> None:
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) or self.horizon < 20:
            raise SettingsError(f"horizon must be an integer >= 20, got {self.horizon!r}")
        for preset in self.presets:
            if preset not in PRESET_INDEX:
                raise SettingsError(f"presets must name presets among {list(PRESET_INDEX)}, got {preset!r}")
        if self.sensitivity_preset not in PRESET_INDEX:
            raise SettingsError(f"sensitivity_preset must be one of {list(PRESET_INDEX)}, "
                                f"got {self.sensitivity_preset!r}")
        for method in self.methods:
            if method not in METHODS:
                raise SettingsError(f"methods must be among {list(METHODS)}, got {method!r}")
        for name in ("beta_mixture_q", "linear_gaussian_q", "depression_q", "sensitivity_seeds", "curve_points"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingsError(f"{name} must be an integer >= 1, got {value!r}")
        for q in self.q_grid:
            if isinstance(q, bool) or not isinstance(q, int) or q < 1:
                raise SettingsError(f"q_grid must hold integers >= 1, got {q!r}")
        for name in ("beta_mixture_h", "linear_gaussian_h", "depression_h"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for h in self.h_grid:
            if not h > 0:
                raise SettingsError(f"h_grid must hold numbers > 0, got {h!r}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise SettingsError(f"epsilon must be in [0, 1], got {self.epsilon!r}")

    def dtr_parameters(self, preset: str) -> dict[str, Any]:
        key = preset.replace("-", "_")
        gaps = (1.0, 0.5) if preset == "depression" else (0.5, 0.5)
        return {"q": getattr(self, f"{key}_q"), "h": getattr(self, f"{key}_h"), "gap_factors": gaps}


PRESETS = {
    "quick": DTRSettings(seeds=20, horizon=5_000, sensitivity_seeds=10),
    "paper": DTRSettings(),
}


def units(settings: DTRSettings) -> list[Unit]:
    """One unit per (preset, method or user agent, path), then one per (q, h, path) of the sensitivity study."""
    found = []
    labels = list(settings.methods) + list(settings.agents)
    for preset in settings.presets:
        for label in labels:
            for path in range(settings.seeds):
                found.append(Unit({"study": MAIN, "preset": preset, "agent": label, "path": path}))
    for q in settings.q_grid:
        for h in settings.h_grid:
            for path in range(settings.sensitivity_seeds):
                found.append(Unit({"study": SENSITIVITY, "preset": settings.sensitivity_preset,
                                   "agent": f"DTR bandit q={q} h={h:g}", "q": q, "h": h, "path": path}))
    return found


def checkpoints(horizon: int, points: int) -> np.ndarray:
    """Patients counts at which the curves are recorded: a linear and a logarithmic grid, merged."""
    linear = np.linspace(horizon / points, horizon, points)
    logarithmic = np.geomspace(10, horizon, points)
    return np.unique(np.concatenate([linear, logarithmic]).round().astype(np.int64))


def draw_path(settings: DTRSettings, preset: str, path: int):
    """The path's patients: the same for every agent (common random numbers)."""
    from papergym.envs.dtr import make_model

    model = make_model(preset)
    rng = np.random.default_rng([settings.seed, PRESET_INDEX[preset], path])
    return model, model.draw(rng, settings.horizon)


def build_agent(settings: DTRSettings, preset: str, label: str, model, path: int, q=None, h=None):
    from papergym.agents import dtr

    seed = 1000 * path + PRESET_INDEX[preset]
    horizon = settings.horizon
    if q is not None:
        parameters = settings.dtr_parameters(preset) | {"q": q, "h": h}
        return dtr.DTRBandit(model, horizon, seed=seed, **parameters)
    if label == "DTR bandit":
        return dtr.DTRBandit(model, horizon, seed=seed, **settings.dtr_parameters(preset))
    if label == "greedy":
        return dtr.Greedy(model, horizon, seed=seed)
    if label == "epsilon-greedy":
        return dtr.EpsilonGreedy(model, horizon, epsilon=settings.epsilon, seed=seed)
    if label == "LSVI-UCB":
        return dtr.LSVIUCB(model, horizon, beta_scale=8.0 if preset == "depression" else 4.0, seed=seed)
    if label == "explore-then-commit":
        return dtr.ExploreThenCommit(model, horizon, seed=seed)
    if label == "optimal":
        return dtr.OptimalRegime(model, horizon, seed=seed)
    raise SettingsError(f"unknown method {label!r}")


def run_unit(settings: DTRSettings, unit: Unit) -> list[Record]:
    """One agent on one path of one preset: its regret curves at the checkpoints."""
    import gymnasium as gym

    from papergym.agents.dtr import play_patients, regret_curves, simulate

    preset, label, path = unit["preset"], unit["agent"], unit["path"]
    model, patients = draw_path(settings, preset, path)
    started = time.perf_counter()
    if label in settings.agents and unit["study"] == MAIN:
        env = gym.make("papergym/DTRBandit-v0", preset=preset)
        agent = load_agent(label, env)
        chosen = play_patients(agent, model, patients)
        label = agent_label(label)
    else:
        agent = build_agent(settings, preset, label, model, path, unit.params.get("q"), unit.params.get("h"))
        chosen = simulate(agent, patients)
    seconds = time.perf_counter() - started
    expected, realised = regret_curves(model, patients, *chosen)
    records = []
    for t in checkpoints(settings.horizon, settings.curve_points):
        record = {"study": unit["study"], "preset": preset, "agent": label, "path": path, "patients": int(t),
                  "expected_regret": float(expected[t - 1]), "realised_regret": float(realised[t - 1]),
                  "seconds": seconds}
        if unit["study"] == SENSITIVITY:
            record |= {"q": unit["q"], "h": unit["h"]}
        records.append(record)
    return records


# --- report -------------------------------------------------------------------------------------------


def _curves(records: list[Record], study: str, preset: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per agent: checkpoints, expected and realised regret (paths x checkpoints)."""
    by_agent: dict[str, dict[int, dict[int, tuple[float, float]]]] = {}
    for record in records:
        if record["study"] == study and record["preset"] == preset:
            by_agent.setdefault(record["agent"], {}).setdefault(record["path"], {})[record["patients"]] = (
                record["expected_regret"], record["realised_regret"])
    curves = {}
    for agent, paths in by_agent.items():
        points = np.array(sorted(next(iter(paths.values()))))
        values = np.array([[paths[p][t] for t in points] for p in sorted(paths)])
        curves[agent] = (points, values[..., 0], values[..., 1])
    return curves


def growth_exponent(points: np.ndarray, mean_regret: np.ndarray) -> float:
    """d log R / d log t between T/2 and T: about 0 for logarithmic growth, 1 for linear growth."""
    final = mean_regret[-1]
    half = np.interp(points[-1] / 2, points, mean_regret)
    if final <= 0 or half <= 0:
        return float("nan")
    return float(np.log(final / half) / np.log(2.0))


def report(settings: DTRSettings, records: list[Record], out_dir: Path) -> str:
    from papergym.experiments.reporting import CsvLog, format_table, summary_table

    out_dir = Path(out_dir)
    lines = [f"DTR bandit: cumulative regret after T = {settings.horizon:,} patients ({settings.seeds} paths; "
             "realised = against the noise-matched optimal regime, as the paper plots; expected = noise removed)"]
    curve_log = CsvLog(out_dir / "dtr_regret_curves.csv", ["study", "preset", "agent", "patients", "expected_mean",
                                                           "expected_std", "realised_mean", "realised_std", "paths"])
    final_log = CsvLog(out_dir / "dtr_final_regret.csv", ["study", "preset", "agent", "paths", "expected_mean",
                                                          "expected_std", "realised_mean", "realised_std",
                                                          "growth_exponent", "seconds_per_path"])
    seconds = _seconds(records)
    panels = {}
    for preset in settings.presets:
        curves = _curves(records, MAIN, preset)
        if not curves:
            continue
        panels[preset] = curves
        _log_curves(curve_log, final_log, MAIN, preset, curves, seconds)
        realised = summary_table({agent: values[2][:, -1] for agent, values in curves.items()})
        ranked = dict(sorted(realised.items(), key=lambda item: item[1].mean))
        expected = {agent: f"{curves[agent][1][:, -1].mean():.4g}" for agent in ranked}
        exponent = {agent: f"{growth_exponent(curves[agent][0], curves[agent][1].mean(axis=0)):.2f}"
                    for agent in ranked}
        timing = {agent: f"{seconds.get((MAIN, preset, agent), float('nan')):.2f}" for agent in ranked}
        lines += ["", format_table(f"{preset}: realised regret at T", ranked, "realised regret",
                                   {"expected regret": expected, "growth exponent": exponent,
                                    "s/path": timing})]
        lines.append("  ordering (realised, best first): " + " < ".join(
            agent for agent in ranked if agent != "optimal"))
    sensitivity = _curves(records, SENSITIVITY, settings.sensitivity_preset)
    if sensitivity:
        _log_curves(curve_log, final_log, SENSITIVITY, settings.sensitivity_preset, sensitivity, seconds)
        table = summary_table({agent: values[2][:, -1] for agent, values in sensitivity.items()})
        lines += ["", format_table(f"sensitivity of the DTR bandit to q and h on {settings.sensitivity_preset} "
                                   f"({settings.sensitivity_seeds} paths): realised regret at T", table,
                                   "realised regret",
                                   {"expected regret": {a: f"{v[1][:, -1].mean():.4g}"
                                                        for a, v in sensitivity.items()}})]
    if panels:
        _plot_curves(out_dir / "dtr_regret.png", panels, settings)
        _plot_log_t(out_dir / "dtr_regret_log_t.png", panels)
    if sensitivity:
        _plot_sensitivity(out_dir / "dtr_sensitivity.png", sensitivity, settings)
    lines.append("")
    lines.append("wrote dtr_final_regret.csv, dtr_regret_curves.csv, dtr_regret.png, dtr_regret_log_t.png"
                 + (", dtr_sensitivity.png" if sensitivity else ""))
    if "depression" in panels:
        lines.append("note: 'depression' is a synthetic STAR*D-shaped simulator; its figures are illustrative, "
                     "not results on STAR*D.")
    return "\n".join(lines)


def _seconds(records: list[Record]) -> dict[tuple[str, str, str], float]:
    per_unit: dict[tuple[str, str, str], dict[int, float]] = {}
    for record in records:
        per_unit.setdefault((record["study"], record["preset"], record["agent"]), {})[record["path"]] = record[
            "seconds"]
    return {key: float(np.mean(list(paths.values()))) for key, paths in per_unit.items()}


def _log_curves(curve_log, final_log, study: str, preset: str, curves, seconds) -> None:
    for agent, (points, expected, realised) in curves.items():
        n = expected.shape[0]
        spread = (lambda values: values.std(axis=0, ddof=1)) if n > 1 else (lambda values: np.zeros(values.shape[1]))
        for index, t in enumerate(points):
            curve_log.append({"study": study, "preset": preset, "agent": agent, "patients": int(t),
                              "expected_mean": float(expected[:, index].mean()),
                              "expected_std": float(spread(expected)[index]),
                              "realised_mean": float(realised[:, index].mean()),
                              "realised_std": float(spread(realised)[index]), "paths": n})
        final_log.append({"study": study, "preset": preset, "agent": agent, "paths": n,
                          "expected_mean": float(expected[:, -1].mean()),
                          "expected_std": float(spread(expected)[-1]),
                          "realised_mean": float(realised[:, -1].mean()),
                          "realised_std": float(spread(realised)[-1]),
                          "growth_exponent": growth_exponent(points, expected.mean(axis=0)),
                          "seconds_per_path": seconds.get((study, preset, agent), float("nan"))})


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the half-width of its 95% confidence interval over paths (normal approximation)."""
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        return mean, np.zeros_like(mean)
    return mean, 1.96 * values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])


def _plot_curves(path: Path, panels, settings: DTRSettings) -> None:
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    figure, axes = plt.subplots(2, len(panels), figsize=(5.2 * len(panels), 7.5), squeeze=False)
    for column, (preset, curves) in enumerate(panels.items()):
        for row, (index, name) in enumerate(((2, "realised"), (1, "expected"))):
            axis = axes[row, column]
            for agent, values in curves.items():
                mean, half = _band(values[index])
                axis.plot(values[0], mean, label=agent, linewidth=2.0 if agent == "DTR bandit" else 1.2)
                axis.fill_between(values[0], mean - half, mean + half, alpha=0.2)
            axis.set_title(f"{preset}: {name} regret ({settings.seeds} paths, 95% band)", fontsize=9)
            axis.set_xlabel("patients")
            axis.set_ylabel(f"cumulative {name} regret")
            axis.grid(alpha=0.3)
        axes[0, column].legend(fontsize=7)
    save_figure(figure, path)


def _plot_log_t(path: Path, panels) -> None:
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), squeeze=False)
    for axis, (preset, curves) in zip(axes[0], panels.items()):
        for agent, values in curves.items():
            if agent == "optimal":
                continue
            mean, half = _band(values[1])
            axis.plot(values[0], mean, label=agent)
            axis.fill_between(values[0], mean - half, mean + half, alpha=0.2)
        axis.set_xscale("log")
        axis.set_title(f"{preset}: expected regret vs log t (straight = logarithmic)", fontsize=9)
        axis.set_xlabel("patients t (log scale)")
        axis.set_ylabel("cumulative expected regret")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    save_figure(figure, path)


def _plot_sensitivity(path: Path, curves, settings: DTRSettings) -> None:
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    for q in settings.q_grid:
        means, halves = [], []
        for h in settings.h_grid:
            values = curves.get(f"DTR bandit q={q} h={h:g}")
            mean, half = _band(values[2][:, -1:]) if values is not None else (np.array([np.nan]), np.array([0.0]))
            means.append(mean[0])
            halves.append(half[0])
        axis.errorbar(settings.h_grid, means, yerr=halves, marker="o", capsize=3, label=f"q = {q}")
    axis.set_xscale("log")
    axis.set_xlabel("h")
    axis.set_ylabel(f"realised regret at T = {settings.horizon:,}")
    axis.set_title(f"DTR bandit on {settings.sensitivity_preset}: sensitivity to q and h", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend()
    save_figure(figure, path)


REPRODUCTION = Reproduction(
    name="dtr",
    paper="DTR Bandit: learning to make response-adaptive decisions with low regret (Hu & Kallus, arXiv 2005.02791)",
    description="cumulative regret of the DTR bandit, greedy, epsilon-greedy, LSVI-UCB, explore-then-commit and "
                "the optimal regime on the beta-mixture, linear-Gaussian and (synthetic) depression presets; "
                "sensitivity to q and h; regret vs log T",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)

__all__ = ["REPRODUCTION", "DTRSettings", "checkpoints", "growth_exponent", "run_unit", "units"]
