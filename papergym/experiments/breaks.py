"""Suggesting breaks: engagement of each break policy relative to no breaks, on held-out users.

Saig & Rosenfeld (ICML 2023), Section 6 and Figure 3: users from a factorised ratings matrix (here the
synthetic low-rank population by default, or MovieLens 1M with ``--set data=PATH/ratings.dat``); 1,000
held-out evaluation users, the remaining users as training users of the randomised experiment (treatments
0 / 0.05 / 0.10 / 0.15 in shares 70 / 10 / 10 / 10), one linear regressor per treatment, kappa = 0.5, the
event simulator over 100 time units, 10 seeds. One unit is one seed: the population (its factorisation and
catalogues), the training experiment and every paper policy on the same evaluation users.

* One-shot protocol (the paper's): each policy maps a user's features to one break rate; the user starts
  at the equilibrium of that rate (times 1 + 0.1 U(-1, 1)) and engagement is events / horizon. The rate
  limiter runs inside the event simulation; the adaptive policy re-fits at T0 and continues from the
  user's current state.
* Sequential protocol (``papergym/Breaks-v0``): PPO (SB3) and the user's own agents choose the break rate
  every time unit from features and observed engagement, every user starting at the no-breaks
  equilibrium; they are compared with no breaks and with the LV policy played on the same protocol.

Gains are 100 (mean engagement / mean engagement without breaks - 1) per seed; the tables give their mean,
std and 95% CI across seeds, with the gain lambda*(p) would give at the rates played ("closed form %"). The
plot shows, for a few users, the simulated engagement against the break rate with the closed-form lambda*(p)
over it.

Reading the tables: the event simulation's one Euler step per event puts its long-run engagement below
lambda*(p) by an amount that grows with p (see tests/test_breaks_model.py), so simulated gains sit below the
closed-form ones; the spread of users' beta (hence of p*) comes from the population, so a synthetic one moves
the oracle's bound. On the sequential protocol users start at the no-breaks equilibrium: a break first
lowers drive (less reinforcement) and only later pays back through rebuilt interest, so over 100 time units
even each user's true p* gains little there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papergym.experiments.contract import Record, Reproduction, Settings, SettingsError, Unit

PAPER_GAINS = {"LV policy": 6.0, "best-of": 3.9, "oracle (paper)": 6.8, "oracle LV (true p*)": 7.8,
               "rate limiter 16": 0.2, "rate limiter 14": -0.4}
PLOT_USERS = 4
CURVE_POINTS = 11
CURVE_REPETITIONS = 20
PPO_ENVS = 16
PPO_ROLLOUT = 128


@dataclass(frozen=True, kw_only=True)
class BreaksSettings(Settings):
    """The paper's protocol; ``data`` is a MovieLens 1M ``ratings.dat`` (None: the synthetic population)."""

    seeds: int = 10
    data: str | None = None
    n_users: int = 6040
    n_items: int = 3706
    n_eval_users: int = 1000
    kappa: float = 0.5
    dynamics: str = "event"
    refit_times: tuple[float, ...] = (0.5, 5.0, 50.0)
    rate_limits: tuple[float, ...] = (16.0, 14.0)
    ppo_seeds: int = 3
    ppo_steps: int = 200_000
    timing_users: int = 10_000

    def validate(self) -> None:
        if self.data is not None and not Path(self.data).is_file():
            raise SettingsError(f"data must be a MovieLens 1M ratings file, got {self.data!r} (no such file)")
        for name in ("n_users", "n_items"):
            if getattr(self, name) < 2:
                raise SettingsError(f"{name} must be >= 2, got {getattr(self, name)!r}")
        if not 1 <= self.n_eval_users < self.n_users - 40:
            raise SettingsError(f"n_eval_users must be in [1, n_users - 40) (training users are needed), "
                                f"got {self.n_eval_users!r}")
        if not 0.0 <= self.kappa <= 1.0:
            raise SettingsError(f"kappa must be in [0, 1], got {self.kappa!r}")
        if self.dynamics not in ("event", "ode"):
            raise SettingsError(f"dynamics must be 'event' or 'ode', got {self.dynamics!r}")
        if any(not 0.0 < t < 100.0 for t in self.refit_times):
            raise SettingsError(f"refit_times must lie in (0, 100), got {self.refit_times!r}")
        if any(limit <= 0 for limit in self.rate_limits):
            raise SettingsError(f"rate_limits must be positive, got {self.rate_limits!r}")
        if self.timing_users < 0:
            raise SettingsError(f"timing_users must be >= 0 (0: no timing), got {self.timing_users!r}")
        if self.ppo_seeds < 0 or self.ppo_steps < 0:
            raise SettingsError(f"ppo_seeds and ppo_steps must be >= 0, got {self.ppo_seeds!r}, {self.ppo_steps!r}")

    def world_kwargs(self, seed: int) -> dict[str, Any]:
        return {"ratings_file": self.data, "n_users": self.n_users, "n_items": self.n_items,
                "population_seed": seed, "kappa": self.kappa, "dynamics": self.dynamics}


PRESETS = {
    "quick": BreaksSettings(seeds=3, ppo_seeds=2, ppo_steps=20_000),
    "paper": BreaksSettings(),
}


def units(settings: BreaksSettings) -> list[Unit]:
    work = [Unit({"seed": seed}) for seed in range(settings.seeds)]
    if settings.ppo_steps > 0:
        work += [Unit({"agent": "PPO", "seed": seed}) for seed in range(min(settings.ppo_seeds, settings.seeds))]
    work += [Unit({"agent": spec, "seed": seed}) for spec in settings.agents for seed in range(settings.seeds)]
    work.append(Unit({"curve": "engagement-vs-break-rate"}))
    if settings.timing_users > 0:
        work.append(Unit({"timing": settings.timing_users}))
    return work


def run_unit(settings: BreaksSettings, unit: Unit) -> list[Record]:
    if "curve" in unit.params:
        return _curve_records(settings)
    if "timing" in unit.params:
        return [_timing_record(settings, int(unit["timing"]))]
    if "agent" in unit.params:
        return _sequential_records(settings, unit["agent"], int(unit["seed"]))
    return _one_shot_records(settings, int(unit["seed"]))


# --- one-shot protocol (the paper's) -------------------------------------------------------------------------


def _world(settings: BreaksSettings, seed: int):
    from papergym.envs.breaks import BreaksWorld

    return BreaksWorld.build(**settings.world_kwargs(seed))


def _one_shot_records(settings: BreaksSettings, seed: int) -> list[Record]:
    from papergym.agents.breaks import (
        OracleLV,
        PaperOracle,
        fit_equilibrium_curve,
        lv_break_rates,
        refit_break_rates,
        train_regressors,
    )
    from papergym.envs.breaks.simulation import rating_histograms

    world = _world(settings, seed)
    rng = np.random.default_rng([seed, 1])
    train, evaluation = (world.split_users(split, settings.n_eval_users) for split in ("train", "eval"))
    regressors = train_regressors(world, train, rng)
    predicted = regressors.predict(world.features[evaluation])
    lv_rates = lv_break_rates(*fit_equilibrium_curve(regressors.treatments, predicted))
    rates = {"no breaks": np.zeros(len(evaluation)), "LV policy": lv_rates,
             "best-of": np.asarray(regressors.treatments)[np.argmax(predicted, axis=1)],
             "oracle (paper)": PaperOracle.rates(world, evaluation, rng),
             "oracle LV (true p*)": OracleLV.rates(world, evaluation)}
    engagement = {name: world.engagement(rng, evaluation, p) for name, p in rates.items()}
    for limit in settings.rate_limits:
        rates[f"rate limiter {limit:g}"] = np.zeros(len(evaluation))
        engagement[f"rate limiter {limit:g}"] = world.engagement(rng, evaluation, 0.0, rate_limit=limit)
    for refit_time in settings.refit_times:
        name = f"adaptive LV (T0={refit_time:g})"
        states = world.start(evaluation, lv_rates, rng)
        events = world.advance(rng, states, evaluation, lv_rates, refit_time)
        refit = refit_break_rates(rating_histograms(states), world.params, fallback=lv_rates)
        events += world.advance(rng, states, evaluation, refit, world.horizon)  # continues from the current state
        rates[name], engagement[name] = refit, events / world.horizon
    baseline = float(engagement["no breaks"].mean())
    closed_baseline = float(world.equilibrium_rates(evaluation, 0.0).mean())

    def closed_form_gain(name: str) -> float | None:
        # lambda*(p) of the rate a policy plays; a rate limiter plays no constant rate
        if name.startswith("rate limiter"):
            return None
        return 100.0 * (float(world.equilibrium_rates(evaluation, rates[name]).mean()) / closed_baseline - 1.0)

    return [{"kind": "policy", "protocol": "one-shot", "seed": seed, "policy": name,
             "engagement": float(values.mean()), "no_breaks_engagement": baseline,
             "gain_pct": 100.0 * (float(values.mean()) / baseline - 1.0),
             "closed_form_gain_pct": closed_form_gain(name),
             "mean_break_rate": float(rates[name].mean()), "users": len(evaluation)}
            for name, values in engagement.items() if name != "no breaks"]


# --- sequential protocol (Breaks-v0): PPO and the user's agents ----------------------------------------------


def _eval_env(settings: BreaksSettings, seed: int):
    import gymnasium as gym

    import papergym  # noqa: F401  (registers the ids)

    return gym.make("papergym/Breaks-v0", **settings.world_kwargs(seed), user_split="eval",
                    n_eval_users=settings.n_eval_users)


def rollout_engagement(agent: Any, settings: BreaksSettings, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every evaluation user played once on Breaks-v0's native vector env: (engagement, mean break rate)."""
    from papergym.envs.breaks import BreaksVectorEnv

    users = _world(settings, seed).split_users("eval", settings.n_eval_users)
    envs = BreaksVectorEnv(len(users), autoreset_mode="NextStep", user_split="eval",
                           n_eval_users=settings.n_eval_users, **settings.world_kwargs(seed))
    observations, _ = envs.reset(seed=seed + 7919, options={"users": users})
    events, break_sum, steps = np.zeros(len(users)), np.zeros(len(users)), np.zeros(len(users))
    running = np.ones(len(users), dtype=bool)
    while running.any():
        actions, _ = agent.predict(observations, deterministic=True)
        actions = np.clip(np.asarray(actions, dtype=np.float64).reshape(len(users), 1), 0.0, 1.0)
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        events += np.where(running, rewards, 0.0)
        break_sum += np.where(running, actions[:, 0], 0.0)
        steps += running
        running &= ~(terminated | truncated)
    return events / envs.world.horizon, break_sum / np.maximum(steps, 1)


def train_ppo(settings: BreaksSettings, seed: int) -> Any:
    """PPO (SB3) on Breaks-v0's training users, SB3's defaults but a small initial action noise."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from papergym.wrappers.sb3 import SB3VecEnv

    n_envs = int(np.clip(settings.ppo_steps // PPO_ROLLOUT, 1, PPO_ENVS))  # tiny budgets still finish a rollout
    envs = gym.make_vec("papergym/Breaks-v0", num_envs=n_envs, vectorization_mode="vector_entry_point",
                        autoreset_mode="SameStep", user_split="train", n_eval_users=settings.n_eval_users,
                        **settings.world_kwargs(seed))
    model = PPO("MlpPolicy", SB3VecEnv(envs), n_steps=PPO_ROLLOUT, batch_size=min(256, n_envs * PPO_ROLLOUT),
                seed=seed, verbose=0, policy_kwargs={"log_std_init": -1.5})
    model.learn(total_timesteps=settings.ppo_steps)
    return model


def _sequential_records(settings: BreaksSettings, spec: str, seed: int) -> list[Record]:
    from papergym.agents.breaks import LVBreakPolicy, NoBreaks, OracleLV
    from papergym.experiments.contract import agent_label, load_agent

    env = _eval_env(settings, seed)
    if spec == "PPO":
        started = time.perf_counter()
        agent, label = train_ppo(settings, seed), "PPO"
        extra = {"train_seconds": time.perf_counter() - started, "train_steps": settings.ppo_steps}
    else:
        agent, label, extra = load_agent(spec, env), agent_label(spec), {}
    baseline, _ = rollout_engagement(NoBreaks.from_env(env), settings, seed)
    policies = {label: agent}
    if spec == "PPO":  # references on the same protocol: the paper's policy and the true p* of each user
        policies["LV policy (sequential)"] = LVBreakPolicy.from_env(env, seed=seed)
        policies["oracle LV (sequential)"] = OracleLV.from_env(env)
    records = []
    for name, policy in policies.items():
        engagement, break_rates = rollout_engagement(policy, settings, seed)
        records.append({"kind": "policy", "protocol": "sequential", "seed": seed, "policy": name,
                        "engagement": float(engagement.mean()), "no_breaks_engagement": float(baseline.mean()),
                        "gain_pct": 100.0 * (float(engagement.mean()) / float(baseline.mean()) - 1.0),
                        "mean_break_rate": float(break_rates.mean()), "users": len(engagement), **extra})
    return records


# --- the curve and the timing --------------------------------------------------------------------------------


def _curve_records(settings: BreaksSettings) -> list[Record]:
    """Engagement against the break rate for PLOT_USERS held-out users (from low to high p*), each point the
    mean of CURVE_REPETITIONS simulations from the equilibrium of that rate."""
    from papergym.envs.breaks import curve_coefficients

    world = _world(settings, 0)
    rng = np.random.default_rng(12345)
    evaluation = world.split_users("eval", settings.n_eval_users)
    order = np.argsort(world.optimal_break_rates(evaluation))
    users = evaluation[order[np.linspace(0, len(order) - 1, PLOT_USERS).astype(int)]]
    theta1, theta2 = curve_coefficients(world.beta[users], world.params)
    optimal = world.optimal_break_rates(users)
    records = []
    for index, user in enumerate(users):
        for p in np.linspace(0.0, 0.5, CURVE_POINTS):
            simulated = world.engagement(rng, np.full(CURVE_REPETITIONS, user), p)
            records.append({"kind": "curve", "user": int(user), "p": float(p), "engagement": float(simulated.mean()),
                            "engagement_std": float(simulated.std(ddof=1)),
                            "closed_form": float(world.equilibrium_rates(np.array([user]), p)[0]),
                            "theta1": float(theta1[index]), "theta2": float(theta2[index]),
                            "optimal_break_rate": float(optimal[index])})
    return records


def _timing_record(settings: BreaksSettings, n_users: int) -> Record:
    world = _world(settings, 0)
    rng = np.random.default_rng(0)
    users = rng.choice(world.viable_users(0.0), size=n_users)
    world.engagement(rng, users[:10], 0.0)  # compile outside the timing
    started, cpu_started = time.perf_counter(), time.process_time()
    engagement = world.engagement(rng, users, 0.0)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    events = float(engagement.sum() * world.horizon)
    return {"kind": "timing", "users": n_users, "horizon": world.horizon, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "events": events, "slots": events * world.batch_size,
            "dynamics": world.dynamics}


# --- report --------------------------------------------------------------------------------------------------


def report(settings: BreaksSettings, records: list[Record], out_dir: Path) -> str:
    from papergym.experiments.reporting import CsvLog, bar_plot, format_table, summary_table

    out_dir = Path(out_dir)
    policies = [r for r in records if r["kind"] == "policy"]
    columns = ["protocol", "policy", "seed", "engagement", "no_breaks_engagement", "gain_pct", "mean_break_rate"]
    log = CsvLog(out_dir / "breaks_gains.csv", columns)
    for record in policies:
        log.append({column: record[column] for column in columns})
    source = "MovieLens 1M" if settings.data else "synthetic low-rank population"
    lines = []
    summaries = {}
    for protocol in ("one-shot", "sequential"):
        chosen = [r for r in policies if r["protocol"] == protocol]
        if not chosen:
            continue
        names = list(dict.fromkeys(r["policy"] for r in chosen))
        gains = summary_table({name: [r["gain_pct"] for r in chosen if r["policy"] == name] for name in names})
        summaries[protocol] = gains
        extra = {"mean p": {name: f"{np.mean([r['mean_break_rate'] for r in chosen if r['policy'] == name]):.3f}"
                            for name in names}}
        if protocol == "one-shot":
            extra["closed form %"] = _closed_form_column(chosen, names)
            extra["paper %"] = {name: f"{PAPER_GAINS[name]:+.1f}" for name in names if name in PAPER_GAINS}
        baseline = np.mean([r["no_breaks_engagement"] for r in chosen])
        title = (f"{protocol} protocol: engagement gain over no breaks (%), {chosen[0]['users']} held-out users, "
                 f"{source}, kappa={settings.kappa}, {settings.dynamics} dynamics; no-breaks engagement "
                 f"{baseline:.3f} events/unit")
        lines += [format_table(title, gains, "gain %", extra), ""]
    timing = [r for r in records if r["kind"] == "timing"]
    for record in timing:
        lines.append(f"simulation time: {record['users']:,} users x {record['horizon']:g} time units "
                     f"({record['events']:,.0f} events, {record['slots']:,.0f} feed slots) in "
                     f"{record['seconds']:.2f} s wall, {record.get('cpu_seconds', float('nan')):.2f} s CPU "
                     f"({record['dynamics']} dynamics, one process)")
    for protocol, gains in summaries.items():
        bar_plot(out_dir / f"breaks_gains_{protocol}.png", gains, "engagement gain over no breaks (%)",
                 f"Suggesting breaks: {protocol} protocol ({source})")
    curve = [r for r in records if r["kind"] == "curve"]
    if curve:
        _plot_curves(out_dir / "breaks_engagement_vs_break_rate.png", curve)
    lines.append(f"wrote {out_dir}/breaks_gains.csv and breaks_*.png")
    return "\n".join(lines)


def _closed_form_column(chosen: list[Record], names: list[str]) -> dict[str, str]:
    """Mean over seeds of the gain lambda*(p) would give at the rates played (blank for rate limiters)."""
    column = {}
    for name in names:
        values = [r["closed_form_gain_pct"] for r in chosen if r["policy"] == name]
        if values and values[0] is not None:
            column[name] = f"{np.mean(values):+.2f}"
    return column


def _plot_curves(path: Path, curve: list[Record]) -> None:
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    users = list(dict.fromkeys(r["user"] for r in curve))
    figure, axis = plt.subplots(figsize=(7, 4.5))
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(users)))
    fine = np.linspace(0.0, 0.5, 201)
    for user, color in zip(users, colors):
        rows = [r for r in curve if r["user"] == user]
        theta1, theta2 = rows[0]["theta1"], rows[0]["theta2"]
        line = np.maximum(theta2 / (1.0 - fine) - theta1 / (1.0 - fine) ** 2, 0.0)
        axis.plot(fine, line, color=color, linewidth=1.5, label=f"user {user}: closed form, p* = "
                  f"{rows[0]['optimal_break_rate']:.2f}")
        axis.errorbar([r["p"] for r in rows], [r["engagement"] for r in rows],
                      yerr=[r["engagement_std"] for r in rows], fmt="o", color=color, markersize=4, capsize=2)
        axis.axvline(rows[0]["optimal_break_rate"], color=color, linestyle=":", linewidth=1)
    axis.set_xlabel("break probability p")
    axis.set_ylabel("engagement (events per time unit)")
    axis.set_title(f"event simulation (mean ± std, {CURVE_REPETITIONS} runs) and closed form lambda*(p)",
                   fontsize=9)
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    save_figure(figure, path)


REPRODUCTION = Reproduction(
    name="breaks",
    paper="Learning to Suggest Breaks: Sustainable Optimization of Long-Term User Engagement "
          "(Saig & Rosenfeld, ICML 2023)",
    description="engagement of the LV break policy, best-of, oracles, rate limiters, adaptive re-fit and PPO "
                "relative to no breaks on 1,000 held-out users, 95% CI over seeds; engagement vs break rate",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)
