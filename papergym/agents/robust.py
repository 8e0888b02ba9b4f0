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
    get_params,
    require_parametric,
    resolve_uncertainty_set,
)

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm


def _dare_gain(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Riccati gain K and the cost-to-go matrix P (the cost of state s is s'Ps) of a discrete system."""
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A), P


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
    controller pushes in its direction. ``cost_to_go`` is the Riccati matrix P: -s'Ps is the linearised
    model's value of state s, usable as the controller's critic (see :meth:`IWOCS.add_member`).
    """

    def values(self, observations: np.ndarray) -> np.ndarray:
        """The linearised model's value -s'Ps of each observation of a batch."""
        states = np.asarray(observations, dtype=np.float64).reshape(-1, 4)
        return -np.einsum("ni,ij,nj->n", states, self.cost_to_go, states)

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
        self.transition, self.push = np.eye(4) + tau * continuous_a, tau * continuous_b[:, 0]
        self.force_mag = force_mag
        self.gain, self.cost_to_go = _dare_gain(self.transition, self.push[:, None],
                                                np.diag([1.0, 1.0, 10.0, 1.0]), np.array([[0.1]]))

    def action_values(self, observations: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The linearised model's value of pushing with each action: -s'Ps of the state it leads to."""
        states = np.asarray(observations, dtype=np.float64).reshape(-1, 4)
        forces = np.where(np.asarray(actions).reshape(-1) == 1, self.force_mag, -self.force_mag)
        return self.values(states @ self.transition.T + forces[:, None] * self.push)

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
        self.gain, _ = _dare_gain(a, b, np.diag([1.0, 0.1]), np.array([[0.001]]))

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


class _TransitionRecorder(gym.Wrapper):
    """Keeps, per episode, every observation (the last one included) and every action taken."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.episodes: list[tuple[list[np.ndarray], list[np.ndarray]]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.episodes.append(([np.array(observation, copy=True)], []))
        return observation, info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        observations, actions = self.episodes[-1]
        observations.append(np.array(observation, copy=True))
        actions.append(np.array(action, copy=True))
        return observation, reward, terminated, truncated, info


@dataclass
class Episode:
    """One recorded episode: ``observations`` (T + 1 of them, the last one after the final step), ``actions`` (T)."""

    observations: np.ndarray
    actions: np.ndarray

    @property
    def visited(self) -> np.ndarray:
        """The observations the agent acted on."""
        return self.observations[:-1]


def evaluate_params(agent: Agent, env: EnvSource, params_list: Sequence[Mapping[str, float]],
                    n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True,
                    episodes: list[Episode] | None = None) -> np.ndarray:
    """Returns of ``agent`` on each model of ``params_list``: an array (len(params_list), n_episodes).

    Each model is evaluated by :func:`papergym.core.rollout.evaluate`: episode ``e`` of every model starts
    from ``reset(seed=seed + e)``, so all models share the same initial-state draws (common random numbers:
    differences between models are due to the models). ``episodes``, when given, receives every episode's
    observations and actions (models in order, then episodes).
    """
    n_episodes = require_int("n_episodes", n_episodes, low=1)
    if len(params_list) == 0:
        raise ValueError("params_list must hold at least one set of parameters, got an empty list")
    make = env_factory(env)
    returns = np.zeros((len(params_list), n_episodes))
    for row, params in enumerate(params_list):
        instance = _TransitionRecorder(FixedParams(make(), params))
        returns[row] = evaluate(agent, instance, n_episodes, seed=seed, deterministic=deterministic).returns
        instance.close()
        if episodes is not None:
            episodes.extend(Episode(np.stack(observations), np.stack(actions))
                            for observations, actions in instance.episodes)
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
    uncertainty_set = resolve_uncertainty_set(require_parametric(probe, uncertainty_set), uncertainty_set)
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
    """The inner SB3 algorithm; ``exploration_noise`` (a std, TD3's Gaussian noise) becomes its action noise."""
    _require_inner(inner)
    kwargs = {"verbose": 0, **(inner_kwargs or {})}
    noise = kwargs.pop("exploration_noise", None)
    if noise is not None:
        from stable_baselines3.common.noise import NormalActionNoise

        size = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(size), np.full(size, float(noise)))
    return inner(policy, env, seed=seed, **kwargs)


def train_on_params(inner: type, env: EnvSource, params: Mapping[str, float] | None,
                    total_timesteps: int, *, policy: Any = "MlpPolicy", seed: int = 0,
                    inner_kwargs: Mapping[str, Any] | None = None, callback: Any = None,
                    progress_bar: bool = False) -> BaseAlgorithm:
    """An SB3 agent trained on one fixed model: the nominal agent (``params=None`` keeps the environment's
    nominal parameters) or, with the worst corner, the worst-corner baseline."""
    instance = env_factory(env)()
    params = get_params(instance) if params is None else params
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
    instance = env_factory(env)()
    model = _make_inner(inner, policy, DomainRandomization(instance, uncertainty_set), seed, inner_kwargs)
    return _learn(model, total_timesteps, callback, progress_bar)


def worst_corner(agent: Agent, env: EnvSource, uncertainty_set: Any = None, n_episodes: int = 5,
                 seed: int = 0) -> dict[str, float]:
    """The corner of the uncertainty set where ``agent`` has its lowest mean return."""
    probe = require_parametric(env_factory(env)(), uncertainty_set)
    corners = resolve_uncertainty_set(probe, uncertainty_set).corners()
    returns = evaluate_params(agent, env, corners, n_episodes, seed=seed).mean(axis=1)
    return dict(corners[int(np.argmin(returns))])


# --- worst-case search ----------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """The lowest value found by a worst-case search, where, and every evaluation made (in order)."""

    params: dict[str, float]
    value: float
    evaluations: int
    history: list[tuple[dict[str, float], float]] = field(default_factory=list)
    restarts: int = 0


def cma_worst_case(objective: Callable[[list[dict[str, float]]], np.ndarray], uncertainty_set: UncertaintySet,
                   budget: int = 40, *, seed: int = 0, sigma0: float = 0.3, popsize: int | None = None,
                   candidates: list[dict[str, float]] | None = None, vertices: bool = True) -> SearchResult:
    """Minimise ``objective`` over the box of ``uncertainty_set``: the vertices, then CMA-ES with restarts.

    ``objective`` maps a list of parameter dicts to their values (a whole population at once).
    ``candidates`` (e.g. the models already solved) are evaluated first, in addition to the budget. Worst
    cases of physical parameter boxes often sit at a vertex, so the 2^d vertices are evaluated next (with
    ``vertices``; counted in the budget). CMA-ES (the ``cma`` package, in [0, 1]^d with its bound handling)
    then starts from the worst vertex (the centre without vertices) with step ``sigma0``; whenever it stops
    (a flat objective, e.g. a capped return, stops it after one generation) it restarts, from the next
    vertex in order of value and then from uniform random points, until ``budget`` evaluations are spent.
    The best point ever evaluated is returned (the first one among equal values). CMA-ES needs d >= 2: a
    1-D set is searched with a second, ignored coordinate.
    """
    import cma

    budget = require_int("budget", budget, low=2)
    dim = uncertainty_set.dim
    history: list[tuple[dict[str, float], float]] = []

    def evaluate_points(points: list[dict[str, float]]) -> np.ndarray:
        values = np.asarray(objective(points), dtype=np.float64)
        history.extend(zip(points, values.tolist()))
        return values

    if candidates:
        evaluate_points([dict(point) for point in candidates])
    limit = len(history) + budget
    starts: list[np.ndarray] = []
    if vertices:
        corners = uncertainty_set.corners()[:budget]
        corner_values = evaluate_points(corners)
        starts = [_to_unit(uncertainty_set, corners[i]) for i in np.argsort(corner_values, kind="stable")]
    else:
        starts = [np.full(dim, 0.5)]
    rng = np.random.default_rng(seed)
    restarts = 0
    while len(history) < limit:
        x0 = np.full(max(dim, 2), 0.5)
        x0[:dim] = starts[restarts] if restarts < len(starts) else rng.uniform(0.0, 1.0, dim)
        options = {"bounds": [0.0, 1.0], "seed": int(seed) + 1 + restarts, "verbose": -9,
                   "maxfevals": limit - len(history)}
        if popsize is not None:
            options["popsize"] = require_int("popsize", popsize, low=2)
        strategy = cma.CMAEvolutionStrategy(x0.tolist(), sigma0, options)
        while not strategy.stop() and len(history) < limit:
            population = strategy.ask()[: limit - len(history)]
            values = evaluate_points([uncertainty_set.from_unit(np.asarray(x)[:dim]) for x in population])
            if len(population) == strategy.popsize:
                strategy.tell(population, values.tolist())
        restarts += 1
    best = int(np.argmin([value for _, value in history]))
    return SearchResult(dict(history[best][0]), float(history[best][1]), len(history), history, restarts)


def _span(uncertainty_set: UncertaintySet) -> np.ndarray:
    return np.where(uncertainty_set.high > uncertainty_set.low, uncertainty_set.high - uncertainty_set.low, 1.0)


def _to_unit(uncertainty_set: UncertaintySet, params: Mapping[str, float]) -> np.ndarray:
    """Coordinates of ``params`` in [0, 1]^d (0 = lower bound, 1 = upper bound)."""
    return np.clip((uncertainty_set.to_vector(params) - uncertainty_set.low) / _span(uncertainty_set), 0.0, 1.0)


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


def action_values(model: BaseAlgorithm, observations: np.ndarray, actions: np.ndarray) -> np.ndarray | None:
    """Q(s, a) of an SB3 agent for a batch of observations and of actions in the environment's units, or
    None for an agent with a state-value function only (PPO, A2C).

    DQN-like: the Q-network's entry of the action; SAC/TD3/DDPG: the critic at the action rescaled to the
    actor's [-1, 1] (the minimum over the critic's heads, as SAC and TD3 use it).
    """
    import torch

    policy = model.policy
    if not _has_q_function(policy):
        return None
    tensor, _ = policy.obs_to_tensor(np.asarray(observations))
    with torch.no_grad():
        if hasattr(policy, "q_net"):
            indices = torch.as_tensor(np.asarray(actions, dtype=np.int64).reshape(-1, 1), device=policy.device)
            values = policy.q_net(tensor).gather(1, indices).flatten()
        else:
            scaled = policy.scale_action(np.asarray(actions, dtype=np.float32).reshape(len(tensor), -1))
            values = torch.cat(policy.critic(tensor, torch.as_tensor(scaled, device=policy.device)),
                               dim=1).min(dim=1).values
    return values.cpu().numpy().astype(np.float64)


def _has_q_function(policy: Any) -> bool:
    """Whether an SB3 policy has Q(s, a): a Q-network (DQN) or an actor's critic (SAC, TD3, DDPG)."""
    return hasattr(policy, "q_net") or (getattr(policy, "critic", None) is not None and hasattr(policy, "actor"))


def _critics(agent: BaseAlgorithm) -> tuple[Callable[[np.ndarray], np.ndarray],
                                             Callable[[np.ndarray, np.ndarray], np.ndarray] | None]:
    """An SB3 agent's Q(s, pi(s)) and, when it has a Q-function (not PPO or A2C), its Q(s, a)."""
    q_function = None
    if _has_q_function(agent.policy):
        q_function = lambda observations, actions: action_values(agent, observations, actions)  # noqa: E731
    return (lambda observations: critic_values(agent, observations)), q_function


def _action_features(action_space: gym.Space, actions: np.ndarray, count: int) -> np.ndarray:
    """Actions as regression features: one-hot for a discrete space, the flattened vector otherwise."""
    if isinstance(action_space, gym.spaces.Discrete):
        indices = np.asarray(actions, dtype=np.int64).reshape(count) - int(action_space.start)
        return np.eye(int(action_space.n))[indices]
    return np.asarray(actions, dtype=np.float64).reshape(count, -1)


#: Regression features of IWOCS's indicator: (s, a, 1), or with every product of two entries of (s, a) too.
INDICATOR_FEATURES = ("linear", "quadratic")


class TransitionModel:
    """IWOCS's in-distribution indicator: does one model's data explain the transitions observed?

    The paper decides, per member, whether the current state lies in the distribution its critic was
    trained on, with a predictive-coding model. This indicator predicts the next observation: a ridge
    regression of s' - s on (s, a, 1) (``features="linear"``) or on (s, a, 1) and the products of every two
    entries of (s, a) (``"quadratic"``), fitted on the member's own transitions on its own model. The error
    of a transition (s, a, s') is the root mean square over dimensions of the prediction error divided by
    ``scale`` (by default the spread of s' - s in the data; IWOCS gives every member the same scale, so
    that members' errors are comparable); ``threshold`` is the ``quantile`` of the errors on held-out
    episodes (each episode predicted by a fit on the others). A transition of another model (other
    masses, lengths or frictions) has larger errors, so the indicator also tells which members' models are
    consistent with the dynamics being experienced.
    """

    def __init__(self, episodes: list[Episode], action_space: gym.Space, quantile: float = 0.95,
                 ridge: float = 1e-6, scale: np.ndarray | None = None, features: str = "linear"):
        if len(episodes) < 2:
            raise ValueError(f"episodes must hold at least 2 episodes, got {len(episodes)}")
        if features not in INDICATOR_FEATURES:
            raise ValueError(f"features must be one of {', '.join(INDICATOR_FEATURES)}, got {features!r}")
        self.action_space, self.feature_kind = action_space, features
        self.quantile = require_real("quantile", quantile, low=0.0, high=1.0)
        self.ridge = float(ridge)
        data = [self._arrays(episode) for episode in episodes]
        features = np.concatenate([x for x, _ in data])
        targets = np.concatenate([y for _, y in data])
        self.coef = self._fit(features, targets)
        if scale is None:
            spread = targets.std(axis=0)
            scale = np.maximum(spread, 1e-6 * (1e-9 + spread.max()))
        self.scale = np.asarray(scale, dtype=np.float64)
        held_out = []
        for i, (x, y) in enumerate(data):
            others = [j for j in range(len(data)) if j != i]
            coef = self._fit(np.concatenate([data[j][0] for j in others]), np.concatenate([data[j][1] for j in others]))
            held_out.append(self._scaled_error(x, y, coef))
        self.threshold = float(np.quantile(np.concatenate(held_out), self.quantile))

    def _arrays(self, episode: Episode) -> tuple[np.ndarray, np.ndarray]:
        observations = np.asarray(episode.observations, dtype=np.float64).reshape(len(episode.observations), -1)
        return (self.features(observations[:-1], episode.actions), observations[1:] - observations[:-1])

    def features(self, observations: np.ndarray, actions: np.ndarray) -> np.ndarray:
        count = len(observations)
        inputs = np.hstack([np.asarray(observations, dtype=np.float64).reshape(count, -1),
                            _action_features(self.action_space, actions, count)])
        if self.feature_kind == "quadratic":
            rows, columns = np.triu_indices(inputs.shape[1])
            inputs = np.hstack([inputs, inputs[:, rows] * inputs[:, columns]])
        return np.hstack([inputs, np.ones((count, 1))])

    def _fit(self, features: np.ndarray, targets: np.ndarray) -> np.ndarray:
        gram = features.T @ features + self.ridge * np.eye(features.shape[1])
        return np.linalg.solve(gram, features.T @ targets)

    def _scaled_error(self, features: np.ndarray, targets: np.ndarray, coef: np.ndarray) -> np.ndarray:
        return np.sqrt((((targets - features @ coef) / self.scale) ** 2).mean(axis=1))

    def errors(self, observations: np.ndarray, actions: np.ndarray, next_observations: np.ndarray) -> np.ndarray:
        """The scaled prediction error of each transition of a batch."""
        observations = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        following = np.asarray(next_observations, dtype=np.float64).reshape(len(observations), -1)
        return self._scaled_error(self.features(observations, actions), following - observations, self.coef)

    def explains(self, observations: np.ndarray, actions: np.ndarray, next_observations: np.ndarray) -> np.ndarray:
        return self.errors(observations, actions, next_observations) <= self.threshold

    def state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "scale": self.scale, "threshold": np.array(self.threshold),
                "quantile": np.array(self.quantile), "ridge": np.array(self.ridge),
                "features": np.array(self.feature_kind)}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], action_space: gym.Space) -> TransitionModel:
        model = cls.__new__(cls)
        model.action_space = action_space
        model.coef, model.scale = np.asarray(state["coef"]), np.asarray(state["scale"])
        model.threshold, model.quantile = float(state["threshold"]), float(state["quantile"])
        model.ridge = float(state["ridge"])
        model.feature_kind = str(state["features"]) if "features" in state else "linear"
        return model


class _Exploring(BaseAgent):
    """``agent``'s deterministic action, replaced with probability ``epsilon`` by a uniformly random one.

    The indicator's data: a specialist that controls its model well visits a small neighbourhood of its
    trajectory, too little to identify the dynamics; its inner learner's own data are exploratory too.
    """

    def __init__(self, agent: Agent, observation_space: gym.Space, action_space: gym.Space, epsilon: float,
                 seed: int):
        super().__init__(observation_space, action_space, seed)
        self.agent, self.epsilon = agent, float(epsilon)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        actions = np.array(self.agent.predict(observations, deterministic=True)[0], copy=True)
        explore = self.rng.random(len(observations)) < self.epsilon
        if explore.any():
            actions[explore] = self._random(int(explore.sum())).reshape(actions[explore].shape)
        return actions

    def _random(self, count: int) -> np.ndarray:
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return int(space.start) + self.rng.integers(int(space.n), size=count)
        if isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
            return self.rng.uniform(space.low, space.high, size=(count, *space.shape)).astype(space.dtype)
        raise ValueError(f"IWOCS's indicator explores with uniform random actions: it needs a Discrete or "
                         f"bounded Box action space, got {space}")


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
    and accepts single or batched observations. Episode seeds: the search uses ``seed + 10_000 + e``, the
    members' values and the re-measurements ``seed + 20_000 + e``, the indicator's episodes
    ``seed + 30_000 + e``; evaluations held out from IWOCS should use other seeds.

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
            raise ValueError("solver must be a function params -> (agent, value_function[, q_function]), "
                             f"got {solver!r}")
        self.solver = solver
        self.policy, self.inner_kwargs = policy, dict(inner_kwargs or {})
        self.env = env
        self._make_env = env_factory(env)
        if uncertainty_set is not None and params_bound is not None:
            raise ValueError("give the uncertainty set once: uncertainty_set or params_bound (RRLS's name)")
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
            raise ValueError(f"indicator_features must be one of {', '.join(INDICATOR_FEATURES)}, "
                             f"got {indicator_features!r}")
        self.indicator_features = indicator_features
        self.dedup_tolerance = require_real("dedup_tolerance", dedup_tolerance, low=0.0, high=1.0)
        self.warm_start, self.seed, self.verbose = bool(warm_start), int(seed), int(verbose)
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
            raise ValueError("learn needs an inner SB3 algorithm class (inner=TD3, PPO, ...) or a solver")
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
        search = self.worst_case(seed=self.seed + 1000 * iteration)
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

    @property
    def _episode_seed(self) -> int:
        return self.seed + 10_000

    @property
    def _value_seed(self) -> int:
        return self.seed + 20_000

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
                              seed=self.seed + len(self.members))
        episodes: list[Episode] = []
        evaluate_params(explorer, self._make_env, [params], self.value_episodes, seed=self.seed + 30_000,
                        episodes=episodes)
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
        agent = _make_inner(self.inner, self.policy, environment, self.seed + index, self.inner_kwargs)
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
            raise ValueError("only IWOCS agents whose members are SB3 models can be saved")
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
                raise ValueError("env is required: the saved IWOCS agent was trained on an unnamed environment")
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
