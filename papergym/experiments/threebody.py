"""Adaptive time-stepping of the three-body problem (Saz Ulibarrena & Portegies Zwart, 2025).

Every policy integrates the same held-out initial conditions for ``eval_steps`` intervals of 0.1 yr and is
scored by the final relative energy error |dE/E0| against the total work (force evaluations). Policies: a
fixed eta for each of the grid values in ``fixed_actions``, the distance heuristic, the DQN (trained on the
Hermite integrator) and any user agent.

The held-out systems are a shared random stream, not a paper-defined set: system ``i`` is the environment's
first draw after ``reset(seed=h + i)``, where ``h`` (:func:`held_out_seed`) is the stream
``"initial-conditions"`` of the unit kind ``"held-out"`` and seed index 0, the same for every evaluation of
a run (fixed eta, heuristic, each DQN seed, a user's agent: common random numbers), so rows differ by their
policies alone. A DQN trains on the stream of systems that follows ``reset(seed=t)`` for its training seed
``t`` (the stream ``"train"`` of its unit, which also seeds the network and exploration);
:meth:`ThreeBodySettings.validate` refuses a base seed for which a training seed would be a held-out one.

Units (kinds): ``fixed`` (one grid value on one backend), ``heuristic`` (one backend), ``dqn`` (one training
seed: train on the Hermite backend, then evaluate the trained network on every backend, since units never
share files, so the network is evaluated where it was trained), and the contract's ``agent`` (a user's
agent on one backend). The transfer experiment is the same policy on rebound's IAS15 (variable step, the
action is its epsilon; the paper's Huayno) and on a fixed-step leapfrog (the action is dt; the paper's
Symple).

The report gives, per backend, the median and spread of log10 |dE/E0| and of the work per policy (table,
CSV) and the paper's figure: median |dE/E0| against median work, with interquartile bars (Pareto plot).
Whether a policy lies below the fixed-value front is a claim (see :data:`CLAIMS`), not a sentence of the
report.

Sources of the claims: only the abstract of arXiv 2502.12809v1 could be read (the copy of the paper found ends
in its introduction), so every paper claim is in words and no figure value is taken. The protocol details come
from the authors' repository (veronicasaz/ThreeBodyProblem_astronomy, commit 583e67d32a45, October 2024, which
predates the preprint): 100 initial conditions x 300 steps, final energy error against summed integrator
wall-clock seconds (our ``wall_time``; the work axis, force evaluations, is ours), fixed values plotted at grid
indices 0, 4 and 9, the transfer shown on one initial condition, and Huayno/Symple on other parameter ranges than
our IAS15/leapfrog (see each claim's ``paper`` text).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.agents.threebody import PAPER_TIMESTEPS, AuthorsDQN, DistanceHeuristic, FixedEta, dqn_hyperparameters
from papergym.agents.training import fit
from papergym.core.rollout import evaluate
from papergym.core.seeding import stream_seed
from papergym.envs.threebody.backends import ACTION_MEANING
from papergym.envs.threebody.initial_conditions import authors_initial_conditions
from papergym.experiments import claims
from papergym.experiments.claims import Claim, Finding
from papergym.experiments.contract import (
    AGENT_KIND,
    Record,
    RecordSchema,
    Reproduction,
    Results,
    Settings,
    SettingsError,
    Unit,
    Value,
    agent_label,
    load_agent,
    setting,
)
from papergym.experiments.plotting import pyplot, save_figure
from papergym.experiments.reporting import format_table, summary_table, write_csv

ENV_ID = "papergym/ThreeBody-v0"
BACKENDS = ("hermite", "ias15", "leapfrog")
REWARDS = ("paper", "error_work")
HEURISTIC = "distance heuristic"
DQN = "DQN"
N_ACTIONS = 10
AUTHORS_DQN = "authors' DQN (model_weights88)"
#: Unit kinds.
FIXED, HEURISTIC_KIND, DQN_KIND, AUTHORS_KIND = "fixed", "heuristic", "dqn", "authors-dqn"
#: Where the evaluation systems come from: our held-out stream, or the authors' generator with seeds 0, 1, ...
SYSTEMS = ("held-out", "authors")
#: The fixed values the paper plots (grid indices of eta = 1e-4, 2.2e-3, 1e-1), highlighted in the report.
PAPER_FIXED = (0, 4, 9)
#: The kind whose stream gives the held-out systems, shared by every evaluation (see the module docstring).
HELD_OUT = "held-out"

#: What the report and the claims read from the records, told apart by their field ``kind``: a policy on one
#: held-out system (``seed`` is a DQN's seed index, null for the policies that do not repeat), and a DQN's
#: training, which only its unit writes besides its evaluations.
EVALUATION_FIELDS = {
    "policy": Value.STRING, "backend": Value.STRING, "seed": Value.INTEGER_OR_NULL,
    "initial_condition": Value.INTEGER, "final_energy_error": Value.NUMBER, "log10_energy_error": Value.NUMBER,
    "force_evaluations": Value.INTEGER, "wall_time": Value.NUMBER, "blew_up": Value.BOOL,
    "median_action_value": Value.NUMBER}
TRAINING_FIELDS = {"seed": Value.INTEGER, "timesteps": Value.INTEGER, "episodes": Value.INTEGER,
                   "first_return": Value.NUMBER, "last_return": Value.NUMBER}
EVALUATION_RECORD = RecordSchema(by="kind", shapes={"evaluation": EVALUATION_FIELDS})
DQN_RECORD = RecordSchema(by="kind", shapes={"training": TRAINING_FIELDS, "evaluation": EVALUATION_FIELDS})


def held_out_seed(settings: Settings) -> int:
    """The reset seed of the first held-out system (system ``i`` is reset with this + ``i``).

    One stream for the whole run, derived in :mod:`papergym.core.seeding` from the base seed, the kind
    ``"held-out"``, seed index 0 and the stream ``"initial-conditions"``: every evaluation shares it.
    """
    return stream_seed(settings.seed, HELD_OUT, 0, "initial-conditions")


def _train_seed(settings: Settings, unit: Unit) -> int:
    """The DQN unit's training seed: its network, exploration and the first reset of its training env."""
    return unit.stream_seed(settings, "train")


@dataclass(frozen=True, kw_only=True)
class ThreeBodySettings(Settings):
    """``seeds``: DQN training runs; ``initial_conditions``: held-out evaluation systems per policy."""

    seeds: int = setting(1, low=1, help="DQN training runs (independent seeds)")
    initial_conditions: int = setting(100, low=1, help="held-out systems every policy integrates")
    eval_steps: int = setting(300, low=1, help="0.1-yr intervals of an evaluation")
    backends: tuple[str, ...] = setting(BACKENDS, choices=BACKENDS, nonempty=True,
                                        help="integrators the policies are evaluated on")
    fixed_actions: tuple[int, ...] = setting(tuple(range(N_ACTIONS)), low=0, high=N_ACTIONS - 1,
                                             help="grid indices of the fixed-value baselines")
    heuristic: bool = setting(True, help="evaluate the distance heuristic")
    train_timesteps: int = setting(100_000, low=0, help="DQN training steps (0: no DQN)")
    train_episode_steps: int = setting(100, low=1, help="intervals of a training episode")
    reward: str = setting("paper", choices=REWARDS, help="the training reward")
    dqn_width: int = setting(200, low=1, help="width of the DQN's hidden layers")
    dqn_batch_size: int = setting(1000, low=1, help="DQN batch size (and learning start)")
    systems: str = setting("held-out", choices=SYSTEMS,
                           help="evaluation systems: our held-out stream, or the authors' generator with their "
                                "seeds 0..initial_conditions-1 (np.random.seed draws)")
    paper_w1: float = setting(3500.0, above=0.0, high=1e6,
                              help="W1 of the paper reward: 3500 in the authors' root settings file, 3000 in "
                                   "the settings released with their Hermite network")
    authors_weights: str = setting("", help="path to the authors' released state dict (models/model_weights88.pth "
                                            "of veronicasaz/ThreeBodyProblem_astronomy); empty: not evaluated")
    authors_settings: str = setting("", help="the settings JSON of those weights; empty: "
                                             "settings_integration_3BP_hermite.json beside them")

    def validate(self) -> None:
        if self.authors_weights:
            for name in ("authors_weights", "authors_settings"):
                path = getattr(self, name)
                if path and not Path(path).is_file():
                    raise SettingsError(f"{name}: no file at {path!r}")
        first = held_out_seed(self)
        for seed in range(self.seeds if self.train_timesteps else 0):
            if first <= _train_seed(self, Unit(DQN_KIND, seed)) < first + self.initial_conditions:
                raise SettingsError(f"seed {self.seed}: the training seed of DQN seed {seed} is one of the "
                                    f"initial_conditions' held-out reset seeds; choose another seed")


PRESETS = {
    # Minutes on 2 cores: 20 held-out systems over the training horizon, a small DQN on 15k steps.
    "quick": ThreeBodySettings(seeds=1, initial_conditions=20, eval_steps=100, fixed_actions=(0, 2, 4, 6, 8, 9),
                               train_timesteps=15_000, dqn_width=64, dqn_batch_size=256),
    # The authors' protocol: 1000 training episodes of 100 steps, 100 held-out systems over 300 steps.
    "paper": ThreeBodySettings(seeds=3),
    # The authors' evaluation of their released policy: their 100 systems x 300 steps, every fixed value, on
    # Hermite; needs --set authors_weights=PATH (no DQN training, no heuristic).
    "authors": ThreeBodySettings(systems="authors", backends=("hermite",), train_timesteps=0, heuristic=False,
                                 paper_w1=3000.0),
}


# --- units ---------------------------------------------------------------------------------------


def units(settings: ThreeBodySettings) -> list[Unit]:
    """DQN training first (the longest units start first in a pool), then fixed values and the heuristic."""
    found = [Unit(DQN_KIND, seed) for seed in range(settings.seeds if settings.train_timesteps else 0)]
    found += [Unit(FIXED, None, {"backend": backend, "action": index})
              for backend in settings.backends for index in settings.fixed_actions]
    if settings.heuristic:
        found += [Unit(HEURISTIC_KIND, None, {"backend": backend}) for backend in settings.backends]
    if settings.authors_weights:
        found += [Unit(AUTHORS_KIND, None, {"backend": backend}) for backend in settings.backends]
    return found


def agent_units(settings: ThreeBodySettings) -> list[Unit]:
    """A user's agent is evaluated on every backend, on the held-out systems every policy sees."""
    return [Unit("evaluation", None, {"backend": backend}) for backend in settings.backends]


def make_env(backend: str, max_episode_steps: int, reward: str = "paper", paper_w1: float = 3500.0) -> gym.Env:
    return gym.make(ENV_ID, backend=backend, reward=reward, record_wall_time=True, paper_w1=paper_w1,
                    max_episode_steps=max_episode_steps)


class AuthorsSystems(gym.Wrapper):
    """``reset(seed=i)`` starts from the authors' system for their seed ``i`` (:func:`authors_initial_conditions`)."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self.env.reset(seed=seed, options={**(options or {}), "state": authors_initial_conditions(seed)})


def run_authors_dqn(settings: ThreeBodySettings, unit: Unit) -> list[Record]:
    """The authors' released network (greedy) on one backend."""
    env = make_env(unit["backend"], settings.eval_steps)
    agent = AuthorsDQN.from_env(env, settings.authors_weights, settings.authors_settings or None)
    return evaluate_policy(settings, agent, env, AUTHORS_DQN, unit["backend"])


def run_fixed(settings: ThreeBodySettings, unit: Unit) -> list[Record]:
    env = make_env(unit["backend"], settings.eval_steps)
    agent = FixedEta(env.observation_space, env.action_space, unit["action"])
    return evaluate_policy(settings, agent, env, _fixed_name(unit["action"]), unit["backend"])


def run_heuristic(settings: ThreeBodySettings, unit: Unit) -> list[Record]:
    env = make_env(unit["backend"], settings.eval_steps)
    return evaluate_policy(settings, DistanceHeuristic.from_env(env), env, HEURISTIC, unit["backend"])


def evaluate_user_agent(settings: ThreeBodySettings, unit: Unit) -> list[Record]:
    env = make_env(unit["backend"], settings.eval_steps)
    return evaluate_policy(settings, load_agent(unit.agent, env), env, agent_label(unit.agent), unit["backend"])


def _fixed_name(index: int) -> str:
    return f"fixed a={index}"


def evaluate_policy(settings: ThreeBodySettings, agent: Any, env: gym.Env, name: str, backend: str,
                    seed: int | None = None) -> list[Record]:
    """One record per held-out system: final |dE/E0|, work, integrator wall time, steps, termination.

    ``seed`` is the DQN's seed index (None for the policies that do not repeat).
    """
    first = held_out_seed(settings)
    if settings.systems == "authors":
        env, first = AuthorsSystems(env), 0
    result = evaluate(agent, env, settings.initial_conditions, seed=first, deterministic=True,
                      info_keys=("energy_error", "force_evaluations", "wall_time", "action_value"))
    records = []
    for index in range(settings.initial_conditions):
        errors = result.info_series["energy_error"][index]
        actions = result.info_series["action_value"][index]
        final_error = float(errors[-1])
        horizon = min(settings.train_episode_steps, len(errors))  # the training episodes' length
        records.append({
            "kind": "evaluation", "policy": name, "backend": backend, "seed": seed,
            "initial_condition": index,
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


def train_dqn(settings: ThreeBodySettings, unit: Unit) -> list[Record]:
    """Train a DQN on the Hermite backend with the unit's training seed; evaluate it on every backend.

    SB3 seeds the training environment's first reset with the model's seed, so the training systems are the
    stream that follows ``reset(seed=training seed)``.
    """
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(make_env("hermite", settings.train_episode_steps, settings.reward, settings.paper_w1))
    model = fit("dqn", env, settings.train_timesteps, seed=_train_seed(settings, unit),
                **dqn_hyperparameters(width=settings.dqn_width, batch_size=settings.dqn_batch_size))
    returns = env.get_episode_rewards()
    records: list[Record] = [{
        "kind": "training", "policy": DQN, "backend": "hermite", "seed": unit.seed,
        "timesteps": settings.train_timesteps, "episodes": len(returns),
        "first_return": float(np.mean(returns[:20])) if returns else float("nan"),
        "last_return": float(np.mean(returns[-20:])) if returns else float("nan"),
    }]
    for backend in settings.backends:
        records += evaluate_policy(settings, model, make_env(backend, settings.eval_steps), DQN, backend, unit.seed)
    return records


# --- report --------------------------------------------------------------------------------------


def _evaluations(results: Results) -> list[Record]:
    return [r for r in results.records if r["kind"] == "evaluation"]


def _policy_order(records: list[Record]) -> list[str]:
    fixed = sorted({r["policy"] for r in records if r["policy"].startswith("fixed a=")},
                   key=lambda name: int(name.split("=")[1]))
    others = [name for name in dict.fromkeys(r["policy"] for r in records) if name not in fixed]
    return fixed + others


def report(settings: ThreeBodySettings, results: Results, out_dir: Path) -> str:
    out_dir = Path(out_dir)
    evaluations = _evaluations(results)
    write_csv(out_dir / "threebody_evaluations.csv", evaluations)
    texts = []
    for backend in settings.backends:
        rows = [r for r in evaluations if r["backend"] == backend]
        if not rows:
            continue
        names = [name for name in _policy_order(rows) if any(r["policy"] == name for r in rows)]
        by_policy = {name: [r for r in rows if r["policy"] == name] for name in names}
        errors = summary_table({name: [r["log10_energy_error"] for r in group] for name, group in by_policy.items()})
        labels = {name: _label(by_policy[name], backend) for name in names}
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
            f"({settings.eval_steps} x 0.1 yr)", errors, "mean log10|dE/E0|", extra))
    texts.append(_training_text(results))
    _pareto_plot(settings, evaluations, out_dir / "threebody_pareto.png")
    texts.append(f"wrote {out_dir / 'threebody_evaluations.csv'} and {out_dir / 'threebody_pareto.png'}")
    return "\n\n".join(text for text in texts if text)


def _label(group: list[Record], backend: str) -> str:
    values = [r["median_action_value"] for r in group]
    plotted = any(group[0]["policy"] == _fixed_name(index) for index in PAPER_FIXED)
    return f"{ACTION_MEANING[backend]}~{np.median(values):.2g}{' (paper)' if plotted else ''}"


def _quartiles(values: list[float]) -> tuple[float, float]:
    return tuple(np.percentile(values, [25, 75]))


def _column(by_policy: dict[str, list[Record]], key: str, statistic: Any, pattern: str) -> dict[str, str]:
    """One table column: ``statistic`` of the records' ``key`` per policy, formatted with ``pattern``."""
    column = {}
    for name, group in by_policy.items():
        value = statistic([record[key] for record in group])
        column[name] = pattern.format(*value) if isinstance(value, tuple) else pattern.format(value)
    return column


def _training_text(results: Results) -> str:
    """One line per DQN seed: its training returns and the runner's time for its unit (training and the
    evaluations on every backend)."""
    seconds = {item.unit.seed: item.seconds for item in results.finished if item.unit.kind == DQN_KIND}
    lines = []
    for r in results.of_kind(DQN_KIND):
        if r["kind"] != "training":
            continue
        lines.append(f"DQN seed {r['seed']}: {r['timesteps']} steps, {r['episodes']} episodes; mean return of "
                     f"the first 20 episodes {r['first_return']:.4g}, of the last 20 {r['last_return']:.4g} "
                     f"(unit: {seconds.get(r['seed'], float('nan')):.0f} s with its evaluations)")
    return "\n".join(lines)


def _pareto_plot(settings: ThreeBodySettings, evaluations: list[Record], path: Path) -> None:
    """Median final |dE/E0| against median work per policy, interquartile bars; one panel per backend."""
    backends = [b for b in settings.backends if any(r["backend"] == b for r in evaluations)]
    if not backends:
        return
    plt = pyplot()
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
                axis.annotate(_label(group, backend).split("~")[1], (x, y), fontsize=7,
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


# --- claims --------------------------------------------------------------------------------------


#: The smallest cost :func:`front_at` takes a log of (a zero cost, e.g. a zero wall time, is floored here).
COST_FLOOR = 1e-12


def front_at(works: np.ndarray, log_errors: np.ndarray, work: float) -> float:
    """The fixed-value front of one system at ``work``: the lowest log10 |dE/E0| reached with no more work,
    interpolated linearly in log10 work between the fixed values (a power law between neighbours).

    Above the largest work the front is its best error; below the smallest (a policy cheaper than every
    fixed value) it is the cheapest fixed value's error, a comparator that did more work. ``works`` may be any
    positive cost (force evaluations, or wall-clock seconds below 1); a zero cost is floored at 1e-12.
    """
    order = np.argsort(works, kind="stable")
    x = np.log10(np.maximum(np.asarray(works, dtype=np.float64)[order], COST_FLOOR))
    y = np.minimum.accumulate(np.asarray(log_errors, dtype=np.float64)[order])
    return float(np.interp(np.log10(max(work, COST_FLOOR)), x, y))


def fixed_front_gaps(records: list[Record], policy: str, backend: str,
                     cost: str = "force_evaluations") -> tuple[np.ndarray, int]:
    """How far ``policy`` lies below the fixed-value front on ``backend``, one sample per (seed, system).

    On each held-out system the fixed values' (cost, final |dE/E0|) points make that system's front
    (:func:`front_at`); a sample is the front's log10 |dE/E0| at the policy's cost on that system minus the
    policy's: positive where the policy is more accurate than the fixed values at equal cost. ``cost`` is the
    record field on the x axis: ``force_evaluations`` (work, deterministic) or ``wall_time`` (integrator
    seconds, the authors' axis). Returns the samples and how many of them had the policy cheaper than every
    fixed value.
    """
    rows = [r for r in records if r.get("kind") == "evaluation" and r["backend"] == backend]
    fixed: dict[int, list[Record]] = {}
    for r in rows:
        if r["policy"].startswith("fixed a="):
            fixed.setdefault(r["initial_condition"], []).append(r)
    samples, cheaper = [], 0
    for r in rows:
        if r["policy"] != policy or r["initial_condition"] not in fixed:
            continue
        points = fixed[r["initial_condition"]]
        costs = np.array([point[cost] for point in points], dtype=np.float64)
        errors = np.array([point["log10_energy_error"] for point in points], dtype=np.float64)
        cheaper += int(r[cost] < costs.min())
        samples.append(front_at(costs, errors, r[cost]) - r["log10_energy_error"])
    return np.array(samples, dtype=np.float64), cheaper


def _below_fixed_front(settings: ThreeBodySettings, results: Results, policy: str, backend: str,
                       short_of_paper: str, cost: str = "force_evaluations", claimed: str = "positive") -> Finding:
    records = _evaluations(results)
    if not any(r["policy"] == policy and r["backend"] == backend for r in records):
        return claims.missing(f"{policy} on {backend}")
    if not any(r["policy"].startswith("fixed a=") and r["backend"] == backend for r in records):
        return claims.missing(f"fixed values on {backend}")
    if cost == "wall_time" and not any("wall_time" in r for r in records if r["backend"] == backend):
        return claims.missing(f"integrator wall times on {backend}")
    gaps, cheaper = fixed_front_gaps(records, policy, backend, cost)
    note = f"; {cheaper} of them cheaper than every fixed value" if cheaper else ""
    axis = "work" if cost == "force_evaluations" else "integrator wall time"
    return claims.sign_test(gaps, claimed=claimed, short_of_paper=short_of_paper,
                            what=f"fixed-value front (log10 |dE/E0| at equal {axis}, per system) minus {policy}'s "
                                 f"on {backend}, per seed and held-out system{note}")


def short_of_paper(settings: ThreeBodySettings) -> str:
    """Why these settings are not the paper's DQN protocol ("" when they are)."""
    paper = PRESETS["paper"]
    gaps = []
    if settings.train_timesteps < PAPER_TIMESTEPS:
        gaps.append(f"DQN trained {settings.train_timesteps} steps, the paper {PAPER_TIMESTEPS}")
    if settings.dqn_width < paper.dqn_width or settings.dqn_batch_size < paper.dqn_batch_size:
        gaps.append(f"a {settings.dqn_width}-wide DQN with batch {settings.dqn_batch_size}, the paper "
                    f"{paper.dqn_width} and {paper.dqn_batch_size}")
    if settings.eval_steps < paper.eval_steps or settings.initial_conditions < paper.initial_conditions:
        gaps.append(f"{settings.initial_conditions} systems x {settings.eval_steps} steps, the paper "
                    f"{paper.initial_conditions} x {paper.eval_steps}")
    return "; ".join(gaps)


def _dqn_below_front_hermite(settings: ThreeBodySettings, results: Results) -> Finding:
    """The DQN below the fixed-eta front on the integrator it was trained on.

    Why a fixed eta can dominate an adaptive policy here: the Hermite step ``dt = eta * min pair timescale``
    already shrinks through close encounters, so the final error is set by the largest eta a policy ever
    plays, while its small ones cost work (the paper's reward also favours large eta late in an episode,
    and the evaluation runs longer than training).
    """
    return _below_fixed_front(settings, results, DQN, "hermite", short_of_paper(settings))


def _dqn_below_wall_time_front_hermite(settings: ThreeBodySettings, results: Results) -> Finding:
    """The DQN below the fixed-eta front on Hermite with the authors' cost axis, integrator wall-clock seconds.

    The authors' energy-versus-cost figure sums the seconds spent inside the integrator's evolve call per
    interval (env/ThreeBP_env.py, ``step``; Plots_TestTrained.py, ``plot_energy_vs_tcomp``); our records' ``wall_time``
    is the same quantity. It is machine- and load-dependent, so the force-evaluation claim stays the primary one;
    this one checks that the verdict does not hinge on the choice of axis.
    """
    return _below_fixed_front(settings, results, DQN, "hermite", short_of_paper(settings), cost="wall_time")


def _dqn_below_front_ias15(settings: ThreeBodySettings, results: Results) -> Finding:
    """The Hermite-trained DQN below the fixed-epsilon front of a variable-step integrator it never saw.

    On IAS15 the work of an interval hardly depends on epsilon (the env's docstring): the fixed values' works
    on a system differ by a few per cent, so the front is nearly vertical and which fixed values count as "no
    more work" than the policy is decided by those few per cent. The samples are noisier than on Hermite.
    """
    return _below_fixed_front(settings, results, DQN, "ias15", short_of_paper(settings))


def _authors_policy_below_fixed_front(settings: ThreeBodySettings, results: Results) -> Finding:
    """The paper's claim tested with the authors' own released policy: below the fixed-eta front on Hermite on
    both cost axes (force evaluations, and integrator wall time as on the paper's x axis).

    The verdict is the two sign tests' common verdict, "not shown" where they differ. The reason carries the
    medians of the authors' policy and of fixed eta = 2.2e-3 (grid index 4), one of the paper's plotted values.
    """
    records = _evaluations(results)
    findings = [_below_fixed_front(settings, results, AUTHORS_DQN, "hermite", "", cost=cost)
                for cost in ("force_evaluations", "wall_time")]
    medians = []
    for name in (AUTHORS_DQN, _fixed_name(4)):
        group = [r for r in records if r["policy"] == name and r["backend"] == "hermite"]
        if group:
            medians.append(f"{name}: median |dE/E0| {np.median([r['final_energy_error'] for r in group]):.2g} at "
                           f"{np.median([r['force_evaluations'] for r in group]):.3g} force evaluations, "
                           f"{np.median([r.get('wall_time', np.nan) for r in group]):.3g} s")
    work, wall = findings
    verdict = work.verdict if work.verdict == wall.verdict else claims.Verdict.NOT_SHOWN
    reason = "; ".join([f"on work: {work.reason}", f"on wall time: {wall.reason}", *medians])
    return Finding(verdict, reason, work.measured)


def _heuristic_below_front_hermite(settings: ThreeBodySettings, results: Results) -> Finding:
    """The distance heuristic (ours) below the fixed-eta front on Hermite."""
    return _below_fixed_front(settings, results, HEURISTIC, "hermite", "")


def _fixed_step_transfer_worse(settings: ThreeBodySettings, results: Results) -> Finding:
    """The DQN's log10 |dE/E0| on leapfrog minus on IAS15, paired by seed and held-out system."""
    records = [r for r in _evaluations(results) if r["policy"] == DQN]
    gaps = claims.paired(records, "log10_energy_error", by="backend", first="leapfrog", second="ias15",
                         pair_on=("seed", "initial_condition"))
    return claims.sign_test(gaps, claimed="positive", short_of_paper=short_of_paper(settings),
                            what="DQN's log10 |dE/E0| on leapfrog (fixed step) minus on IAS15 (variable step), "
                                 "per seed and held-out system")


AUTHORS_CODE = ("authors' code, github.com/veronicasaz/ThreeBodyProblem_astronomy at commit 583e67d32a45 "
                "(2024-10-08, before arXiv v1; no saved results, only network weights)")
ABSTRACT = "Saz Ulibarrena & Portegies Zwart 2025, arXiv 2502.12809v1, abstract"
#: Where the Hermite comparison is set up: the abstract's words, the authors' evaluation script and plot.
SOURCE_HERMITE = (f"{ABSTRACT}; protocol from the {AUTHORS_CODE}: TestTrainedModel.py experiments 6-7 "
                  "(100 initial conditions, seeds 0-99, 300 steps of 0.1), Plots_TestTrained.py plot_energy_vs_tcomp "
                  "(final |dE| against summed integrator seconds). The paper's results section and figures were "
                  "not readable here (only the abstract and the start of the introduction of arxiv.org/html/"
                  "2502.12809v1 are stored); no values taken")
SOURCE_TRANSFER = (f"{ABSTRACT}; protocol from the {AUTHORS_CODE}: TestTrainedIntegrators.py experiment 1 (the "
                   "Hermite-trained network run on Hermite, Huayno and Symple, one initial condition, seed 6, 300 "
                   "steps) and experiment 0 (first and last grid value of each integrator, 100 initial conditions); "
                   "settings_integration_3BP.json action ranges. Results figures not read; no values taken")

CLAIMS = (
    Claim("dqn-below-fixed-front",
          "On the integrator it was trained on (Hermite), the DQN lies below the fixed-eta front: a lower final "
          "energy error than fixed eta at equal work (force evaluations), on the same held-out systems. Stricter "
          "than the paper's words (better than the commonly used fixed values, on an error-against-cost plot); "
          "the paper's cost axis is wall-clock seconds (see dqn-below-fixed-front-wall-time)",
          "in words only: the trained policy trades accuracy against computation and improves on the most commonly "
          "used fixed values of the time-step parameter (abstract). The authors' code compares it, on 100 initial "
          "conditions x 300 steps, with fixed mu = 1e-4, ~2.2e-3 and 1e-1 (grid indices 0, 4, 9 of 10 log-spaced "
          "values in [1e-4, 1e-1]) as a scatter of final |dE| against total computation time; no value read",
          SOURCE_HERMITE, ("paper",), _dqn_below_front_hermite),
    Claim("dqn-below-fixed-front-wall-time",
          "The same comparison on the authors' cost axis: on Hermite the DQN has a lower final energy error than "
          "the fixed-eta front at equal integrator wall-clock time, on the same held-out systems",
          "in words only (abstract, as for dqn-below-fixed-front); the authors' x axis is the summed seconds of "
          "the integrator's evolve calls (env/ThreeBP_env.py step, Plots_TestTrained.py plot_energy_vs_tcomp); "
          "no value read",
          SOURCE_HERMITE, ("paper",), _dqn_below_wall_time_front_hermite),
    Claim("transfer-variable-step",
          "Without retraining, the Hermite-trained DQN on a variable-step integrator (IAS15, the paper's Huayno) "
          "lies below the fixed-epsilon front (a lower final energy error than fixed epsilon at equal work)",
          "in words only: the trained policy is applied to other integrators without retraining and this works "
          "for variable time-step integrators (abstract). In the authors' code the transfer is shown on one "
          "initial condition (seed 6) with Huayno's parameter on 10 log-spaced values in [1e-5, 1e-1] (ours: "
          "IAS15 epsilon in [1e-4, 1e-1], 20-100 systems); no value read",
          SOURCE_TRANSFER, ("paper",), _dqn_below_front_ias15),
    Claim("transfer-fixed-step-worse",
          "Transferred to a fixed-step integrator (leapfrog, the paper's Symple) the DQN loses more accuracy than "
          "on the variable-step IAS15: its final energy error is higher on leapfrog, per seed and system",
          "in words only: for fixed time-step integrators the transferred policy does not reach the desired "
          "accuracy (abstract). In the authors' code Symple's step is on 10 log-spaced values in [1e-7, 1e-2] "
          "(ours: leapfrog dt in [1e-4, 1e-1]), the transfer is shown on one initial condition (seed 6), and a "
          "separate network is retrained on Symple (TestTrainedIntegrators.py experiments 2 and 6, "
          "models/model_weights1949.pth); no value read",
          SOURCE_TRANSFER, ("quick", "paper"), _fixed_step_transfer_worse),
    Claim("authors-policy-below-fixed-front",
          "The authors' own released Hermite policy (models/model_weights88.pth, run greedily in our environment on "
          "their evaluation systems) lies below the fixed-eta front on both cost axes: a lower final |dE/E0| than "
          "fixed eta at equal force evaluations and at equal integrator wall time, per system",
          "in words only: the trained policy improves on the most commonly used fixed values of the time-step "
          "parameter (abstract); the authors evaluate model_weights88 against every fixed value on seeds 0-99 x 300 "
          "steps (TestTrainedModel.py experiment 7); no value read",
          SOURCE_HERMITE, ("authors", "paper"), _authors_policy_below_fixed_front),
    Claim("heuristic-below-fixed-front",
          "The distance heuristic (ours, set by hand) lies below the fixed-eta front on Hermite (a lower final "
          "energy error than fixed eta at equal work)",
          "", "ours: papergym.agents.threebody.DistanceHeuristic, not in the paper", ("quick", "paper"),
          _heuristic_below_front_hermite),
)


REPRODUCTION = Reproduction(
    name="threebody",
    paper="Reinforcement Learning for Adaptive Time-Stepping in the Chaotic Gravitational Three-Body Problem "
          "(Saz Ulibarrena & Portegies Zwart, 2025)",
    description="final energy error vs work of fixed eta, a distance heuristic and DQN on held-out three-body "
                "systems; transfer to IAS15 (variable step) and leapfrog (fixed step)",
    presets=PRESETS,
    units=units,
    kinds={DQN_KIND: train_dqn, FIXED: run_fixed, HEURISTIC_KIND: run_heuristic, AUTHORS_KIND: run_authors_dqn},
    report=report,
    record_schemas={DQN_KIND: DQN_RECORD, FIXED: EVALUATION_RECORD, HEURISTIC_KIND: EVALUATION_RECORD,
                    AUTHORS_KIND: EVALUATION_RECORD, AGENT_KIND: EVALUATION_RECORD},
    agent_units=agent_units,
    evaluate_agent=evaluate_user_agent,
    claims=CLAIMS,
)
