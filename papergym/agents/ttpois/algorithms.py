"""POIS (Metelli et al., NeurIPS 2018) and TT-POIS (Poiani, Metelli & Restelli, ICML 2023) as SB3 algorithms.

Each iteration collects a batch with the current (behaviour) policy, then maximises offline a lower
confidence bound on the return of a candidate policy estimated by importance sampling from that batch,

    L(theta') = J_hat(theta' / theta) - sqrt((1 - delta) / delta) * sqrt(Var_bound(theta' / theta)),

(Cantelli's inequality: ``J(theta') >= L(theta')`` with probability at least ``1 - delta``), by gradient
or natural-gradient steps with POIS's parabolic line search, and moves the policy to the optimum.

POIS spends the budget of ``Lambda`` transitions on ``Lambda // T`` full-length trajectories:
``J_hat = (1/N) sum_i w_i R_i`` with trajectory weights and ``Var_bound = ||R||_inf^2 d2 / N``
(``d2``: exponentiated 2-Rényi divergence of the trajectory distributions). TT-POIS collects the
trajectories of :func:`~papergym.agents.ttpois.allocation.robust_schedule` and uses the truncated,
per-decision estimate ``J_hat = sum_t gamma^t / n_t sum_{i: h_i > t} w_{0:t}^(i) r_t^(i)``. With
``b_t = r_max,t gamma^t / n_t`` (``r_max,t`` the largest ``|r_t|`` in the batch, as POIS takes the largest
``|R|``) and ``d2_{0:t}`` the divergence of the first ``t + 1`` steps, Cauchy-Schwarz gives
``E[(sum_t gamma^t w_{0:t} r_t / n_t)^2] <= (sum_t b_t) sum_t b_t d2_{0:t}`` per trajectory, so

    Var_bound = sum_i (sum_{t < h_i} b_t) (sum_{t < h_i} b_t d2_{0:t}).

With full-length trajectories and equal ``d2_{0:t}`` this is ``(sum_t gamma^t r_max,t)^2 d2 / N``, POIS's
bound with ``||R||_inf`` replaced by its per-step majorant; with a constant ``r_max,t`` it shrinks with the
schedule exactly as the Hoeffding width does (``sum_i (sum_{t < h_i} gamma^t / n_t)^2 = sum_t c_t / n_t``).

Action-based versions (policy ``"ActionPolicy"``) use per-step likelihood ratios and POIS's estimate of
``d2`` (per trajectory, the product of the per-state divergences, averaged). Parameter-based versions
(policy ``"HyperPolicy"``) draw one controller per trajectory from a Gaussian hyper-policy, use
self-normalised weights and the closed-form ``d2`` of the hyper-policies.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback
from stable_baselines3.common.utils import safe_mean

from papergym.agents.ttpois.allocation import TruncationSchedule, full_length_schedule, robust_schedule
from papergym.agents.ttpois.collection import TrajectoryBatch, TruncatedRollouts
from papergym.agents.ttpois.policies import ActionPolicy, HyperPolicy
from papergym.core.errors import PapergymError
from papergym.core.validation import require_int, require_real

SelfPOIS = TypeVar("SelfPOIS", bound="POIS")

#: Trajectories per iteration when no budget is given (the POIS paper's batch size).
DEFAULT_EPISODES_PER_ITERATION = 100


class POIS(BaseAlgorithm):
    """Policy Optimization via Importance Sampling, action-based or parameter-based.

    :param policy: ``"ActionPolicy"`` (A-POIS), ``"HyperPolicy"`` (P-POIS) or a policy class.
    :param env: the environment (or its id); its time limit is the horizon unless ``horizon`` is given.
    :param budget: transitions per iteration ``Lambda`` (POIS uses ``Lambda // horizon`` trajectories);
        default ``100 * horizon``.
    :param horizon: trajectory length ``T``; default the environment's ``max_episode_steps``.
    :param gamma: discount factor.
    :param delta: confidence of the bound: the penalty is ``sqrt((1 - delta) / delta)`` standard deviations.
    :param natural_gradient: ascend the natural gradient (Fisher matrix of the policy, or hyper-policy,
        at the behaviour parameters) instead of the plain gradient.
    :param max_offline_iterations: gradient steps on one batch at most.
    :param max_line_search_iterations: parabolic line-search trials per step at most.
    :param tolerance: stop the offline optimisation when a step improves the bound by less.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "ActionPolicy": ActionPolicy,
        "HyperPolicy": HyperPolicy,
    }
    policy: ActionPolicy | HyperPolicy

    def __init__(self, policy: str | type[BasePolicy], env: GymEnv | str, budget: int | None = None,
                 horizon: int | None = None, gamma: float = 0.99, delta: float = 0.4,
                 natural_gradient: bool = False, max_offline_iterations: int = 20,
                 max_line_search_iterations: int = 30, tolerance: float = 1e-4,
                 policy_kwargs: dict[str, Any] | None = None, stats_window_size: int = 100,
                 tensorboard_log: str | None = None, seed: int | None = None, verbose: int = 0,
                 device: th.device | str = "cpu", _init_setup_model: bool = True):
        if isinstance(env, str):  # SB3 would ask for render_mode="rgb_array", which not every env offers
            env = gym.make(env)
        super().__init__(policy, env, learning_rate=0.0, policy_kwargs=policy_kwargs,
                         stats_window_size=stats_window_size, tensorboard_log=tensorboard_log,
                         verbose=verbose, device=device, seed=seed, support_multi_env=True,
                         supported_action_spaces=(spaces.Box, spaces.Discrete))
        self.gamma = require_real("gamma", gamma, low=0.0, high=1.0, low_open=True)
        self.delta = require_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
        self.natural_gradient = bool(natural_gradient)
        self.max_offline_iterations = require_int("max_offline_iterations", max_offline_iterations, low=1)
        self.max_line_search_iterations = require_int("max_line_search_iterations",
                                                      max_line_search_iterations, low=1)
        self.tolerance = require_real("tolerance", tolerance, low=0.0)
        if env is not None:
            self.horizon = self._horizon(horizon)
            budget = DEFAULT_EPISODES_PER_ITERATION * self.horizon if budget is None else budget
            self.budget = require_int("budget", budget, low=self.horizon)
        if _init_setup_model:
            self._setup_model()

    def _horizon(self, horizon: int | None) -> int:
        limit = self.env.get_attr("spec", [0])[0]
        limit = None if limit is None else limit.max_episode_steps
        if horizon is None:
            if limit is None:
                raise PapergymError("horizon must be given for an environment without max_episode_steps")
            return require_int("horizon", limit, low=1)
        horizon = require_int("horizon", horizon, low=1)
        if limit is not None and horizon > limit:
            raise PapergymError(f"horizon must be <= the environment's max_episode_steps {limit}, got {horizon}")
        return horizon

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(self.observation_space, self.action_space, **self.policy_kwargs)
        self.policy = self.policy.to(self.device)
        self.schedule = self._make_schedule()

    def _make_schedule(self) -> TruncationSchedule:
        return full_length_schedule(self.budget, self.horizon, self.gamma)

    @property
    def parameter_based(self) -> bool:
        return isinstance(self.policy, HyperPolicy)

    # ----------------------------------------------------------------------------------- training loop
    def learn(self: SelfPOIS, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 1,
              tb_log_name: str = "POIS", reset_num_timesteps: bool = True,
              progress_bar: bool = False) -> SelfPOIS:
        total_timesteps, callback = self._setup_learn(total_timesteps, callback, reset_num_timesteps,
                                                      tb_log_name, progress_bar)
        callback.on_training_start(locals(), globals())
        while self.num_timesteps < total_timesteps:
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            data = self._collect(callback)
            if data is None:
                break
            self._optimize(data)
            self._n_updates += 1
            if log_interval is not None and self._n_updates % log_interval == 0:
                self._dump_logs()
        callback.on_training_end()
        return self

    def _collect(self, callback) -> dict[str, th.Tensor] | None:
        """Roll out the schedule with the behaviour policy; the batch as float64 tensors."""
        collector = TruncatedRollouts(self.env, self.schedule.lengths)
        weights = self.policy.sample_weights(len(self.schedule.lengths)) if self.parameter_based else None

        def act(observations: np.ndarray, trajectories: np.ndarray) -> np.ndarray:
            with th.no_grad():
                observations = th.as_tensor(observations, device=self.device)
                if weights is not None:
                    return self.policy.act(observations, weights[trajectories]).cpu().numpy()
                return self.policy.sample(observations).cpu().numpy()

        def on_step(infos: list, dones: np.ndarray) -> bool:
            self.num_timesteps += self.env.num_envs
            self._update_info_buffer(infos, dones)
            callback.update_locals({"infos": infos, "dones": dones})
            return callback.on_step()

        callback.on_rollout_start()
        batch = collector.collect(act, on_step)
        callback.on_rollout_end()
        if batch is None:
            return None
        self._log_batch(batch)
        return self._tensors(batch, weights)

    def _tensors(self, batch: TrajectoryBatch, weights: th.Tensor | None) -> dict[str, th.Tensor]:
        as64 = lambda array: th.as_tensor(array, dtype=th.float64, device=self.device)  # noqa: E731
        data = {"rewards": as64(batch.rewards), "reach": as64(batch.reach_mask),
                "steps": as64(batch.step_mask), "behaviour": self.policy.get_vector().double()}
        if weights is not None:
            data["weights"] = weights.double()
            return data
        data["observations"] = as64(batch.observations)
        data["actions"] = th.as_tensor(batch.actions, device=self.device)
        if not self.policy.discrete:
            data["actions"] = data["actions"].double()
        with th.no_grad():
            data["behaviour_log_prob"] = self.policy.log_prob(data["observations"], data["actions"],
                                                              data["behaviour"])
        return data

    # --------------------------------------------------------------------------------------- objective
    def surrogate(self, params: th.Tensor, data: dict[str, th.Tensor]) -> tuple[th.Tensor, dict[str, float]]:
        """The lower bound ``L(params)`` on the batch ``data`` and its parts (estimate, d2, penalty)."""
        penalty_scale = np.sqrt((1.0 - self.delta) / self.delta)
        discounts = self.gamma ** th.arange(data["rewards"].shape[1], dtype=th.float64)
        returns = (data["rewards"] * discounts).sum(dim=1)
        if self.parameter_based:
            log_weights = (self.policy.log_density(data["weights"], params)
                           - self.policy.log_density(data["weights"], data["behaviour"]))
            estimate = (th.softmax(log_weights, dim=0) * returns).sum()
            d2 = th.exp(self.policy.log_d2(params, data["behaviour"]))
        else:
            log_ratio = self._log_ratios(params, data)
            estimate = (th.exp(log_ratio.sum(dim=1)) * returns).mean()
            d2 = th.exp(self._log_d2_steps(params, data).sum(dim=1)).mean()
        penalty = penalty_scale * returns.abs().max() * th.sqrt(d2 / returns.numel())
        return estimate - penalty, {"estimate": float(estimate.detach()), "d2": float(d2.detach()),
                                    "penalty": float(penalty.detach())}

    def _log_ratios(self, params: th.Tensor, data: dict[str, th.Tensor]) -> th.Tensor:
        log_prob = self.policy.log_prob(data["observations"], data["actions"], params)
        return (log_prob - data["behaviour_log_prob"]) * data["steps"]

    def _log_d2_steps(self, params: th.Tensor, data: dict[str, th.Tensor]) -> th.Tensor:
        return self.policy.log_d2(data["observations"], params, data["behaviour"]) * data["steps"]

    def importance_weights(self, params: th.Tensor, data: dict[str, th.Tensor]) -> th.Tensor:
        """Per-decision weights ``w_{0:t}^(i)`` (``(N, T)``; constant in ``t`` for a hyper-policy)."""
        with th.no_grad():
            if self.parameter_based:
                log_weights = (self.policy.log_density(data["weights"], params)
                               - self.policy.log_density(data["weights"], data["behaviour"]))
                return th.exp(log_weights)[:, None].expand_as(data["rewards"])
            return th.exp(th.cumsum(self._log_ratios(params, data), dim=1))

    # ------------------------------------------------------------------------------------ optimisation
    def _optimize(self, data: dict[str, th.Tensor]) -> None:
        """Maximise the surrogate offline from the behaviour parameters; move the policy there."""
        params = data["behaviour"].clone()
        initial, parts = self.surrogate(params, data)
        bound = float(initial)
        steps_taken = 0
        for _ in range(self.max_offline_iterations):
            value, gradient = self._value_and_gradient(params, data)
            if not (np.isfinite(value) and th.all(th.isfinite(gradient))):
                break
            direction = self._direction(gradient, data) if self.natural_gradient else gradient
            squared_norm = float(gradient @ direction)
            if squared_norm <= 0:
                direction, squared_norm = gradient, float(gradient @ gradient)
            if np.sqrt(squared_norm) < self.tolerance:
                break
            params, improvement = self._parabolic_line_search(params, value, direction / squared_norm, data)
            steps_taken += 1
            bound = value + improvement
            if improvement < self.tolerance:
                break
        self.policy.set_vector(params)
        self.logger.record("train/bound_before", float(initial))
        self.logger.record("train/bound_after", bound)
        self.logger.record("train/estimate", parts["estimate"])
        self.logger.record("train/offline_steps", steps_taken)
        _, final_parts = self.surrogate(params, data)
        self.logger.record("train/d2", final_parts["d2"])
        self.logger.record("train/penalty", final_parts["penalty"])

    def _value_and_gradient(self, params: th.Tensor, data) -> tuple[float, th.Tensor]:
        params = params.detach().requires_grad_(True)
        value, _ = self.surrogate(params, data)
        (gradient,) = th.autograd.grad(value, params)
        return float(value.detach()), gradient.detach()

    def _bound_value(self, params: th.Tensor, data) -> float:
        with th.no_grad():
            return float(self.surrogate(params, data)[0])

    def _parabolic_line_search(self, params: th.Tensor, value: float, step: th.Tensor,
                               data) -> tuple[th.Tensor, float]:
        """POIS's line search along ``params + epsilon * step`` (``step`` scaled to unit predicted gain).

        The first-order model predicts an improvement ``epsilon``; a trial that gains ``g`` fits the
        parabola ``epsilon - c epsilon^2`` through it, whose maximiser is the next trial, unless the gain
        is close to linear (then epsilon doubles). Stops when a trial no longer improves on the last.
        """
        best, best_gain, last_gain, epsilon = params, 0.0, -np.inf, 1.0
        for _ in range(self.max_line_search_iterations):
            candidate = params + epsilon * step
            gain = self._bound_value(candidate, data) - value
            if not np.isfinite(gain) or gain <= last_gain + self.tolerance * 1e-2:
                break
            if gain > best_gain:
                best, best_gain = candidate, gain
            last_gain = gain
            epsilon = 2.0 * epsilon if gain > 0.75 * epsilon else epsilon**2 / (2.0 * (epsilon - gain))
        return best, best_gain

    def _direction(self, gradient: th.Tensor, data) -> th.Tensor:
        """``F^{-1} g`` by conjugate gradient on Fisher-vector products (Hessian of the KL at the behaviour)."""
        behaviour = data["behaviour"]

        def kl(params: th.Tensor) -> th.Tensor:
            if self.parameter_based:
                return self.policy.kl(behaviour, params)
            return self.policy.mean_kl(data["observations"], data["steps"], behaviour, params)

        def fisher_product(vector: th.Tensor) -> th.Tensor:
            return th.autograd.functional.hvp(kl, behaviour, vector)[1] + 1e-6 * vector

        return _conjugate_gradient(fisher_product, gradient, iterations=min(25, gradient.numel()))

    # ---------------------------------------------------------------------------------------- logging
    def _log_batch(self, batch: TrajectoryBatch) -> None:
        self.logger.record("rollout/trajectories", len(batch.lengths))
        self.logger.record("rollout/transitions", batch.n_transitions)
        self.logger.record("rollout/discounted_return_estimate",
                           self.schedule.estimate(batch.rewards, batch.lengths))

    def _dump_logs(self) -> None:
        elapsed = max((time.time_ns() - self.start_time) / 1e9, sys.float_info.epsilon)
        if len(self.ep_info_buffer) > 0:
            self.logger.record("rollout/ep_rew_mean", safe_mean([info["r"] for info in self.ep_info_buffer]))
            self.logger.record("rollout/ep_len_mean", safe_mean([info["l"] for info in self.ep_info_buffer]))
        self.logger.record("time/iterations", self._n_updates, exclude="tensorboard")
        self.logger.record("time/fps", int((self.num_timesteps - self._num_timesteps_at_start) / elapsed))
        self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(step=self.num_timesteps)


class TTPOIS(POIS):
    """POIS on truncated trajectories: the robust schedule of ``budget`` transitions, per-decision weights.

    Same arguments as :class:`POIS`; ``budget`` is spent by :func:`robust_schedule` instead of on
    full-length trajectories.
    """

    def _make_schedule(self) -> TruncationSchedule:
        return robust_schedule(self.budget, self.horizon, self.gamma)

    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 1,
              tb_log_name: str = "TTPOIS", reset_num_timesteps: bool = True,
              progress_bar: bool = False) -> TTPOIS:
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps,
                             progress_bar)

    def surrogate(self, params: th.Tensor, data: dict[str, th.Tensor]) -> tuple[th.Tensor, dict[str, float]]:
        penalty_scale = np.sqrt((1.0 - self.delta) / self.delta)
        step_weights = th.as_tensor(self.schedule.step_weights, dtype=th.float64, device=self.device)
        reach, rewards = data["reach"], data["rewards"]
        if self.parameter_based:
            log_weights = (self.policy.log_density(data["weights"], params)
                           - self.policy.log_density(data["weights"], data["behaviour"]))
            weights = th.exp(log_weights - log_weights.max())[:, None] * reach
            per_step = (weights * rewards).sum(dim=0) / weights.sum(dim=0)
            estimate = (self.gamma ** th.arange(len(per_step), dtype=th.float64) * per_step).sum()
            d2_prefix = th.exp(self.policy.log_d2(params, data["behaviour"])).expand(len(per_step))
        else:
            weights = th.exp(th.cumsum(self._log_ratios(params, data), dim=1))
            estimate = (weights * rewards * reach * step_weights).sum()
            prefix = th.exp(th.cumsum(self._log_d2_steps(params, data), dim=1)) * reach
            d2_prefix = prefix.sum(dim=0) / reach.sum(dim=0)
        scaled = reach * step_weights * rewards.abs().amax(dim=0)  # a_t r_max,t on the steps reached
        variance = (scaled.sum(dim=1) * (scaled * d2_prefix).sum(dim=1)).sum()
        penalty = penalty_scale * th.sqrt(variance)
        parts = {"estimate": float(estimate.detach()), "d2": float(d2_prefix[-1].detach()),
                 "penalty": float(penalty.detach())}
        return estimate - penalty, parts


def _conjugate_gradient(product: Callable[[th.Tensor], th.Tensor], target: th.Tensor,
                        iterations: int, tolerance: float = 1e-10) -> th.Tensor:
    """Solve ``product(x) = target`` for a symmetric positive-definite linear map."""
    solution = th.zeros_like(target)
    residual = target.clone()
    direction = residual.clone()
    residual_norm = residual @ residual
    for _ in range(iterations):
        if residual_norm < tolerance:
            break
        image = product(direction)
        step = residual_norm / (direction @ image)
        solution = solution + step * direction
        residual = residual - step * image
        new_norm = residual @ residual
        direction = residual + (new_norm / residual_norm) * direction
        residual_norm = new_norm
    return solution
