"""Wrappers for robust RL on parametric environments (see ``papergym.envs.robust``), RRLS-compatible.

* :class:`FixedParams`: one transition model for every episode (a static RL problem).
* :class:`DomainRandomization`: a model drawn uniformly from the uncertainty set at each reset.
* :class:`EmbeddedAdversary`: an adversary given to the wrapper (a function or a fixed policy) changes the
  model at every step; the agent's action space is the environment's.
* :class:`DynamicAdversarial`: the Robust RL Suite's (RRLS) adversarial setting (RRLS's name): the action is
  a pair (agent's action, nature's action in [-1, 1]^d mapped onto the uncertainty set), so that nature is
  trained alongside the agent; ``info`` holds ``adversarial_reward``.
* ``DynamicAdversary``: the former name of :class:`EmbeddedAdversary`, too close to RRLS's
  ``DynamicAdversarial`` for a wrapper that does something else; deprecated (a ``DeprecationWarning``).
* :class:`ProbabilisticActionRobust`: RRLS's action-robust setting (Tessler et al., 2019): the action
  applied is (1 - alpha) a_agent + alpha a_adversary.

Any environment with ``set_params(**params)`` and ``get_params()`` works (papergym's, RRLS's, or one's own),
wherever the methods sit in the wrapper stack (found with ``env.get_wrapper_attr``, so through
``gymnasium.make``'s wrappers); its uncertainty set is the one given (``uncertainty_set``, or RRLS's name
``params_bound``) or the environment's ``uncertainty_set``. Every wrapper here forwards ``set_params``,
``get_params`` and ``uncertainty_set``. A set is checked when the wrapper is built: an empty or inverted
box, or a bound the environment refuses (non-positive masses, values outside its documented range)
raises a ``ValueError`` naming the parameter.

Evaluation on models and grids (``evaluate_params``, ``evaluate_grid``) lives with the paper's agents in
:mod:`papergym.agents.robust`.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.core.agent import Agent
from papergym.core.errors import PapergymError
from papergym.core.validation import require_real
from papergym.envs.robust.parametric import UncertaintySet

EnvSource = str | gym.Env | Callable[[], gym.Env]


def _find(env: Any, name: str) -> Any:
    """The attribute ``name`` of the outermost layer of ``env`` that has it (None if no layer has it)."""
    if isinstance(env, gym.Env):
        try:
            return env.get_wrapper_attr(name)
        except AttributeError:
            return None
    return getattr(env, name, None)


def get_params(env: Any) -> dict[str, float]:
    """The environment's current parameters, wherever ``get_params`` sits in its wrapper stack."""
    method = _find(env, "get_params")
    if method is None:
        raise PapergymError(f"env has no get_params method: {env!r}")
    return {name: float(value) for name, value in method().items() if value is not None}


def set_params(env: Any, **params: float) -> None:
    """Change some parameters of the environment, wherever ``set_params`` sits in its wrapper stack."""
    method = _find(env, "set_params")
    if method is None:
        raise PapergymError(f"env has no set_params method: {env!r}")
    method(**params)


def is_parametric(env: Any) -> bool:
    """Whether ``env`` (through its wrappers) has ``set_params`` and ``get_params``."""
    return _find(env, "set_params") is not None and _find(env, "get_params") is not None


def require_parametric(env: gym.Env, uncertainty_set: Any = None) -> gym.Env:
    """``env`` itself if it has set/get_params and an uncertainty set (given or its own), else ``ValueError``."""
    if not is_parametric(env):
        raise PapergymError(f"env must be a parametric environment (with set_params and get_params), got {env!r}")
    if uncertainty_set is None and _find(env, "uncertainty_set") is None:
        raise PapergymError(f"env {env!r} has no uncertainty_set attribute: give the uncertainty set "
                            "(uncertainty_set or params_bound, {name: (low, high)})")
    return env


def resolve_uncertainty_set(env: gym.Env, uncertainty_set: Any = None) -> UncertaintySet:
    """The given set (checked against the environment now) or the environment's own set.

    Each bound is tried on the environment (``set_params``, then the parameters are restored), so a bound
    the environment refuses fails here, naming the parameter, not at a later reset.
    """
    if uncertainty_set is None:
        own = _find(env, "uncertainty_set")
        if own is None:
            raise PapergymError(f"env {env!r} has no uncertainty_set: give one ({{name: (low, high)}})")
        return UncertaintySet.from_dict(own)
    result = UncertaintySet.from_dict(uncertainty_set)
    known = get_params(env)
    unknown = set(result.names) - set(known)
    if unknown:
        raise PapergymError(f"uncertainty_set names unknown parameters {sorted(unknown)}; "
                            f"the environment's parameters are {sorted(known)}")
    _check_bounds(env, result, known)
    return result


def _check_bounds(env: gym.Env, uncertainty_set: UncertaintySet, original: dict[str, float]) -> None:
    try:
        for name, low, high in uncertainty_set.bounds:
            for value in (low, high):
                try:
                    set_params(env, **{name: value})
                except (ValueError, TypeError) as error:
                    raise PapergymError(f"uncertainty_set[{name!r}] = ({low}, {high}): the environment refuses "
                                        f"{name}={value}: {error}") from None
    finally:
        set_params(env, **{name: original[name] for name in uncertainty_set.names})


def _resolve(env: gym.Env, uncertainty_set: Any, params_bound: Any) -> UncertaintySet:
    if uncertainty_set is not None and params_bound is not None:
        raise PapergymError("give the uncertainty set once: uncertainty_set or params_bound (RRLS's name)")
    chosen = uncertainty_set if uncertainty_set is not None else params_bound
    return resolve_uncertainty_set(require_parametric(env, chosen), chosen)


def env_factory(env: EnvSource, **make_kwargs: Any) -> Callable[[], gym.Env]:
    """A zero-argument factory from an id (``gymnasium.make``), a factory, or an instance (deep-copied)."""
    if isinstance(env, str):
        return lambda: gym.make(env, **make_kwargs)
    if isinstance(env, gym.Env):
        return lambda: copy.deepcopy(env)
    if callable(env):
        return env
    raise PapergymError(f"env must be an environment id, a gymnasium.Env or a factory, got {env!r}")


class ParamsForwarding(gym.Wrapper):
    """A wrapper that forwards the parametric protocol (``set_params``, ``get_params``, ``uncertainty_set``)."""

    _uncertainty_set: UncertaintySet | None = None

    def set_params(self, **params: float) -> None:
        set_params(self.env, **params)

    def get_params(self) -> dict[str, float]:
        return get_params(self.env)

    @property
    def uncertainty_set(self) -> UncertaintySet | None:
        return self._uncertainty_set if self._uncertainty_set is not None else _find(self.env, "uncertainty_set")

    @property
    def params_bound(self) -> dict[str, tuple[float, float]] | None:
        """The uncertainty set under RRLS's name."""
        box = self.uncertainty_set
        return None if box is None else UncertaintySet.from_dict(box).as_dict()


class FixedParams(ParamsForwarding):
    """Every episode runs on the model ``params`` (applied at each reset, whatever changed them since)."""

    def __init__(self, env: gym.Env, params: Mapping[str, float]):
        super().__init__(env)
        if not is_parametric(env):
            raise PapergymError(f"env must be a parametric environment (with set_params and get_params), got {env!r}")
        self.params = {name: float(value) for name, value in params.items()}
        set_params(env, **self.params)  # validates the names and values now

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        set_params(self.env, **self.params)
        return self.env.reset(seed=seed, options=options)


class DomainRandomization(ParamsForwarding):
    """At each reset the model is drawn from the uncertainty set (uniformly, or by ``randomize_fn``).

    RRLS's signature: ``DomainRandomization(env, params_bound, randomize_fn)``, positionally or by name.
    ``randomize_fn(params_bound) -> params`` (RRLS's one-argument form) or ``randomize_fn(params_bound,
    rng)`` replaces the uniform draw; the parameters of the set it returns are clipped to the set.
    ``get_params()`` returns, as in RRLS, the parameters the wrapper last drew (or was last given with
    ``set_params``), not every parameter of the environment; before the first reset, the current values
    of the set's parameters.

    Differences from RRLS, both deliberate: the draws come from the wrapper's own generator, seeded by
    ``reset(seed=...)`` (RRLS draws from numpy's global generator), so a seeded sequence of episodes is
    reproducible; and the first draw happens at the first reset, not when the wrapper is built. The seed
    also goes to the environment's reset, as in RRLS, so the start state is the one the seed gives there.
    """

    def __init__(self, env: gym.Env, uncertainty_set: Any = None,
                 randomize_fn: Callable[..., Mapping[str, float]] | None = None, *, params_bound: Any = None):
        super().__init__(env)
        self._uncertainty_set = _resolve(env, uncertainty_set, params_bound)
        if randomize_fn is not None and not callable(randomize_fn):
            raise PapergymError(f"randomize_fn must be a function of (params_bound) or (params_bound, rng), "
                                f"got {randomize_fn!r}")
        self.randomize_fn = randomize_fn
        self._takes_rng = randomize_fn is not None and _accepts_positional(randomize_fn, 2)
        self._draws = np.random.default_rng()
        current = get_params(env)
        self.params = {name: current[name] for name in self._uncertainty_set.names}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # a stream of its own, independent of the start states the seed gives
            self._draws = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        self.params = self._draw()
        set_params(self.env, **self.params)
        return self.env.reset(seed=seed, options=options)

    def _draw(self) -> dict[str, float]:
        box = self._uncertainty_set
        if self.randomize_fn is None:
            return box.sample(self._draws)
        bounds = box.as_dict()
        drawn = dict(self.randomize_fn(bounds, self._draws) if self._takes_rng else self.randomize_fn(bounds))
        return {name: float(np.clip(value, *bounds[name])) if name in bounds else value
                for name, value in drawn.items()}

    def set_params(self, **params: float) -> None:
        set_params(self.env, **params)
        self.params = dict(params)

    def get_params(self) -> dict[str, float]:
        return dict(self.params)


def _accepts_positional(function: Callable[..., Any], count: int) -> bool:
    """Whether ``function`` can be called with ``count`` positional arguments."""
    try:
        inspect.signature(function).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature (some builtins): assume RRLS's one-argument form
        return False
    return True


def random_adversary(observation: np.ndarray, params: dict[str, float], uncertainty_set: UncertaintySet,
                     rng: np.random.Generator) -> dict[str, float]:
    """The default dynamic adversary: a fresh uniform draw from the set at every step."""
    return uncertainty_set.sample(rng)


class EmbeddedAdversary(ParamsForwarding):
    """The dynamic model of robust RL: before every step an adversary chooses the model's parameters.

    ``adversary`` is either a function ``(observation, params, uncertainty_set, rng) -> params`` (default:
    :func:`random_adversary`, drawing from the wrapper's generator) or an agent with SB3's ``predict``
    whose actions in [-1, 1]^d map linearly onto the box of the uncertainty set (to plug in an adversarial
    policy). The chosen parameters are clipped to the set; ``info`` reports them.
    """

    def __init__(self, env: gym.Env, adversary: Callable[..., Mapping[str, float]] | Agent | None = None,
                 uncertainty_set: Any = None, *, params_bound: Any = None):
        super().__init__(env)
        self._uncertainty_set = _resolve(env, uncertainty_set, params_bound)
        self.adversary = random_adversary if adversary is None else adversary
        if not (callable(self.adversary) or hasattr(self.adversary, "predict")):
            raise PapergymError(f"adversary must be a function or an agent with predict, got {adversary!r}")
        self._observation: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._observation, info = self.env.reset(seed=seed, options=options)
        return self._observation, info

    def step(self, action: Any):
        if self._observation is None:
            raise RuntimeError("call reset before step")
        params = self._uncertainty_set.clip(self._adversary_params())
        set_params(self.env, **params)
        self._observation, reward, terminated, truncated, info = self.env.step(action)
        info.update(params)
        return self._observation, reward, terminated, truncated, info

    def _adversary_params(self) -> Mapping[str, float]:
        box = self._uncertainty_set
        if hasattr(self.adversary, "predict"):
            action, _ = self.adversary.predict(self._observation, deterministic=True)
            return box.from_unit((np.clip(np.ravel(action), -1.0, 1.0) + 1.0) / 2.0)
        current = {name: get_params(self.env)[name] for name in box.names}
        return self.adversary(self._observation, current, box, self.np_random)


class DynamicAdversary(EmbeddedAdversary):
    """Deprecated name of :class:`EmbeddedAdversary` (the same wrapper); not RRLS's :class:`DynamicAdversarial`."""

    def __init__(self, env: gym.Env, adversary: Callable[..., Mapping[str, float]] | Agent | None = None,
                 uncertainty_set: Any = None, *, params_bound: Any = None):
        warnings.warn("DynamicAdversary is deprecated: use EmbeddedAdversary (the same wrapper; RRLS's "
                      "DynamicAdversarial, with nature's action in the agent's action, is another one)",
                      DeprecationWarning, stacklevel=2)
        super().__init__(env, adversary, uncertainty_set, params_bound=params_bound)


class DynamicAdversarial(ParamsForwarding):
    """RRLS's adversarial setting: the agent and nature act together, nature choosing the model each step.

    The action space is ``Tuple((agent's space, Box(-1, 1, (d,))))``; nature's action maps linearly onto
    the uncertainty set's box (-1 the lower bound, +1 the upper bound, one coordinate per parameter in the
    set's order) and is applied before the agent's action. The mapping is RRLS's formula evaluated in the
    action's own dtype (float32 for the space's samples), so the parameters equal RRLS's to the last bit.
    The reward is the agent's; ``info`` holds the parameters applied and ``adversarial_reward`` = -reward.
    Each reset restores the parameters the environment had when the wrapper was built.
    """

    def __init__(self, env: gym.Env, params_bound: Any = None, *, uncertainty_set: Any = None):
        super().__init__(env)
        self._uncertainty_set = _resolve(env, uncertainty_set, params_bound)
        self.default_params = get_params(env)
        nature = gym.spaces.Box(-1.0, 1.0, (self._uncertainty_set.dim,), dtype=np.float32)
        self.action_space = gym.spaces.Tuple((env.action_space, nature))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        set_params(self.env, **self.default_params)
        observation, info = self.env.reset(seed=seed, options=options)
        info.update(get_params(self.env))
        return observation, info

    def step(self, action: Any):
        agent_action, nature_action = _split_pair(action, self.action_space)
        params = {name: float(low + ((value + 1) * (high - low)) / 2)  # numpy scalars: the action's dtype
                  for (name, low, high), value in zip(self._uncertainty_set.bounds, nature_action)}
        set_params(self.env, **params)
        observation, reward, terminated, truncated, info = self.env.step(agent_action)
        info.update(params)
        info["adversarial_reward"] = -float(reward)
        return observation, reward, terminated, truncated, info


class ProbabilisticActionRobust(ParamsForwarding):
    """RRLS's action-robust setting (Tessler, Efroni and Mannor, 2019): the adversary's action is mixed in.

    The action space is ``Tuple((space, space))`` (agent, adversary) of a ``Box`` environment; the action
    applied is ``(1 - alpha) a_agent + alpha a_adversary``, computed in the actions' dtype as RRLS does.
    ``info`` holds both actions under RRLS's keys, ``"agent action"`` and ``"adversarial action"``, and
    ``adversarial_reward`` = -reward.
    """

    def __init__(self, env: gym.Env, alpha: float = 0.15):
        super().__init__(env)
        if not isinstance(env.action_space, gym.spaces.Box):
            raise PapergymError(f"ProbabilisticActionRobust needs a Box action space, got {env.action_space}")
        self.alpha = require_real("alpha", alpha, low=0.0, high=1.0)
        self.action_space = gym.spaces.Tuple((env.action_space, env.action_space))

    def step(self, action: Any):
        agent_action, adversary_action = _split_pair(action, self.action_space)
        blended = (1 - self.alpha) * np.asarray(agent_action) + self.alpha * adversary_action
        observation, reward, terminated, truncated, info = self.env.step(blended)
        info.update({"agent action": agent_action, "adversarial action": adversary_action,
                     "adversarial_reward": -float(reward)})
        return observation, reward, terminated, truncated, info


def _split_pair(action: Any, space: gym.spaces.Tuple) -> tuple[Any, Any]:
    if not isinstance(action, tuple | list) or len(action) != 2:
        raise PapergymError(f"the action must be a pair (agent's action, adversary's action) in {space}, "
                            f"got {action!r}")
    first, second = action
    second = np.asarray(second)
    if (second.dtype.kind not in "fiu" or second.shape != space[1].shape or not np.all(np.isfinite(second))
            or not space[1].contains(second.astype(space[1].dtype))):
        raise PapergymError(f"the adversary's action must lie in {space[1]}, got {action[1]!r}")
    return first, second
