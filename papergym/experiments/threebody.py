"""Adaptive time-stepping of the three-body problem (Saz Ulibarrena & Portegies Zwart, 2025).

Every policy integrates the same held-out initial conditions (reset seeds ``eval_seed_offset + i``, never a
training seed: the DQN trains on the stream of initial conditions drawn after ``reset(seed=s)`` for its
training seed ``s``) for ``eval_steps`` intervals of 0.1 yr, and is scored by the final relative energy
error |dE/E0| against the total work (force evaluations). Policies: a fixed eta for each of the 10 grid
values, the distance heuristic, the DQN (trained on the Hermite integrator) and any user agent.

Units: one unit evaluates one policy on one backend over all initial conditions; training a DQN is one unit
that trains on the Hermite backend and then evaluates the trained network on every backend (units never
share files, so the network is evaluated where it was trained). The transfer experiment is the same policy
on rebound's IAS15 (variable step, the action is its epsilon; the paper's Huayno) and on a fixed-step
leapfrog (the action is dt; the paper's Symple).

The report gives, per backend, the median and spread of log10 |dE/E0| and of the work per policy (table,
CSV) and the paper's figure: median |dE/E0| against median work, with interquartile bars (Pareto plot).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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
    load_agent,
    require_setting_int,
)

ENV_ID = "papergym/ThreeBody-v0"
BACKENDS = ("hermite", "ias15", "leapfrog")
REWARDS = ("paper", "error_work")
HEURISTIC = "distance heuristic"
DQN = "DQN"
N_ACTIONS = 10


@dataclass(frozen=True, kw_only=True)
class ThreeBodySettings(Settings):
    """``seeds``: DQN training runs; ``initial_conditions``: held-out evaluation systems per policy."""

    seeds: int = 1
    initial_conditions: int = 100
    eval_steps: int = 300
    eval_seed_offset: int = 1_000_000
    backends: tuple[str, ...] = BACKENDS
    fixed_actions: tuple[int, ...] = tuple(range(N_ACTIONS))
    heuristic: bool = True
    train_timesteps: int = 100_000
    train_episode_steps: int = 100
    reward: str = "paper"
    dqn_width: int = 200
    dqn_batch_size: int = 1000

    def validate(self) -> None:
        for name in ("initial_conditions", "eval_steps", "train_episode_steps", "dqn_width", "dqn_batch_size"):
            require_setting_int(name, getattr(self, name), 1)
        if isinstance(self.train_timesteps, bool) or not isinstance(self.train_timesteps, int) \
                or self.train_timesteps < 0:
            raise SettingsError(f"train_timesteps must be an integer >= 0 (0: no DQN), got {self.train_timesteps!r}")
        if not isinstance(self.eval_seed_offset, int) or self.eval_seed_offset < self.seeds:
            raise SettingsError(f"eval_seed_offset must be an integer >= seeds ({self.seeds}) so that evaluation "
                                f"seeds are never training seeds, got {self.eval_seed_offset!r}")
        unknown = [backend for backend in self.backends if backend not in BACKENDS]
        if unknown or not self.backends:
            raise SettingsError(f"backends must be a non-empty selection of {', '.join(BACKENDS)}, got "
                                f"{self.backends!r}")
        if any(not isinstance(index, int) or not 0 <= index < N_ACTIONS for index in self.fixed_actions):
            raise SettingsError(f"fixed_actions must be action indices in [0, {N_ACTIONS - 1}], got "
                                f"{self.fixed_actions!r}")
        if self.reward not in REWARDS:
            raise SettingsError(f"reward must be one of {', '.join(REWARDS)}, got {self.reward!r}")


PRESETS = {
    # Minutes on 2 cores: 20 held-out systems over the training horizon, a small DQN on 15k steps.
    "quick": ThreeBodySettings(seeds=1, initial_conditions=20, eval_steps=100, fixed_actions=(0, 2, 4, 6, 8, 9),
                               train_timesteps=15_000, dqn_width=64, dqn_batch_size=256),
    # The authors' protocol: 1000 training episodes of 100 steps, 100 held-out systems over 300 steps.
    "paper": ThreeBodySettings(seeds=3),
}


# --- units ---------------------------------------------------------------------------------------


def units(settings: ThreeBodySettings) -> list[Unit]:
    """DQN training first (the longest units start first in a pool), then fixed values, heuristic, users."""
    found = [Unit({"policy": "dqn", "seed": seed}) for seed in range(settings.seeds if settings.train_timesteps else 0)]
    found += [Unit({"policy": "fixed", "action": index, "backend": backend})
              for backend in settings.backends for index in settings.fixed_actions]
    if settings.heuristic:
        found += [Unit({"policy": "heuristic", "backend": backend}) for backend in settings.backends]
    found += [Unit({"policy": "user", "agent": spec, "backend": backend})
              for spec in settings.agents for backend in settings.backends]
    return found


def make_env(backend: str, max_episode_steps: int, reward: str = "paper"):
    import gymnasium as gym

    import papergym  # noqa: F401  (registers the ids)

    return gym.make(ENV_ID, backend=backend, reward=reward, record_wall_time=True,
                    max_episode_steps=max_episode_steps)


def run_unit(settings: ThreeBodySettings, unit: Unit) -> list[Record]:
    policy = unit["policy"]
    if policy == "dqn":
        return _train_and_evaluate_dqn(settings, unit["seed"])
    env = make_env(unit["backend"], settings.eval_steps)
    if policy == "fixed":
        from papergym.agents.threebody import FixedEta

        agent, name = FixedEta(env.observation_space, env.action_space, unit["action"]), _fixed_name(unit["action"])
    elif policy == "heuristic":
        from papergym.agents.threebody import DistanceHeuristic

        agent, name = DistanceHeuristic.from_env(env), HEURISTIC
    else:
        agent, name = load_agent(unit["agent"], env), agent_label(unit["agent"])
    return evaluate_policy(settings, agent, env, name, unit["backend"])


def _fixed_name(index: int) -> str:
    return f"fixed a={index}"


def evaluate_policy(settings: ThreeBodySettings, agent: Any, env: Any, name: str, backend: str,
                    seed: int = -1) -> list[Record]:
    """One record per held-out initial condition: final |dE/E0|, work, wall time, steps, termination."""
    from papergym.core.rollout import evaluate

    result = evaluate(agent, env, settings.initial_conditions, seed=settings.eval_seed_offset, deterministic=True,
                      info_keys=("energy_error", "force_evaluations", "wall_time", "action_value"))
    records = []
    for index in range(settings.initial_conditions):
        errors = result.info_series["energy_error"][index]
        actions = result.info_series["action_value"][index]
        final_error = float(errors[-1])
        horizon = min(settings.train_episode_steps, len(errors))  # the training episodes' length
        records.append({
            "kind": "evaluation", "policy": name, "backend": backend, "seed": seed,
            "initial_condition": settings.eval_seed_offset + index,
            "final_energy_error": final_error,
            "log10_energy_error": float(np.log10(np.clip(final_error, 1e-17, 1e300))),
            "force_evaluations": int(np.sum(result.info_series["force_evaluations"][index])),
            "wall_time": float(np.sum(result.info_series["wall_time"][index])),
            "steps": int(result.lengths[index]),
            "blew_up": bool(final_error > env.unwrapped.max_energy_error),
            "median_action_value": float(np.median(actions)),
            "energy_error_at_train_horizon": float(errors[horizon - 1]),
            "median_action_value_within_train_horizon": float(np.median(actions[:horizon])),
            "median_action_value_after_train_horizon": float(np.median(actions[horizon:])) if len(actions) > horizon
            else float("nan"),
        })
    return records


def _train_and_evaluate_dqn(settings: ThreeBodySettings, seed: int) -> list[Record]:
    """Train a DQN on the Hermite backend from ``reset(seed=seed)``; evaluate it on every backend."""
    from stable_baselines3.common.monitor import Monitor

    from papergym.agents.threebody import make_dqn

    env = Monitor(make_env("hermite", settings.train_episode_steps, settings.reward))
    env.reset(seed=seed)
    model = make_dqn(env, seed, width=settings.dqn_width, batch_size=settings.dqn_batch_size)
    started = time.perf_counter()
    model.learn(total_timesteps=settings.train_timesteps)
    returns = env.get_episode_rewards()
    records: list[Record] = [{
        "kind": "training", "policy": DQN, "backend": "hermite", "seed": seed,
        "timesteps": settings.train_timesteps, "episodes": len(returns), "train_seconds": time.perf_counter() - started,
        "first_return": float(np.mean(returns[:20])) if returns else float("nan"),
        "last_return": float(np.mean(returns[-20:])) if returns else float("nan"),
    }]
    for backend in settings.backends:
        records += evaluate_policy(settings, model, make_env(backend, settings.eval_steps), DQN, backend, seed)
    return records


# --- report --------------------------------------------------------------------------------------


def _policy_order(records: list[Record]) -> list[str]:
    fixed = sorted({r["policy"] for r in records if r["policy"].startswith("fixed a=")},
                   key=lambda name: int(name.split("=")[1]))
    others = [name for name in dict.fromkeys(r["policy"] for r in records) if name not in fixed]
    return fixed + others


def report(settings: ThreeBodySettings, records: list[Record], out_dir: Path) -> str:
    from papergym.experiments.reporting import format_table, summary_table, write_csv

    out_dir = Path(out_dir)
    evaluations = [r for r in records if r["kind"] == "evaluation"]
    write_csv(out_dir / "threebody_evaluations.csv", evaluations)
    texts = []
    for backend in settings.backends:
        rows = [r for r in evaluations if r["backend"] == backend]
        if not rows:
            continue
        names = [name for name in _policy_order(rows) if any(r["policy"] == name for r in rows)]
        by_policy = {name: [r for r in rows if r["policy"] == name] for name in names}
        errors = summary_table({name: [r["log10_energy_error"] for r in group] for name, group in by_policy.items()})
        labels = {name: _label(name, by_policy[name], backend) for name in names}
        extra = {
            "action value": labels,
            "median |dE/E0|": _column(by_policy, "final_energy_error", np.median, "{:.2e}"),
            "median work": _column(by_policy, "force_evaluations", np.median, "{:.3g}"),
            "work IQR": _column(by_policy, "force_evaluations", _quartiles, "[{0:.3g}, {1:.3g}]"),
            "median wall [s]": _column(by_policy, "wall_time", np.median, "{:.3g}"),
            "blew up": _column(by_policy, "blew_up", np.sum, "{:d}"),
        }
        texts.append(format_table(
            f"{backend}: log10 final |dE/E0| over {settings.initial_conditions} held-out initial conditions "
            f"({settings.eval_steps} x 0.1 yr)", errors, "mean log10|dE/E0|", extra) + _dominance_text(by_policy))
    texts.append(_training_text(records))
    _pareto_plot(settings, evaluations, out_dir / "threebody_pareto.png")
    texts.append(f"wrote {out_dir / 'threebody_evaluations.csv'} and {out_dir / 'threebody_pareto.png'}")
    return "\n\n".join(text for text in texts if text)


def _dominance_text(by_policy: dict[str, list[Record]]) -> str:
    """For each adaptive policy, a fixed action with no more median work and no larger median error, if
    one exists: the paper's claim is that the adaptive policy is not dominated so."""
    medians = {name: (np.median([r["force_evaluations"] for r in group]),
                      np.median([r["final_energy_error"] for r in group])) for name, group in by_policy.items()}
    fixed = {name: value for name, value in medians.items() if name.startswith("fixed")}
    lines = []
    for name, (work, error) in medians.items():
        if name in fixed:
            continue
        dominating = [other for other, (w, e) in fixed.items() if w <= work and e <= error]
        verdict = (f"dominated by {', '.join(dominating)} (no more median work, no larger median error)"
                   if dominating else "not dominated by any fixed action")
        lines.append(f"{name}: {verdict}")
    if any("dominated by" in line for line in lines):
        lines.append("why a fixed eta can dominate: the shared step dt = eta * min pair timescale already shrinks "
                     "through close encounters, so the final error is set by the largest eta a policy ever "
                     "plays, while its small ones cost work (the paper's reward also favours large eta late in "
                     "an episode, and evaluation runs longer than training)")
    return "\n" + "\n".join(lines) if lines else ""


def _label(name: str, group: list[Record], backend: str) -> str:
    from papergym.envs.threebody.backends import ACTION_MEANING

    values = [r["median_action_value"] for r in group]
    return f"{ACTION_MEANING[backend]}~{np.median(values):.2g}"


def _quartiles(values: list[float]) -> tuple[float, float]:
    return tuple(np.percentile(values, [25, 75]))


def _column(by_policy: dict[str, list[Record]], key: str, statistic: Any, pattern: str) -> dict[str, str]:
    """One table column: ``statistic`` of the records' ``key`` per policy, formatted with ``pattern``."""
    column = {}
    for name, group in by_policy.items():
        value = statistic([record[key] for record in group])
        column[name] = pattern.format(*value) if isinstance(value, tuple) else pattern.format(value)
    return column


def _training_text(records: list[Record]) -> str:
    training = [r for r in records if r["kind"] == "training"]
    lines = [f"DQN seed {r['seed']}: {r['timesteps']} steps, {r['episodes']} episodes in {r['train_seconds']:.0f} s; "
             f"mean return of the first 20 episodes {r['first_return']:.4g}, of the last 20 {r['last_return']:.4g}"
             for r in training]
    return "\n".join(lines)


def _pareto_plot(settings: ThreeBodySettings, evaluations: list[Record], path: Path) -> None:
    """Median final |dE/E0| against median work per policy, interquartile bars; one panel per backend."""
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    backends = [b for b in settings.backends if any(r["backend"] == b for r in evaluations)]
    if not backends:
        return
    figure, axes = plt.subplots(1, len(backends), figsize=(5 * len(backends), 4.2), squeeze=False)
    for axis, backend in zip(axes[0], backends):
        rows = [r for r in evaluations if r["backend"] == backend]
        fixed_points = []
        for name in _policy_order(rows):
            group = [r for r in rows if r["policy"] == name]
            if not group:
                continue
            work = np.array([r["force_evaluations"] for r in group], dtype=float)
            error = np.clip([r["final_energy_error"] for r in group], 1e-17, None)
            x, y = np.median(work), np.median(error)
            xerr = [[x - np.percentile(work, 25)], [np.percentile(work, 75) - x]]
            yerr = [[y - np.percentile(error, 25)], [np.percentile(error, 75) - y]]
            is_fixed = name.startswith("fixed a=")
            if is_fixed:
                fixed_points.append((x, y))
            else:
                axis.scatter(work, error, s=6, alpha=0.25)
            axis.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o" if is_fixed else "*", markersize=5 if is_fixed else 12,
                          color="grey" if is_fixed else None, label=None if is_fixed else name, capsize=2)
            if is_fixed:
                axis.annotate(_label(name, group, backend).split("~")[1], (x, y), fontsize=7,
                              textcoords="offset points", xytext=(4, 4))
        if fixed_points:
            xs, ys = zip(*sorted(fixed_points))
            axis.plot(xs, ys, "-", color="grey", linewidth=1, label="fixed values")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("force evaluations per run")
        axis.set_ylabel("final |dE/E0|")
        axis.set_title(f"{backend} (median, IQR)")
        axis.legend(fontsize=8)
    save_figure(figure, path)


REPRODUCTION = Reproduction(
    name="threebody",
    paper="Reinforcement Learning for Adaptive Time-Stepping in the Chaotic Gravitational Three-Body Problem "
          "(Saz Ulibarrena & Portegies Zwart, 2025)",
    description="final energy error vs work of fixed eta, a distance heuristic and DQN on held-out three-body "
                "systems; transfer to IAS15 (variable step) and leapfrog (fixed step)",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)
