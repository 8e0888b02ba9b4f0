"""Dynamical Linear Bandits: cumulative regret of DynLin-UCB and the baselines on the paper's four cases.

Mussi, Metelli & Restelli (ICML 2023), Section 6: the synthetic system at noise std 0.001, 0.01 and 0.1,
and the system fitted to real advertising data (with the company's expert policy); 10 trials of T = 10^6
rounds. The regret of a trial is the paper's sum_t (h'u* - h'u_t). All agents of a trial see the same
noise (common random numbers); every trial is a compiled simulation of ``papergym/DynamicalLinearBandit-v0``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from papergym.experiments import LegacyReproduction as Reproduction
from papergym.experiments.reporting import CsvLog, format_table, summary_table, write_json

CASES = ("synthetic-0.001", "synthetic-0.01", "synthetic-0.1", "real")
PAPER_HORIZON, PAPER_TRIALS = 1_000_000, 10
QUICK_HORIZON, QUICK_TRIALS = 100_000, 5
CURVE_POINTS = 500
#: D-LinUCB discount factors of the paper's experiments, for lambda = 1 and lambda = log T.
DLINUCB_GAMMA = {"1": 1.0 - 1e-9, "log T": 1.0 - 1e-6}


def paper_agents(model, horizon: int, expert_model=None) -> dict[str, Callable[[], object]]:
    """Factories of the agents of the paper's figures (lambda = 1 and lambda = log T variants)."""
    from papergym.agents.dlb import AR2, UCB1, BatchExp3, Clairvoyant, DLinUCB, DynLinUCB, Exp3, Expert, LinUCB

    factories: dict[str, Callable[[], object]] = {"Clairvoyant": lambda: Clairvoyant(model, horizon)}
    for label, lam in (("1", 1.0), ("log T", math.log(horizon))):
        factories[f"DynLin-UCB (lambda={label})"] = lambda lam=lam: DynLinUCB(model, horizon, lam=lam)
        factories[f"LinUCB (lambda={label})"] = lambda lam=lam: LinUCB(model, horizon, lam=lam)
        factories[f"D-LinUCB (lambda={label})"] = lambda lam=lam, gamma=DLINUCB_GAMMA[label]: DLinUCB(
            model, horizon, lam=lam, gamma=gamma)
    factories |= {"AR2": lambda: AR2(model, horizon), "Exp3": lambda: Exp3(model, horizon),
                  "Batch Exp3": lambda: BatchExp3(model, horizon), "UCB1": lambda: UCB1(model, horizon)}
    if expert_model is not None:
        factories["Expert"] = lambda: Expert(expert_model, horizon, expert_model.actions[-1])
    return factories


def _case_models(case: str):
    """The case's model, and for the real-data case a copy whose last action is the expert allocation."""
    from papergym.envs.dlb import DLBModel, expert_allocation, preset_system

    model = DLBModel.from_kwargs(case)
    system = preset_system(case)
    if "expert_spend" not in system:
        return model, None
    expert = expert_allocation(system["expert_spend"], **system["budget"])
    return model, DLBModel.from_kwargs(case, actions=np.vstack([model.actions, expert]))


def run_cases(out_dir: Path, horizon: int, n_trials: int, cases: Sequence[str] = CASES,
              seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Run every agent for ``n_trials`` trials of ``horizon`` rounds on each case; write CSV, JSON, PNG.

    Returns, per case and agent, the cumulative regret at the curve's checkpoints (trials x points).
    """
    from tqdm.auto import tqdm

    from papergym.agents.dlb import cumulative_regret, simulate, trial_noise

    out_dir = Path(out_dir)
    checkpoints = np.unique(np.linspace(1, horizon, CURVE_POINTS).astype(np.int64))
    final_log = CsvLog(out_dir / "dlb_final_regret.csv", ["case", "agent", "trial", "regret", "seconds"])
    curve_log = CsvLog(out_dir / "dlb_regret_curves.csv", ["case", "agent", "round", "mean", "std", "trials"])
    curves: dict[str, dict[str, np.ndarray]] = {}
    started = time.perf_counter()
    with tqdm(total=len(cases) * n_trials, desc="dlb trials") as progress:
        for case in cases:
            model, expert_model = _case_models(case)
            agents = {name: make() for name, make in paper_agents(model, horizon, expert_model).items()}
            curves[case] = {name: np.zeros((n_trials, checkpoints.size)) for name in agents}
            for trial in range(n_trials):
                noise = trial_noise(model, horizon, seed + trial)
                for index, (name, agent) in enumerate(agents.items()):
                    agent.set_random_seed(seed + 1000 * trial + index)
                    tic = time.perf_counter()
                    chosen = simulate(agent, noise)
                    seconds = time.perf_counter() - tic
                    regret = cumulative_regret(agent.model, chosen, model.optimal_value)
                    curves[case][name][trial] = regret[checkpoints - 1]
                    final_log.append({"case": case, "agent": name, "trial": trial, "regret": float(regret[-1]),
                                      "seconds": round(seconds, 4)})
                progress.update()
            for name, values in curves[case].items():
                for point, column in zip(checkpoints, values.T):
                    curve_log.append({"case": case, "agent": name, "round": int(point), "mean": float(column.mean()),
                                      "std": float(column.std(ddof=1)) if n_trials > 1 else 0.0,
                                      "trials": n_trials})
    elapsed = time.perf_counter() - started
    _report(out_dir, curves, horizon, n_trials, elapsed)
    _plot(out_dir / "dlb_regret.png", curves, checkpoints, horizon, n_trials)
    return curves


def _report(out_dir: Path, curves: dict[str, dict[str, np.ndarray]], horizon: int, n_trials: int,
            elapsed: float) -> None:
    summaries = {}
    for case, per_agent in curves.items():
        summaries[case] = summary_table({name: values[:, -1] for name, values in per_agent.items()})
        ranked = dict(sorted(summaries[case].items(), key=lambda item: item[1].mean))
        print(format_table(f"{case}: cumulative regret after T={horizon:,} rounds, {n_trials} trials",
                           ranked, "regret"))
        print()
    print(f"simulated {len(curves)} cases x {n_trials} trials x {horizon:,} rounds in {elapsed:.1f} s")
    write_json(out_dir / "dlb_summary.json", {"horizon": horizon, "trials": n_trials, "seconds": elapsed,
                                              "final_regret": summaries})
    print(f"wrote {out_dir}/dlb_final_regret.csv, dlb_regret_curves.csv, dlb_summary.json, dlb_regret.png")


def _plot(path: Path, curves: dict[str, dict[str, np.ndarray]], checkpoints: np.ndarray, horizon: int,
          n_trials: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(2, len(curves))
    rows = math.ceil(len(curves) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(7 * columns, 4.8 * rows), squeeze=False)
    names = list(dict.fromkeys(name for per_agent in curves.values() for name in per_agent))
    colors = dict(zip(names, plt.cm.tab20(np.linspace(0.0, 1.0, 20))[::2].tolist()
                      + plt.cm.tab20(np.linspace(0.0, 1.0, 20))[1::2].tolist()))
    for axis, (case, per_agent) in zip(axes.flat, curves.items()):
        for name, values in per_agent.items():
            if name == "Clairvoyant":
                continue
            mean, std = values.mean(axis=0), values.std(axis=0)
            style = "-" if name.startswith("DynLin") else "--" if "LinUCB" in name else "-."
            axis.plot(checkpoints, mean, style, label=name, color=colors[name],
                      linewidth=1.8 if name.startswith("DynLin") else 1.2)
            axis.fill_between(checkpoints, mean - std, mean + std, color=colors[name], alpha=0.15)
        axis.legend(fontsize=7, loc="upper left")
        axis.set_title(f"{case} ({n_trials} trials, mean ± std)")
        axis.set_xlabel("round")
        axis.set_ylabel("cumulative regret")
        axis.set_xlim(0, horizon)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(curves):]:
        axis.set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run(out_dir: Path, quick: bool) -> None:
    horizon, trials = (QUICK_HORIZON, QUICK_TRIALS) if quick else (PAPER_HORIZON, PAPER_TRIALS)
    run_cases(Path(out_dir), horizon, trials)


REPRODUCTION = Reproduction(
    name="dlb",
    paper="Dynamical Linear Bandits (Mussi, Metelli & Restelli, ICML 2023)",
    description="cumulative regret of DynLin-UCB, LinUCB, D-LinUCB, AR2, Exp3, Batch Exp3, UCB1, expert "
                "and clairvoyant on the paper's synthetic (3 noise levels) and real-data cases, T=10^6, 10 trials",
    run=run,
)
