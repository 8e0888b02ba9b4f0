"""The DTR bandit (Hu & Kallus, arXiv 2005.02791) and its baselines, as online learners.

Every learner fits, per stage and arm, a least-squares model with intercept of the outcome on the stage's
features (Q-learning by backward induction): stage 2 regresses r2 on (1, x2) per a2; stage 1 regresses the
pseudo-outcome r1 + max_{a2 allowed} Q2(x2, a2) on (1, x1) per a1 (for a patient who remitted after stage 1,
r1 + r2). The inverse Gram matrices are kept by Sherman-Morrison rank-one updates; the stage-2 right-hand
sides are accumulated. The stage-1 right-hand side sum_s phi1_s (r1_s + max_a2 Q2(x2_s, a2)) changes with
Q2 at every refit. Where x2 is one-dimensional (beta-mixture, linear-Gaussian with d = 1) max_a2 Q2 is a
piecewise-linear function of x2, so the sum is kept in O(log t) per patient: the patients of each
(family, a1) sorted by x2 with prefix sums of phi1 and phi1 x2, queried by binary search at the envelope's
breaks, plus a buffer of at most ~sqrt(t) recent patients merged in O(t) once it fills (amortised
O(sqrt t)). The decisions are those of the direct sum over all patients (same seeds, same decisions on
every path checked); only the summation order differs. Elsewhere (depression's three features, LSVI-UCB's
bonus, which depends on the current Gram matrices) the sum is recomputed over all patients (O(t) per refit).

* :class:`DTRBandit` (the paper's algorithm): forced sampling on a sparse schedule (block n starts at
  patient (2^n - 1) K q and plays each of the K action sequences for q consecutive patients), a "tilde"
  family fitted on forced patients only and a "hat" family on all; at a non-forced decision the arms
  whose tilde value is within the stage's gap of the best tilde value are kept and the hat estimate picks
  among them (for two arms: tilde argmax if the tilde values differ by more than the gap).
* :class:`Greedy` (warm-up of d patients per sequence, then Q-learning without exploration),
  :class:`EpsilonGreedy` (the same, flipping to another arm with probability epsilon at each stage),
  :class:`LSVIUCB` (optimistic least-squares value iteration, lambda = 1, beta = c sqrt(log(c T))),
  :class:`ExploreThenCommit` (round-robin over the sequences, then one fit, then greedy on it) and
  :class:`OptimalRegime` (the model's optimal regime, regret 0).

Choices the paper leaves open, made here (and followed by every learner where it applies):

* the hat family is refitted before every non-forced patient once 2 d patients are in (d = stage-1
  coefficients, intercept included); the tilde family before a non-forced patient whenever new forced
  patients arrived; before the first fit every estimate is 0 and ties go to the lowest arm index;
* least squares start from a 1e-6 ridge so that Sherman-Morrison applies from the first patient (OLS up to
  that ridge); Q2 is pooled over first-line arms (it depends on x2 only, as in the paper);
* a patient who remitted enters stage 1 with the pseudo-outcome r1 + r2 (no stage-2 sample); a patient whose
  second line had a single allowed arm (depression: switch after switch) enters with r1 + Q2(x2, that arm)
  and is a stage-2 sample of that arm (as in the authors' STAR*D code);
* forced sampling cycles through all allowed sequences (K = 4 on the synthetic presets, 3 on depression);
* epsilon-greedy flips to a uniformly drawn other allowed arm; LSVI-UCB's optimistic values are not clipped
  and it refits before every patient; explore-then-commit explores K ceil(sqrt(T)) patients round-robin.

The per-patient logic is compiled with numba; :func:`simulate` runs a learner over a whole path of
patients (a :class:`~papergym.envs.dtr.model.Patients` draw) in compiled code, with the same kernels as
the online ``act``/``update`` loop, so both give the same decisions on the same patients. Any other agent
(a user's, through SB3's ``predict``) treats patients in :func:`treat`, the paper's one patient-by-patient
loop: on a simulated path (:func:`play_patients`) or on logged data by inverse-propensity replay
(:func:`replay`).
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
from papergym.core.validation import require_int, require_positive, require_real
from papergym.envs.dtr.dtr import advance, check_stage_actions, dtr_spaces, observations
from papergym.envs.dtr.model import DTRModel, Patients
from papergym.envs.dtr.replay import PAPER_ACCEPTED, PAPER_DRAWS, LoggedData, replay_weights

KIND_DTR, KIND_GREEDY, KIND_EPSILON, KIND_LSVI, KIND_ETC = 0, 1, 2, 3, 4
HAT, TILDE = 0, 1
#: Ridge of the least-squares fits: only makes the Gram matrix invertible before enough patients arrive.
OLS_RIDGE = 1e-6
# cfg vector: kind, q, gap1, gap2, epsilon, beta, warm-up / exploration length, minimum patients to fit,
# whether stage 1 is refitted from the sorted sums (one-dimensional x2, no bonus).
CFG_KIND, CFG_Q, CFG_GAP1, CFG_GAP2, CFG_EPS, CFG_BETA, CFG_WARM, CFG_MIN_FIT, CFG_SORTED = range(9)
# counters: patients seen, patients at the last hat fit, forced patients at the last tilde fit,
# forced patients seen, current plan (forced sequence or -1), committed (explore-then-commit).
N_SEEN, HAT_FIT_AT, TILDE_FIT_AT, N_FORCED, PLAN, COMMITTED = range(6)


# --- compiled kernels ---------------------------------------------------------------------------------


@njit(cache=True)
def forced_sequence(t, q, n_sequences):
    """The sequence forced on patient t (0-based) by the schedule, or -1.

    Block n occupies patients [(2^n - 1) K q, (2^n - 1) K q + K q) and plays sequence j on q patients in a row.
    """
    block = 0
    while True:
        start = (2 ** block - 1) * n_sequences * q
        if start > t:
            return -1
        if t < start + n_sequences * q:
            return (t - start) // q
        block += 1


@njit(cache=True)
def _forced_schedule(n_patients, q, n_sequences):
    schedule = np.empty(n_patients, dtype=np.int64)
    for t in range(n_patients):
        schedule[t] = forced_sequence(t, q, n_sequences)
    return schedule


@njit(cache=True)
def _bonus(inverse, phi):
    return math.sqrt(max(quadratic_form(inverse, phi), 0.0))


@njit(cache=True)
def _refit(family, beta, hist, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2):
    """Refit one family: stage 2 from its accumulated sums, stage 1 on the current pseudo-outcomes.

    The loop over past patients is the hot path (O(t) per refit): scalar indexing only, no array views.
    """
    n_arms1, n_arms2 = coef1.shape[1], coef2.shape[1]
    for arm in range(n_arms2):
        matvec(inv2[family, arm], b2[family, arm], coef2[family, arm])
    weights = coef2[family]
    inverses = inv2[family]
    b1 = np.zeros((n_arms1, p1))
    col = p1 + p2
    for s in range(hist.shape[0]):
        if family == TILDE and hist[s, col + 5] == 0.0:
            continue
        a1 = int(hist[s, col])
        target = hist[s, col + 2]
        if hist[s, col + 4] != 0.0:  # remitted: the stage-2 outcome is fixed
            target += hist[s, col + 3]
        else:
            best = -np.inf
            for arm in range(n_arms2):
                if not allowed2[a1, arm]:
                    continue
                value = 0.0
                for i in range(p2):
                    value += weights[arm, i] * hist[s, p1 + i]
                if beta > 0.0:
                    quadratic = 0.0
                    for i in range(p2):
                        row = 0.0
                        for j in range(p2):
                            row += inverses[arm, i, j] * hist[s, p1 + j]
                        quadratic += hist[s, p1 + i] * row
                    value += beta * math.sqrt(max(quadratic, 0.0))
                if value > best:
                    best = value
            target += best
        for i in range(p1):
            b1[a1, i] += target * hist[s, i]
    for arm in range(n_arms1):
        matvec(inv1[family, arm], b1[arm], coef1[family, arm])


# --- stage-1 sums in O(log t) (one-dimensional x2): sorted patients, prefix sums and a small buffer -------


@njit(cache=True)
def _envelope(weights, allowed_row, breaks, arms):
    """Upper envelope of the allowed lines w[a, 0] + w[a, 1] z over the real line: returns the number of
    pieces m; piece j < m is won by ``arms[j]`` (the first best arm) up to ``breaks[j]`` (the last piece: +inf)."""
    n_arms = weights.shape[0]
    crossings = np.empty(n_arms * n_arms)
    count = 0
    for i in range(n_arms):
        for j in range(i + 1, n_arms):
            if allowed_row[i] and allowed_row[j] and weights[i, 1] != weights[j, 1]:
                crossings[count] = (weights[j, 0] - weights[i, 0]) / (weights[i, 1] - weights[j, 1])
                count += 1
    points = np.sort(crossings[:count])
    pieces = 0
    for piece in range(count + 1):
        if count == 0:
            probe = 0.0
        elif piece == 0:
            probe = points[0] - 1.0 - abs(points[0])
        elif piece == count:
            probe = points[count - 1] + 1.0 + abs(points[count - 1])
        else:
            probe = 0.5 * (points[piece - 1] + points[piece])
        chosen, best = -1, -np.inf
        for arm in range(n_arms):
            if allowed_row[arm]:
                value = weights[arm, 0] + weights[arm, 1] * probe
                if value > best:
                    chosen, best = arm, value
        upper = points[piece] if piece < count else np.inf
        if pieces > 0 and arms[pieces - 1] == chosen:
            breaks[pieces - 1] = upper
        else:
            arms[pieces] = chosen
            breaks[pieces] = upper
            pieces += 1
    return pieces


@njit(cache=True)
def _merge_buffer(hist, key_col, p1, keys, index, prefix, buffer, sizes, family, arm):
    """Merge the buffered patients of (family, arm) into its sorted list and update the prefix sums from the
    first position that changed (O(n) per merge, one merge per sqrt(n) patients)."""
    n_main, n_buffer = sizes[family, arm, 0], sizes[family, arm, 1]
    waiting = buffer[family, arm, :n_buffer].copy()
    waiting_keys = np.empty(n_buffer)
    for i in range(n_buffer):
        waiting_keys[i] = hist[waiting[i], key_col]
    order = np.argsort(waiting_keys, kind="mergesort")
    total = n_main + n_buffer
    merged_keys, merged_index = np.empty(total), np.empty(total, dtype=np.int64)
    i, j = 0, 0
    for k in range(total):
        if j >= n_buffer or (i < n_main and keys[family, arm, i] <= waiting_keys[order[j]]):
            merged_keys[k], merged_index[k] = keys[family, arm, i], index[family, arm, i]
            i += 1
        else:
            merged_keys[k], merged_index[k] = waiting_keys[order[j]], waiting[order[j]]
            j += 1
    first = 0
    while first < n_main and merged_index[first] == index[family, arm, first]:
        first += 1
    for k in range(first, total):
        keys[family, arm, k], index[family, arm, k] = merged_keys[k], merged_index[k]
        s = merged_index[k]
        for c in range(p1):
            prefix[family, arm, k + 1, c] = prefix[family, arm, k, c] + hist[s, c]
            prefix[family, arm, k + 1, p1 + c] = prefix[family, arm, k, p1 + c] + hist[s, c] * merged_keys[k]
    sizes[family, arm, 0], sizes[family, arm, 1] = total, 0


@njit(cache=True)
def _add_to_sums(hist, s, p1, family, target, sorted_in, fixed, keys, index, prefix, buffer, sizes):
    """Patient s enters (family, its a1): ``target`` times phi1 into the fixed sums; if ``sorted_in``, into the
    sorted list (its pseudo-outcome depends on Q2 at x2)."""
    a1 = int(hist[s, p1 + 2])  # one-dimensional x2: phi2 = (1, x2), a1 right after it
    for c in range(p1):
        fixed[family, a1, c] += target * hist[s, c]
    if sorted_in:
        n_buffer = sizes[family, a1, 1]
        buffer[family, a1, n_buffer] = s
        sizes[family, a1, 1] = n_buffer + 1
        if n_buffer + 1 >= 16 and (n_buffer + 1) ** 2 >= sizes[family, a1, 0]:
            _merge_buffer(hist, p1 + 1, p1, keys, index, prefix, buffer, sizes, family, a1)


@njit(cache=True)
def _refit_sorted(family, hist, p1, inv1, inv2, b2, coef1, coef2, allowed2, sums):
    """:func:`_refit` for one-dimensional x2 without bonus, from the maintained sums: the pseudo-outcome's
    max_a2 Q2(x2, a2) is piecewise linear in x2, so its sum against phi1 over the patients sorted by x2 is a
    few prefix-sum differences (binary search at the envelope's breaks) plus the buffered patients."""
    fixed, keys, _, prefix, buffer, sizes = sums
    n_arms1, n_arms2 = coef1.shape[1], coef2.shape[1]
    for arm in range(n_arms2):
        matvec(inv2[family, arm], b2[family, arm], coef2[family, arm])
    weights = coef2[family]
    breaks, arms = np.empty(n_arms2 * n_arms2), np.empty(n_arms2 * n_arms2, dtype=np.int64)
    b1 = np.empty(p1)
    for a1 in range(n_arms1):
        for c in range(p1):
            b1[c] = fixed[family, a1, c]
        pieces = _envelope(weights, allowed2[a1], breaks, arms)
        n_main = sizes[family, a1, 0]
        start = 0
        for piece in range(pieces):
            end = n_main if piece == pieces - 1 else np.searchsorted(keys[family, a1, :n_main], breaks[piece])
            if end > start:
                w0, w1 = weights[arms[piece], 0], weights[arms[piece], 1]
                for c in range(p1):
                    b1[c] += w0 * (prefix[family, a1, end, c] - prefix[family, a1, start, c])
                    b1[c] += w1 * (prefix[family, a1, end, p1 + c] - prefix[family, a1, start, p1 + c])
            start = end
        for i in range(sizes[family, a1, 1]):
            s = buffer[family, a1, i]
            x2 = hist[s, p1 + 1]
            best = -np.inf
            for arm in range(n_arms2):
                if allowed2[a1, arm]:
                    best = max(best, weights[arm, 0] + weights[arm, 1] * x2)
            for c in range(p1):
                b1[c] += best * hist[s, c]
        matvec(inv1[family, a1], b1, coef1[family, a1])


@njit(cache=True)
def _fit(family, beta, cfg, hist, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums):
    """Refit one family: from the sorted sums where they apply (O(log t)), else over every patient (O(t))."""
    if cfg[CFG_SORTED] > 0.0:
        _refit_sorted(family, hist, p1, inv1, inv2, b2, coef1, coef2, allowed2, sums)
    else:
        _refit(family, beta, hist, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2)


@njit(cache=True)
def _begin_patient(cfg, counters, n_sequences, hist, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums):
    """Choose this patient's plan (a forced sequence or -1) and refit the estimates the algorithm refits."""
    kind = int(cfg[CFG_KIND])
    n = counters[N_SEEN]
    seen = hist[:n]
    plan = -1
    if kind == KIND_DTR:
        plan = forced_sequence(n, int(cfg[CFG_Q]), n_sequences)
        if plan < 0 and n >= cfg[CFG_MIN_FIT]:
            if counters[HAT_FIT_AT] != n:
                _fit(HAT, 0.0, cfg, seen, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums)
                counters[HAT_FIT_AT] = n
            if counters[TILDE_FIT_AT] != counters[N_FORCED]:
                _fit(TILDE, 0.0, cfg, seen, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums)
                counters[TILDE_FIT_AT] = counters[N_FORCED]
    elif kind in (KIND_GREEDY, KIND_EPSILON):
        warm = int(cfg[CFG_WARM])
        if n < warm * n_sequences:
            plan = n // warm
        elif counters[HAT_FIT_AT] != n:
            _fit(HAT, 0.0, cfg, seen, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums)
            counters[HAT_FIT_AT] = n
    elif kind == KIND_LSVI:
        if counters[HAT_FIT_AT] != n:
            _fit(HAT, cfg[CFG_BETA], cfg, seen, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums)
            counters[HAT_FIT_AT] = n
    else:  # explore-then-commit
        if n < cfg[CFG_WARM]:
            plan = n % n_sequences
        elif counters[COMMITTED] == 0:
            _fit(HAT, 0.0, cfg, seen, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums)
            counters[COMMITTED] = 1
    counters[PLAN] = plan


@njit(cache=True)
def _choose(cfg, counters, sequences, stage, phi, a1, allowed2, coef1, coef2, inv1, inv2, u_flip, u_pick):
    """The arm at ``stage`` (0 or 1) for features phi (with intercept); a1 restricts the stage-2 arms."""
    plan = counters[PLAN]
    if plan >= 0:
        return sequences[plan, stage]
    kind = int(cfg[CFG_KIND])
    coef = coef1 if stage == 0 else coef2
    inverse = inv1 if stage == 0 else inv2
    n_arms = coef.shape[1]
    allowed = np.ones(n_arms, dtype=np.bool_) if stage == 0 else allowed2[a1]
    beta = cfg[CFG_BETA] if kind == KIND_LSVI else 0.0
    candidate = allowed.copy()
    if kind == KIND_DTR:
        gap = cfg[CFG_GAP1] if stage == 0 else cfg[CFG_GAP2]
        tilde = np.empty(n_arms)
        best_tilde = -np.inf
        for arm in range(n_arms):
            tilde[arm] = dot(coef[TILDE, arm], phi)
            if allowed[arm]:
                best_tilde = max(best_tilde, tilde[arm])
        for arm in range(n_arms):
            candidate[arm] = allowed[arm] and tilde[arm] >= best_tilde - gap
    chosen, best = -1, -np.inf
    for arm in range(n_arms):
        if candidate[arm]:
            value = dot(coef[HAT, arm], phi)
            if beta > 0.0:
                value += beta * _bonus(inverse[HAT, arm], phi)
            if value > best:
                chosen, best = arm, value
    if kind == KIND_EPSILON and u_flip < cfg[CFG_EPS]:
        others = 0
        for arm in range(n_arms):
            if allowed[arm] and arm != chosen:
                others += 1
        if others > 0:
            pick = min(int(u_pick * others), others - 1)
            for arm in range(n_arms):
                if allowed[arm] and arm != chosen:
                    if pick == 0:
                        return arm
                    pick -= 1
    return chosen


@njit(cache=True)
def _observe(cfg, counters, hist, p1, p2, inv1, inv2, b2, work1, work2, phi1, a1, r1, phi2, a2, r2, remitted,
             forced, sums):
    """Add one finished patient: history row, Sherman-Morrison updates, stage-2 sums (both families)."""
    n = counters[N_SEEN]
    col = p1 + p2
    hist[n, :p1] = phi1
    hist[n, p1:col] = phi2
    hist[n, col] = a1
    hist[n, col + 1] = a2
    hist[n, col + 2] = r1
    hist[n, col + 3] = r2
    hist[n, col + 4] = 1.0 if remitted else 0.0
    hist[n, col + 5] = 1.0 if forced else 0.0
    families = 2 if forced else 1
    for family in range(families):
        sherman_morrison(inv1[family, a1], phi1, work1)
        if not remitted and a2 >= 0:
            sherman_morrison(inv2[family, a2], phi2, work2)
            for i in range(p2):
                b2[family, a2, i] += r2 * phi2[i]
        if cfg[CFG_SORTED] > 0.0:
            fixed, keys, index, prefix, buffer, sizes = sums
            _add_to_sums(hist, n, p1, family, r1 + r2 if remitted else r1, not remitted, fixed, keys, index, prefix,
                         buffer, sizes)
    counters[N_SEEN] = n + 1
    if forced:
        counters[N_FORCED] += 1


@njit(cache=True)
def _continuation(allowed_row, remitted):
    """The stage-2 arm played without a decision (remission or a single allowed arm), else -1."""
    count, only = 0, -1
    for arm in range(allowed_row.shape[0]):
        if allowed_row[arm]:
            count += 1
            if only < 0:
                only = arm
    if remitted or count == 1:
        return only
    return -1


@njit(cache=True)
def _simulate(cfg, counters, sequences, allowed2, hist, inv1, inv2, b2, coef1, coef2, x1, x2, r1, r2, remitted,
              uniforms, sums):
    n_patients = x1.shape[0]
    p1, p2 = coef1.shape[2], coef2.shape[2]
    phi1, phi2 = np.ones(p1), np.ones(p2)
    work1, work2 = np.empty(p1), np.empty(p2)
    chosen1 = np.empty(n_patients, dtype=np.int64)
    chosen2 = np.empty(n_patients, dtype=np.int64)
    n_sequences = sequences.shape[0]
    for t in range(n_patients):
        phi1[1:] = x1[t]
        _begin_patient(cfg, counters, n_sequences, hist, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2, sums)
        forced = counters[PLAN] >= 0
        a1 = _choose(cfg, counters, sequences, 0, phi1, 0, allowed2, coef1, coef2, inv1, inv2,
                     uniforms[t, 0], uniforms[t, 1])
        phi2[1:] = x2[t, a1]
        gone = remitted[t, a1]
        a2 = _continuation(allowed2[a1], gone)
        if a2 < 0:
            a2 = _choose(cfg, counters, sequences, 1, phi2, a1, allowed2, coef1, coef2, inv1, inv2,
                         uniforms[t, 2], uniforms[t, 3])
        _observe(cfg, counters, hist, p1, p2, inv1, inv2, b2, work1, work2, phi1, a1, r1[t, a1], phi2,
                 -1 if gone else a2, r2[t, a1, a2], gone, forced, sums)
        chosen1[t] = a1
        chosen2[t] = -1 if gone else a2
    return chosen1, chosen2


# --- the linear-Gaussian study's learners as the authors ran them (model-based stage 1) ------------------
#
# The authors' linear-Gaussian code (CausalML/DTR-Bandit at cbef5991, simulation/Parallel.py) estimates
# Q1 through a model of the transition instead of regressing pseudo-outcomes: per first-line arm, ordinary
# least squares (with intercept) of r1 on x1 and of x2 on x1; Q1(x, a1) is the fitted r1 plus the mean, over
# the patients the transition was fitted on, of max_a2 Q2 at the fitted x2 of x shifted by each patient's
# residual, B(x) - B(x1_s) + x2_s. Taken directly, that mean is over every such patient at every decision
# (O(t), :func:`_model_q1`); with one feature and two second-line arms it comes from a sorted index in about
# O(sqrt t) instead, with the same decisions (see the index's section). Every regression here is exact OLS with
# an unpenalised intercept from accumulated moments (O(d^2) per patient); a singular design falls back to
# the minimum-norm slope, so one patient gives intercept = its outcome and slope 0, as their fits do.

KIND_AUTHORS_DTR, KIND_AUTHORS_GREEDY, KIND_STATIC, KIND_RECOURSE = 10, 11, 12, 13
# counters of these learners: patients seen, forced patients seen, current plan (forced or chosen sequence).
A_SEEN, A_FORCED, A_PLAN = range(3)
#: Relative size below which a centred design's eigenvalue counts as zero (the minimum-norm OLS).
OLS_RCOND = 1e-10


@njit(cache=True)
def authors_forced_sequence(t, kind, q, n_sequences, warm):
    """The sequence forced on patient t (0-based), or -1: the first ``warm`` patients on each sequence in turn,
    then (except greedy) the blocks of :func:`forced_sequence` (the patients they share stay on the first rule)."""
    if t < n_sequences * warm:
        return t // warm
    if kind == KIND_AUTHORS_GREEDY:
        return -1
    return forced_sequence(t, q, n_sequences)


@njit(cache=True)
def _add_moments(moments, x, y):
    """moments += (1, x, y)(1, x, y)'."""
    size = 1 + x.shape[0] + y.shape[0]
    row = np.empty(size)
    row[0] = 1.0
    row[1:1 + x.shape[0]] = x
    row[1 + x.shape[0]:] = y
    for i in range(size):
        for j in range(size):
            moments[i, j] += row[i] * row[j]


@njit(cache=True)
def _ols(moments, d, coef):
    """coef[0] = intercepts, coef[1:] = slopes (d x m) of the OLS of y on x from moments of (1, x, y)."""
    n = moments[0, 0]
    if n <= 0.0:
        coef[:] = 0.0
    elif d == 1:
        _ols_one_feature(moments, n, coef)
    else:
        _ols_features(moments, d, n, coef)


@njit(cache=True)
def _ols_features(moments, d, n, coef):
    """:func:`_ols` through the eigendecomposition of the centred design (minimum-norm slopes)."""
    mean_x = moments[0, 1:1 + d] / n
    mean_y = moments[0, 1 + d:] / n
    sxx = moments[1:1 + d, 1:1 + d] - n * np.outer(mean_x, mean_x)
    sxy = moments[1:1 + d, 1 + d:] - n * np.outer(mean_x, mean_y)
    values, vectors = np.linalg.eigh(sxx)
    scale = 0.0
    for i in range(d):
        scale += moments[1 + i, 1 + i]
    cutoff = OLS_RCOND * max(scale, 1e-300)
    inverse = np.zeros((d, d))
    for k in range(d):
        if values[k] > cutoff:
            inverse += np.outer(vectors[:, k], vectors[:, k]) / values[k]
    slopes = inverse @ sxy
    coef[1:] = slopes
    coef[0] = mean_y - mean_x @ slopes


@njit(cache=True)
def _ols_one_feature(moments, n, coef):
    """:func:`_ols_features` for one feature in scalars, the same operations in the same order (the 1 x 1
    eigendecomposition is the centred sum of squares itself, its vector 1), so the same numbers, without the
    LAPACK call and the temporary arrays (they cost about a microsecond a fit)."""
    mean_x = moments[0, 1] / n
    sxx = moments[1, 1] - n * (mean_x * mean_x)
    inverse = 1.0 / sxx if sxx > OLS_RCOND * max(moments[1, 1], 1e-300) else 0.0
    for j in range(coef.shape[1]):
        mean_y = moments[0, 2 + j] / n
        slope = inverse * (moments[1, 2 + j] - n * (mean_x * mean_y))
        coef[1, j] = slope
        coef[0, j] = mean_y - mean_x * slope


@njit(cache=True)
def _fit_authors(kind, family, d1, d2, mom1, mom2, momseq, fit1, coef2, coefseq):
    """The regressions of one family that ``kind`` uses: per a1 (r1, x2) on x1 (DTR bandit, greedy); per a2 r2
    on x2 (all but static); per sequence r1 + r2 on x1 (static, recourse)."""
    sequences = kind in (KIND_STATIC, KIND_RECOURSE)
    if not sequences:
        for a1 in range(mom1.shape[1]):
            _ols(mom1[family, a1], d1, fit1[family, a1])
    n_arms2 = 0 if kind == KIND_STATIC else mom2.shape[1]
    work2 = np.empty((1 + d2, 1))
    for a2 in range(n_arms2):
        _ols(mom2[family, a2], d2, work2)
        coef2[family, a2] = work2[:, 0]
    work = np.empty((1 + d1, 1))
    for k in range(momseq.shape[1] if sequences else 0):
        _ols(momseq[family, k], d1, work)
        coefseq[family, k] = work[:, 0]


@njit(cache=True)
def _model_q1(family, a1, x1, hist, p1, members, n_members, fit1, coef2):
    """Q1(x1, a1) of one family: fitted r1 plus the mean over the transition's patients of max_a2 Q2 at
    B(x1) - B(x1_s) + x2_s (the authors' estimate; O(patients))."""
    d1, d2 = p1 - 1, coef2.shape[2] - 1
    fit = fit1[family, a1]  # (1 + d1, 1 + d2): column 0 r1, columns 1.. x2
    value = _fitted_r1(fit, x1)
    count = n_members[family, a1]
    if count == 0:
        return value
    z = np.empty(d2)
    total = 0.0
    for m in range(count):
        s = members[family, a1, m]
        for j in range(d2):
            z[j] = hist[s, p1 + 1 + j]
            for i in range(d1):
                z[j] += fit[1 + i, 1 + j] * (x1[i] - hist[s, 1 + i])
        best = -np.inf
        for a2 in range(coef2.shape[1]):
            q = coef2[family, a2, 0]
            for j in range(d2):
                q += coef2[family, a2, 1 + j] * z[j]
            best = max(best, q)
        total += best
    return value + total / count


@njit(cache=True)
def _fitted_r1(fit, x1):
    """The transition model's fitted r1 at x1 (column 0 of ``fit``)."""
    value = fit[0, 0]
    for i in range(x1.shape[0]):
        value += fit[1 + i, 0] * x1[i]
    return value


# --- Q1's continuation mean from a sorted index (one feature, two second-line arms) ----------------------
#
# With one feature the continuation sum of (family, a1) is sum_s max_a2 q_a2(z_s), q_a2(z) = c0 + c1 z the two
# fitted Q2 lines and z_s = x2_s + b (x - x1_s), b the fitted transition slope. On one side of the lines'
# crossing z* every patient takes the same line, whose sum over them is c0 n + c1 (sum x2_s + b (n x - sum x1_s)).
# Patient s is above the crossing when e_s(b) = x2_s - b x1_s exceeds z* - b x. The patients are kept sorted by
# e_s at a reference slope b_ref, with prefix sums of x1 and x2 in that order; since e_s(b) = e_s(b_ref) -
# (b - b_ref) x1_s, only those within |b - b_ref| max|x1| of the threshold (the band) may fall on either side:
# they are summed one by one, as are the patients added since the last sort (the buffer). The list is sorted
# again at the current slope once band and buffer together pass RESORT sqrt(n) patients.
#
# This is the direct loop's sum in another order, so the two differ by rounding. Every value comes with a
# bound on that difference; where the bounds leave a decision open (values within about 1e-9 of a tie or of
# the gap), the decision is taken on the direct loop's values. So the decisions are the direct loop's, exactly.

#: Unit roundoff of float64.
ROUNDOFF = 2.0 ** -53
#: Per patient of the sum, a first-order bound on the rounding of both sums is 8 roundoffs of the terms'
#: magnitudes (prefix sums, their differences and products; the direct loop's running total); twice that is used.
SUM_ROUNDING = 16.0
# columns of the index's statistics of its sorted patients: reference slope, sum |x1|, sum |x2|, max |x1|, max |x2|
REF_SLOPE, SUM_ABS_X1, SUM_ABS_X2, MAX_ABS_X1, MAX_ABS_X2 = range(5)
#: Band and buffer may hold RESORT sqrt(n) patients before a new sort (4: the fastest of 2, 4, 8 at T = 50,000).
RESORT = 4.0


@njit(cache=True)
def _indexed(p1, coef2):
    """Whether the continuation sums come from the index: one feature at each stage, two second-line arms."""
    return p1 == 2 and coef2.shape[1] == 2 and coef2.shape[2] == 2


@njit(cache=True)
def _sort_patients(family, a1, slope, hist, p1, members, n_members, index):
    """Sort the patients of (family, a1) by e_s at ``slope`` (the new reference slope, empty buffer)."""
    keys, points, prefix, stats, n_sorted = index
    count = n_members[family, a1]
    n = n_sorted[family, a1]
    # the sorted patients first, the buffer after: keys nearly in order, which the merge sort takes fast
    x1, x2 = np.empty(count), np.empty(count)
    x1[:n], x2[:n] = points[family, a1, :n, 0], points[family, a1, :n, 1]
    for m in range(n, count):
        s = members[family, a1, m]
        x1[m], x2[m] = hist[s, 1], hist[s, p1 + 1]
    order = np.argsort(x2 - slope * x1, kind="mergesort")
    row = stats[family, a1]
    row[:] = 0.0
    row[REF_SLOPE] = slope
    for k in range(count):
        s1, s2 = x1[order[k]], x2[order[k]]
        keys[family, a1, k] = s2 - slope * s1
        points[family, a1, k, 0], points[family, a1, k, 1] = s1, s2
        prefix[family, a1, k + 1, 0] = prefix[family, a1, k, 0] + s1
        prefix[family, a1, k + 1, 1] = prefix[family, a1, k, 1] + s2
        row[SUM_ABS_X1] += abs(s1)
        row[SUM_ABS_X2] += abs(s2)
        row[MAX_ABS_X1] = max(row[MAX_ABS_X1], abs(s1))
        row[MAX_ABS_X2] = max(row[MAX_ABS_X2], abs(s2))
    n_sorted[family, a1] = count


@njit(cache=True)
def _best_q2(weights, x1_patient, x2_patient, slope, x):
    """max_a2 Q2 at x2_patient + slope (x - x1_patient), as the direct loop computes it."""
    z = x2_patient + slope * (x - x1_patient)
    best = -np.inf
    for a2 in range(weights.shape[0]):
        q = weights[a2, 0]
        q += weights[a2, 1] * z
        best = max(best, q)
    return best


@njit(cache=True)
def _line_sum(line, slope, x, prefix, start, end):
    """Sum of line[0] + line[1] z_s over the sorted patients start .. end - 1 (from the prefix sums)."""
    count = end - start
    if count == 0:
        return 0.0
    sum_x1 = prefix[end, 0] - prefix[start, 0]
    sum_x2 = prefix[end, 1] - prefix[start, 1]
    return line[0] * count + line[1] * (sum_x2 + slope * (count * x - sum_x1))


@njit(cache=True)
def _crossing(weights):
    """(arm below, arm above, crossing z*) of the two Q2 lines; parallel lines: the higher one and z* = +inf."""
    rise = weights[1, 1] - weights[0, 1]
    if rise == 0.0:
        higher = 1 if weights[1, 0] > weights[0, 0] else 0
        return higher, higher, np.inf
    crossing = (weights[0, 0] - weights[1, 0]) / rise
    return (0, 1, crossing) if rise > 0.0 else (1, 0, crossing)


@njit(cache=True)
def _band(family, a1, slope, x, crossing, index):
    """The sorted positions [low, high) whose side of the crossing the reference slope does not settle."""
    keys, _, _, stats, n_sorted = index
    n = n_sorted[family, a1]
    if crossing == np.inf:  # every patient below (parallel lines, or a crossing beyond the floats)
        return n, n
    if crossing == -np.inf:
        return 0, 0
    row = stats[family, a1]
    threshold = crossing - slope * x
    # e_s(b) is within |b - b_ref| max|x1| of e_s(b_ref); the key and the threshold are those up to a few
    # roundoffs of their parts (2 of |x2| + |b_ref x1|, 5 of |z*| + |b x|), which 16 covers
    width = abs(slope - row[REF_SLOPE]) * row[MAX_ABS_X1] + SUM_ROUNDING * ROUNDOFF * (
        row[MAX_ABS_X2] + abs(row[REF_SLOPE]) * row[MAX_ABS_X1] + abs(crossing) + abs(slope * x))
    sorted_keys = keys[family, a1, :n]
    return (np.searchsorted(sorted_keys, threshold - width, side="left"),
            np.searchsorted(sorted_keys, threshold + width, side="right"))


@njit(cache=True)
def _continuation_sum(family, a1, x, hist, p1, members, n_members, fit1, coef2, index):
    """(sum over the patients of (family, a1) of max_a2 Q2 at B(x) - B(x1_s) + x2_s, a bound on its distance
    to the direct loop's sum), from the index: prefix sums on either side of the band, the band and buffer
    one by one."""
    _, points, prefix, stats, n_sorted = index
    slope = fit1[family, a1, 1, 1]
    weights = coef2[family]
    below, above, crossing = _crossing(weights)
    count = n_members[family, a1]
    low, high = _band(family, a1, slope, x, crossing, index)
    if high - low + count - n_sorted[family, a1] > max(32.0, RESORT * math.sqrt(count)):
        _sort_patients(family, a1, slope, hist, p1, members, n_members, index)
        low, high = _band(family, a1, slope, x, crossing, index)
    n = n_sorted[family, a1]
    total = (_line_sum(weights[below], slope, x, prefix[family, a1], 0, low)
             + _line_sum(weights[above], slope, x, prefix[family, a1], high, n))
    for k in range(low, high):
        total += _best_q2(weights, points[family, a1, k, 0], points[family, a1, k, 1], slope, x)
    sum_abs_x1, sum_abs_x2 = stats[family, a1, SUM_ABS_X1], stats[family, a1, SUM_ABS_X2]
    for m in range(n, count):
        s = members[family, a1, m]
        total += _best_q2(weights, hist[s, 1], hist[s, p1 + 1], slope, x)
        sum_abs_x1 += abs(hist[s, 1])
        sum_abs_x2 += abs(hist[s, p1 + 1])
    intercept = max(abs(weights[0, 0]), abs(weights[1, 0]))
    gradient = max(abs(weights[0, 1]), abs(weights[1, 1]))
    magnitude = count * intercept + gradient * (sum_abs_x2 + abs(slope) * (count * abs(x) + sum_abs_x1))
    return total, SUM_ROUNDING * ROUNDOFF * (count + 8) * magnitude


@njit(cache=True)
def _q1_estimates(family, arms, x1, hist, p1, members, n_members, fit1, coef2, index):
    """(Q1 of the ``arms`` (-inf elsewhere), a bound on each one's distance to :func:`_model_q1`'s value): from
    the index where it applies, else the direct values (bound 0)."""
    n_arms1 = fit1.shape[1]
    values, errors = np.full(n_arms1, -np.inf), np.zeros(n_arms1)
    for a1 in range(n_arms1):
        count = n_members[family, a1]
        if not arms[a1]:
            continue
        if count == 0 or not _indexed(p1, coef2):
            values[a1] = _model_q1(family, a1, x1, hist, p1, members, n_members, fit1, coef2)
            continue
        value = _fitted_r1(fit1[family, a1], x1)
        total, error = _continuation_sum(family, a1, x1[0], hist, p1, members, n_members, fit1, coef2, index)
        values[a1] = value + total / count
        # the direct value divides and adds too: a few roundoffs of the parts on top of the sums' bound
        errors[a1] = 1.01 * error / count + 4.0 * ROUNDOFF * (abs(value) + abs(total) / count)
    return values, errors


@njit(cache=True)
def _q1_direct(family, arms, x1, hist, p1, members, n_members, fit1, coef2):
    """Q1 of the ``arms`` (-inf elsewhere) by :func:`_model_q1`."""
    values = np.full(fit1.shape[1], -np.inf)
    for a1 in range(values.shape[0]):
        if arms[a1]:
            values[a1] = _model_q1(family, a1, x1, hist, p1, members, n_members, fit1, coef2)
    return values


@njit(cache=True)
def _settles_within(values, errors, gap):
    """Whether every arm is surely in or surely out of :func:`_keep_within` (not strict) for any values within
    ``errors`` of ``values`` (best - gap's rounding included)."""
    low_best, high_best = np.max(values - errors), np.max(values + errors)
    slack = 2.0 * ROUNDOFF * (abs(low_best) + abs(high_best) + gap)
    for arm in range(values.shape[0]):
        surely_in = values[arm] - errors[arm] >= high_best - gap + slack
        surely_out = values[arm] + errors[arm] < low_best - gap - slack
        if not (surely_in or surely_out):
            return False
    return True


@njit(cache=True)
def _settles_best(values, errors, candidate):
    """Whether one candidate beats every other for any values within ``errors`` of ``values`` (then the first
    and the last best candidate are that one)."""
    best = _first_best(values, candidate)
    for arm in range(values.shape[0]):
        if candidate[arm] and arm != best and values[arm] + errors[arm] >= values[best] - errors[best]:
            return False
    return True


@njit(cache=True)
def _keep_within(values, gap, strict):
    """Arms whose value is within ``gap`` of the best (``strict``: more than best - gap, as the static
    bandit's rule; else at least best - gap, as the DTR bandit's)."""
    best = values.max()
    if strict:
        return values > best - gap
    return values >= best - gap


@njit(cache=True)
def _last_best(values, candidate):
    """The last candidate with the largest value (the authors' two-arm rule 'first if strictly larger')."""
    chosen, best = -1, -np.inf
    for arm in range(values.shape[0]):
        if candidate[arm] and values[arm] >= best:
            chosen, best = arm, values[arm]
    return chosen


@njit(cache=True)
def _first_best(values, candidate):
    chosen, best = -1, -np.inf
    for arm in range(values.shape[0]):
        if candidate[arm] and values[arm] > best:
            chosen, best = arm, values[arm]
    return chosen


@njit(cache=True)
def _authors_first(cfg, counters, sequences, all_sequences, x1, hist, p1, members, n_members, mom1, mom2, momseq,
                   fit1, coef2, coefseq, index):
    """Plan the patient (forced sequence or -1) and return the first-line arm."""
    kind = int(cfg[CFG_KIND])
    n = counters[A_SEEN]
    plan = authors_forced_sequence(n, kind, int(cfg[CFG_Q]), sequences.shape[0], int(cfg[CFG_WARM]))
    counters[A_PLAN] = plan
    if plan >= 0:
        return sequences[plan, 0]
    d1, d2 = p1 - 1, coef2.shape[2] - 1
    n_arms1 = fit1.shape[1]
    families = 1 if kind == KIND_AUTHORS_GREEDY else 2
    for family in range(families):
        _fit_authors(kind, family, d1, d2, mom1, mom2, momseq, fit1, coef2, coefseq)
    if kind in (KIND_STATIC, KIND_RECOURSE):
        phi = np.ones(p1)
        phi[1:] = x1
        n_seq = all_sequences.shape[0]
        tilde, hat = np.empty(n_seq), np.empty(n_seq)
        for k in range(n_seq):
            tilde[k] = dot(coefseq[TILDE, k], phi)
            hat[k] = dot(coefseq[HAT, k], phi)
        chosen = _first_best(hat, _keep_within(tilde, cfg[CFG_GAP1], True))
        counters[A_PLAN] = -2 - chosen  # a chosen (not forced) sequence
        return all_sequences[chosen, 0]
    candidate = np.ones(n_arms1, dtype=np.bool_)
    state = (x1, hist, p1, members, n_members, fit1, coef2)
    if kind == KIND_AUTHORS_DTR:
        tilde, errors = _q1_estimates(TILDE, candidate, *state, index)
        if not _settles_within(tilde, errors, cfg[CFG_GAP1]):
            tilde = _q1_direct(TILDE, candidate, *state)
        candidate = _keep_within(tilde, cfg[CFG_GAP1], False)
        if candidate.sum() == 1:
            return _first_best(tilde, candidate)
    hat, errors = _q1_estimates(HAT, candidate, *state, index)
    if not _settles_best(hat, errors, candidate):
        hat = _q1_direct(HAT, candidate, *state)
    return _last_best(hat, candidate)


@njit(cache=True)
def _authors_second(cfg, counters, sequences, all_sequences, x2, coef2):
    """The second-line arm once x2 is seen."""
    plan = counters[A_PLAN]
    if plan >= 0:
        return sequences[plan, 1]
    kind = int(cfg[CFG_KIND])
    if kind == KIND_STATIC:
        return all_sequences[-2 - plan, 1]
    n_arms2 = coef2.shape[1]
    phi = np.ones(x2.shape[0] + 1)
    phi[1:] = x2
    hat = np.empty(n_arms2)
    for a2 in range(n_arms2):
        hat[a2] = dot(coef2[HAT, a2], phi)
    candidate = np.ones(n_arms2, dtype=np.bool_)
    if kind != KIND_AUTHORS_GREEDY:
        tilde = np.empty(n_arms2)
        for a2 in range(n_arms2):
            tilde[a2] = dot(coef2[TILDE, a2], phi)
        candidate = _keep_within(tilde, cfg[CFG_GAP2], False)
    return _last_best(hat, candidate)


@njit(cache=True)
def _authors_observe(counters, hist, p1, sequence_index, members, n_members, mom1, mom2, momseq, x1, a1, r1, x2,
                     a2, r2):
    """Add one finished patient to the moments (hat always, tilde when forced) and the transition's members."""
    n = counters[A_SEEN]
    forced = counters[A_PLAN] >= 0
    d2 = x2.shape[0]
    p2 = d2 + 1
    col = p1 + p2
    hist[n, 0] = 1.0
    hist[n, 1:p1] = x1
    hist[n, p1] = 1.0
    hist[n, p1 + 1:col] = x2
    hist[n, col], hist[n, col + 1], hist[n, col + 2], hist[n, col + 3] = a1, a2, r1, r2
    hist[n, col + 5] = 1.0 if forced else 0.0
    y1 = np.empty(1 + d2)
    y1[0] = r1
    y1[1:] = x2
    k = sequence_index[a1, a2]
    for family in range(2 if forced else 1):
        _add_moments(mom1[family, a1], x1, y1)
        _add_moments(mom2[family, a2], x2, np.array([r2]))
        _add_moments(momseq[family, k], x1, np.array([r1 + r2]))
        members[family, a1, n_members[family, a1]] = n
        n_members[family, a1] += 1
    counters[A_SEEN] = n + 1
    if forced:
        counters[A_FORCED] += 1


@njit(cache=True)
def _authors_simulate(cfg, counters, sequences, all_sequences, sequence_index, hist, members, n_members, mom1,
                      mom2, momseq, fit1, coef2, coefseq, index, x1, x2, r1, r2):
    n_patients = x1.shape[0]
    p1 = x1.shape[1] + 1
    chosen1 = np.empty(n_patients, dtype=np.int64)
    chosen2 = np.empty(n_patients, dtype=np.int64)
    for t in range(n_patients):
        a1 = _authors_first(cfg, counters, sequences, all_sequences, x1[t], hist, p1, members, n_members, mom1,
                            mom2, momseq, fit1, coef2, coefseq, index)
        a2 = _authors_second(cfg, counters, sequences, all_sequences, x2[t, a1], coef2)
        _authors_observe(counters, hist, p1, sequence_index, members, n_members, mom1, mom2, momseq, x1[t], a1,
                         r1[t, a1], x2[t, a1], a2, r2[t, a1, a2])
        chosen1[t], chosen2[t] = a1, a2
    return chosen1, chosen2


# --- the learners -------------------------------------------------------------------------------------


def dtr_model(env: gym.Env) -> DTRModel:
    """The model of a ``papergym/DTRBandit-v0`` environment; refuses any other environment."""
    model = getattr(env.unwrapped, "model", None)
    if not isinstance(model, DTRModel):
        raise PapergymError(f"DTR agents need papergym/DTRBandit-v0, got {env.unwrapped!r}")
    return model


class DTRLearner(BaseAgent):
    """Common machinery: the regression state, the online loop and SB3's ``predict``.

    Online loop with ``papergym/DTRBandit-v0``: ``a1 = act(obs)``; ``obs, r, done, _, info = env.step(a1)``;
    ``update(a1, r, info)``; if not done, the same for the second stage. ``observe(...)`` takes a whole
    patient at once; :func:`simulate` runs a whole path in compiled code.
    """

    kind = KIND_GREEDY
    label = "learner"
    ridge = OLS_RIDGE

    def __init__(self, model: DTRModel, horizon: int = 10_000, seed: int | None = None):
        if not isinstance(model, DTRModel):
            raise PapergymError(f"model must be a DTRModel (env.unwrapped.model), got {type(model).__name__}")
        self.model = model
        self.horizon = require_int("horizon", horizon, low=1)
        observation_space, action_space = dtr_spaces(model)
        super().__init__(observation_space, action_space, seed)
        self.sequences = model.sequences
        self.cfg = np.zeros(9)
        self.cfg[CFG_KIND] = self.kind
        self.cfg[CFG_MIN_FIT] = 2 * (model.dim1 + 1)
        self.cfg[CFG_SORTED] = float(model.dim2 == 1)
        self.reset()

    @classmethod
    def from_env(cls, env: gym.Env, **kwargs: Any) -> DTRLearner:
        """The learner for an environment of ``papergym/DTRBandit-v0`` (its model's sizes)."""
        return cls(dtr_model(env), **kwargs)

    def reset(self) -> None:
        """Forget every patient."""
        k1, k2 = self.model.n_actions1, self.model.n_actions2
        p1, p2 = self.model.dim1 + 1, self.model.dim2 + 1
        self.hist = np.zeros((max(16, self.horizon), p1 + p2 + 6))
        self.inv1 = np.tile(np.eye(p1) / self.ridge, (2, k1, 1, 1))
        self.inv2 = np.tile(np.eye(p2) / self.ridge, (2, k2, 1, 1))
        self.b2 = np.zeros((2, k2, p2))
        self.coef1 = np.zeros((2, k1, p1))
        self.coef2 = np.zeros((2, k2, p2))
        self.counters = np.array([0, -1, -1, 0, -1, 0], dtype=np.int64)
        self.sums = self._empty_sums(self.hist.shape[0])
        self._pending: dict[str, Any] = {}

    def _empty_sums(self, capacity: int) -> tuple[np.ndarray, ...]:
        """Per (family, a1): the fixed stage-1 sums, the patients sorted by x2 (keys, indices), prefix sums of
        phi1 and phi1 x2 in that order, the buffer of patients not merged yet and the (sorted, buffered) counts.
        Allocated in full only where the sorted refit applies (one-dimensional x2)."""
        k1, p1 = self.model.n_actions1, self.model.dim1 + 1
        capacity = capacity if self.model.dim2 == 1 else 1
        return (np.zeros((2, k1, p1)), np.zeros((2, k1, capacity)), np.zeros((2, k1, capacity), dtype=np.int64),
                np.zeros((2, k1, capacity + 1, 2 * p1)), np.zeros((2, k1, capacity), dtype=np.int64),
                np.zeros((2, k1, 2), dtype=np.int64))

    @property
    def patients_seen(self) -> int:
        return int(self.counters[N_SEEN])

    def _grow(self, extra: int) -> None:
        needed = self.patients_seen + extra
        if needed > self.hist.shape[0]:
            bigger = np.zeros((max(needed, 2 * self.hist.shape[0]), self.hist.shape[1]))
            bigger[:self.hist.shape[0]] = self.hist
            self.hist = bigger
            if self.model.dim2 == 1:
                sums = self._empty_sums(bigger.shape[0])
                for old, new in zip(self.sums, sums):
                    new[tuple(slice(0, n) for n in old.shape)] = old
                self.sums = sums

    def _state(self) -> tuple:
        return (self.hist, self.model.dim1 + 1, self.model.dim2 + 1, self.inv1, self.inv2, self.b2, self.coef1,
                self.coef2, self.model.allowed2)

    # --- online loop ----------------------------------------------------------------------------------
    def act(self, observation: Any) -> int:
        """The arm for the current stage of the current patient (the observation of the environment)."""
        observation = np.asarray(observation, dtype=np.float64).ravel()
        stage = round(observation[0])
        hist, p1, p2, inv1, inv2, b2, coef1, coef2, allowed2 = self._state()
        uniforms = self.rng.random(2)
        if stage == 0:
            self._grow(1)
            hist = self.hist
            _begin_patient(self.cfg, self.counters, len(self.sequences), hist, p1, p2, inv1, inv2, b2, coef1, coef2,
                           allowed2, self.sums)
            phi = np.concatenate([[1.0], observation[1:p1]])
            action = _choose(self.cfg, self.counters, self.sequences, 0, phi, 0, allowed2, coef1, coef2, inv1, inv2,
                             uniforms[0], uniforms[1])
            self._pending = {"phi1": phi, "forced": bool(self.counters[PLAN] >= 0)}
            return int(action)
        phi = np.concatenate([[1.0], observation[1:p2]])
        a1 = int(self._pending.get("a1", 0))
        return int(_choose(self.cfg, self.counters, self.sequences, 1, phi, a1, allowed2, coef1, coef2, inv1, inv2,
                           uniforms[0], uniforms[1]))

    def update(self, action: int, reward: float, info: dict[str, Any]) -> None:
        """Record a step of the environment (its ``info``); a finished patient enters the estimates."""
        if not self._pending:
            raise PapergymError("update() before act(): no patient is being treated")
        if int(info["stage"]) == 1:
            self._pending.update(a1=int(action), phi2=np.concatenate([[1.0], np.asarray(info["x2"], float)]))
            automatic = int(info["auto_action2"])
            if automatic < 0:
                self._pending["r1"] = float(reward)
                return
            reward2 = float(info["reward2"])
            remitted = bool(info["remitted"])
            self._finish(float(reward) - reward2, -1 if remitted else automatic, reward2, remitted)
        else:
            self._finish(self._pending["r1"], int(action), float(reward), False)

    def _finish(self, r1: float, a2: int, r2: float, remitted: bool) -> None:
        pending = self._pending
        self.observe(pending["phi1"][1:], pending["a1"], r1, pending["phi2"][1:], a2, r2, remitted,
                     forced=pending["forced"])
        self._pending = {}

    def observe(self, x1: Any, a1: int, r1: float, x2: Any, a2: int, r2: float, remitted: bool = False,
                forced: bool = False) -> None:
        """Add one finished patient (a2 = -1 if the patient remitted after stage 1)."""
        self._grow(1)
        hist, p1, p2, inv1, inv2, b2, *_ = self._state()
        phi1 = np.concatenate([[1.0], np.asarray(x1, dtype=np.float64).ravel()])
        phi2 = np.concatenate([[1.0], np.asarray(x2, dtype=np.float64).ravel()])
        _observe(self.cfg, self.counters, hist, p1, p2, inv1, inv2, b2, np.empty(p1), np.empty(p2), phi1, int(a1),
                 float(r1), phi2, int(a2), float(r2), bool(remitted), bool(forced), self.sums)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.array([self.act(row) for row in np.asarray(observations)], dtype=np.int64)

    def estimates(self, family: str = "hat") -> tuple[np.ndarray, np.ndarray]:
        """The current (stage-1, stage-2) coefficients per arm, intercept first: ``hat`` or ``tilde``."""
        index = {"hat": HAT, "tilde": TILDE}[family]
        return self.coef1[index].copy(), self.coef2[index].copy()


class DTRBandit(DTRLearner):
    """The paper's algorithm: forced sampling every (2^n - 1) K q patients, tilde / hat estimates, gap h.

    ``q`` patients per sequence per forced block (default 5); ``h`` the margin parameter (default 0.5);
    ``gap_factors`` the stage-1 and stage-2 thresholds as multiples of h (default (1/2, 1/2): the tilde
    estimates must differ by more than h/2; the depression study uses (1, 1/2)); ``forced_sequences``
    the (a1, a2) pairs the schedule cycles through (default every allowed sequence, as the paper's
    algorithm; the authors' earlier linear-Gaussian code forced only (0, 0) and (1, 1)).
    """

    kind = KIND_DTR
    label = "DTR bandit"

    def __init__(self, model: DTRModel, horizon: int = 10_000, q: int = 5, h: float = 0.5,
                 gap_factors: tuple[float, float] = (0.5, 0.5), forced_sequences: Any = None,
                 seed: int | None = None):
        self.q = require_int("q", q, low=1)
        self.h = require_positive("h", h)
        factors = tuple(gap_factors)
        if len(factors) != 2:
            raise PapergymError(f"gap_factors must be two numbers (stage 1, stage 2), got {gap_factors!r}")
        self.gap_factors = tuple(require_real("gap_factors", f, low=0.0) for f in factors)
        super().__init__(model, horizon, seed)
        if forced_sequences is not None:
            self.sequences = _checked_sequences(model, forced_sequences)
        self.cfg[CFG_Q] = self.q
        self.cfg[CFG_GAP1] = self.h * self.gap_factors[0]
        self.cfg[CFG_GAP2] = self.h * self.gap_factors[1]

    def forced_schedule(self, n_patients: int) -> np.ndarray:
        """The forced sequence of each of the first ``n_patients`` patients (-1: not forced)."""
        return _forced_schedule(n_patients, self.q, len(self.sequences))


def _checked_sequences(model: DTRModel, sequences: Any) -> np.ndarray:
    array = np.asarray(sequences)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 1 or not np.issubdtype(array.dtype, np.integer):
        raise PapergymError(f"forced_sequences must be (a1, a2) integer pairs, got {sequences!r}")
    if np.any(array < 0) or np.any(array[:, 0] >= model.n_actions1) or np.any(array[:, 1] >= model.n_actions2) \
            or not np.all(model.allowed2[array[:, 0], array[:, 1]]):
        raise PapergymError(f"forced_sequences must be allowed sequences {model.sequences.tolist()}, "
                            f"got {array.tolist()}")
    return array.astype(np.int64)


class Greedy(DTRLearner):
    """A warm-up of d patients in a row per action sequence (d = stage-1 features + 1), then Q-learning
    with the hat estimates refitted before every patient, never exploring."""

    kind = KIND_GREEDY
    label = "greedy"

    def __init__(self, model: DTRModel, horizon: int = 10_000, warmup: int | None = None, seed: int | None = None):
        super().__init__(model, horizon, seed)
        self.warmup = require_int("warmup", model.dim1 + 1 if warmup is None else warmup, low=1)
        self.cfg[CFG_WARM] = self.warmup


class EpsilonGreedy(Greedy):
    """Greedy, but at each stage independently the arm is flipped to another allowed arm with prob. epsilon."""

    kind = KIND_EPSILON
    label = "epsilon-greedy"

    def __init__(self, model: DTRModel, horizon: int = 10_000, epsilon: float = 0.1, warmup: int | None = None,
                 seed: int | None = None):
        super().__init__(model, horizon, warmup, seed)
        self.epsilon = require_real("epsilon", epsilon, low=0.0, high=1.0)
        self.cfg[CFG_EPS] = self.epsilon


class LSVIUCB(DTRLearner):
    """LSVI-UCB (Jin et al., 2020) with one linear block (1, x) per arm: ridge lambda = 1, bonus
    beta ||phi||_{Lambda^-1}, the stage-1 target the optimistic stage-2 value; beta = c sqrt(log(c T))
    with c = ``beta_scale`` (4: the paper's synthetic runs; 8 in its depression study)."""

    kind = KIND_LSVI
    label = "LSVI-UCB"
    ridge = 1.0

    def __init__(self, model: DTRModel, horizon: int = 10_000, beta: float | None = None, beta_scale: float = 4.0,
                 seed: int | None = None):
        super().__init__(model, horizon, seed)
        scale = require_positive("beta_scale", beta_scale)
        self.beta = scale * math.sqrt(math.log(scale * self.horizon)) if beta is None else require_positive(
            "beta", beta)
        self.cfg[CFG_BETA] = self.beta
        self.cfg[CFG_SORTED] = 0.0  # the bonus makes each pseudo-outcome depend on the current Gram matrices


class ExploreThenCommit(DTRLearner):
    """Round-robin over the K action sequences for ``explore`` patients (default K ceil(sqrt(T))), one
    Q-learning fit, then the greedy regime of that fit for every later patient."""

    kind = KIND_ETC
    label = "explore-then-commit"

    def __init__(self, model: DTRModel, horizon: int = 10_000, explore: int | None = None, seed: int | None = None):
        super().__init__(model, horizon, seed)
        default = len(self.sequences) * math.ceil(math.sqrt(self.horizon))
        self.explore = require_int("explore", default if explore is None else explore, low=1)
        self.cfg[CFG_WARM] = self.explore


class OptimalRegime(BaseAgent):
    """The optimal regime of the model: argmax Q1 at stage 1, argmax of the allowed Q2 at stage 2."""

    label = "optimal"

    def __init__(self, model: DTRModel, horizon: int = 10_000, seed: int | None = None):
        self.model = model
        self.horizon = horizon
        observation_space, action_space = dtr_spaces(model)
        super().__init__(observation_space, action_space, seed)
        self._a1 = 0

    @classmethod
    def from_env(cls, env: gym.Env, **kwargs: Any) -> OptimalRegime:
        return cls(dtr_model(env), **kwargs)

    def act(self, observation: Any) -> int:
        observation = np.asarray(observation, dtype=np.float64).ravel()
        if round(observation[0]) == 0:
            self._a1 = int(self.model.optimal_first(observation[None, 1:1 + self.model.dim1])[0])
            return self._a1
        x2 = observation[None, 1:1 + self.model.dim2]
        return int(self.model.optimal_second(x2, np.array([self._a1]))[0])

    def update(self, action: int, reward: float, info: dict[str, Any]) -> None:
        """Nothing to learn."""

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.array([self.act(row) for row in np.asarray(observations)], dtype=np.int64)


class AuthorsLearner(DTRLearner):
    """The linear-Gaussian study's learners as the authors ran them (model-based stage 1, exact OLS; see the
    section comment above): the first ``warmup`` patients on each of ``forced_sequences`` in turn, then the
    learner's rule. Needs every sequence allowed and no remission (the synthetic presets)."""

    kind = KIND_AUTHORS_GREEDY

    def __init__(self, model: DTRModel, horizon: int = 10_000, q: int = 20, h: float = 0.5,
                 warmup: int | None = None, forced_sequences: Any = ((0, 0), (1, 1)), seed: int | None = None):
        if isinstance(model, DTRModel) and (not np.all(model.allowed2) or model.name == "depression"):
            raise PapergymError(f"{type(self).__name__} needs a model with every sequence allowed and no "
                                f"remission (beta-mixture, linear-gaussian), got {model.name!r}")
        self.q = require_int("q", q, low=1)
        self.h = require_positive("h", h)
        super().__init__(model, horizon, seed)
        self.warmup = require_int("warmup", model.dim1 if warmup is None else warmup, low=1)
        self.sequences = _checked_sequences(model, forced_sequences)
        self.all_sequences = model.sequences
        self.sequence_index = np.full((model.n_actions1, model.n_actions2), -1, dtype=np.int64)
        self.sequence_index[self.all_sequences[:, 0], self.all_sequences[:, 1]] = np.arange(len(self.all_sequences))
        self.cfg[CFG_Q] = self.q
        self.cfg[CFG_GAP1] = self.cfg[CFG_GAP2] = self.h / 2
        self.cfg[CFG_WARM] = self.warmup

    def reset(self) -> None:
        super().reset()
        k1, k2, d1, d2 = self.model.n_actions1, self.model.n_actions2, self.model.dim1, self.model.dim2
        self.acounters = np.array([0, 0, -1], dtype=np.int64)
        self.members = np.zeros((2, k1, self.hist.shape[0]), dtype=np.int64)
        self.n_members = np.zeros((2, k1), dtype=np.int64)
        self.mom1 = np.zeros((2, k1, 2 + d1 + d2, 2 + d1 + d2))
        self.mom2 = np.zeros((2, k2, 2 + d2, 2 + d2))
        self.momseq = np.zeros((2, k1 * k2, 2 + d1, 2 + d1))
        self.fit1 = np.zeros((2, k1, 1 + d1, 1 + d2))
        self.acoef2 = np.zeros((2, k2, 1 + d2))
        self.coefseq = np.zeros((2, k1 * k2, 1 + d1))
        self.index = self._empty_index(self.hist.shape[0])

    def _empty_index(self, capacity: int) -> tuple[np.ndarray, ...]:
        """Per (family, a1), the continuation index (see its section): the keys e_s(b_ref) in ascending order,
        the patients' (x1, x2) in that order and their prefix sums, the statistics of the sorted patients
        (reference slope, sums and maxima of |x1| and |x2|) and how many are sorted (the others form the
        buffer). Empty: it is built at its first use. Allocated in full only where it applies."""
        k1 = self.model.n_actions1
        if not _indexed(self.model.dim1 + 1, self.acoef2):
            capacity = 1
        return (np.zeros((2, k1, capacity)), np.zeros((2, k1, capacity, 2)), np.zeros((2, k1, capacity + 1, 2)),
                np.zeros((2, k1, 5)), np.zeros((2, k1), dtype=np.int64))

    @property
    def patients_seen(self) -> int:
        return int(self.acounters[A_SEEN])

    def _grow(self, extra: int) -> None:
        super()._grow(extra)
        if self.hist.shape[0] > self.members.shape[2]:
            bigger = np.zeros((*self.members.shape[:2], self.hist.shape[0]), dtype=np.int64)
            bigger[..., :self.members.shape[2]] = self.members
            self.members = bigger
            self.index = self._empty_index(bigger.shape[2])  # rebuilt from the members at its next use

    def _tables(self) -> tuple:
        return (self.members, self.n_members, self.mom1, self.mom2, self.momseq, self.fit1, self.acoef2,
                self.coefseq, self.index)

    def act(self, observation: Any) -> int:
        observation = np.asarray(observation, dtype=np.float64).ravel()
        p1, p2 = self.model.dim1 + 1, self.model.dim2 + 1
        if round(observation[0]) == 0:
            self._grow(1)
            x1 = observation[1:p1].copy()
            action = _authors_first(self.cfg, self.acounters, self.sequences, self.all_sequences, x1, self.hist, p1,
                                    *self._tables())
            self._pending = {"phi1": np.concatenate([[1.0], x1]), "forced": bool(self.acounters[A_PLAN] >= 0)}
            return int(action)
        return int(_authors_second(self.cfg, self.acounters, self.sequences, self.all_sequences,
                                   observation[1:p2].copy(), self.acoef2))

    def observe(self, x1: Any, a1: int, r1: float, x2: Any, a2: int, r2: float, remitted: bool = False,
                forced: bool = False) -> None:
        if remitted or a2 < 0:
            raise PapergymError("the authors' linear-Gaussian learners take no remitted patients")
        self._grow(1)
        if not self._pending:  # a patient given whole, not through act(): forced as the caller says
            self.acounters[A_PLAN] = 0 if forced else -1
        members, n_members, mom1, mom2, momseq, *_ = self._tables()
        _authors_observe(self.acounters, self.hist, self.model.dim1 + 1, self.sequence_index, members, n_members,
                         mom1, mom2, momseq, np.asarray(x1, dtype=np.float64).ravel(), int(a1), float(r1),
                         np.asarray(x2, dtype=np.float64).ravel(), int(a2), float(r2))

    def simulate_path(self, patients: Patients) -> tuple[np.ndarray, np.ndarray]:
        self._grow(len(patients))
        return _authors_simulate(self.cfg, self.acounters, self.sequences, self.all_sequences, self.sequence_index,
                                 self.hist, *self._tables(), np.ascontiguousarray(patients.x1),
                                 np.ascontiguousarray(patients.x2), np.ascontiguousarray(patients.r1),
                                 np.ascontiguousarray(patients.r2))

    def estimates(self, family: str = "hat") -> tuple[np.ndarray, np.ndarray]:
        """The last fitted (r1 and transition per a1: (1 + d1) x (1 + d2), intercept row first; Q2 per a2)."""
        index = {"hat": HAT, "tilde": TILDE}[family]
        return self.fit1[index].copy(), self.acoef2[index].copy()


class AuthorsDTRBandit(AuthorsLearner):
    """The DTR bandit of the authors' linear-Gaussian study: forced sampling of ``forced_sequences`` (default
    (1, 1) and (2, 2) in the paper's labels) in blocks at (2^n - 1) K q, after one patient each (d); tilde
    estimates from forced patients, hat from all; an arm is taken on the tilde estimate when it leads by more
    than h/2, else on the hat estimate (each stage)."""

    kind = KIND_AUTHORS_DTR
    label = "DTR bandit"


class AuthorsGreedy(AuthorsLearner):
    """The authors' greedy on their linear-Gaussian study: d patients on (1, 1), d on (2, 2) (paper's labels),
    then the hat estimates' best arm at each stage, never exploring."""

    kind = KIND_AUTHORS_GREEDY
    label = "greedy"

    def __init__(self, model: DTRModel, horizon: int = 10_000, warmup: int | None = None, seed: int | None = None):
        super().__init__(model, horizon, warmup=warmup, seed=seed)


class StaticBandit(AuthorsLearner):
    """The authors' static bandit: the K sequences as K arms of a linear contextual bandit on x1 (the value of
    a sequence is the OLS of r1 + r2 on x1), forced-sampled as the DTR bandit forces its sequences; the whole
    sequence is chosen at stage 1 (the sequences within h/2 of the best tilde value, then the best hat)."""

    kind = KIND_STATIC
    label = "static"

    def __init__(self, model: DTRModel, horizon: int = 10_000, q: int = 20, h: float = 0.5, seed: int | None = None):
        super().__init__(model, horizon, q=q, h=h, forced_sequences=model.sequences, seed=seed)


class RecourseBandit(StaticBandit):
    """The authors' recourse variant: the static bandit's first-line arm, then at stage 2 a two-stage choice
    on x2 (tilde Q2 from forced patients, hat Q2 from all, margin h/2), as the DTR bandit's second stage."""

    kind = KIND_RECOURSE
    label = "recourse"


def simulate(agent: DTRLearner | OptimalRegime, patients: Patients) -> tuple[np.ndarray, np.ndarray]:
    """Run the learner over ``patients`` in order (compiled); return its (a1, a2) per patient (a2 = -1 when
    the patient remitted). The learner keeps what it learnt, as after the same online loop."""
    if isinstance(agent, OptimalRegime):
        return agent.model.optimal_actions(patients)
    if isinstance(agent, AuthorsLearner):
        return agent.simulate_path(patients)
    n = len(patients)
    agent._grow(n)
    uniforms = agent.rng.random((n, 4))
    return _simulate(agent.cfg, agent.counters, agent.sequences, agent.model.allowed2, agent.hist, agent.inv1,
                     agent.inv2, agent.b2, agent.coef1, agent.coef2, np.ascontiguousarray(patients.x1),
                     np.ascontiguousarray(patients.x2), np.ascontiguousarray(patients.r1),
                     np.ascontiguousarray(patients.r2), np.ascontiguousarray(patients.remitted), uniforms, agent.sums)


def regret_curves(model: DTRModel, patients: Patients, a1: np.ndarray, a2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative expected regret and cumulative realised regret (against the noise-matched oracle)."""
    expected = model.expected_regret(patients, a1, a2)
    oracle1, oracle2 = model.optimal_actions(patients)
    realised = model.realised_return(patients, oracle1, oracle2) - model.realised_return(patients, a1, a2)
    return np.cumsum(expected), np.cumsum(realised)


# --- the one patient-by-patient loop ---------------------------------------------------------------


def treat(agent: Any, patient: SimulatedPatient | LoggedPatient, learns: bool | None = None) -> bool:
    """Treat one patient with any agent offering SB3's ``predict`` (and ``update(action, reward, info)`` if
    it learns): predict, step, update, until the patient's last stage. False when the patient refuses the
    agent's choice (a logged patient whose logged treatment differs; the agent then learns nothing more).

    This is the DTR paper's one evaluation loop, used by :func:`play_patients` (simulated paths) and
    :func:`replay` (logged data). It is not :func:`papergym.core.rollout.evaluate` because the agent learns
    while it treats (``update`` after every stage), the patients come from a fixed draw of potential
    outcomes shared by every agent of a path (common random numbers) rather than from ``env.reset``, and
    a logged patient may refuse a choice (rejection sampling).
    """
    if learns is None:
        learns = callable(getattr(agent, "update", None))
    while True:
        action = _predict(agent, patient.observation())
        outcome = patient.step(action)
        if outcome is None:
            return False
        reward, info, done = outcome
        if learns:
            agent.update(action, reward, info)
        if done:
            return True


def _predict(agent: Any, observation: np.ndarray) -> int:
    return int(np.asarray(agent.predict(observation, deterministic=True)[0]).reshape(()))


class SimulatedPatient:
    """Patient ``t`` of a potential-outcomes draw, presented exactly as ``papergym/DTRBandit-v0`` presents it;
    ``chosen`` holds (a1, a2) once treated (a2 = -1 if the patient remitted)."""

    def __init__(self, model: DTRModel, patients: Patients, t: int):
        self.model = model
        self.patient = patients.take(slice(t, t + 1))
        self.stage = np.zeros(1, dtype=np.int64)
        self.a1 = np.zeros(1, dtype=np.int64)
        self.returns = np.zeros(1)
        self.chosen = [0, -1]

    def observation(self) -> np.ndarray:
        return observations(self.model, self.patient, self.stage, self.a1)[0]

    def step(self, action: int) -> tuple[float, dict[str, Any], bool]:
        first = self.stage[0] == 0
        actions = np.array([action], dtype=np.int64)
        check_stage_actions(self.model, self.stage, self.a1, actions)
        rewards, done, info = advance(self.model, self.patient, self.stage, self.a1, actions, self.returns)
        info = {key: value[0] for key, value in info.items()}
        if first:
            self.chosen = [action, -1 if info["remitted"] else int(info["auto_action2"])]
        else:
            self.chosen[1] = action
        return float(rewards[0]), info, bool(done[0])


def play_patients(agent: Any, model: DTRModel, patients: Patients) -> tuple[np.ndarray, np.ndarray]:
    """Treat ``patients`` one by one with any agent offering SB3's ``predict`` (and ``update`` if it learns),
    exactly as ``papergym/DTRBandit-v0`` presents them: returns (a1, a2) per patient (a2 = -1 if remitted)."""
    n = len(patients)
    chosen1, chosen2 = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    learns = callable(getattr(agent, "update", None))
    for t in range(n):
        patient = SimulatedPatient(model, patients, t)
        treat(agent, patient, learns)
        chosen1[t], chosen2[t] = patient.chosen
    return chosen1, chosen2


# --- replay of logged data (papergym.envs.dtr.replay: the data, its propensities and weights) -----------


class LoggedPatient:
    """Logged patient ``index`` presented as the environment presents a patient; a choice other than the
    logged one (or a patient who dropped out before stage 2) refuses the agent (``step`` returns None)."""

    def __init__(self, data: LoggedData, index: int, width: int):
        self.data, self.index, self.width = data, index, width
        self.stage = 0

    def observation(self) -> np.ndarray:
        features = (self.data.x1 if self.stage == 0 else self.data.x2)[self.index]
        observation = np.zeros(1 + self.width, dtype=np.float32)
        observation[0] = self.stage
        observation[1:1 + features.size] = features
        return observation

    def step(self, action: int) -> tuple[float, dict[str, Any], bool] | None:
        data, index = self.data, self.index
        if self.stage == 1:
            if action != data.a2[index]:
                return None
            return float(data.r2[index]), {"stage": 2.0}, True
        if action != data.a1[index] or data.dropped_out[index]:
            return None
        allowed = np.flatnonzero(data.allowed2[action])
        automatic = int(allowed[0]) if data.remitted[index] or allowed.size == 1 else -1
        info = {"stage": 1.0, "x2": data.x2[index], "auto_action2": float(automatic),
                "remitted": float(data.remitted[index]), "reward2": data.r2[index] if automatic >= 0 else 0.0}
        if automatic >= 0:
            if not data.remitted[index] and automatic != data.a2[index]:
                return None
            return float(data.r1[index] + data.r2[index]), info, True
        self.stage = 1
        return float(data.r1[index]), info, False


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of one replay: mean return of the accepted patients and how many draws it took."""

    mean_return: float
    accepted: int
    draws: int
    accepted_indices: np.ndarray


def replay(agent: Any, data: LoggedData, *, draws: int = PAPER_DRAWS, accept: int = PAPER_ACCEPTED,
           clip: float = 0.0, seed: int | None = None) -> ReplayResult:
    """Run ``agent`` (SB3 ``predict``; ``update(action, reward, info)`` if it learns) over IPW-resampled
    logged patients (:func:`papergym.envs.dtr.replay.replay_weights`), accepting a patient only when the
    agent's sequence equals the logged one; stops after ``accept`` accepted patients or ``draws`` draws."""
    draws = require_int("draws", draws, low=1)
    accept = require_int("accept", accept, low=1)
    weights = replay_weights(data, clip)
    rng = np.random.default_rng(seed)
    order = rng.choice(len(data), size=draws, replace=True, p=weights / weights.sum())
    learns = callable(getattr(agent, "update", None))
    width = max(data.x1.shape[1], data.x2.shape[1])
    accepted: list[int] = []
    used = 0
    for index in order:
        used += 1
        if treat(agent, LoggedPatient(data, int(index), width), learns):
            accepted.append(int(index))
            if len(accepted) >= accept:
                break
    chosen = np.array(accepted, dtype=np.int64)
    returns = data.r1[chosen] + data.r2[chosen]
    return ReplayResult(float(returns.mean()) if chosen.size else float("nan"), int(chosen.size), used, chosen)
