"""The two policy families of POIS, as SB3 policies whose parameters are one flat vector.

* :class:`ActionPolicy` (action-based POIS): a Gaussian policy ``N(mu_theta(s), diag(exp(log_std))^2)``
  for ``Box`` actions, a softmax policy over ``logits_theta(s)`` for ``Discrete`` actions.
* :class:`HyperPolicy` (parameter-based POIS): a Gaussian hyper-policy ``N(mu, diag(sigma^2))`` over the
  weights ``theta`` of a deterministic controller; one ``theta`` is drawn per trajectory.

Both controllers are linear (``net_arch=[]``, the papers' default) or a small MLP, evaluated from a flat
weight vector by :class:`Controller`, so the importance-weighted surrogate is a differentiable function
of one vector and a batch of trajectories can each carry its own controller weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim, get_flattened_obs_dim
from torch import nn

from papergym.agents.ttpois.divergence import categorical_log_d2, gaussian_log_d2
from papergym.core.errors import PapergymError
from papergym.core.validation import require_int, require_real


class Controller:
    """A linear map or tanh MLP ``obs -> output`` whose weights are read from a flat vector.

    Layout per layer: the ``(out, in)`` weight matrix row-major, then the bias. ``params`` may carry
    leading batch axes that broadcast against the observations' (one weight vector per trajectory).
    """

    def __init__(self, in_dim: int, out_dim: int, net_arch: Sequence[int] = (), with_bias: bool = True):
        self.sizes = [in_dim, *[require_int("net_arch entry", width, low=1) for width in net_arch], out_dim]
        self.with_bias = with_bias
        self.out_dim = out_dim
        self.n_params = sum(n_out * (n_in + with_bias) for n_in, n_out in zip(self.sizes, self.sizes[1:]))

    def __call__(self, params: th.Tensor, observations: th.Tensor) -> th.Tensor:
        hidden, offset = observations.to(params.dtype), 0
        layers = list(zip(self.sizes, self.sizes[1:]))
        for index, (n_in, n_out) in enumerate(layers):
            weight = params[..., offset:offset + n_in * n_out].reshape(*params.shape[:-1], n_out, n_in)
            offset += n_in * n_out
            hidden = (weight @ hidden.unsqueeze(-1)).squeeze(-1)
            if self.with_bias:
                hidden = hidden + params[..., offset:offset + n_out]
                offset += n_out
            if index < len(layers) - 1:
                hidden = th.tanh(hidden)
        return hidden

    def initial_params(self) -> th.Tensor:
        """Zeros for a linear controller (the papers' start); Glorot-uniform hidden layers for an MLP."""
        if len(self.sizes) == 2:
            return th.zeros(self.n_params)
        chunks = []
        for index, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:])):
            last = index == len(self.sizes) - 2
            bound = 0.0 if last else math.sqrt(6.0 / (n_in + n_out))
            chunks.append(th.empty(n_out * n_in).uniform_(-bound, bound))
            if self.with_bias:
                chunks.append(th.zeros(n_out))
        return th.cat(chunks)


class _FlatPolicy(BasePolicy):
    """Shared plumbing: one flat parameter vector, observation flattening, constructor arguments."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space,
                 net_arch: Sequence[int] | None, with_bias: bool):
        if not isinstance(observation_space, spaces.Box):
            raise PapergymError(f"observation_space must be a Box, got {observation_space}")
        if not isinstance(action_space, spaces.Box | spaces.Discrete):
            raise PapergymError(f"action_space must be a Box or Discrete, got {action_space}")
        super().__init__(observation_space, action_space)
        self.net_arch = list(net_arch or [])
        self.with_bias = with_bias
        self.discrete = isinstance(action_space, spaces.Discrete)
        output_dim = int(action_space.n) if self.discrete else get_action_dim(action_space)
        self.controller = Controller(get_flattened_obs_dim(observation_space), output_dim, self.net_arch,
                                     with_bias)

    def flat_observations(self, observations: th.Tensor) -> th.Tensor:
        shape = self.observation_space.shape
        batch_shape = observations.shape[:observations.ndim - len(shape)]
        return observations.reshape(*batch_shape, -1)

    def get_vector(self) -> th.Tensor:
        """A copy of the flat parameter vector."""
        return self.flat.detach().clone()

    def set_vector(self, vector: th.Tensor) -> None:
        with th.no_grad():
            self.flat.copy_(th.as_tensor(vector, dtype=self.flat.dtype))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return dict(observation_space=self.observation_space, action_space=self.action_space,
                    net_arch=self.net_arch, with_bias=self.with_bias)


class ActionPolicy(_FlatPolicy):
    """Stochastic policy of action-based POIS: Gaussian (Box actions) or softmax (Discrete actions).

    :param net_arch: hidden layer widths of the mean/logit network; ``[]`` (default) is linear.
    :param with_bias: whether the layers have a bias.
    :param log_std_init: initial log standard deviation of the Gaussian (state-independent, learnt).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space,
                 net_arch: Sequence[int] | None = None, with_bias: bool = True, log_std_init: float = 0.0):
        super().__init__(observation_space, action_space, net_arch, with_bias)
        self.log_std_init = require_real("log_std_init", log_std_init)
        initial = self.controller.initial_params()
        if not self.discrete:
            initial = th.cat([initial, th.full((self.controller.out_dim,), self.log_std_init)])
        self.flat = nn.Parameter(initial)

    def _split(self, params: th.Tensor | None) -> tuple[th.Tensor, th.Tensor | None]:
        params = self.flat if params is None else params
        n = self.controller.n_params
        return params[..., :n], (None if self.discrete else params[..., n:])

    def distribution(self, observations: th.Tensor, params: th.Tensor | None = None):
        """``(mean, std)`` of the Gaussian, or the log-probabilities of the softmax, per observation."""
        weights, log_std = self._split(params)
        output = self.controller(weights, self.flat_observations(observations))
        if self.discrete:
            return th.log_softmax(output, dim=-1)
        return output, th.exp(log_std).expand_as(output)

    def log_prob(self, observations: th.Tensor, actions: th.Tensor, params: th.Tensor | None = None):
        """``log pi(a | s)`` for each observation/action pair."""
        if self.discrete:
            log_probs = self.distribution(observations, params)
            return log_probs.gather(-1, actions.long().reshape(*log_probs.shape[:-1], 1)).squeeze(-1)
        mean, std = self.distribution(observations, params)
        z = (actions - mean) / std
        return (-0.5 * z**2 - th.log(std) - 0.5 * math.log(2 * math.pi)).sum(dim=-1)

    def log_d2(self, observations: th.Tensor, target: th.Tensor, behaviour: th.Tensor) -> th.Tensor:
        """``log d2(pi_target(.|s) || pi_behaviour(.|s))`` for each observation."""
        if self.discrete:
            return categorical_log_d2(self.distribution(observations, target),
                                      self.distribution(observations, behaviour))
        return gaussian_log_d2(*self.distribution(observations, target),
                               *self.distribution(observations, behaviour))

    def mean_kl(self, observations: th.Tensor, mask: th.Tensor, behaviour: th.Tensor,
                target: th.Tensor) -> th.Tensor:
        """Average over the visited states of ``KL(pi_behaviour || pi_target)`` (its Hessian is the FIM)."""
        if self.discrete:
            log_b = self.distribution(observations, behaviour)
            kl = (log_b.exp() * (log_b - self.distribution(observations, target))).sum(-1)
        else:
            mean_b, std_b = self.distribution(observations, behaviour)
            mean_t, std_t = self.distribution(observations, target)
            kl = (th.log(std_t / std_b) + (std_b**2 + (mean_b - mean_t) ** 2) / (2 * std_t**2) - 0.5).sum(-1)
        return (kl * mask).sum() / mask.sum()

    def sample(self, observations: th.Tensor) -> th.Tensor:
        """Draw one action per observation from the torch generator (seeded by ``set_random_seed``)."""
        if self.discrete:
            return th.distributions.Categorical(logits=self.distribution(observations)).sample()
        mean, std = self.distribution(observations)
        return mean + std * th.randn_like(mean)

    def _predict(self, observation: th.Tensor, deterministic: bool = False) -> th.Tensor:
        if deterministic:
            output = self.distribution(observation)
            return output.argmax(dim=-1) if self.discrete else output[0]
        return self.sample(observation)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "log_std_init": self.log_std_init}


class HyperPolicy(_FlatPolicy):
    """Gaussian hyper-policy of parameter-based POIS over the weights of a deterministic controller.

    The controller's output is the action (``Box``, clipped to the space by the environment loop) or the
    logits whose argmax is the action (``Discrete``).

    :param net_arch: hidden layer widths of the controller; ``[]`` (default) is linear.
    :param with_bias: whether the layers have a bias.
    :param log_std_init: initial log standard deviation of every weight.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space,
                 net_arch: Sequence[int] | None = None, with_bias: bool = True, log_std_init: float = 0.0):
        super().__init__(observation_space, action_space, net_arch, with_bias)
        self.log_std_init = require_real("log_std_init", log_std_init)
        initial = self.controller.initial_params()
        self.flat = nn.Parameter(th.cat([initial, th.full_like(initial, self.log_std_init)]))

    def _split(self, params: th.Tensor | None) -> tuple[th.Tensor, th.Tensor]:
        params = self.flat if params is None else params
        n = self.controller.n_params
        return params[..., :n], th.exp(params[..., n:])

    def sample_weights(self, n: int) -> th.Tensor:
        """``n`` controller weight vectors drawn from the hyper-policy."""
        mean, std = self._split(None)
        with th.no_grad():
            return mean + std * th.randn(n, mean.numel())

    def log_density(self, weights: th.Tensor, params: th.Tensor | None = None) -> th.Tensor:
        """``log nu(theta)`` for each row of ``weights``."""
        mean, std = self._split(params)
        z = (weights - mean) / std
        return (-0.5 * z**2 - th.log(std) - 0.5 * math.log(2 * math.pi)).sum(dim=-1)

    def log_d2(self, target: th.Tensor, behaviour: th.Tensor) -> th.Tensor:
        """``log d2(nu_target || nu_behaviour)`` in closed form."""
        return gaussian_log_d2(*self._split(target), *self._split(behaviour))

    def kl(self, behaviour: th.Tensor, target: th.Tensor) -> th.Tensor:
        """``KL(nu_behaviour || nu_target)`` (its Hessian at ``target = behaviour`` is the FIM)."""
        mean_b, std_b = self._split(behaviour)
        mean_t, std_t = self._split(target)
        return (th.log(std_t / std_b) + (std_b**2 + (mean_b - mean_t) ** 2) / (2 * std_t**2) - 0.5).sum()

    def act(self, observations: th.Tensor, weights: th.Tensor) -> th.Tensor:
        """The deterministic controller's actions with the given weights (broadcast over observations)."""
        output = self.controller(weights, self.flat_observations(observations))
        return output.argmax(dim=-1) if self.discrete else output

    def _predict(self, observation: th.Tensor, deterministic: bool = False) -> th.Tensor:
        """The controller at the hyper-policy mean, or (stochastic) with fresh weights for each call."""
        mean, _ = self._split(None)
        weights = mean if deterministic else self.sample_weights(1)[0]
        return self.act(observation, weights)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "log_std_init": self.log_std_init}
