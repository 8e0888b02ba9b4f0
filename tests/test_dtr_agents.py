"""DTR bandit agents: forced schedule, least squares by Sherman-Morrison, online loop = compiled loop,
zero regret of the optimal regime, greedy's lock-in, determinism, bad arguments."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401
from papergym.agents import AGENTS
from papergym.agents.dtr import (
    KIND_AUTHORS_DTR,
    KIND_AUTHORS_GREEDY,
    KIND_STATIC,
    LSVIUCB,
    AuthorsDTRBandit,
    AuthorsGreedy,
    DTRBandit,
    EpsilonGreedy,
    ExploreThenCommit,
    Greedy,
    OptimalRegime,
    RecourseBandit,
    StaticBandit,
    _add_moments,
    _ols,
    _ols_features,
    authors_forced_sequence,
    play_patients,
    regret_curves,
    simulate,
)
from papergym.envs.dtr import make_model

LEARNERS = [DTRBandit, Greedy, EpsilonGreedy, LSVIUCB, ExploreThenCommit]


def test_forced_schedule_blocks_start_at_powers_of_two():
    agent = DTRBandit(make_model("beta-mixture"), q=5)
    schedule = agent.forced_schedule(3000)
    forced = np.flatnonzero(schedule >= 0)
    # K = 4 sequences, q = 5: blocks of 20 patients at (2^n - 1) * 20 = 0, 20, 60, 140, 300, 620, 1260, 2540
    starts = [0, 20, 60, 140, 300, 620, 1260, 2540]
    expected = np.concatenate([np.arange(s, s + 20) for s in starts])
    assert np.array_equal(forced, expected)
    assert schedule[:20].tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    # O(log T) forced patients.
    assert (DTRBandit(make_model("beta-mixture"), q=5).forced_schedule(100_000) >= 0).sum() == 20 * 13
    depression = DTRBandit(make_model("depression"), q=2)
    assert depression.forced_schedule(6).tolist() == [0, 0, 1, 1, 2, 2]
    diagonal = DTRBandit(make_model("linear-gaussian"), q=20, forced_sequences=[[0, 0], [1, 1]])
    assert np.flatnonzero(diagonal.forced_schedule(200) >= 0).tolist() == list(range(80)) + list(range(120, 160))
    with pytest.raises(ValueError, match="forced_sequences"):
        DTRBandit(make_model("depression"), forced_sequences=[[0, 1]])


def test_sherman_morrison_estimates_equal_least_squares():
    model = make_model("beta-mixture")
    patients = model.draw(np.random.default_rng(0), 500)
    agent = Greedy(model, horizon=500, seed=0)
    a1, a2 = simulate(agent, patients)
    agent.act(np.array([0.0, 0.5], dtype=np.float32))  # refits on all 500 patients
    coef1, coef2 = agent.estimates("hat")
    rows = np.arange(500)
    x2 = patients.x2[rows, a1, 0]
    y = patients.r2[rows, a1, a2]
    for arm in range(2):
        design = np.column_stack([np.ones((a2 == arm).sum()), x2[a2 == arm]])
        assert np.allclose(coef2[arm], np.linalg.lstsq(design, y[a2 == arm], rcond=None)[0], atol=1e-6)
    pseudo = np.max(np.column_stack([np.ones(500), x2]) @ coef2.T, axis=1)
    for arm in range(2):
        design = np.column_stack([np.ones((a1 == arm).sum()), patients.x1[a1 == arm, 0]])
        assert np.allclose(coef1[arm], np.linalg.lstsq(design, pseudo[a1 == arm], rcond=None)[0], atol=1e-6)


@pytest.mark.parametrize("preset", ["beta-mixture", "depression"])
@pytest.mark.parametrize("learner", LEARNERS)
def test_online_loop_matches_compiled_simulation(learner, preset):
    model = make_model(preset)
    patients = model.draw(np.random.default_rng(1), 300)
    # float32 observations: compare on patients whose features are exactly representable.
    patients.x1[:] = patients.x1.astype(np.float32)
    patients.x2[:] = patients.x2.astype(np.float32)
    compiled = simulate(learner(model, horizon=300, seed=7), patients)
    online = play_patients(learner(model, horizon=300, seed=7), model, patients)
    if learner is EpsilonGreedy:  # the random streams are drawn in a different order
        assert np.mean(compiled[0] == online[0]) > 0.5
        return
    assert np.array_equal(compiled[0], online[0]) and np.array_equal(compiled[1], online[1])


@pytest.mark.parametrize("preset", ["beta-mixture", "linear-gaussian", "depression"])
def test_optimal_regime_has_zero_regret(preset):
    env = gym.make("papergym/DTRBandit-v0", preset=preset)
    agent = OptimalRegime.from_env(env)
    regret = realised = 0.0
    for episode in range(100):
        observation, _ = env.reset(seed=episode)
        terminated = False
        while not terminated:
            action = agent.act(observation)
            observation, _, terminated, _, info = env.step(action)
            regret += info["regret"]
        realised += info["realised_regret"]
    assert regret == pytest.approx(0.0, abs=1e-9) and realised == pytest.approx(0.0, abs=1e-9)
    model = make_model(preset)
    patients = model.draw(np.random.default_rng(0), 1000)
    expected, realised_curve = regret_curves(model, patients, *simulate(OptimalRegime(model), patients))
    assert expected[-1] == pytest.approx(0.0, abs=1e-9) and realised_curve[-1] == pytest.approx(0.0, abs=1e-9)


def test_greedy_locks_in_the_wrong_first_line_arm_and_forced_sampling_recovers():
    # Beta-mixture with two identical second-line arms (theta = (1, 1) for both): Q2 = x2 + 1 whatever
    # the arm, so Q1(x1, a1) = E[X2 | x1, a1] + 1 and first-line arm 0 is optimal for x1 > 5/14.
    model = make_model("beta-mixture", theta=[[1.0, 1.0], [1.0, 1.0]])
    n = 4000
    x1 = 0.5 + 0.2 * np.random.default_rng(3).random((n, 1))  # arm 0 better by about 0.23 per patient
    patients = model.draw(np.random.default_rng(4), n, x1)
    # Unlucky warm-up: greedy's d = 2 patients of each sequence starting with arm 0 (patients 0-3) all reach
    # x2 = 0. Greedy's stage-1 estimate of arm 0 is then Q2(0) = 1 for every x1, below arm 1's value
    # (1.34 to 1.43 here); it plays arm 0 again only while its own estimates are noisy, then never.
    # The warm-up outcomes are noiseless, so that the second-line estimates after it are exact.
    patients.x2[:4, 0, 0] = 0.0
    patients.r2[:8] = patients.x2[:8] + 1.0
    greedy = Greedy(model, horizon=n, seed=0)
    a1, a2 = simulate(greedy, patients)
    assert np.mean(a1[8:] == 0) < 0.01 and np.all(a1[n // 2:] == 1)  # a few noisy tries, then locked in
    expected_greedy, _ = regret_curves(model, patients, a1, a2)
    dtr = DTRBandit(model, horizon=n, seed=0)
    b1, b2 = simulate(dtr, patients)
    expected_dtr, _ = regret_curves(model, patients, b1, b2)
    assert np.mean(b1[n // 2:] == 0) > 0.95
    # greedy's regret grows linearly, the DTR bandit's flattens
    late_greedy = expected_greedy[-1] - expected_greedy[n // 2 - 1]
    late_dtr = expected_dtr[-1] - expected_dtr[n // 2 - 1]
    assert late_greedy > 0.2 * n / 2
    assert late_dtr < 0.1 * late_greedy


def test_learners_are_deterministic_per_seed():
    model = make_model("depression")
    patients = model.draw(np.random.default_rng(5), 400)
    for learner in LEARNERS:
        first = simulate(learner(model, horizon=400, seed=11), patients)
        second = simulate(learner(model, horizon=400, seed=11), patients)
        assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_dtr_bandit_learns_the_beta_mixture_regime():
    model = make_model("beta-mixture")
    patients = model.draw(np.random.default_rng(2), 3000)
    agent = DTRBandit(model, horizon=3000, seed=0)
    a1, a2 = simulate(agent, patients)
    optimal1, optimal2 = model.optimal_actions(patients)
    assert np.mean(a1[1500:] == optimal1[1500:]) > 0.9
    assert np.mean(a2[1500:] == optimal2[1500:]) > 0.9


def test_predict_interface_and_registry():
    env = gym.make("papergym/DTRBandit-v0")
    for name in ("dtr-bandit", "dtr-greedy", "dtr-epsilon-greedy", "dtr-lsvi-ucb", "dtr-etc", "dtr-optimal"):
        agent = AGENTS[name](env)
        observation, _ = env.reset(seed=0)
        action, state = agent.predict(observation)
        assert env.action_space.contains(int(action)) and state is None
        actions, _ = agent.predict(np.stack([observation, observation]))
        assert actions.shape == (2,)


@pytest.mark.parametrize("build,field", [
    (lambda m: DTRBandit(m, q=-1), "q"),
    (lambda m: DTRBandit(m, q=0), "q"),
    (lambda m: DTRBandit(m, h=0.0), "h"),
    (lambda m: DTRBandit(m, h=-0.5), "h"),
    (lambda m: EpsilonGreedy(m, epsilon=1.5), "epsilon"),
    (lambda m: LSVIUCB(m, beta_scale=0.0), "beta_scale"),
    (lambda m: Greedy(m, horizon=0), "horizon"),
    (lambda m: ExploreThenCommit(m, explore=0), "explore"),
])
def test_bad_agent_arguments_raise_naming_the_field(build, field):
    with pytest.raises(ValueError, match=field):
        build(make_model("beta-mixture"))


AUTHORS = [AuthorsDTRBandit, AuthorsGreedy, StaticBandit, RecourseBandit]


def test_authors_forced_schedule_starts_with_one_patient_per_sequence():
    # d = 1: patient 0 on (1, 1), patient 1 on (2, 2) (paper's labels), then blocks of q at (2^n - 1) 2q
    schedule = [authors_forced_sequence(t, KIND_AUTHORS_DTR, 20, 2, 1) for t in range(130)]
    assert schedule[:2] == [0, 1] and schedule[2:20] == [0] * 18 and schedule[20:40] == [1] * 20
    assert schedule[40:60] == [0] * 20 and schedule[60:80] == [1] * 20 and schedule[80:120] == [-1] * 40
    assert [authors_forced_sequence(t, KIND_AUTHORS_GREEDY, 20, 2, 1) for t in range(4)] == [0, 1, -1, -1]
    with pytest.raises(ValueError, match="every sequence allowed"):
        AuthorsDTRBandit(make_model("depression"))


def test_authors_regressions_are_ols_with_an_unpenalised_intercept():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((30, 1)), rng.standard_normal((30, 2))
    moments, coef = np.zeros((4, 4)), np.zeros((2, 2))
    for row in range(30):
        _add_moments(moments, x[row], y[row])
    _ols(moments, 1, coef)
    assert np.allclose(coef, np.linalg.lstsq(np.column_stack([np.ones(30), x]), y, rcond=None)[0])
    one = np.zeros((3, 3))
    _add_moments(one, np.array([0.7]), np.array([2.5]))
    _ols(one, 1, coef[:, :1])
    assert coef[:, 0].tolist() == [2.5, 0.0]  # one patient: its outcome, slope 0 (minimum-norm)


def test_authors_one_feature_ols_gives_the_eigendecomposition_numbers():
    rng = np.random.default_rng(4)
    for trial in range(300):
        n, outcomes = int(rng.integers(1, 40)), int(rng.integers(1, 3))
        x = rng.standard_normal((n, 1)) * rng.choice([1e-3, 1.0, 1e3])
        if trial % 5 == 0:
            x[:] = x[0]  # singular: minimum-norm slope 0
        y = 10 * rng.standard_normal((n, outcomes))
        moments = np.zeros((2 + outcomes, 2 + outcomes))
        for row in range(n):
            _add_moments(moments, x[row], y[row])
        scalar, general = np.zeros((2, outcomes)), np.zeros((2, outcomes))
        _ols(moments, 1, scalar)
        _ols_features(moments, 1, moments[0, 0], general)
        assert np.array_equal(scalar, general)  # bit for bit (up to the sign of a zero slope)


@pytest.mark.parametrize("learner", AUTHORS)
def test_authors_online_loop_matches_compiled_simulation(learner):
    model = make_model("linear-gaussian")
    patients = model.draw(np.random.default_rng(5), 150)
    compiled = simulate(learner(model, horizon=150, seed=0), patients)
    online = play_patients(learner(model, horizon=150, seed=0), model, patients)
    assert np.array_equal(compiled[0], online[0]) and np.array_equal(compiled[1], online[1])


def test_authors_static_plays_whole_sequences_and_recourse_rechooses_the_second_line():
    model = make_model("linear-gaussian")
    patients = model.draw(np.random.default_rng(6), 400)
    static = StaticBandit(model, horizon=400, q=20, seed=0)
    a1, a2 = simulate(static, patients)
    forced = np.array([authors_forced_sequence(t, KIND_STATIC, 20, 4, 1) for t in range(400)])
    assert np.array_equal(model.sequences[forced[forced >= 0]], np.column_stack([a1, a2])[forced >= 0])
    b1, b2 = simulate(RecourseBandit(model, horizon=400, q=20, seed=0), patients)
    assert np.array_equal(b1[forced >= 0], a1[forced >= 0])
    assert np.any(b2 != a2)
