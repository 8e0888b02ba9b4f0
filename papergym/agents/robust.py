"""IWOCS (Incremental Worst-Case Search; Zouitine, Geist, Rachelson et al., 2024) and its baselines.

* :class:`IWOCS` solves a robust MDP with a static uncertainty set as a sequence of ordinary RL problems:
  it keeps a growing set of transition models, each solved by an SB3 algorithm, and adds at every
  iteration the model on which the current robust policy does worst, found by CMA-ES.
* Baselines: :func:`train_on_params` (the nominal agent, or the agent trained on any fixed model, e.g.
  the worst corner found by :func:`worst_corner`) and :func:`train_domain_randomization`.
* Model-based reference controllers that know the parameters (:class:`CartPoleLQR`,
  :class:`PendulumSwingUp`, and ``papergym.agents.lqg.LQROptimal`` for RobustLQG), used to show that
  every corner of the default uncertainty sets is solvable.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import scipy.linalg

from papergym.core.agent import Agent, BaseAgent
from papergym.core.rollout import evaluate
from papergym.core.validation import require_int, require_real
from papergym.envs.robust.parametric import UncertaintySet
from papergym.wrappers.robust import (
    DomainRandomization,
    EnvSource,
    FixedParams,
    env_factory,
    require_parametric,
    resolve_uncertainty_set,
)

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm


def _dare_gain(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> np.ndarray:
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)


def _require_params(env, kind: str, names: tuple[str, ...]) -> dict[str, float]:
    unwrapped = env.unwrapped
    if not hasattr(unwrapped, "get_params"):
        raise ValueError(f"{kind} needs a parametric environment (with get_params), got {unwrapped!r}")
    params = unwrapped.get_params()
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"{kind} needs the parameters {list(names)}; {unwrapped!r} lacks {missing}")
    return params


class CartPoleLQR(BaseAgent):
    """Bang-bang linear-quadratic controller of ``RobustCartPole`` for known parameters.

    The dynamics are linearised about the upright equilibrium (Gymnasium's equations, Euler step
    tau = 0.02 s); the Riccati gain K of the discretised system gives the desired force -K s, and the
    controller pushes in its direction.
    """

    def __init__(self, observation_space, action_space, masspole: float, length: float, masscart: float,
                 force_mag: float, gravity: float = 9.8, tau: float = 0.02):
        super().__init__(observation_space, action_space)
        total_mass = masspole + masscart
        denominator = length * (4.0 / 3.0 - masspole / total_mass)
        continuous_a = np.zeros((4, 4))
        continuous_a[0, 1] = continuous_a[2, 3] = 1.0
        continuous_a[3, 2] = gravity / denominator
        continuous_a[1, 2] = -masspole * length * gravity / (total_mass * denominator)
        continuous_b = np.array([0.0, 1.0 / total_mass + masspole * length / (total_mass**2 * denominator),
                                 0.0, -1.0 / (total_mass * denominator)])[:, None]
        self.gain = _dare_gain(np.eye(4) + tau * continuous_a, tau * continuous_b,
                               np.diag([1.0, 1.0, 10.0, 1.0]), np.array([[0.1]]))

    @classmethod
    def from_env(cls, env) -> CartPoleLQR:
        params = _require_params(env, "CartPoleLQR", ("masspole", "length", "masscart", "force_mag"))
        return cls(env.observation_space, env.action_space, params["masspole"], params["length"],
                   params["masscart"], params["force_mag"])

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        force = -np.asarray(observations, dtype=np.float64) @ self.gain.T
        return (force[:, 0] > 0.0).astype(np.int64)


class PendulumSwingUp(BaseAgent):
    """Energy-shaping swing-up and linear-quadratic balancing of ``RobustPendulum`` for known parameters.

    Far from upright the torque pumps energy towards that of the upright rest state (Astrom and
    Furuta, 2000): torque = clip(-k_E (E - E_top) theta_dot); within ``capture_angle`` of upright it
    switches to the Riccati gain of the model linearised about upright. Actions are normalised by the
    maximal torque, as the environment's action space is.
    """

    def __init__(self, observation_space, action_space, m: float, l: float, g: float,  # noqa: E741
                 max_torque: float = 2.0, dt: float = 0.05, capture_angle: float = 0.5,
                 energy_gain: float = 1.0):
        super().__init__(observation_space, action_space)
        self.m, self.l, self.g, self.max_torque = m, l, g, max_torque
        self.capture_angle, self.energy_gain = capture_angle, energy_gain
        inertia_inverse = 3.0 / (m * l**2)
        # Semi-implicit Euler of theta_ddot = 3 g / (2 l) theta + 3 / (m l^2) torque, state (theta, theta_dot).
        a = np.array([[1.0 + dt**2 * 1.5 * g / l, dt], [dt * 1.5 * g / l, 1.0]])
        b = np.array([[dt**2 * inertia_inverse], [dt * inertia_inverse]])
        self.gain = _dare_gain(a, b, np.diag([1.0, 0.1]), np.array([[0.001]]))

    @classmethod
    def from_env(cls, env) -> PendulumSwingUp:
        params = _require_params(env, "PendulumSwingUp", ("m", "l", "g"))
        return cls(env.observation_space, env.action_space, params["m"], params["l"], params["g"])

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float64)
        cos_theta, sin_theta, theta_dot = observations[:, 0], observations[:, 1], observations[:, 2]
        theta = np.arctan2(sin_theta, cos_theta)
        # Energy relative to the upright rest state: rotational (I = m l^2 / 3) plus potential.
        energy = self.m * self.l**2 / 6.0 * theta_dot**2 + self.m * self.g * self.l / 2.0 * (cos_theta - 1.0)
        pumping = -self.energy_gain * energy * np.sign(theta_dot + 1e-9) * self.max_torque
        balancing = -(np.stack([theta, theta_dot], axis=1) @ self.gain.T)[:, 0]
        torque = np.where(np.abs(theta) < self.capture_angle, balancing, pumping)
        return np.clip(torque / self.max_torque, -1.0, 1.0).astype(np.float32)[:, None]


# --- evaluation on given models and on a grid over the uncertainty set ----------------------------------


class _ObservationRecorder(gym.Wrapper):
    """Keeps, per episode, the observations an agent acted on (every observation but the last)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.episodes: list[list[np.ndarray]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.episodes.append([np.array(observation, copy=True)])
        return observation, info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated):
            self.episodes[-1].append(np.array(observation, copy=True))
        return observation, reward, terminated, truncated, info


def evaluate_params(agent: Agent, env: EnvSource, params_list: Sequence[Mapping[str, float]],
                    n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True,
                    visited: list[np.ndarray] | None = None) -> np.ndarray:
    """Returns of ``agent`` on each model of ``params_list``: an array (len(params_list), n_episodes).

    Each model is evaluated by :func:`papergym.core.rollout.evaluate`: episode ``e`` of every model starts
    from ``reset(seed=seed + e)``, so all models share the same initial-state draws (common random numbers:
    differences between models are due to the models). ``visited``, when given, receives one array per
    episode (models in order, then episodes) of the observations the agent acted on.
    """
    n_episodes = require_int("n_episodes", n_episodes, low=1)
    if len(params_list) == 0:
        raise ValueError("params_list must hold at least one set of parameters, got an empty list")
    make = env_factory(env)
    returns = np.zeros((len(params_list), n_episodes))
    for row, params in enumerate(params_list):
        instance = _ObservationRecorder(FixedParams(make(), params))
        returns[row] = evaluate(agent, instance, n_episodes, seed=seed, deterministic=deterministic).returns
        instance.close()
        if visited is not None:
            visited.extend(np.stack(episode) for episode in instance.episodes)
    return returns


@dataclass
class GridEvaluation:
    """Returns of an agent on a grid over an uncertainty set (``points[i]`` -> ``returns[i, episode]``)."""

    uncertainty_set: UncertaintySet
    points: list[dict[str, float]]
    returns: np.ndarray

    @property
    def mean_returns(self) -> np.ndarray:
        """The mean return at each grid point."""
        return self.returns.mean(axis=1)

    @property
    def worst_case(self) -> float:
        """The lowest mean return over the grid points."""
        return float(self.mean_returns.min())

    @property
    def worst_params(self) -> dict[str, float]:
        return dict(self.points[int(np.argmin(self.mean_returns))])

    @property
    def average(self) -> float:
        """The mean return over the grid points (the uniform average over the set)."""
        return float(self.mean_returns.mean())

    def rows(self) -> list[dict[str, float]]:
        """One row per grid point: its parameters and mean return (for a CSV file)."""
        return [{**point, "mean_return": float(value)} for point, value in zip(self.points, self.mean_returns)]


def evaluate_grid(agent: Agent, env: EnvSource, uncertainty_set: Any = None, points_per_dim: int = 5,
                  n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True) -> GridEvaluation:
    """Evaluate ``agent`` at every point of a grid over the uncertainty set (bounds included).

    The grid is :meth:`UncertaintySet.grid` (``points_per_dim`` values per parameter from the lower to
    the upper bound, both included); the default set is the environment's. Episodes are seeded as in
    :func:`evaluate_params`.
    """
    probe = env_factory(env)()
    uncertainty_set = resolve_uncertainty_set(require_parametric(probe), uncertainty_set)
    probe.close()
    points = uncertainty_set.grid(points_per_dim)
    returns = evaluate_params(agent, env, points, n_episodes, seed=seed, deterministic=deterministic)
    return GridEvaluation(uncertainty_set, points, returns)


# --- baselines: SB3 agents trained on one model or on domain randomisation ---------------------------


def _require_inner(inner: Any) -> type:
    from stable_baselines3.common.base_class import BaseAlgorithm

    if not (isinstance(inner, type) and issubclass(inner, BaseAlgorithm)):
        raise ValueError(f"inner must be a Stable-Baselines3 algorithm class (PPO, SAC, DQN...), got {inner!r}")
    return inner


def _make_inner(inner: type, policy: Any, env: Any, seed: int, inner_kwargs: Mapping[str, Any] | None):
    _require_inner(inner)
    kwargs = {"verbose": 0, **(inner_kwargs or {})}
    return inner(policy, env, seed=seed, **kwargs)


def train_on_params(inner: type, env: EnvSource, params: Mapping[str, float] | None,
                    total_timesteps: int, *, policy: Any = "MlpPolicy", seed: int = 0,
                    inner_kwargs: Mapping[str, Any] | None = None, callback: Any = None,
                    progress_bar: bool = False) -> BaseAlgorithm:
    """An SB3 agent trained on one fixed model: the nominal agent (``params=None`` keeps the environment's
    nominal parameters) or, with the worst corner, the worst-corner baseline."""
    instance = require_parametric(env_factory(env)())
    params = instance.unwrapped.get_params() if params is None else params
    model = _make_inner(inner, policy, FixedParams(instance, params), seed, inner_kwargs)
    return _learn(model, total_timesteps, callback, progress_bar)


def _learn(model: BaseAlgorithm, total_timesteps: int, callback: Any, progress_bar: bool) -> BaseAlgorithm:
    return model.learn(require_int("total_timesteps", total_timesteps, low=1), callback=callback,
                       progress_bar=progress_bar)


def train_domain_randomization(inner: type, env: EnvSource, total_timesteps: int, *,
                               uncertainty_set: Any = None, policy: Any = "MlpPolicy", seed: int = 0,
                               inner_kwargs: Mapping[str, Any] | None = None, callback: Any = None,
                               progress_bar: bool = False) -> BaseAlgorithm:
    """An SB3 agent trained with the model drawn uniformly from the uncertainty set at every episode."""
    instance = require_parametric(env_factory(env)())
    model = _make_inner(inner, policy, DomainRandomization(instance, uncertainty_set), seed, inner_kwargs)
    return _learn(model, total_timesteps, callback, progress_bar)


def worst_corner(agent: Agent, env: EnvSource, uncertainty_set: Any = None, n_episodes: int = 5,
                 seed: int = 0) -> dict[str, float]:
    """The corner of the uncertainty set where ``agent`` has its lowest mean return."""
    probe = require_parametric(env_factory(env)())
    corners = resolve_uncertainty_set(probe, uncertainty_set).corners()
    returns = evaluate_params(agent, env, corners, n_episodes, seed=seed).mean(axis=1)
    return dict(corners[int(np.argmin(returns))])


# --- worst-case search ----------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """The lowest value found by a worst-case search, where, and every evaluation made."""

    params: dict[str, float]
    value: float
    evaluations: int
    history: list[tuple[dict[str, float], float]] = field(default_factory=list)


def cma_worst_case(objective: Callable[[list[dict[str, float]]], np.ndarray], uncertainty_set: UncertaintySet,
                   budget: int = 40, *, seed: int = 0, sigma0: float = 0.3, popsize: int | None = None,
                   start: Mapping[str, float] | None = None,
                   candidates: list[dict[str, float]] | None = None) -> SearchResult:
    """Minimise ``objective`` over the box of ``uncertainty_set`` with CMA-ES (the ``cma`` package).

    ``objective`` maps a list of parameter dicts (one CMA-ES population) to their values, so a caller can
    evaluate a whole population at once. The search runs in [0, 1]^d (the box rescaled) with CMA-ES's
    bound handling, starts at ``start`` (default: the centre), and stops after ``budget`` evaluations.
    ``candidates`` (e.g. models already known to be hard) are evaluated first, in addition to the budget.
    The best point ever evaluated is returned. CMA-ES needs d >= 2: a 1-D set is searched with a second,
    ignored coordinate.
    """
    import cma

    budget = require_int("budget", budget, low=2)
    dim = uncertainty_set.dim
    x0 = np.full(max(dim, 2), 0.5)
    if start is not None:
        span = np.where(uncertainty_set.high > uncertainty_set.low, uncertainty_set.high - uncertainty_set.low, 1.0)
        x0[:dim] = np.clip((uncertainty_set.to_vector(start) - uncertainty_set.low) / span, 0.0, 1.0)
    options = {"bounds": [0.0, 1.0], "seed": int(seed) + 1, "maxfevals": budget, "verbose": -9}
    if popsize is not None:
        options["popsize"] = require_int("popsize", popsize, low=2)
    strategy = cma.CMAEvolutionStrategy(x0.tolist(), sigma0, options)
    history: list[tuple[dict[str, float], float]] = []
    if candidates:
        history += list(zip(candidates, np.asarray(objective(candidates), dtype=np.float64).tolist()))
    limit = len(history) + budget
    while not strategy.stop() and len(history) < limit:
        population = strategy.ask()[: limit - len(history)]
        params = [uncertainty_set.from_unit(np.asarray(x)[:dim]) for x in population]
        values = np.asarray(objective(params), dtype=np.float64)
        history += list(zip(params, values.tolist()))
        if len(population) == strategy.popsize:
            strategy.tell(population, values.tolist())
    best = int(np.argmin([value for _, value in history]))
    return SearchResult(dict(history[best][0]), float(history[best][1]), len(history), history)


# --- IWOCS ------------------------------------------------------------------------------------------------


def critic_values(model: BaseAlgorithm, observations: np.ndarray) -> np.ndarray:
    """Q(s, pi(s)) of an SB3 agent at each observation of a batch (the agent's own value of its action).

    DQN-like: max_a Q(s, a); SAC/TD3/DDPG: the critic at the deterministic action (minimum over the
    critic's heads, as SAC and TD3 use it); PPO/A2C: the state value V(s), whose expectation over the
    policy's action is Q(s, pi(s)).
    """
    import torch

    policy = model.policy
    tensor, _ = policy.obs_to_tensor(np.asarray(observations))
    with torch.no_grad():
        if hasattr(policy, "q_net"):
            values = policy.q_net(tensor).max(dim=1).values
        elif getattr(policy, "critic", None) is not None and hasattr(policy, "actor"):
            actions = policy._predict(tensor, deterministic=True)
            values = torch.cat(policy.critic(tensor, actions), dim=1).min(dim=1).values
        elif hasattr(policy, "predict_values"):
            values = policy.predict_values(tensor).flatten()
        else:
            raise ValueError(f"cannot read a critic from {type(model).__name__}; "
                             "IWOCS needs an SB3 algorithm with a Q-network, a critic or a value function")
    return values.cpu().numpy().astype(np.float64)


class StateCoverage:
    """Whether states are covered by the data a model's agent was trained for (IWOCS's indicator).

    The paper uses a predictive-coding indicator; this is the documented simpler density test. The data
    are episodes of the model's agent on its own model; each dimension is scaled by the data's standard
    deviation, and a state is covered when its distance to the nearest data point is at most the
    ``quantile`` of the distances from each episode's states to the nearest state of the *other*
    episodes. Holding out whole episodes calibrates the threshold on new trajectories: within one
    trajectory consecutive states are near-duplicates, and a leave-one-state-out threshold would call
    almost every new state uncovered.
    """

    def __init__(self, episodes: list[np.ndarray], quantile: float = 0.95, max_states: int = 2000,
                 seed: int = 0):
        if len(episodes) < 2:
            raise ValueError(f"episodes must hold at least 2 episodes of states, got {len(episodes)}")
        quantile = require_real("quantile", quantile, low=0.0, high=1.0)
        episodes = [np.asarray(e, dtype=np.float64).reshape(len(e), -1) for e in episodes]
        states = np.concatenate(episodes)
        self.scale = np.maximum(states.std(axis=0), 1e-6)
        rng = np.random.default_rng(seed)
        per_episode = max(1, max_states // len(episodes))
        episodes = [e[rng.choice(len(e), per_episode, replace=False)] if len(e) > per_episode else e
                    for e in episodes]
        held_out = [
            _nearest_distances(episode / self.scale,
                               np.concatenate([other for j, other in enumerate(episodes) if j != i]) / self.scale)
            for i, episode in enumerate(episodes)]
        self.states = np.concatenate(episodes) / self.scale
        self.threshold = float(np.quantile(np.concatenate(held_out), quantile))

    @classmethod
    def from_arrays(cls, states: np.ndarray, scale: np.ndarray, threshold: float) -> StateCoverage:
        coverage = cls.__new__(cls)
        coverage.states, coverage.scale, coverage.threshold = states, scale, float(threshold)
        return coverage

    def covers(self, observations: np.ndarray) -> np.ndarray:
        points = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1) / self.scale
        return _nearest_distances(points, self.states) <= self.threshold


def _nearest_distances(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Euclidean distance from each point to its nearest reference point (in chunks, to bound memory)."""
    distances = []
    for start in range(0, len(points), 256):
        chunk = points[start:start + 256]
        squared = ((chunk[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2)
        distances.append(np.sqrt(squared.min(axis=1)))
    return np.concatenate(distances) if distances else np.zeros(0)


@dataclass
class IterationRecord:
    """One IWOCS iteration: the worst case of the current robust policy and the two bounds."""

    iteration: int
    n_models: int
    worst_params: dict[str, float]
    lower_bound: float
    upper_bound: float
    search_evaluations: int
    timesteps: int

    @property
    def gap(self) -> float:
        return self.upper_bound - self.lower_bound

    def as_row(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "n_models": self.n_models, "lower_bound": self.lower_bound,
                "upper_bound": self.upper_bound, "gap": self.gap,
                "search_evaluations": self.search_evaluations, "timesteps": self.timesteps,
                **{f"worst_{name}": value for name, value in self.worst_params.items()}}


@dataclass
class _Member:
    params: dict[str, float]
    agent: BaseAlgorithm
    value: float
    coverage: StateCoverage


class IWOCS:
    """Incremental Worst-Case Search: a robust policy from a sequence of static RL problems.

    Under the static model (the transition model is drawn from the uncertainty set and fixed for an
    episode) the robust value is min over models of the optimal values, so IWOCS solves ordinary RL
    problems on a growing set of models:

    1. the set starts with the nominal model T0 (the environment's parameters, clipped into the set),
       solved by the inner SB3 algorithm;
    2. the robust policy pi_i acts, at each state, with the agent j whose critic value Q_j(s, pi_j(s))
       is lowest among the agents whose data cover s (:class:`StateCoverage`; all agents if none does);
    3. CMA-ES (:func:`cma_worst_case`) searches the set for the model on which pi_i has its lowest mean
       return over ``search_episodes`` seeded episodes (the models of the set are evaluated too, so the
       bound is never above pi_i's return on them): that return is the iteration's lower bound (an
       estimate of the worst-case value of pi_i), and the lowest of the set's agents' returns on their own
       models is the upper bound (an estimate of min over the set of the optimal values; it never
       increases, since the set only grows and each agent's value is measured once);
    4. IWOCS stops when upper - lower <= ``tolerance`` (never early if ``tolerance`` is None) or after
       ``max_iterations`` added models;
       otherwise it solves the worst model found, warm-started (optionally) from the agent of the
       closest model in the set, and adds it.

    ``learn(total_timesteps)`` splits the training budget evenly between the ``max_iterations + 1``
    inner problems. ``predict`` has SB3's signature and accepts single or batched observations.

    Arguments: ``inner`` an SB3 algorithm class with a critic (PPO, A2C, SAC, TD3, DDPG, DQN),
    ``env`` a parametric environment (id, instance or factory), ``uncertainty_set`` (default: the
    environment's), ``policy`` and ``inner_kwargs`` for the inner algorithm, ``search_budget`` CMA-ES
    evaluations per iteration, ``search_episodes`` episodes per evaluation, ``value_episodes`` episodes
    (>= 2) to measure each agent on its model (also the coverage data), ``coverage_quantile``, ``warm_start``,
    ``seed``.
    """

    def __init__(self, inner: type, env: EnvSource, uncertainty_set: Any = None, *,
                 policy: Any = "MlpPolicy", inner_kwargs: Mapping[str, Any] | None = None,
                 max_iterations: int = 5, tolerance: float | None = 0.0, search_budget: int = 40,
                 search_episodes: int = 3, value_episodes: int = 10, coverage_quantile: float = 0.95,
                 warm_start: bool = True, seed: int = 0, verbose: int = 0):
        self.inner, self.policy, self.inner_kwargs = _require_inner(inner), policy, dict(inner_kwargs or {})
        self.env = env
        self._make_env = env_factory(env)
        probe = require_parametric(self._make_env())
        self.uncertainty_set = resolve_uncertainty_set(probe, uncertainty_set)
        self.nominal_params = self.uncertainty_set.clip(probe.unwrapped.get_params())
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        self.max_iterations = require_int("max_iterations", max_iterations, low=0)
        self.tolerance = None if tolerance is None else require_real("tolerance", tolerance)
        self.search_budget = require_int("search_budget", search_budget, low=2)
        self.search_episodes = require_int("search_episodes", search_episodes, low=1)
        self.value_episodes = require_int("value_episodes", value_episodes, low=2)
        self.coverage_quantile = require_real("coverage_quantile", coverage_quantile, low=0.0, high=1.0)
        self.warm_start, self.seed, self.verbose = bool(warm_start), int(seed), int(verbose)
        self.members: list[_Member] = []
        self.trace: list[IterationRecord] = []
        self.num_timesteps = 0

    # --- the robust policy ------------------------------------------------------------------------------
    def selected_members(self, observations: np.ndarray) -> np.ndarray:
        """Index of the agent that acts at each observation of a batch (step 2 of the method)."""
        if not self.members:
            raise RuntimeError("IWOCS has no trained agent yet: call learn() or load()")
        values = np.stack([critic_values(member.agent, observations) for member in self.members])
        covered = np.stack([member.coverage.covers(observations) for member in self.members])
        covered[:, ~covered.any(axis=0)] = True  # nobody covers the state: minimum over all agents
        return np.argmin(np.where(covered, values, np.inf), axis=0)

    def predict(self, observation: Any, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        observation = np.asarray(observation)
        single = observation.shape == tuple(self.observation_space.shape)
        batch = observation[None] if single else observation
        if len(self.members) == 1:
            actions = self.members[0].agent.predict(batch, deterministic=deterministic)[0]
        else:
            chosen = self.selected_members(batch)
            candidates = np.stack([member.agent.predict(batch, deterministic=deterministic)[0]
                                   for member in self.members])
            actions = candidates[chosen, np.arange(len(batch))]
        return (actions[0] if single else actions), state

    # --- learning -----------------------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: Any = None, progress_bar: bool = False,
              on_iteration: Callable[[IterationRecord], None] | None = None) -> IWOCS:
        """Run IWOCS from scratch. ``callback`` goes to every inner ``learn``; ``on_iteration`` receives each
        iteration's record as soon as it is known (to log the trace as it goes)."""
        total_timesteps = require_int("total_timesteps", total_timesteps, low=self.max_iterations + 1)
        steps_per_model = total_timesteps // (self.max_iterations + 1)
        self.members, self.trace, self.num_timesteps = [], [], 0
        self._add_member(self.nominal_params, steps_per_model, callback, progress_bar)
        for iteration in range(self.max_iterations + 1):
            search = self.worst_case(seed=self.seed + 1000 * iteration)
            record = IterationRecord(iteration, len(self.members), search.params, search.value,
                                     min(member.value for member in self.members), search.evaluations,
                                     self.num_timesteps)
            self.trace.append(record)
            if on_iteration is not None:
                on_iteration(record)
            if self.verbose:
                print(f"IWOCS iteration {iteration}: lower {record.lower_bound:.4g} upper "
                      f"{record.upper_bound:.4g} worst {search.params}")
            converged = self.tolerance is not None and record.gap <= self.tolerance
            if converged or iteration == self.max_iterations:
                break
            self._add_member(search.params, steps_per_model, callback, progress_bar)
        return self

    @property
    def _episode_seed(self) -> int:
        # Every evaluation (searches and the agents' values) starts its episodes from the same seeds.
        return self.seed + 10_000

    def worst_case(self, budget: int | None = None, seed: int | None = None) -> SearchResult:
        """CMA-ES search (seeded by ``seed``) for the model where the current robust policy does worst."""

        def mean_returns(params: list[dict[str, float]]) -> np.ndarray:
            returns = evaluate_params(self, self._make_env, params, self.search_episodes, seed=self._episode_seed)
            return returns.mean(axis=1)

        return cma_worst_case(mean_returns, self.uncertainty_set, budget or self.search_budget,
                              seed=self.seed if seed is None else seed,
                              candidates=[dict(member.params) for member in self.members])

    def _add_member(self, params: dict[str, float], timesteps: int, callback: Any, progress_bar: bool) -> None:
        index = len(self.members)
        environment = FixedParams(self._make_env(), params)
        agent = _make_inner(self.inner, self.policy, environment, self.seed + index, self.inner_kwargs)
        if self.warm_start and self.members:
            agent.set_parameters(self._closest(params).agent.get_parameters(), exact_match=True)
        agent.learn(timesteps, callback=callback, progress_bar=progress_bar)
        self.num_timesteps += timesteps
        visited: list[np.ndarray] = []
        returns = evaluate_params(agent, self._make_env, [params], self.value_episodes,
                                  seed=self._episode_seed, visited=visited)
        coverage = StateCoverage(visited, self.coverage_quantile, seed=self.seed + index)
        self.members.append(_Member(dict(params), agent, float(returns.mean()), coverage))

    def _closest(self, params: Mapping[str, float]) -> _Member:
        span = np.where(self.uncertainty_set.high > self.uncertainty_set.low,
                        self.uncertainty_set.high - self.uncertainty_set.low, 1.0)
        target = self.uncertainty_set.to_vector(params) / span
        distances = [np.linalg.norm(self.uncertainty_set.to_vector(m.params) / span - target) for m in self.members]
        return self.members[int(np.argmin(distances))]

    # --- persistence --------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Save the agents, their coverage data, the models' parameters and the trace to one zip file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "inner": f"{self.inner.__module__}:{self.inner.__qualname__}",
            "env": self.env if isinstance(self.env, str) else None,
            "uncertainty_set": self.uncertainty_set.as_dict(),
            "settings": {"max_iterations": self.max_iterations, "tolerance": self.tolerance,
                         "search_budget": self.search_budget, "search_episodes": self.search_episodes,
                         "value_episodes": self.value_episodes, "coverage_quantile": self.coverage_quantile,
                         "warm_start": self.warm_start, "seed": self.seed},
            "members": [{"params": m.params, "value": m.value} for m in self.members],
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
                np.savez(arrays, states=member.coverage.states, scale=member.coverage.scale,
                         threshold=member.coverage.threshold)
                archive.writestr(f"coverage_{index}.npz", arrays.getvalue())

    @classmethod
    def load(cls, path: str | Path, env: EnvSource | None = None, device: str = "auto") -> IWOCS:
        """Load a saved IWOCS agent; ``env`` is needed only if it was not saved as an id."""
        with zipfile.ZipFile(Path(path)) as archive:
            header = json.loads(archive.read("iwocs.json"))
            module, name = header["inner"].split(":")
            inner = getattr(importlib.import_module(module), name)
            env = env if env is not None else header["env"]
            if env is None:
                raise ValueError("env is required: the saved IWOCS agent was trained on an unnamed environment")
            iwocs = cls(inner, env, header["uncertainty_set"], **header["settings"])
            for index, saved in enumerate(header["members"]):
                agent = inner.load(io.BytesIO(archive.read(f"agent_{index}.zip")), device=device)
                with np.load(io.BytesIO(archive.read(f"coverage_{index}.npz"))) as arrays:
                    coverage = StateCoverage.from_arrays(arrays["states"], arrays["scale"],
                                                         float(arrays["threshold"]))
                iwocs.members.append(_Member(saved["params"], agent, float(saved["value"]), coverage))
        iwocs.trace = [IterationRecord(**record) for record in header["trace"]]
        iwocs.num_timesteps = int(header["num_timesteps"])
        return iwocs
