"""One round of the dynamical linear bandit, compiled: shared by the environments and the fast simulator.

The environments (single and vector) and :func:`papergym.agents.dlb.simulate` all advance the system with
:func:`advance_system`, so a compiled million-round simulation and a Gymnasium rollout with the same
seed and actions produce the same rewards.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def advance_system(state, allocation, noise, A, B, omega, theta, noise_std):
    """Return the reward of playing ``allocation`` in ``state`` and move ``state`` (in place) one round on.

    ``noise`` holds n + m standard normal draws: the state noise first, then the output noise. The
    reward 1'(C x + D u + eps) is computed as omega'x + theta'u + sigma 1'eps with omega = C'1 and
    theta = D'1, before the state moves to A x + B u + sigma eta.
    """
    return _advance(state, allocation, noise, A, B, omega, theta, noise_std, np.empty(state.shape[0]))


@njit(cache=True)
def _advance(state, allocation, noise, A, B, omega, theta, noise_std, previous):
    """:func:`advance_system` with a scratch array ``previous`` (n) for the state before the move."""
    n, p = B.shape
    reward = 0.0
    for i in range(n):
        reward += omega[i] * state[i]
    for j in range(p):
        reward += theta[j] * allocation[j]
    for k in range(n, noise.shape[0]):
        reward += noise_std * noise[k]
    previous[:] = state
    for i in range(n):
        value = noise_std * noise[i]
        for k in range(n):
            value += A[i, k] * previous[k]
        for j in range(p):
            value += B[i, j] * allocation[j]
        state[i] = value
    return reward


@njit(cache=True)
def advance_systems(states, allocations, noise, A, B, omega, theta, noise_std):
    """:func:`advance_system` for every row of ``states`` (one independent system per row)."""
    rewards = np.empty(states.shape[0])
    previous = np.empty(states.shape[1])
    for row in range(states.shape[0]):
        rewards[row] = _advance(states[row], allocations[row], noise[row], A, B, omega, theta, noise_std,
                                previous)
    return rewards


def advance_system_scalar(state: list[float], allocation: tuple[float, ...], noise: list[float],
                          A: tuple[tuple[float, ...], ...], B: tuple[tuple[float, ...], ...],
                          omega: tuple[float, ...], theta: tuple[float, ...], noise_std: float
                          ) -> tuple[float, float, list[float]]:
    """:func:`advance_system` on Python floats, for the single environment's step (a compiled call costs more
    than the arithmetic of a small system): the same operations in the same order, so the same results.
    Returns (reward, noiseless reward, next state)."""
    n = len(state)
    reward = 0.0
    for omega_i, x_i in zip(omega, state):
        reward += omega_i * x_i
    for theta_j, u_j in zip(theta, allocation):
        reward += theta_j * u_j
    mean_reward = reward
    for k in range(n, len(noise)):
        reward += noise_std * noise[k]
    next_state = []
    for i in range(n):
        value = noise_std * noise[i]
        for a_ik, x_k in zip(A[i], state):
            value += a_ik * x_k
        for b_ij, u_j in zip(B[i], allocation):
            value += b_ij * u_j
        next_state.append(value)
    return reward, mean_reward, next_state
