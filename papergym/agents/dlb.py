"""DynLin-UCB and the baselines of "Dynamical Linear Bandits" (Mussi, Metelli & Restelli, ICML 2023).

Every agent is an online learner with ``act() -> action index`` and ``update(action, reward)``, and the
SB3 ``predict`` interface (driven by the environment's observation, which carries the last reward).
Their per-round logic is compiled with numba; :func:`simulate` runs an agent against the system for a
whole trial in compiled code (a million rounds in a fraction of a second), with the same step function as
``papergym/DynamicalLinearBandit-v0`` so that a simulation and a Gymnasium rollout with the same noise
agree exactly. The per-round work of the least-squares learners is O(d^2) (Sherman-Morrison updates of
the inverse Gram matrix), except D-LinUCB, whose discounted Gram matrix is not a rank-one update and is
inverted (Cholesky, O(d^3)) every round.

* :class:`DynLinUCB`: the paper's algorithm (Algorithm 1): epochs of length
  1 + floor(log m / log(1 / rho_bar)) hold one optimistic action; only each epoch's last reward enters
  the regularised least-squares estimate of the cumulative Markov parameter h.
* :class:`LinUCB` (OFUL, Abbasi-Yadkori et al. 2011, sigma-scaled radius), :class:`LinUCBUnitNoise` (the
  same regression with a fixed radius that takes the noise as 1-sub-Gaussian), :class:`DLinUCB` (Russac
  et al. 2019's discounted regression, as the authors run it for their lambda = 1 curve) and
  :class:`UndiscountedDLinUCB` (the authors' lambda = log T "D-LinUCB" curve: an undiscounted ridge
  regression whose radius carries D-LinUCB's discount factor): linear bandits that regress every reward on
  the current action, ignoring the dynamics.
* :class:`AR2` (Chen et al. 2023), :class:`Exp3`, :class:`BatchExp3`, :class:`UCB1`: the paper's
  baselines for non-stationary, adversarial and stochastic bandits.
* :class:`Expert` (a fixed allocation) and :class:`Clairvoyant` (always u* = argmax h'u).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit

from papergym.core.agent import BaseAgent
from papergym.core.errors import PapergymError
from papergym.core.linalg import dot, matvec, quadratic_form, sherman_morrison
from papergym.core.validation import require_choice, require_int, require_matrix, require_positive, require_real
from papergym.envs.dlb.dlb import dlb_spaces
from papergym.envs.dlb.dynamics import advance_system  # noqa: F401 (called by the generated trial loops)
from papergym.envs.dlb.model import DLBModel, spectral_radius, transient_constant

# --- compiled building blocks ------------------------------------------------------------------------


@njit(cache=True)
def epoch_length(epoch, rho_bar):
    """H_m = 1 + floor(log m / log(1 / rho_bar)): rounds that DynLin-UCB holds the action of epoch m >= 1.

    ``rho_bar = 0`` gives epochs of one round (no dynamics to wait for).
    """
    if rho_bar <= 0.0:
        return 1
    # The tiny offset keeps exact powers (m = rho_bar^-k) on the right side of the floor.
    return 1 + math.floor(math.log(epoch) / math.log(1.0 / rho_bar) + 1e-9)


@njit(cache=True)
def _argmax_random_tie(values, uniform):
    """Index of the largest value; ``uniform`` in [0, 1) picks among (numerically) tied maxima."""
    best = values.max()
    tolerance = 1e-12 * max(1.0, abs(best))
    ties = 0
    for value in values:
        if value >= best - tolerance:
            ties += 1
    pick = min(int(uniform * ties), ties - 1)
    for index in range(values.shape[0]):
        if values[index] >= best - tolerance:
            if pick == 0:
                return index
            pick -= 1
    return values.shape[0] - 1


@njit(cache=True)
def _optimistic_action(actions, estimate, v_inv, beta, uniform):
    """argmax_u <estimate, u> + beta ||u||_{V^-1} over the rows of ``actions``."""
    scores = np.empty(actions.shape[0])
    for k in range(actions.shape[0]):
        scores[k] = dot(actions[k], estimate) + beta * math.sqrt(quadratic_form(v_inv, actions[k]))
    return _argmax_random_tie(scores, uniform)


@njit(cache=True)
def _ridge_update(v_inv, b, estimate, u, reward):
    """Add the sample (u, reward) to the regularised least squares: Sherman-Morrison on V^-1, O(d^2)."""
    sherman_morrison(v_inv, u, np.empty(u.shape[0]))
    for i in range(u.shape[0]):
        b[i] += reward * u[i]
    matvec(v_inv, b, estimate)


@njit(cache=True)
def _spd_inverse(matrix, out):
    """Inverse of a symmetric positive-definite matrix through its Cholesky factor L: (L^-1)' L^-1."""
    d = matrix.shape[0]
    factor = np.zeros((d, d))
    for i in range(d):
        for j in range(i + 1):
            value = matrix[i, j]
            for k in range(j):
                value -= factor[i, k] * factor[j, k]
            factor[i, j] = math.sqrt(value) if i == j else value / factor[j, j]
    factor_inv = np.zeros((d, d))
    for i in range(d):
        factor_inv[i, i] = 1.0 / factor[i, i]
        for j in range(i):
            value = 0.0
            for k in range(j, i):
                value += factor[i, k] * factor_inv[k, j]
            factor_inv[i, j] = -value / factor[i, i]
    for i in range(d):
        for j in range(d):
            value = 0.0
            for k in range(max(i, j), d):
                value += factor_inv[k, i] * factor_inv[k, j]
            out[i, j] = value


# The trial loop calls an agent's kernels. Passed as arguments, compiled functions enter numba's cache key
# with an identity that changes in every process: the loop would be recompiled and a cache entry added by
# every process (until saving one fails). So each (act, update) pair gets its own loop, generated from this
# template, that calls the kernels as module globals: its cache key is then the same in every process.
_ROLLOUT_TEMPLATE = """
def {name}(state, params, allocations, A, B, omega, theta, noise_std, noise, uniforms, chosen):
    system_state = np.zeros(A.shape[0])
    for t in range(noise.shape[0]):
        action = {act}(state, params, t, uniforms[t])
        reward = advance_system(system_state, allocations[action], noise[t], A, B, omega, theta, noise_std)
        {update}(state, params, t, action, reward)
        chosen[t] = action
"""
_ROLLOUTS: dict[tuple[str, str], Any] = {}


def _compiled_rollout(act: Any, update: Any) -> Any:
    """The compiled trial loop of an agent's kernels (module-level functions of this module), cached on disk."""
    key = (act.__name__, update.__name__)
    if key not in _ROLLOUTS:
        if globals().get(key[0]) is not act or globals().get(key[1]) is not update:
            raise TypeError(f"agent kernels must be module-level functions of {__name__}, got {key}")
        name = f"_rollout_{key[0].strip('_')}_{key[1].strip('_')}"
        namespace: dict[str, Any] = {}
        # Compiled under this file's name: numba's cache locates (and invalidates) the entry by this source file.
        exec(compile(_ROLLOUT_TEMPLATE.format(name=name, act=key[0], update=key[1]), __file__, "exec"),
             globals(), namespace)
        function = namespace[name]
        function.__module__, function.__qualname__ = __name__, name
        _ROLLOUTS[key] = njit(cache=True)(function)
    return _ROLLOUTS[key]


# --- system bounds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemBounds:
    """The constants DynLin-UCB's confidence radius needs (the paper's Assumptions on stability and norms).

    ``rho_bar`` >= rho(A); ``phi`` >= sup_k ||A^k|| / rho_bar^k; ``omega_norm`` >= ||C'1||;
    ``theta_norm`` >= ||D'1||; ``b_norm`` >= ||B||_2; ``action_norm`` >= max ||u||; ``state_bound`` >= ||x||;
    ``reward_noise_std``: the sub-Gaussian scale the learner takes for the reward noise 1'eps;
    ``state_noise_std``: that of each coordinate of eta.
    """

    rho_bar: float
    phi: float
    omega_norm: float
    theta_norm: float
    b_norm: float
    action_norm: float
    state_bound: float
    reward_noise_std: float
    state_noise_std: float

    @classmethod
    def from_model(cls, model: DLBModel, rho_bar: float | None = None,
                   reward_noise_std: float | None = None) -> SystemBounds:
        """The constants of ``model`` that the paper's experiments give the learners.

        As in the authors' experiments, the state bound is action_norm / (1 - rho_bar), and the reward noise
        scale defaults to the noise std sigma of one output. The reward 1'y sums the m outputs, so its noise
        1'eps has std sigma sqrt(m) (sqrt(3) sigma on the paper's cases): the authors' learners, and ours by
        default, take it smaller than it is. Pass ``reward_noise_std=model.noise_std *
        math.sqrt(model.output_dim)`` for the exact scale.
        """
        rho_bar = model.spectral_radius if rho_bar is None else require_real(
            "rho_bar", rho_bar, low=spectral_radius(model.A), high=1.0, high_open=True)
        reward_noise_std = model.noise_std if reward_noise_std is None else require_real(
            "reward_noise_std", reward_noise_std, low=0.0)
        action_norm = float(np.linalg.norm(model.actions, axis=1).max())
        return cls(rho_bar=rho_bar, phi=transient_constant(model.A, rho_bar),
                   omega_norm=float(np.linalg.norm(model.omega)), theta_norm=float(np.linalg.norm(model.theta)),
                   b_norm=float(np.linalg.norm(model.B, 2)), action_norm=action_norm,
                   state_bound=action_norm / (1.0 - rho_bar),
                   reward_noise_std=reward_noise_std, state_noise_std=model.noise_std)

    @property
    def gain_bound(self) -> float:
        """Bound on ||h||: Theta + Omega B Phi / (1 - rho_bar) (the coefficient of sqrt(lambda))."""
        return self.theta_norm + self.omega_norm * self.b_norm * self.phi / (1.0 - self.rho_bar)

    @property
    def transient_bound(self) -> float:
        """U Omega Phi (U B / (1 - rho_bar) + X): scale of the bias the unfinished transient leaves in the
        last reward of an epoch (the coefficient of log(e t) / sqrt(lambda))."""
        return self.action_norm * self.omega_norm * self.phi * (
            self.action_norm * self.b_norm / (1.0 - self.rho_bar) + self.state_bound)

    @property
    def epoch_noise_var(self) -> float:
        """sigma_bar^2: the variance proxy of an epoch's last reward, the reward noise plus the state noise
        accumulated through the system, sigma_y^2 + sigma_x^2 Omega^2 Phi^2 / (1 - rho_bar^2)."""
        accumulated = (self.omega_norm * self.phi) ** 2 / (1.0 - self.rho_bar**2)
        return self.reward_noise_std**2 + self.state_noise_std**2 * accumulated


# --- the agents ----------------------------------------------------------------------------------------


class DLBAgent(BaseAgent):
    """Base of the paper's agents: compiled ``act``/``update`` kernels on a tuple of state arrays.

    Subclasses set ``self._params`` (a tuple of the kernels' constants) before calling this constructor and
    implement ``_initial_state``; ``act_kernel(state, params, round, uniform) -> action`` and
    ``update_kernel(state, params, round, action, reward)`` are numba functions.
    """

    act_kernel: Any
    update_kernel: Any

    def __init__(self, model: DLBModel, horizon: int, seed: int | None = None):
        observation_space, action_space = dlb_spaces(model)
        super().__init__(observation_space, action_space, seed)
        self.model = model
        self.horizon = require_int("horizon", horizon, low=1)
        self.reward_scale = model.reward_scale()
        self.reset()

    @classmethod
    def from_env(cls, env: gym.Env, **kwargs: Any) -> DLBAgent:
        """The agent for a ``papergym/DynamicalLinearBandit-v0`` environment (its model and horizon)."""
        unwrapped = env.unwrapped
        if not isinstance(getattr(unwrapped, "model", None), DLBModel):
            raise PapergymError(f"{cls.__name__} needs a DynamicalLinearBandit environment, got {unwrapped!r}")
        return cls(unwrapped.model, unwrapped.horizon, **kwargs)

    def _initial_state(self) -> tuple:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything learnt: a new trial starts."""
        self.state = self._initial_state()
        self.rounds_done = 0
        self._last_action: int | None = None

    def act(self) -> int:
        """The action index to play this round."""
        return int(type(self).act_kernel(self.state, self._params, self.rounds_done, self.rng.random()))

    def update(self, action: int, reward: float) -> None:
        """Learn from the reward of the action just played; call once after every ``act``."""
        type(self).update_kernel(self.state, self._params, self.rounds_done, int(action), float(reward))
        self.rounds_done += 1

    def predict(self, observation: Any, state: tuple[np.ndarray, ...] | None = None,
                episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's interface for one environment: learn from the reward in ``observation``, then act.

        The observation's first entry is the last reward over ``reward_scale``; a new episode (round 0 or
        ``episode_start``) resets the agent. The policies are what the paper defines, so
        ``deterministic`` is ignored (Exp3 samples, ties are broken at random).
        """
        observation = np.asarray(observation, dtype=np.float64)
        if observation.shape not in ((2,), (1, 2)):
            raise PapergymError("observation must be one DynamicalLinearBandit observation of shape (2,) or (1, 2) "
                             f"(a bandit agent learns one trial: use one agent per environment), got shape "
                             f"{observation.shape}")
        last_reward, progress = observation.reshape(2)
        starting = episode_start is not None and bool(np.asarray(episode_start).reshape(-1)[0])
        if starting or progress == 0.0 or self._last_action is None:
            self.reset()
        else:
            self.update(self._last_action, last_reward * self.reward_scale)
        self._last_action = self.act()
        action = np.int64(self._last_action)
        return (np.array([action]) if observation.ndim == 2 else action), state


@njit(cache=True)
def _dynlin_radius(params, rounds_done):
    """beta_t = c1 sqrt(lambda) + c2 / sqrt(lambda) log(e (t + 1))
    + sqrt(2 sigma_bar^2 (log(1 / delta) + d / 2 log(1 + t U^2 / (d lambda) f_t))), f_t = 1, or
    (1 - gamma^{2t}) / (1 - gamma^2) for :class:`UndiscountedDLinUCB` (``gamma`` < 1)."""
    actions, lam, _, gain_bound, transient_bound, noise_var, log_inv_delta, action_norm, gamma = params
    d = actions.shape[1]
    growth = rounds_done * action_norm**2 / (d * lam)
    if gamma < 1.0:
        growth *= math.expm1(2.0 * rounds_done * math.log(gamma)) / math.expm1(2.0 * math.log(gamma))
    information = log_inv_delta + 0.5 * d * math.log(1.0 + growth)
    return (gain_bound * math.sqrt(lam) + transient_bound / math.sqrt(lam) * math.log(math.e * (rounds_done + 1))
            + math.sqrt(2.0 * noise_var * information))


@njit(cache=True)
def _dynlin_act(state, params, rounds_done, uniform):
    v_inv, _, estimate, counters = state
    epoch, rounds_left, action = 0, 1, 2
    if counters[rounds_left] == 0:
        counters[epoch] += 1
        counters[rounds_left] = epoch_length(counters[epoch], params[2])
        beta = _dynlin_radius(params, rounds_done)
        counters[action] = _optimistic_action(params[0], estimate, v_inv, beta, uniform)
    return counters[action]


@njit(cache=True)
def _dynlin_update(state, params, rounds_done, action, reward):
    v_inv, b, estimate, counters = state
    counters[1] -= 1
    if counters[1] == 0:  # the epoch's last round: its reward is the (nearly) steady-state sample
        _ridge_update(v_inv, b, estimate, params[0][action], reward)


class DynLinUCB(DLBAgent):
    """DynLin-UCB (Mussi, Metelli & Restelli, 2023, Algorithm 1).

    Epoch m holds u_m = argmax_u <h_hat, u> + beta_{t-1} ||u||_{V^-1} for 1 + floor(log m / log(1/rho_bar))
    rounds; the reward of its last round updates V = lambda I + sum_m u_m u_m' and h_hat = V^-1 sum u_m y_m.
    beta_t is the paper's radius (see :func:`_dynlin_radius`) with the constants of :class:`SystemBounds`
    and delta = 1 / horizon.

    Arguments: ``model``, ``horizon``; ``lam`` (lambda, default 1; the paper also runs log T);
    ``rho_bar`` (default rho(A)); ``bounds`` (default the model's own constants); ``delta``; ``seed``
    (ties between equally optimistic actions are broken at random).
    """

    act_kernel = _dynlin_act
    update_kernel = _dynlin_update
    #: LinUCB reuses everything with epochs of one round and no transient term.
    waits_for_transient = True
    #: The discount factor in the radius of :class:`UndiscountedDLinUCB` (1: none).
    radius_gamma = 1.0

    def __init__(self, model: DLBModel, horizon: int, lam: float = 1.0, rho_bar: float | None = None,
                 bounds: SystemBounds | None = None, delta: float | None = None, seed: int | None = None):
        horizon = require_int("horizon", horizon, low=1)
        self.lam = require_positive("lam", lam)
        self.bounds = bounds if bounds is not None else SystemBounds.from_model(model, rho_bar)
        delta = 1.0 / horizon if delta is None else require_real("delta", delta, low=0.0, high=1.0,
                                                                low_open=True, high_open=True)
        waits = self.waits_for_transient
        self._params = (np.ascontiguousarray(model.actions), self.lam,
                        self.bounds.rho_bar if waits else 0.0, self.bounds.gain_bound,
                        self.bounds.transient_bound if waits else 0.0, self.bounds.epoch_noise_var,
                        math.log(1.0 / delta), self.bounds.action_norm, self.radius_gamma)
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        d = self.model.action_dim
        return (np.eye(d) / self.lam, np.zeros(d), np.zeros(d), np.zeros(3, dtype=np.int64))

    @property
    def estimate(self) -> np.ndarray:
        """The current estimate h_hat of the cumulative Markov parameter."""
        return self.state[2].copy()

    @property
    def epochs_completed(self) -> int:
        """Epochs whose last reward has entered the estimate."""
        return int(self.state[3][0]) - (1 if self.state[3][1] > 0 else 0)


class LinUCB(DynLinUCB):
    """LinUCB / OFUL (Abbasi-Yadkori et al., 2011): regress every reward on the action just played.

    beta_t = S sqrt(lambda) + sigma sqrt(2 log(1/delta) + d log(1 + t U^2 / (d lambda))) with the same
    constants as DynLin-UCB (S = its bound on ||h||, sigma^2 = sigma_bar^2): the sigma-scaled radius of the
    paper's lambda = log T curves (:class:`LinUCBUnitNoise` is the radius of its lambda = 1 curves). It
    ignores the dynamics, so a delayed effect is credited to whatever is played when it arrives.
    """

    waits_for_transient = False


class UndiscountedDLinUCB(LinUCB):
    """The authors' "D-LinUCB" of the lambda = log T curves: :class:`LinUCB`'s undiscounted ridge regression
    of every reward, whose radius takes D-LinUCB's effective number of samples into its logarithm,

        beta_t = S sqrt(lambda) + sigma_bar sqrt(2 log(1/delta) + d log(1 + t U^2 (1 - gamma^{2t})
                 / (d lambda (1 - gamma^2)))),

    with :class:`LinUCB`'s constants (marcomussi/DLB, ``LinearAgent`` with ``dlinucb=True``: the discount
    enters the radius only). For gamma -> 1 the factor tends to t, so the radius grows faster than
    LinUCB's: the same estimate, a little more exploration. ``gamma`` defaults to the authors' 1 - 1e-6.
    """

    def __init__(self, model: DLBModel, horizon: int, lam: float = 1.0, gamma: float = 1.0 - 1e-6,
                 rho_bar: float | None = None, bounds: SystemBounds | None = None, delta: float | None = None,
                 seed: int | None = None):
        self.radius_gamma = require_real("gamma", gamma, low=0.0, high=1.0, low_open=True, high_open=True)
        super().__init__(model, horizon, lam=lam, rho_bar=rho_bar, bounds=bounds, delta=delta, seed=seed)


@njit(cache=True)
def _fixed_radius_act(state, params, rounds_done, uniform):
    v_inv, _, estimate = state
    return _optimistic_action(params[0], estimate, v_inv, params[1], uniform)


@njit(cache=True)
def _every_round_update(state, params, rounds_done, action, reward):
    v_inv, b, estimate = state
    _ridge_update(v_inv, b, estimate, params[0][action], reward)


class LinUCBUnitNoise(DLBAgent):
    """LinUCB with a fixed radius that takes the noise as 1-sub-Gaussian (it ignores sigma):

        beta = ||1'D|| sqrt(lambda) + sqrt(2 log T + d log(1 + T M^2 / (d lambda))),

    M the largest total allocation (the daily budget), T the horizon; every reward updates the ridge
    estimate. This is the LinUCB of the paper's lambda = 1 curves (the authors' run); on the synthetic
    cases, whose noise std is 0.01-0.1, its radius is far wider than :class:`LinUCB`'s sigma-scaled one,
    so it explores much longer.
    """

    act_kernel = _fixed_radius_act
    update_kernel = _every_round_update

    def __init__(self, model: DLBModel, horizon: int, lam: float = 1.0, seed: int | None = None):
        horizon = require_int("horizon", horizon, low=1)
        self.lam = require_positive("lam", lam)
        d = model.action_dim
        self.largest_allocation = float(model.actions.sum(axis=1).max())
        self.radius = float(np.linalg.norm(model.theta)) * math.sqrt(self.lam) + math.sqrt(
            2.0 * math.log(horizon) + d * math.log(1.0 + horizon * self.largest_allocation**2 / (d * self.lam)))
        self._params = (np.ascontiguousarray(model.actions), self.radius)
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        d = self.model.action_dim
        return (np.eye(d) / self.lam, np.zeros(d), np.zeros(d))


@njit(cache=True)
def _dlinucb_regulariser(params, rounds_done):
    """lambda gamma^{-t}: the regulariser that D-LinUCB adds at round t (the authors' schedule)."""
    return params[1] * math.exp(-rounds_done * math.log(params[2]))


@njit(cache=True)
def _dlinucb_act(state, params, rounds_done, uniform):
    _, gram_tilde, _, estimate, v_inv = state
    actions, _, gamma, norm_bound, noise_std, log_inv_delta, action_bound = params
    d = actions.shape[1]
    regulariser = _dlinucb_regulariser(params, rounds_done)
    growth = action_bound**2 * math.expm1(2.0 * rounds_done * math.log(gamma)) / (
        d * regulariser * math.expm1(2.0 * math.log(gamma)))
    beta = norm_bound * math.sqrt(regulariser) + noise_std * math.sqrt(
        2.0 * log_inv_delta + d * math.log(1.0 + growth))
    scores = np.empty(actions.shape[0])
    direction = np.empty(d)
    for k in range(actions.shape[0]):
        matvec(v_inv, actions[k], direction)
        scores[k] = dot(actions[k], estimate) + beta * math.sqrt(quadratic_form(gram_tilde, direction))
    return _argmax_random_tie(scores, uniform)


@njit(cache=True)
def _dlinucb_update(state, params, rounds_done, action, reward):
    gram, gram_tilde, b, estimate, v_inv = state
    gamma = params[2]
    regulariser = _dlinucb_regulariser(params, rounds_done)
    u = params[0][action]
    d = u.shape[0]
    for i in range(d):
        for j in range(d):
            gram[i, j] = gamma * gram[i, j] + u[i] * u[j]
            gram_tilde[i, j] = gamma**2 * gram_tilde[i, j] + u[i] * u[j]
        gram[i, i] += (1.0 - gamma) * regulariser
        gram_tilde[i, i] += (1.0 - gamma**2) * regulariser
        b[i] = gamma * b[i] + reward * u[i]
    _spd_inverse(gram, v_inv)
    matvec(v_inv, b, estimate)


#: The largest log(1 / gamma) T that :class:`DLinUCB` accepts: its regulariser lambda gamma^{-t} must stay finite.
DLINUCB_MAX_LOG_GROWTH = 200.0


class DLinUCB(DLBAgent):
    """D-LinUCB (Russac, Vernade & Cappé, 2019) as the authors run it for their lambda = 1 curves
    (marcomussi/DLB, ``DLinUCBAgent``): rewards discounted by gamma per round,

        V_t = gamma V_{t-1} + u u' + (1 - gamma) lambda_t I,   b_t = gamma b_{t-1} + y u,   h_hat = V^-1 b,
        V~_t = gamma^2 V~_{t-1} + u u' + (1 - gamma^2) lambda_t I,   lambda_t = lambda gamma^{-t},

    index <h_hat, u> + beta_t ||u||_{V^-1 V~ V^-1} with beta_t = S sqrt(lambda_t)
    + sigma sqrt(2 log(1/delta) + d log(1 + L^2 (1 - gamma^{2t}) / (d lambda_t (1 - gamma^2)))).

    The authors' constants are the defaults: ``norm_bound`` S = ||D'1|| (the immediate gain only, not a bound
    on ||h||), ``noise_std`` sigma = the std of one output's noise, ``action_bound`` L = the largest total
    allocation (the daily budget), ``gamma`` = 1 - 1e-9 and delta = 1 / horizon; :class:`LinUCB`'s constants
    (``norm_bound=bounds.gain_bound``, ``noise_std=math.sqrt(bounds.epoch_noise_var)``,
    ``action_bound=bounds.action_norm``) give a wider radius. Over 10^6 rounds at gamma = 1 - 1e-9, lambda_t
    grows by 0.1%. Each round inverts V (Cholesky, O(d^3)): V is not a rank-one update of the last one.
    gamma is limited by log(1 / gamma) T <= 200 so that lambda_t stays finite.
    """

    act_kernel = _dlinucb_act
    update_kernel = _dlinucb_update

    def __init__(self, model: DLBModel, horizon: int, lam: float = 1.0, gamma: float = 1.0 - 1e-9,
                 norm_bound: float | None = None, noise_std: float | None = None, action_bound: float | None = None,
                 delta: float | None = None, seed: int | None = None):
        horizon = require_int("horizon", horizon, low=1)
        self.lam = require_positive("lam", lam)
        self.gamma = require_real("gamma", gamma, low=0.0, high=1.0, low_open=True, high_open=True)
        if horizon * -math.log(self.gamma) > DLINUCB_MAX_LOG_GROWTH:
            raise PapergymError(f"gamma = {gamma!r} is too small for horizon {horizon}: the regulariser lambda "
                                f"gamma^-t would reach exp({horizon * -math.log(self.gamma):.3g}); gamma must be "
                                f">= exp(-{DLINUCB_MAX_LOG_GROWTH:g} / horizon)")
        self.norm_bound = float(np.linalg.norm(model.theta)) if norm_bound is None else require_real(
            "norm_bound", norm_bound, low=0.0)
        self.noise_std = model.noise_std if noise_std is None else require_real("noise_std", noise_std, low=0.0)
        self.action_bound = float(model.actions.sum(axis=1).max()) if action_bound is None else require_positive(
            "action_bound", action_bound)
        delta = 1.0 / horizon if delta is None else require_real("delta", delta, low=0.0, high=1.0,
                                                                low_open=True, high_open=True)
        self._params = (np.ascontiguousarray(model.actions), self.lam, self.gamma, self.norm_bound,
                        self.noise_std, math.log(1.0 / delta), self.action_bound)
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        d = self.model.action_dim
        return (self.lam * np.eye(d), self.lam * np.eye(d), np.zeros(d), np.zeros(d), np.eye(d) / self.lam)

    @property
    def estimate(self) -> np.ndarray:
        """The current discounted estimate h_hat."""
        return self.state[3].copy()


@njit(cache=True)
def _exp3_act(state, params, rounds_done, uniform):
    gains, probabilities, counters, batch_reward = state
    gamma, eta, batch_size = params[0], params[1], params[4]
    if counters[1] == 0:
        n_arms = gains.shape[0]
        exponents = eta * gains
        weights = np.exp(exponents - exponents.max())
        probabilities[:] = (1.0 - gamma) * weights / weights.sum() + gamma / n_arms
        cumulative, arm = 0.0, n_arms - 1
        for k in range(n_arms):
            cumulative += probabilities[k]
            if uniform < cumulative:
                arm = k
                break
        counters[0], counters[1] = arm, batch_size
        batch_reward[0] = 0.0
    return counters[0]


@njit(cache=True)
def _exp3_update(state, params, rounds_done, action, reward):
    gains, probabilities, counters, batch_reward = state
    reward_offset, reward_range, batch_size = params[2], params[3], params[4]
    batch_reward[0] += reward
    counters[1] -= 1
    if counters[1] == 0:
        scaled = (batch_reward[0] / batch_size + reward_offset) / reward_range
        gains[action] += scaled / probabilities[action]


def _dlinucb_epochs(horizon: int, rho_bar: float) -> int:
    """The number of DynLin-UCB epochs that fill ``horizon`` rounds."""
    epochs, rounds = 0, 0
    while rounds < horizon:
        epochs += 1
        rounds += epoch_length(epochs, rho_bar)
    return epochs


class Exp3(DLBAgent):
    """Exp3 (Auer et al., 2002) tuned as in the paper's experiments.

    p = (1 - gamma) softmax(eta G) + gamma / K with gamma = min(1, sqrt(K ln K / ((e - 1) 2 T' / 3))),
    eta = gamma / K and T' the number of updates; G accumulates importance-weighted rewards rescaled
    to (r + 2M) / 4M, M = (Theta + Omega B / (1 - rho_bar)) U. ``batch_size`` rounds share one draw and
    their mean reward is one update (1 for Exp3).
    """

    act_kernel = _exp3_act
    update_kernel = _exp3_update

    def __init__(self, model: DLBModel, horizon: int, batch_size: int = 1, rho_bar: float | None = None,
                 bounds: SystemBounds | None = None, seed: int | None = None):
        horizon = require_int("horizon", horizon, low=1)
        self.batch_size = require_int("batch_size", batch_size, low=1)
        bounds = bounds if bounds is not None else SystemBounds.from_model(model, rho_bar)
        n_arms = model.n_actions
        updates = max(horizon / self.batch_size, 1.0)
        gamma = min(1.0, math.sqrt(n_arms * math.log(n_arms) / ((math.e - 1.0) * 2.0 * updates / 3.0)))
        reward_bound = (bounds.theta_norm + bounds.omega_norm * bounds.b_norm / (1.0 - bounds.rho_bar)) \
            * bounds.action_norm
        self._params = (gamma, gamma / n_arms, 2.0 * reward_bound, 4.0 * reward_bound, self.batch_size)
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        n_arms = self.model.n_actions
        return (np.zeros(n_arms), np.full(n_arms, 1.0 / n_arms), np.zeros(2, dtype=np.int64), np.zeros(1))


class BatchExp3(Exp3):
    """Exp3 on batches of rounds: one draw per batch, updated with the batch's mean reward.

    As in the paper's experiments, the batch is ceil(log M / log(1 / rho_bar)) rounds, M the number of
    DynLin-UCB epochs in the horizon: about the length of DynLin-UCB's last epochs.
    """

    def __init__(self, model: DLBModel, horizon: int, batch_size: int | None = None,
                 rho_bar: float | None = None, bounds: SystemBounds | None = None, seed: int | None = None):
        horizon = require_int("horizon", horizon, low=1)
        bounds = bounds if bounds is not None else SystemBounds.from_model(model, rho_bar)
        if batch_size is None:
            epochs = _dlinucb_epochs(horizon, bounds.rho_bar)
            batch_size = max(1, math.ceil(math.log(epochs) / math.log(1.0 / bounds.rho_bar))) \
                if bounds.rho_bar > 0 else 1
        super().__init__(model, horizon, batch_size=batch_size, bounds=bounds, seed=seed)


@njit(cache=True)
def _ucb1_act(state, params, rounds_done, uniform):
    sums, counts = state
    unplayed = np.where(counts == 0, 1.0, 0.0)
    if unplayed.max() > 0.0:  # every arm once first, in random order
        return _argmax_random_tie(unplayed, uniform)
    indices = sums / counts + params[0] * np.sqrt(2.0 * math.log(rounds_done) / counts)
    return _argmax_random_tie(indices, uniform)


@njit(cache=True)
def _ucb1_update(state, params, rounds_done, action, reward):
    sums, counts = state
    sums[action] += reward
    counts[action] += 1.0


class UCB1(DLBAgent):
    """UCB1 (Auer et al., 2002) over the K allocations: every arm once (in random order), then the largest
    mean + scale sqrt(2 ln t / n); ``scale`` defaults, as in the paper's code, to the noise std sigma."""

    act_kernel = _ucb1_act
    update_kernel = _ucb1_update

    def __init__(self, model: DLBModel, horizon: int, scale: float | None = None, seed: int | None = None):
        scale = model.noise_std if scale is None else require_real("scale", scale, low=0.0)
        self._params = (float(scale),)
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        return (np.zeros(self.model.n_actions), np.zeros(self.model.n_actions))


@njit(cache=True)
def _ar2_act(state, params, rounds_done, uniform):
    estimates, last_pulled, triggered_at, counters = state
    alpha, c1, noise_std = params[0], params[1], params[2]
    n_arms = estimates.shape[0]
    round_in_epoch, previous, before_previous, epoch_start = counters[0], counters[1], counters[2], counters[3]
    if round_in_epoch < n_arms:  # a new epoch starts by pulling every arm once, in random order
        return _argmax_random_tie(np.where(last_pulled <= epoch_start, 1.0, 0.0), uniform)
    t = rounds_done + 1
    superior = previous if estimates[previous] >= estimates[before_previous] else before_previous
    for arm in range(n_arms):
        if arm == superior or triggered_at[arm] >= 0:
            continue
        lag = t - last_pulled[arm] + 1
        width = noise_std * math.sqrt((alpha**2 - alpha ** (2 * lag)) / (1.0 - alpha**2))
        if estimates[superior] - estimates[arm] <= c1 * width:
            triggered_at[arm] = t
    never = 9223372036854775807
    earliest = never
    for arm in range(n_arms):
        if 0 <= triggered_at[arm] < earliest:
            earliest = triggered_at[arm]
    if t % 2 == 1 and earliest < never:  # odd rounds explore the earliest triggered arm
        candidates = np.where(triggered_at == earliest, 1.0, 0.0)
        arm = _argmax_random_tie(candidates, uniform)
    else:
        arm = superior
    if not params[4]:  # the "once" rule: an explored arm leaves the triggered set
        triggered_at[arm] = -1
    return arm


@njit(cache=True)
def _ar2_update(state, params, rounds_done, action, reward):
    estimates, last_pulled, triggered_at, counters = state
    alpha, epoch_size = params[0], params[3]
    estimates *= alpha
    estimates[action] = alpha * reward
    last_pulled[action] = rounds_done + 1
    counters[2], counters[1] = counters[1], action
    counters[0] += 1
    if counters[0] >= epoch_size:
        counters[0], counters[3] = 0, rounds_done + 1
        if not params[4]:
            triggered_at[:] = -1


#: AR2's trigger rules: "persistent" (an arm stays triggered once triggered: the rule of the authors' run
#: of AR2 in Mussi et al.'s experiments) and "once" (an explored arm leaves the triggered set and may be
#: triggered again).
AR2_TRIGGER_RULES = ("persistent", "once")


class AR2(DLBAgent):
    """AR2 (Chen, Golrezaei & Bouneffouf, 2023): alternating and restarting exploration for arms whose
    rewards follow AR(1) processes with coefficient alpha.

    Estimates decay by alpha each round (the pulled arm's becomes alpha y); an arm whose estimate is within
    c1 sigma sqrt((alpha^2 - alpha^{2(t - tau + 1)}) / (1 - alpha^2)) of the superior arm (the better of
    the last two pulled) is triggered; odd rounds pull the earliest triggered arm (ties at random), the
    others the superior arm; every ceil(K alpha^-3 sigma^-3) rounds an epoch restarts by pulling every arm
    once (in random order, so that no arm is favoured by its index). As in the paper's experiments,
    alpha = rho_bar, sigma = the noise std, c1 = 24 c0 with
    c0 = sqrt(4 log(1 / (alpha sigma)) + 4 log(epoch) + 2 log(4 K)).

    ``trigger_rule="persistent"`` (default) is the rule of the authors' run in Mussi et al.'s experiments:
    an arm, once triggered, stays triggered (also across restarts), so odd rounds keep exploring the
    arms triggered first; ``"once"`` removes an arm from the triggered set when it is explored (it can be
    triggered again at once if the width still exceeds its gap) and clears the set at every restart. With
    c1 ~ 250 and sigma = 0.01 the width exceeds every gap of the synthetic case: ``"once"`` then cycles
    through the arms (uniform play), ``"persistent"`` alternates between the first-triggered arms and the
    superior arm.
    """

    act_kernel = _ar2_act
    update_kernel = _ar2_update

    def __init__(self, model: DLBModel, horizon: int, alpha: float | None = None, noise_std: float | None = None,
                 trigger_rule: str = "persistent", seed: int | None = None):
        alpha = model.spectral_radius if alpha is None else require_real("alpha", alpha, low=0.0, high=1.0,
                                                                         high_open=True)
        noise_std = model.noise_std if noise_std is None else require_real("noise_std", noise_std, low=0.0)
        self.trigger_rule = require_choice("trigger_rule", trigger_rule, AR2_TRIGGER_RULES)
        n_arms = model.n_actions
        if alpha > 0.0 and noise_std > 0.0:
            epoch = min(math.ceil(n_arms * alpha**-3 * noise_std**-3), 2**62)
            c0 = math.sqrt(4.0 * math.log(1.0 / (alpha * noise_std)) + 4.0 * math.log(epoch)
                           + 2.0 * math.log(4.0 * n_arms))
        else:  # no dynamics or no noise: never restart, never trigger on width
            epoch, c0 = 2**62, 0.0
        self.epoch_size, self.c1 = int(epoch), 24.0 * c0
        self._params = (float(alpha), self.c1, float(noise_std), self.epoch_size,
                        self.trigger_rule == "persistent")
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        n_arms = self.model.n_actions
        return (np.zeros(n_arms), np.zeros(n_arms, dtype=np.int64), np.full(n_arms, -1, dtype=np.int64),
                np.array([0, n_arms - 1, max(n_arms - 2, 0), 0], dtype=np.int64))


@njit(cache=True)
def _fixed_act(state, params, rounds_done, uniform):
    return params[0]


@njit(cache=True)
def _fixed_update(state, params, rounds_done, action, reward):
    pass


class FixedAllocation(DLBAgent):
    """Plays the same action index every round."""

    act_kernel = _fixed_act
    update_kernel = _fixed_update

    def __init__(self, model: DLBModel, horizon: int, action: int, seed: int | None = None):
        self._params = (require_int("action", action, low=0, high=model.n_actions - 1),)
        super().__init__(model, horizon, seed)

    def _initial_state(self) -> tuple:
        return (np.zeros(1),)


class Clairvoyant(FixedAllocation):
    """Always u* = argmax_u h'u: the optimal policy, zero regret (it knows the system)."""

    def __init__(self, model: DLBModel, horizon: int, seed: int | None = None):
        super().__init__(model, horizon, model.optimal_action, seed)


class Expert(FixedAllocation):
    """The company's expert policy of the real-data case: a fixed allocation (see
    :func:`papergym.envs.dlb.expert_allocation`), which must be one of the model's actions."""

    def __init__(self, model: DLBModel, horizon: int, allocation: Any, seed: int | None = None):
        allocation = require_matrix("allocation", allocation, shape=(model.action_dim,))
        matches = np.flatnonzero(np.all(np.isclose(model.actions, allocation, atol=1e-12), axis=1))
        if matches.size == 0:
            raise PapergymError(f"allocation {allocation.tolist()} is not in the model's actions; add it as a row "
                             "of the environment's 'actions' argument")
        self.allocation = allocation
        super().__init__(model, horizon, int(matches[0]), seed)


# --- whole trials in compiled code -----------------------------------------------------------------------


def trial_noise(model: DLBModel, horizon: int, seed: int) -> np.ndarray:
    """The standard normal draws of one trial, (horizon, n + m), as the environment seeded with ``seed``
    draws them (state noise first, then output noise, round after round)."""
    return np.random.default_rng(seed).standard_normal((horizon, model.state_dim + model.output_dim))


def simulate(agent: DLBAgent, noise: np.ndarray, model: DLBModel | None = None) -> np.ndarray:
    """Run one trial of ``len(noise)`` rounds from a reset agent and x_0 = 0; return the actions played.

    ``model`` is the system played (default the agent's own); ``noise`` comes from :func:`trial_noise`.

    This is the paper's one evaluation loop outside :func:`papergym.core.rollout.evaluate`, and on purpose:
    a trial is 10^6 rounds of an online learner whose figure of merit is the regret during learning, so the
    whole loop (agent and system) runs in numba; a Python loop through ``evaluate`` would take hours per
    case. It draws the same noise and advances the system with the same step function as the environment
    reset with the seed of :func:`trial_noise`, so a user agent run through ``evaluate`` on that
    environment sees exactly the same trial.
    """
    model = agent.model if model is None else model
    noise = np.ascontiguousarray(noise, dtype=np.float64)
    if noise.ndim != 2 or noise.shape[1] != model.state_dim + model.output_dim:
        raise PapergymError(f"noise must have shape (rounds, {model.state_dim + model.output_dim}), got {noise.shape}")
    agent.reset()
    chosen = np.empty(noise.shape[0], dtype=np.int64)
    uniforms = agent.rng.random(noise.shape[0])
    rollout = _compiled_rollout(type(agent).act_kernel, type(agent).update_kernel)
    rollout(agent.state, agent._params, np.ascontiguousarray(model.actions), model.A, model.B, model.omega,
            model.theta, model.noise_std, noise, uniforms, chosen)
    agent.rounds_done = noise.shape[0]
    return chosen


def cumulative_regret(model: DLBModel, chosen: np.ndarray, optimal_value: float | None = None) -> np.ndarray:
    """The paper's cumulative regret sum_t (h'u* - h'u_t) of a sequence of action indices."""
    optimal_value = model.optimal_value if optimal_value is None else optimal_value
    return np.cumsum(optimal_value - model.steady_state_values[chosen])
