"""The event-driven simulation of a user's feed, compiled with numba.

At each interaction (event) at time t the user is shown a batch of ``batch_size`` items drawn from the
softmax of the predicted ratings of their catalogue; each slot independently becomes a break with
probability p (every slot is a break while a rate limiter's cool-down runs). Only the rating of a shown item
enters the dynamics, so a slot is drawn directly from its six outcomes: rating r with probability
(1 - p) q_r, where q_r is the softmax mass of the user's items rated r, or a break with probability p. One
uniform and five comparisons per slot, against a table built once per user: the same distribution as
drawing the item and then the break, at a fraction of the cost. With beta_bar and delta_bar the sums of
beta_r and delta over the non-break slots divided by the batch size, the state takes one unit Euler step,

    (lambda, I) <- (lambda, I) + [-alpha + beta_bar I,  gamma (1 - I) - delta_bar lambda] * (lambda, I),

and the next event comes after dt = 1 / lambda. The user churns when lambda (or I) reaches zero. Because
the step is per event rather than per time unit, the transients differ from the ODE's (time runs at rate
lambda), but the fixed point is the same.

A user's state is one float64 row (see the ``*_SLOT`` constants): drive, interest, the time of the next
event, the end of a rate-limit cool-down, the number of events so far, the histogram of consumed ratings
and a ring buffer with the times of the last ``LOOKBACK + 1`` events. The single environment, the native
vector environment and the batch simulation of a whole population all advance such rows with
:func:`run_events`, drawing from a NumPy ``Generator`` (numba shares its bit stream). :func:`run_users`
releases the GIL, so the world runs large batches of users on several threads, each block of rows with its
own generator (see :meth:`papergym.envs.breaks.world.BreaksWorld.advance`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from papergym.envs.breaks.model import N_RATINGS

#: The rate limiter and the observed recent rate look back over the last LOOKBACK events.
LOOKBACK = 10
RATE_SLOT, INTEREST_SLOT, TIME_SLOT, COOLDOWN_SLOT, EVENTS_SLOT = 0, 1, 2, 3, 4
HISTOGRAM_SLOT = 5
RING_SLOT = HISTOGRAM_SLOT + N_RATINGS
STATE_SIZE = RING_SLOT + LOOKBACK + 1
NO_RATE_LIMIT = np.inf


def initial_states(rates: np.ndarray, interests: np.ndarray, start_time: float = 0.0) -> np.ndarray:
    """State rows for users starting at (rate, interest) with their first event at ``start_time``."""
    states = np.zeros((len(rates), STATE_SIZE))
    states[:, RATE_SLOT] = rates
    states[:, INTEREST_SLOT] = interests
    states[:, TIME_SLOT] = start_time
    return states


@njit(cache=True, inline="always")
def _slot_outcome(thresholds, uniform):
    """0..4 for an item rated 1..5, 5 for a break: the number of ``thresholds`` (a cumulative table) at or
    below ``uniform`` (branch-free)."""
    return ((uniform >= thresholds[0]) + (uniform >= thresholds[1]) + (uniform >= thresholds[2])
            + (uniform >= thresholds[3]) + (uniform >= thresholds[4]))


@njit(cache=True)
def run_events(rng, state, t_end, p, rating_cdf, beta, alpha, gamma, delta, batch_size, rate_limit,
               cooldown_period, rating_sampling_rate):
    """Simulate one user's events with time < ``t_end`` at break rate ``p``; returns the number of events.

    ``state`` (one row, see the module docstring) is advanced in place, so a later call continues from
    where this one stopped. ``rating_cdf`` is the cumulative softmax mass of the user's items rated 1..5
    (its last entry 1) and ``beta`` the reinforcement beta_r per rating. When the rate over the last
    LOOKBACK events exceeds ``rate_limit``, every slot is a break until the next multiple of
    ``cooldown_period``. A consumed item's rating enters the histogram with probability
    ``rating_sampling_rate`` (the feedback a platform observes).
    """
    thresholds = np.empty(N_RATINGS)
    for rating in range(N_RATINGS):
        thresholds[rating] = (1.0 - p) * rating_cdf[rating]
    thresholds[N_RATINGS - 1] = 1.0 - p  # exactly: a uniform at or above it is a break
    events = 0
    ring_size = LOOKBACK + 1
    while state[TIME_SLOT] < t_end and state[RATE_SLOT] > 0.0 and state[INTEREST_SLOT] > 0.0:
        now = state[TIME_SLOT]
        beta_sum = 0.0
        consumed = 0
        if now >= state[COOLDOWN_SLOT]:  # during a cool-down every slot is a break: nothing to draw
            for _ in range(batch_size):
                outcome = _slot_outcome(thresholds, rng.random())
                if outcome < N_RATINGS:
                    consumed += 1
                    beta_sum += beta[outcome]
                    if rating_sampling_rate >= 1.0 or rng.random() < rating_sampling_rate:
                        state[HISTOGRAM_SLOT + outcome] += 1.0
        index = int(state[EVENTS_SLOT])
        state[RING_SLOT + index % ring_size] = now
        state[EVENTS_SLOT] += 1.0
        events += 1
        if index > LOOKBACK and LOOKBACK / (now - state[RING_SLOT + (index + 1) % ring_size]) > rate_limit:
            state[COOLDOWN_SLOT] = np.ceil(now / cooldown_period) * cooldown_period
        rate = state[RATE_SLOT]
        interest = state[INTEREST_SLOT]
        beta_bar = beta_sum / batch_size
        delta_bar = delta * consumed / batch_size
        state[RATE_SLOT] = rate + (-alpha + beta_bar * interest) * rate
        state[INTEREST_SLOT] = interest + (gamma * (1.0 - interest) - delta_bar * rate) * interest
        if state[RATE_SLOT] <= 0.0 or state[INTEREST_SLOT] <= 0.0:
            state[RATE_SLOT] = max(state[RATE_SLOT], 0.0)
            state[INTEREST_SLOT] = max(state[INTEREST_SLOT], 0.0)
            break
        state[TIME_SLOT] = now + 1.0 / state[RATE_SLOT]
    return events


@njit(cache=True, nogil=True)
def run_users(rng, states, users, t_end, p, rating_cdf, beta, alpha, gamma, delta, batch_size, rate_limit,
              cooldown_period, rating_sampling_rate):
    """:func:`run_events` for every row of ``states``: row i is user ``users[i]`` at break rate ``p[i]``
    until time ``t_end[i]``; ``rating_cdf[u]`` is user u's cumulative softmax mass per rating 1..5."""
    events = np.zeros(states.shape[0], dtype=np.int64)
    for row in range(states.shape[0]):
        events[row] = run_events(rng, states[row], t_end[row], p[row], rating_cdf[users[row]], beta, alpha, gamma,
                                 delta, batch_size, rate_limit, cooldown_period, rating_sampling_rate)
    return events


def recent_rates(states: np.ndarray) -> np.ndarray:
    """The event rate over the last LOOKBACK events (0 until LOOKBACK + 1 events have happened)."""
    count = states[:, EVENTS_SLOT].astype(np.int64)
    ring = states[:, RING_SLOT:RING_SLOT + LOOKBACK + 1]
    rows = np.arange(len(states))
    latest = ring[rows, (count - 1) % (LOOKBACK + 1)]
    earliest = ring[rows, count % (LOOKBACK + 1)]
    span = latest - earliest
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where((count > LOOKBACK) & (span > 0), LOOKBACK / span, 0.0)
    return rates


def rating_histograms(states: np.ndarray) -> np.ndarray:
    """The counts of consumed (and observed) items per rating 1..5."""
    return states[:, HISTOGRAM_SLOT:HISTOGRAM_SLOT + N_RATINGS]
