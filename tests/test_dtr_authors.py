"""The authors' linear-Gaussian learners against a plain reference written from their definitions (same
decisions), the continuation index against the direct sum (within its bound), and the rules that say when the
index's values settle a decision."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.agents.dtr import (
    HAT,
    AuthorsDTRBandit,
    AuthorsGreedy,
    RecourseBandit,
    StaticBandit,
    _q1_direct,
    _q1_estimates,
    _settles_best,
    _settles_within,
    simulate,
)
from papergym.envs.dtr import make_model

Q, H = 20, 0.5


# --- the reference: each learner as its definition reads, in numpy over the patients seen --------------------


def forced_sequence(t, n_sequences, blocks):
    """One patient on each sequence in turn, then (``blocks``) block n of K q patients at (2^n - 1) K q, sequence
    j on q patients in a row; None when not forced."""
    if t < n_sequences:
        return t
    n = 0
    while blocks and (2 ** n - 1) * n_sequences * Q <= t:
        start = (2 ** n - 1) * n_sequences * Q
        if t < start + n_sequences * Q:
            return (t - start) // Q
        n += 1
    return None


def ols(x, y):
    """Intercept and slope of the least squares of y on x; slope 0 where x does not vary (minimum norm)."""
    if x.size == 0:
        return 0.0, 0.0
    spread = np.sum((x - x.mean()) ** 2)
    slope = np.sum((x - x.mean()) * (y - y.mean())) / spread if spread > 1e-10 * np.sum(x ** 2) else 0.0
    return y.mean() - slope * x.mean(), slope


def last_best(values, candidate):
    return max((arm for arm in range(len(values)) if candidate[arm]), key=lambda arm: (values[arm], arm))


def first_best(values, candidate):
    return max((arm for arm in range(len(values)) if candidate[arm]), key=lambda arm: (values[arm], -arm))


class Seen:
    """The patients treated so far (their chosen sequence's outcomes) and which were forced."""

    def __init__(self, patients):
        self.patients = patients
        n = len(patients)
        self.a1, self.a2 = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
        self.forced = np.zeros(n, dtype=bool)
        self.t = 0

    def add(self, a1, a2, forced):
        self.a1[self.t], self.a2[self.t], self.forced[self.t] = a1, a2, forced
        self.t += 1

    def rows(self, family):
        """Indices of the family's patients: the forced ones (tilde) or all (hat)."""
        everyone = np.arange(self.t)
        return everyone[self.forced[:self.t]] if family == "tilde" else everyone

    def outcomes(self, rows):
        p, a1, a2 = self.patients, self.a1[rows], self.a2[rows]
        return p.x1[rows, 0], p.r1[rows, a1], p.x2[rows, a1, 0], p.r2[rows, a1, a2]

    def q2_lines(self, family):
        rows = self.rows(family)
        _, _, x2, r2 = self.outcomes(rows)
        return [ols(x2[self.a2[rows] == a2], r2[self.a2[rows] == a2]) for a2 in range(2)]

    def q2(self, family, x2):
        return np.array([c0 + c1 * x2 for c0, c1 in self.q2_lines(family)])

    def model_q1(self, family, x):
        """Fitted r1 plus the mean over the arm's patients of max_a2 Q2 at x2_s + b (x - x1_s)."""
        rows = self.rows(family)
        x1, r1, x2, _ = self.outcomes(rows)
        lines = self.q2_lines(family)
        values = []
        for a1 in range(2):
            mine = self.a1[rows] == a1
            r1_intercept, r1_slope = ols(x1[mine], r1[mine])
            _, b = ols(x1[mine], x2[mine])
            value = r1_intercept + r1_slope * x
            if mine.any():
                z = x2[mine] + b * (x - x1[mine])
                value += np.mean(np.max([c0 + c1 * z for c0, c1 in lines], axis=0))
            values.append(value)
        return np.array(values)

    def sequence_values(self, family, sequences, x):
        rows = self.rows(family)
        x1, r1, _, r2 = self.outcomes(rows)
        values = []
        for a1, a2 in sequences:
            mine = (self.a1[rows] == a1) & (self.a2[rows] == a2)
            intercept, slope = ols(x1[mine], r1[mine] + r2[mine])
            values.append(intercept + slope * x)
        return np.array(values)


def first_line(seen, x, within_gap):
    """The best hat Q1 (model-based), among the arms within h/2 of the best tilde one if ``within_gap``."""
    candidate = [True, True]
    if within_gap:
        tilde = seen.model_q1("tilde", x)
        candidate = tilde >= tilde.max() - H / 2
        if sum(candidate) == 1:
            return int(np.argmax(candidate))
    return last_best(seen.model_q1("hat", x), candidate)


def second_line(seen, x2, within_gap):
    candidate = [True, True]
    if within_gap:
        tilde = seen.q2("tilde", x2)
        candidate = tilde >= tilde.max() - H / 2
    return last_best(seen.q2("hat", x2), candidate)


def reference_decisions(kind, model, patients):
    """(a1, a2) per patient of the authors' DTR bandit, greedy, static or recourse bandit (q = 20, h = 0.5)."""
    sequences = [tuple(s) for s in model.sequences] if kind in ("static", "recourse") else [(0, 0), (1, 1)]
    seen = Seen(patients)
    for t in range(len(patients)):
        x, plan = patients.x1[t, 0], forced_sequence(t, len(sequences), kind != "greedy")
        if plan is not None:
            a1, a2 = sequences[plan]
        elif kind in ("static", "recourse"):
            tilde = seen.sequence_values("tilde", sequences, x)
            chosen = first_best(seen.sequence_values("hat", sequences, x), tilde > tilde.max() - H / 2)
            a1, a2 = sequences[chosen]
            if kind == "recourse":
                a2 = second_line(seen, patients.x2[t, a1, 0], True)
        else:
            a1 = first_line(seen, x, kind == "DTR bandit")
            a2 = second_line(seen, patients.x2[t, a1, 0], kind == "DTR bandit")
        seen.add(a1, a2, plan is not None)
    return seen.a1, seen.a2


# --- the tests ------------------------------------------------------------------------------------------

LEARNERS = {"DTR bandit": lambda model, horizon: AuthorsDTRBandit(model, horizon, q=Q, h=H, seed=0),
            "greedy": lambda model, horizon: AuthorsGreedy(model, horizon, seed=0),
            "static": lambda model, horizon: StaticBandit(model, horizon, q=Q, h=H, seed=0),
            "recourse": lambda model, horizon: RecourseBandit(model, horizon, q=Q, h=H, seed=0)}


@pytest.mark.parametrize("kind", LEARNERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_authors_learners_decide_as_their_plain_definition(kind, seed):
    model = make_model("linear-gaussian")
    patients = model.draw(np.random.default_rng(seed), 1000)
    expected = reference_decisions(kind, model, patients)
    # in two halves from a small horizon: the arrays grow twice and the index is rebuilt from the members
    learner = LEARNERS[kind](model, 16)
    halves = [simulate(learner, patients.take(slice(0, 500))), simulate(learner, patients.take(slice(500, 1000)))]
    assert np.array_equal(np.concatenate([halves[0][0], halves[1][0]]), expected[0])
    assert np.array_equal(np.concatenate([halves[0][1], halves[1][1]]), expected[1])


def test_index_values_are_the_direct_sums_within_their_bound():
    model = make_model("linear-gaussian")
    learner = AuthorsGreedy(model, 3000, seed=0)
    simulate(learner, model.draw(np.random.default_rng(7), 3000))
    rng = np.random.default_rng(8)
    members, n_members, _, _, _, fit1, coef2, _, index = learner._tables()
    everyone = np.ones(2, dtype=np.bool_)
    slopes = fit1[HAT, :, 1, 1].copy()
    for query in range(300):
        # slopes away from the last sort's (wide bands, new sorts) and Q2 lines crossing inside the data
        fit1[HAT, :, 1, 1] = slopes + rng.uniform(-0.05, 0.05, 2)
        crossing, rises = rng.uniform(-3, 3), rng.uniform(-5, 5, 2)
        coef2[HAT, :, 1] = rises if query % 10 else rises[0]  # every tenth: parallel lines
        coef2[HAT, :, 0] = rng.normal(size=2) if query % 10 == 0 else -rises * crossing
        x1 = rng.normal(size=1) * 2
        values, errors = _q1_estimates(HAT, everyone, x1, learner.hist, 2, members, n_members, fit1, coef2, index)
        direct = _q1_direct(HAT, everyone, x1, learner.hist, 2, members, n_members, fit1, coef2)
        assert np.all(np.abs(values - direct) <= errors)
        assert np.all(errors < 1e-8 * (1 + np.abs(direct)))


def test_a_decision_within_the_bounds_is_not_settled():
    both = np.ones(2, dtype=np.bool_)
    assert _settles_best(np.array([1.0, 1.0 + 1e-9]), np.array([1e-12, 1e-12]), both)
    assert not _settles_best(np.array([1.0, 1.0 + 1e-12]), np.array([1e-12, 1e-12]), both)
    assert _settles_best(np.array([1.0, -np.inf]), np.array([1e-3, 0.0]), np.array([True, False]))
    assert _settles_within(np.array([1.0, 0.7]), np.array([1e-12, 1e-12]), 0.25)
    assert _settles_within(np.array([1.0, 0.8]), np.array([1e-12, 1e-12]), 0.25)
    assert not _settles_within(np.array([1.0, 0.75]), np.array([1e-12, 1e-12]), 0.25)
