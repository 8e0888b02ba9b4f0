"""Replay of logged data by inverse-propensity resampling, on a small file generated from the simulator."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from papergym.agents.dtr import DTRBandit, replay
from papergym.envs.dtr import make_model
from papergym.envs.dtr.replay import load_logged, propensities

ALLOWED = ((True, False), (True, True))  # after a switch (0) only a switch


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def write_logged_trial(path, n=3000, seed=0):
    """A sequentially randomised trial on the depression simulator, with feature-dependent propensities
    and dropout before stage 2; returns the true (p1, p0, p2) of what was logged."""
    model = make_model("depression")
    rng = np.random.default_rng(seed)
    patients = model.draw(rng, n)
    rows = np.arange(n)
    augment1 = _sigmoid(0.2 + 0.15 * (patients.x1[:, 0] - 14.0) + 0.8 * patients.x1[:, 2])
    a1 = (rng.random(n) < augment1).astype(int)
    x2 = patients.x2[rows, a1]
    remitted = patients.remitted[rows, a1]
    stay = _sigmoid(1.0 - 0.1 * (x2[:, 0] - 10.0))
    dropped = ~remitted & (rng.random(n) >= stay)
    augment2 = _sigmoid(-0.3 + 1.2 * x2[:, 2])
    a2 = np.where(a1 == 0, 0, (rng.random(n) < augment2).astype(int))
    a2 = np.where(remitted | dropped, -1, a2)
    r2 = patients.r2[rows, a1, np.maximum(a2, 0)]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1_0", "x1_1", "x1_2", "a1", "r1", "x2_0", "x2_1", "x2_2", "a2", "r2", "remitted"])
        for t in range(n):
            writer.writerow([*patients.x1[t], a1[t], patients.r1[t, a1[t]], *x2[t], a2[t], r2[t], int(remitted[t])])
    p1 = np.where(a1 == 1, augment1, 1 - augment1)
    p0 = np.where(remitted, 1.0, np.where(dropped, 1 - stay, stay))
    p2 = np.where((a1 == 1) & (a2 >= 0), np.where(a2 == 1, augment2, 1 - augment2), 1.0)
    return model, (p1, p0, p2)


class FixedSequence:
    """Always the same sequence (a1, a2): a policy whose value the replay must recover."""

    def __init__(self, a1, a2):
        self.sequence = (a1, a2)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        return self.sequence[int(observation[0])], state


def test_propensities_are_recovered(tmp_path):
    _, truth = write_logged_trial(tmp_path / "trial.csv")
    data = load_logged(tmp_path / "trial.csv", ALLOWED)
    for fitted, true in zip(propensities(data), truth):
        assert np.mean(np.abs(fitted - true)) < 0.04


def test_replay_recovers_the_value_of_a_fixed_regime(tmp_path):
    model, _ = write_logged_trial(tmp_path / "trial.csv", n=4000)
    data = load_logged(tmp_path / "trial.csv", ALLOWED)
    result = replay(FixedSequence(1, 1), data, draws=30_000, accept=5_000, seed=1)
    assert result.accepted == 5_000 and result.draws <= 30_000
    accepted = result.accepted_indices
    assert np.all(data.a1[accepted] == 1) and np.all((data.a2[accepted] == 1) | data.remitted[accepted])
    # Ground truth: the regime "augment, then augment" on fresh simulated patients.
    patients = model.draw(np.random.default_rng(9), 200_000)
    rows = np.arange(len(patients))
    truth = np.mean(patients.r1[rows, 1] + patients.r2[rows, 1, 1])
    assert result.mean_return == pytest.approx(truth, abs=0.35)
    # Without the dropout model (p0) the estimate is biased: dropout depends on the stage-1 response.
    naive = data.r1[(data.a1 == 1) & ((data.a2 == 1) | data.remitted)] + data.r2[
        (data.a1 == 1) & ((data.a2 == 1) | data.remitted)]
    assert abs(naive.mean() - truth) > abs(result.mean_return - truth)


def test_a_learner_replays_and_stops_at_the_accepted_target(tmp_path):
    model, _ = write_logged_trial(tmp_path / "trial.csv", n=2000)
    data = load_logged(tmp_path / "trial.csv", ALLOWED)
    agent = DTRBandit(model, horizon=300, q=2, h=10.0, gap_factors=(1.0, 0.5), seed=0)
    result = replay(agent, data, draws=5_000, accept=300, seed=0)
    assert result.accepted == 300 and agent.patients_seen == 300
    assert np.isfinite(result.mean_return)


def test_bad_logged_files_raise(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_logged(tmp_path / "missing.csv")
    write_logged_trial(tmp_path / "trial.csv", n=50)
    lines = (tmp_path / "trial.csv").read_text().splitlines()
    (tmp_path / "no_a2.csv").write_text("\n".join(line.rsplit(",", 3)[0] + "," + line.rsplit(",", 2)[1] + ","
                                                  + line.rsplit(",", 1)[1] for line in lines))
    with pytest.raises(ValueError, match="a2"):
        load_logged(tmp_path / "no_a2.csv", ALLOWED)
    with pytest.raises(ValueError, match="a2"):
        load_logged(tmp_path / "trial.csv", ((True, True), (False, False)))
