"""IWOCS (Incremental Worst-Case Search): a robust policy from a sequence of static RL problems."""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papergym.agents.robust.baselines import _make_inner, _require_inner
from papergym.agents.robust.critics import _critics
from papergym.agents.robust.evaluation import Episode, evaluate_params
from papergym.agents.robust.indicator import INDICATOR_FEATURES, TransitionModel, _Exploring
from papergym.agents.robust.search import SearchResult, _to_unit, cma_worst_case
from papergym.core.agent import Agent
from papergym.core.errors import PapergymError
from papergym.core.seeding import stream_seed
from papergym.core.validation import require_int, require_real
from papergym.wrappers.robust import (
    EnvSource,
    FixedParams,
    env_factory,
    get_params,
    require_parametric,
    resolve_uncertainty_set,
)


@dataclass
class IterationRecord:
    """One IWOCS iteration: the robust policy's worst case found, and its models' specialist returns.

    ``worst_found_return`` is the robust policy's mean return on the worst model the search found,
    re-measured on fresh episodes (the search's own minimum is biased low by noise). It is an estimate of
    the policy's worst-case value, above the true one when the search misses the worst model, so it is not
    a bound. ``min_specialist_return`` is the lowest return of a member's agent on its own model: an
    estimate of min_j V*_{T_j}, which bounds the robust value from above (the robust value is at most the
    optimal value of every model of the set). ``gap_ucb`` is the 95% upper confidence limit of their
    difference, the quantity the stopping rule uses. ``next_step`` is what IWOCS did after the iteration:
    ``"add model"`` (solve the worst model found), ``"train further"`` (the worst model found is a member's:
    train that member more), or nothing when it stopped (``stop_reason``).
    """

    iteration: int
    n_models: int
    worst_params: dict[str, float]
    worst_found_return: float
    min_specialist_return: float
    gap_ucb: float
    search_evaluations: int
    timesteps: int
    stop_reason: str = ""
    next_step: str = ""

    @property
    def gap(self) -> float:
        return self.min_specialist_return - self.worst_found_return

    def as_row(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "n_models": self.n_models,
                "worst_found_return": self.worst_found_return, "min_specialist_return": self.min_specialist_return,
                "gap": self.gap, "gap_ucb": self.gap_ucb, "search_evaluations": self.search_evaluations,
                "timesteps": self.timesteps, "stop_reason": self.stop_reason, "next_step": self.next_step,
                **{f"worst_{name}": value for name, value in self.worst_params.items()}}


@dataclass
class Member:
    """One model of IWOCS's set: its parameters, its specialist agent, the specialist's returns on it, the
    indicator of its dynamics and the specialist's value function (Q(s, pi(s)) on a batch)."""

    params: dict[str, float]
    agent: Agent
    returns: np.ndarray
    transitions: TransitionModel
    value_function: Callable[[np.ndarray], np.ndarray]
    q_function: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    @property
    def value(self) -> float:
        return float(np.mean(self.returns))


def _mean_and_error(returns: np.ndarray) -> tuple[float, float]:
    returns = np.asarray(returns, dtype=np.float64).ravel()
    error = float(returns.std(ddof=1) / np.sqrt(returns.size)) if returns.size > 1 else 0.0
    return float(returns.mean()), error


class IWOCS:
    """Incremental Worst-Case Search: a robust policy from a sequence of static RL problems.

    Under the static model (the transition model is drawn from the uncertainty set and fixed for an
    episode) the robust value is min over models of the optimal values, so IWOCS solves ordinary RL
    problems on a growing set of models (the paper's deep version, choices documented here):

    1. the set starts with the nominal model T0 (the environment's parameters, clipped into the set),
       solved by the inner SB3 algorithm (the paper uses TD3);
    2. the robust policy pi_i is greedy with respect to the robust Q-function, the minimum of the members'
       Q-functions, each used only where its data are (the paper's Q_i = min_j Q_j, restricted to each
       member's distribution): at state s it takes, among the members' actions pi_j(s), the one with the
       highest min_j Q_j(s, a) over the members that count (the paper maximises over actions; its inner
       solver, TD3, is an actor-critic, and the members' actors propose the maximisers). Which members
       count is decided by an indicator (:class:`TransitionModel`, fitted on the member's own model with a
       fraction ``indicator_exploration`` of random actions) from the episode's transitions so far: the
       model is static within an episode, so the evidence accumulates. A member counts while its mean
       error is at most its threshold or at most ``explained_ratio`` times the lowest member's (at an
       episode's first step every member counts). The paper judges a member's distribution with a
       predictive-coding model of its data; ours judges the dynamics, which also tells the members apart
       on their own models. Members with a state-value function only (PPO, A2C, exact solvers without a Q-function)
       cannot rank actions: the one with the lowest value Q_j(s, pi_j(s)) among those that count acts.
       The previous observation and action and each member's error sum travel in ``predict``'s ``state``;
    3. the worst-case search (:func:`cma_worst_case`: the set's models, the vertices, then CMA-ES with
       restarts) looks for the model where pi_i has its lowest mean return over ``search_episodes``
       seeded episodes; the worst model is re-measured on ``value_episodes`` fresh episodes;
    4. IWOCS stops when the 95% upper confidence limit of min_specialist_return - worst_found_return is at
       most ``tolerance`` (so noise alone cannot stop it; ``tolerance=None`` never stops early), or after
       ``max_iterations`` iterations. Otherwise, when the worst model found is one of the set's models
       (within ``dedup_tolerance`` of it, as a fraction of each parameter's range), its member is trained
       further with the iteration's budget (an approximate inner solver has not solved it yet; with an
       exact ``solver`` there is nothing to add and IWOCS stops); else the worst model found is solved,
       warm-started (optionally) from the member of the closest model, and added.

    ``learn(total_timesteps)`` splits the training budget evenly between the ``max_iterations + 1`` inner
    problems; a run that stops early uses fewer steps (``num_timesteps``). ``predict`` has SB3's signature
    and accepts single or batched observations. Seeds: every random stream of IWOCS is a named stream of
    ``seed`` (:func:`papergym.core.seeding.stream_seed` with kind ``"iwocs"``): the search's episodes
    (``search-episodes``), the members' values and the re-measurements (``value-episodes``), the indicator's
    episodes (``indicator-episodes``), and per iteration the search (``search``) or per member the inner
    algorithm (``inner``) and the exploration (``exploration``); an evaluation held out from IWOCS draws its
    episode seeds from another stream.

    Arguments: ``inner`` an SB3 algorithm class with a critic (TD3, SAC, DDPG, PPO, A2C, DQN), ``env`` a
    parametric environment (id, instance or factory; anything with ``set_params``/``get_params`` given an
    ``uncertainty_set``), ``uncertainty_set`` (or RRLS's ``params_bound``; default: the environment's),
    ``policy`` and ``inner_kwargs``
    for the inner algorithm, ``search_budget`` evaluations per search, ``search_episodes`` episodes per
    evaluation, ``value_episodes`` episodes (>= 2) to measure each member on its model (and as many
    exploratory episodes for the indicator), ``indicator_quantile``, ``indicator_exploration``,
    ``indicator_features`` (``"quadratic"`` where the dynamics' nonlinearity, common to all models, hides
    their differences from a linear fit, as on Pendulum), ``explained_ratio`` (on CartPole with the
    Riccati controllers of the nominal and the worst model as members, 1 drops the pole at one point of a
    10 x 10 grid, 1.5 to 5 balance it everywhere; letting every member count fails on a member's own model
    for other pairs; ``examples/iwocs_selection_rules.py`` measures both settings), ``dedup_tolerance``,
    ``warm_start``, ``seed``. ``solver``
    replaces the inner algorithm by an exact solver of each static problem, ``params -> (agent,
    value_function)`` or ``params -> (agent, value_function, q_function)`` (e.g. a model-based controller
    and its value), to study the meta-algorithm alone.
    """

    def __init__(self, inner: type | None, env: EnvSource, uncertainty_set: Any = None, *,
                 params_bound: Any = None, policy: Any = "MlpPolicy", inner_kwargs: Mapping[str, Any] | None = None,
                 max_iterations: int = 5, tolerance: float | None = 0.0, search_budget: int = 40,
                 search_episodes: int = 3, value_episodes: int = 10, indicator_quantile: float = 0.95,
                 indicator_exploration: float = 0.2, indicator_features: str = "linear",
                 explained_ratio: float = 2.0, dedup_tolerance: float = 0.05,
                 warm_start: bool = True, seed: int = 0, verbose: int = 0,
                 solver: Callable[[dict[str, float]], tuple] | None = None):
        self.inner = None if inner is None else _require_inner(inner)
        if solver is not None and not callable(solver):
            raise PapergymError("solver must be a function params -> (agent, value_function[, q_function]), "
                             f"got {solver!r}")
        self.solver = solver
        self.policy, self.inner_kwargs = policy, dict(inner_kwargs or {})
        self.env = env
        self._make_env = env_factory(env)
        if uncertainty_set is not None and params_bound is not None:
            raise PapergymError("give the uncertainty set once: uncertainty_set or params_bound (RRLS's name)")
        uncertainty_set = params_bound if uncertainty_set is None else uncertainty_set
        probe = require_parametric(self._make_env(), uncertainty_set)
        self.uncertainty_set = resolve_uncertainty_set(probe, uncertainty_set)
        self.nominal_params = self.uncertainty_set.clip(get_params(probe))
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        self.max_iterations = require_int("max_iterations", max_iterations, low=0)
        self.tolerance = None if tolerance is None else require_real("tolerance", tolerance)
        self.search_budget = require_int("search_budget", search_budget, low=2)
        self.search_episodes = require_int("search_episodes", search_episodes, low=1)
        self.value_episodes = require_int("value_episodes", value_episodes, low=2)
        self.indicator_quantile = require_real("indicator_quantile", indicator_quantile, low=0.0, high=1.0)
        self.indicator_exploration = require_real("indicator_exploration", indicator_exploration, low=0.0,
                                                  high=1.0)
        self.explained_ratio = require_real("explained_ratio", explained_ratio, low=1.0)
        if indicator_features not in INDICATOR_FEATURES:
            raise PapergymError(f"indicator_features must be one of {', '.join(INDICATOR_FEATURES)}, "
                             f"got {indicator_features!r}")
        self.indicator_features = indicator_features
        self.dedup_tolerance = require_real("dedup_tolerance", dedup_tolerance, low=0.0, high=1.0)
        self.warm_start, self.verbose = bool(warm_start), int(verbose)
        self.seed = require_int("seed", seed, low=0)
        self.members: list[Member] = []
        self.trace: list[IterationRecord] = []
        self.num_timesteps = 0

    # --- the robust policy ------------------------------------------------------------------------------
    def eligible_members(self, mean_errors: np.ndarray | None, count: int) -> np.ndarray:
        """Which members count at each row of a batch, (members, count) booleans: the members whose data
        explain the dynamics experienced.

        ``mean_errors[j, i]`` is member j's mean indicator error over the transitions of row i's episode so
        far (NaN, or no ``mean_errors``, where there is no transition yet: every member counts). The errors
        share one scale, so the member with the lowest one has the model that explains the transitions
        best; a member counts when its error is at most its threshold or at most ``explained_ratio``
        times the lowest one.
        """
        if not self.members:
            raise RuntimeError("IWOCS has no trained member yet: call learn(), add_member() or load()")
        if mean_errors is None:
            return np.ones((len(self.members), count), dtype=bool)
        mean_errors = np.asarray(mean_errors, dtype=np.float64)
        lowest = np.where(np.isnan(mean_errors), np.inf, mean_errors).min(axis=0)
        thresholds = np.array([member.transitions.threshold for member in self.members])[:, None]
        # explained_ratio >= 1, so the member with the lowest error always counts.
        explained = mean_errors <= np.maximum(thresholds, self.explained_ratio * lowest)
        return explained | np.isnan(mean_errors).any(axis=0)

    def selected_members(self, observations: np.ndarray, mean_errors: np.ndarray | None = None) -> np.ndarray:
        """Index of the member whose value Q_j(s, pi_j(s)) is lowest among the eligible ones, at each
        observation of a batch: the rule for members with a state-value function only (PPO, A2C)."""
        observations = np.asarray(observations)
        eligible = self.eligible_members(mean_errors, len(observations))
        values = np.stack([member.value_function(observations) for member in self.members])
        return np.argmin(np.where(eligible, values, np.inf), axis=0)

    def robust_actions(self, observations: np.ndarray, mean_errors: np.ndarray | None = None,
                       deterministic: bool = True) -> np.ndarray:
        """The robust policy's action at each observation of a batch (step 2 of the method).

        With Q-functions: the member action a with the highest min_j Q_j(s, a) over the eligible members
        (:meth:`eligible_members`, from ``mean_errors``); otherwise the action of :meth:`selected_members`.
        """
        observations = np.asarray(observations)
        rows = np.arange(len(observations))
        candidates = np.stack([np.asarray(member.agent.predict(observations, deterministic=deterministic)[0])
                               for member in self.members])
        if not self.has_q_functions:
            return candidates[self.selected_members(observations, mean_errors), rows]
        eligible = self.eligible_members(mean_errors, len(observations))
        robust_values = np.stack([np.min(np.where(eligible, [member.q_function(observations, actions)
                                                             for member in self.members], np.inf), axis=0)
                                  for actions in candidates])
        return candidates[np.argmax(robust_values, axis=0), rows]

    @property
    def has_q_functions(self) -> bool:
        """Whether every member has a Q-function Q(s, a) (TD3, SAC, DDPG, DQN), not only a value V(s)."""
        return all(member.q_function is not None for member in self.members)

    def transition_errors(self, observations: np.ndarray, actions: np.ndarray,
                          next_observations: np.ndarray) -> np.ndarray:
        """Each member's indicator error of each transition of a batch (one row per member)."""
        return np.stack([member.transitions.errors(observations, actions, next_observations)
                         for member in self.members])

    def predict(self, observation: Any, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """SB3's ``predict``; ``state`` carries the batch's previous observations and actions and each
        member's sum of indicator errors and count of transitions over the current episodes."""
        observation = np.asarray(observation)
        single = observation.shape == tuple(self.observation_space.shape)
        batch = observation[None] if single else observation
        error_sums, counts = np.zeros((len(self.members), len(batch))), np.zeros(len(batch))
        if len(self.members) == 1:
            actions = np.asarray(self.members[0].agent.predict(batch, deterministic=deterministic)[0])
        else:
            if state is not None and len(state) == 4 and len(state[2]) == len(self.members):
                previous, previous_actions = state[0], state[1]
                continuing = np.ones(len(batch), dtype=bool)
                if episode_start is not None:
                    continuing &= ~np.asarray(episode_start, dtype=bool).reshape(-1)[: len(batch)]
                rows = np.flatnonzero(continuing)
                if rows.size:
                    error_sums[:, rows] = state[2][:, rows] + self.transition_errors(
                        previous[rows], previous_actions[rows], batch[rows])
                    counts[rows] = state[3][rows] + 1
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_errors = np.where(counts > 0, error_sums / counts, np.nan)
            actions = self.robust_actions(batch, mean_errors, deterministic)
        new_state = (batch.copy(), actions.copy(), error_sums, counts)
        return (actions[0] if single else actions), new_state

    # --- learning -----------------------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: Any = None, progress_bar: bool = False,
              on_iteration: Callable[[IterationRecord], None] | None = None) -> IWOCS:
        """Run IWOCS from scratch. ``callback`` goes to every inner ``learn``; ``on_iteration`` receives each
        iteration's record as soon as it is known (to log the trace as it goes)."""
        if self.inner is None and self.solver is None:
            raise PapergymError("learn needs an inner SB3 algorithm class (inner=TD3, PPO, ...) or a solver")
        total_timesteps = require_int("total_timesteps", total_timesteps, low=self.max_iterations + 1)
        steps_per_model = total_timesteps // (self.max_iterations + 1)
        self.members, self.trace, self.num_timesteps = [], [], 0
        self.train_member(self.nominal_params, steps_per_model, callback, progress_bar)
        for iteration in range(self.max_iterations + 1):
            record, next_params = self.iterate(iteration)
            if record.stop_reason == "" and iteration == self.max_iterations:
                record.stop_reason = "max_iterations"
            if not record.stop_reason:
                record.next_step = "train further" if self._known(next_params) else "add model"
            self.trace.append(record)
            if on_iteration is not None:
                on_iteration(record)
            if self.verbose:
                print(f"IWOCS iteration {iteration}: worst found {record.worst_found_return:.4g}, min specialist "
                      f"{record.min_specialist_return:.4g}, worst model {record.worst_params} {record.stop_reason}")
            if record.stop_reason:
                break
            if record.next_step == "train further":
                self._train_further(self._closest(next_params), steps_per_model, callback, progress_bar)
            else:
                self.train_member(next_params, steps_per_model, callback, progress_bar)
        return self

    def iterate(self, iteration: int = 0) -> tuple[IterationRecord, dict[str, float]]:
        """Search the worst case of the current robust policy; the iteration's record and the next model."""
        search = self.worst_case(seed=self._stream("search", iteration))
        next_params = self._next_model(search)
        worst_params = search.params if next_params is None else next_params
        worst_returns = evaluate_params(self, self._make_env, [worst_params], self.value_episodes,
                                        seed=self._value_seed)[0]
        worst_mean, worst_error = _mean_and_error(worst_returns)
        weakest = min(self.members, key=lambda member: member.value)
        specialist_mean, specialist_error = _mean_and_error(weakest.returns)
        gap_ucb = specialist_mean - worst_mean + 1.96 * float(np.hypot(worst_error, specialist_error))
        reason = ""
        if next_params is None and self.solver is not None:
            reason = "worst model already in the set"
        elif self.tolerance is not None and gap_ucb <= self.tolerance:
            reason = "gap closed"
        record = IterationRecord(iteration, len(self.members), dict(worst_params), worst_mean, specialist_mean,
                                 gap_ucb, search.evaluations, self.num_timesteps, reason)
        return record, dict(worst_params)

    def _next_model(self, search: SearchResult) -> dict[str, float] | None:
        """The worst model found, or None when it is (within the tolerance) a model of the set already."""
        if self._known(search.params):
            return None
        return dict(search.params)

    def _known(self, params: Mapping[str, float]) -> bool:
        point = _to_unit(self.uncertainty_set, params)
        return any(np.max(np.abs(_to_unit(self.uncertainty_set, member.params) - point)) <= self.dedup_tolerance
                   for member in self.members)

    def _stream(self, name: str, index: int = 0) -> int:
        """The seed of one of IWOCS's named random streams (see the class docstring)."""
        return stream_seed(self.seed, "iwocs", index, name)

    @property
    def _episode_seed(self) -> int:
        return self._stream("search-episodes")

    @property
    def _value_seed(self) -> int:
        return self._stream("value-episodes")

    def worst_case(self, budget: int | None = None, seed: int | None = None) -> SearchResult:
        """The worst-case search (seeded by ``seed``) for the model where the current robust policy does worst."""

        def mean_returns(params: list[dict[str, float]]) -> np.ndarray:
            returns = evaluate_params(self, self._make_env, params, self.search_episodes, seed=self._episode_seed)
            return returns.mean(axis=1)

        return cma_worst_case(mean_returns, self.uncertainty_set, budget or self.search_budget,
                              seed=self.seed if seed is None else seed,
                              candidates=[dict(member.params) for member in self.members])

    def add_member(self, params: Mapping[str, float], agent: Agent,
                   value_function: Callable[[np.ndarray], np.ndarray] | None = None,
                   q_function: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> Member:
        """Add a model and its specialist agent: measure it on its model and fit its dynamics indicator.

        ``value_function`` maps a batch of observations to the specialist's Q(s, pi(s)) and ``q_function``
        a batch of observations and actions to Q(s, a) (default, for both: the SB3 agent's critic,
        :func:`critic_values` and :func:`action_values`; an agent given a value function alone has no
        Q-function).
        """
        params = self.uncertainty_set.to_params(self.uncertainty_set.to_vector(params))
        if value_function is None:
            value_function, q_function = _critics(agent)
        returns = evaluate_params(agent, self._make_env, [params], self.value_episodes, seed=self._value_seed)[0]
        explorer = _Exploring(agent, self.observation_space, self.action_space, self.indicator_exploration,
                              seed=self._stream("exploration", len(self.members)))
        episodes: list[Episode] = []
        evaluate_params(explorer, self._make_env, [params], self.value_episodes,
                        seed=self._stream("indicator-episodes"), episodes=episodes)
        # Every member measures errors in the first member's units, so that their errors compare.
        scale = self.members[0].transitions.scale if self.members else None
        transitions = TransitionModel(episodes, self.action_space, self.indicator_quantile, scale=scale,
                                      features=self.indicator_features)
        member = Member(params, agent, returns, transitions, value_function, q_function)
        self.members.append(member)
        return member

    def train_member(self, params: Mapping[str, float], timesteps: int, callback: Any = None,
                     progress_bar: bool = False) -> None:
        """Solve one static problem (the model ``params``) with the inner algorithm, warm-started
        (optionally) from the closest member, or with the exact ``solver``, and add it to the set."""
        if self.solver is not None:  # an exact solver of the static problem (e.g. a model-based controller)
            self.add_member(params, *self.solver(dict(params)))
            return
        index = len(self.members)
        environment = FixedParams(self._make_env(), params)
        agent = _make_inner(self.inner, self.policy, environment, self._stream("inner", index), self.inner_kwargs)
        if self.warm_start and self.members:
            agent.set_parameters(self._closest(params).agent.get_parameters(), exact_match=True)
        agent.learn(timesteps, callback=callback, progress_bar=progress_bar)
        self.num_timesteps += timesteps
        self.add_member(params, agent)

    def _train_further(self, member: Member, timesteps: int, callback: Any, progress_bar: bool) -> None:
        """Go on solving a member's model (its worst case is one IWOCS already has, not yet solved well)."""
        member.agent.learn(timesteps, callback=callback, progress_bar=progress_bar, reset_num_timesteps=False)
        self.num_timesteps += timesteps
        index = self.members.index(member)
        self.members.pop(index)
        self.add_member(member.params, member.agent)
        self.members.insert(index, self.members.pop())

    def _closest(self, params: Mapping[str, float]) -> Member:
        target = _to_unit(self.uncertainty_set, params)
        distances = [np.linalg.norm(_to_unit(self.uncertainty_set, m.params) - target) for m in self.members]
        return self.members[int(np.argmin(distances))]

    # --- persistence --------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Save the members' agents (SB3 models), indicators, models' parameters and the trace to one zip."""
        from stable_baselines3.common.base_class import BaseAlgorithm

        if any(not isinstance(member.agent, BaseAlgorithm) for member in self.members):
            raise PapergymError("only IWOCS agents whose members are SB3 models can be saved")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "inner": None if self.inner is None else f"{self.inner.__module__}:{self.inner.__qualname__}",
            "env": self.env if isinstance(self.env, str) else None,
            "uncertainty_set": self.uncertainty_set.as_dict(),
            "settings": {"max_iterations": self.max_iterations, "tolerance": self.tolerance,
                         "search_budget": self.search_budget, "search_episodes": self.search_episodes,
                         "value_episodes": self.value_episodes, "indicator_quantile": self.indicator_quantile,
                         "indicator_exploration": self.indicator_exploration,
                         "explained_ratio": self.explained_ratio, "indicator_features": self.indicator_features,
                         "dedup_tolerance": self.dedup_tolerance, "warm_start": self.warm_start,
                         "seed": self.seed},
            "members": [{"params": m.params, "returns": m.returns.tolist(),
                         "agent": f"{type(m.agent).__module__}:{type(m.agent).__qualname__}"} for m in self.members],
            "trace": [asdict(record) for record in self.trace],
            "num_timesteps": self.num_timesteps,
        }
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("iwocs.json", json.dumps(header, indent=2))
            for index, member in enumerate(self.members):
                buffer = io.BytesIO()
                member.agent.save(buffer)
                archive.writestr(f"agent_{index}.zip", buffer.getvalue())
                arrays = io.BytesIO()
                np.savez(arrays, **member.transitions.state())
                archive.writestr(f"transitions_{index}.npz", arrays.getvalue())

    @classmethod
    def load(cls, path: str | Path, env: EnvSource | None = None, device: str = "auto") -> IWOCS:
        """Load a saved IWOCS agent; ``env`` is needed only if it was not saved as an id."""
        with zipfile.ZipFile(Path(path)) as archive:
            header = json.loads(archive.read("iwocs.json"))
            inner = None if header["inner"] is None else _import_class(header["inner"])
            env = env if env is not None else header["env"]
            if env is None:
                raise PapergymError("env is required: the saved IWOCS agent was trained on an unnamed environment")
            iwocs = cls(inner, env, header["uncertainty_set"], **header["settings"])
            for index, saved in enumerate(header["members"]):
                agent = _import_class(saved["agent"]).load(io.BytesIO(archive.read(f"agent_{index}.zip")),
                                                           device=device)
                with np.load(io.BytesIO(archive.read(f"transitions_{index}.npz"))) as arrays:
                    transitions = TransitionModel.from_state(dict(arrays), iwocs.action_space)
                iwocs.members.append(Member(saved["params"], agent, np.asarray(saved["returns"]), transitions,
                                            *_critics(agent)))
        iwocs.trace = [IterationRecord(**record) for record in header["trace"]]
        iwocs.num_timesteps = int(header["num_timesteps"])
        return iwocs


def _import_class(name: str) -> type:
    module, qualname = name.split(":")
    return getattr(importlib.import_module(module), qualname)
