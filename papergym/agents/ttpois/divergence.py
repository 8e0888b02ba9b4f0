"""Exponentiated 2-Rényi divergences ``d2(P || Q) = E_Q[(dP/dQ)^2] = exp(D_2(P || Q))``, in log form.

``d2`` is the second moment of the importance weight of target ``P`` against behaviour ``Q``; POIS bounds
the variance of importance-sampling estimates with it. Everything here is in torch, so the penalty is
differentiable in the target's parameters.
"""

from __future__ import annotations

import torch as th


def gaussian_log_d2(mean_p: th.Tensor, std_p: th.Tensor, mean_q: th.Tensor, std_q: th.Tensor) -> th.Tensor:
    """``log d2`` between diagonal Gaussians, summed over the last axis.

    Per coordinate, with ``s2 = 2 sigma_q^2 - sigma_p^2``,
    ``log d2 = (mu_p - mu_q)^2 / s2 + log(sigma_q^2 / (sigma_p sqrt(s2)))``; it is infinite when
    ``s2 <= 0`` (the target is too wide for the behaviour to cover its second moment).
    """
    var_p, var_q = std_p**2, std_q**2
    mixed = 2.0 * var_q - var_p
    finite = mixed > 0
    safe = th.where(finite, mixed, th.ones_like(mixed))
    per_coordinate = (mean_p - mean_q) ** 2 / safe + th.log(var_q) - th.log(std_p) - 0.5 * th.log(safe)
    per_coordinate = th.where(finite, per_coordinate, th.full_like(per_coordinate, float("inf")))
    return per_coordinate.sum(dim=-1)


def categorical_log_d2(log_probs_p: th.Tensor, log_probs_q: th.Tensor) -> th.Tensor:
    """``log d2 = log sum_a p(a)^2 / q(a)`` between categorical distributions over the last axis."""
    return th.logsumexp(2.0 * log_probs_p - log_probs_q, dim=-1)
