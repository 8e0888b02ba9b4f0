"""DynLin-UCB and the baselines of "Dynamical Linear Bandits": schedules, estimators, regret, determinism."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.agents import AGENTS
from papergym.agents.dlb import (
    AR2,
    UCB1,
    BatchExp3,
    Clairvoyant,
    DLinUCB,
    DynLinUCB,
    Exp3,
    Expert,
    LinUCB,
    LinUCBUnitNoise,
    SystemBounds,
    UndiscountedDLinUCB,
    _dynlin_radius,
    cumulative_regret,
    epoch_length,
    simulate,
    trial_noise,
)
from papergym.core.rollout import evaluate
from papergym.envs.dlb import DLBModel, DynamicalLinearBanditEnv, budget_allocations

ENV_ID = "papergym/DynamicalLinearBandit-v0"


@pytest.fixture(scope="module")
def synthetic() -> DLBModel:
    return DLBModel.from_kwargs("synthetic-0.01")


def easy_model() -> DLBModel:
    """No dynamics (A = 0, B = 0): a plain linear bandit whose best allocation is (1, 0, 0.5)."""
    return DLBModel.from_kwargs(None, A=[[0.0]], B=[[0.0, 0.0, 0.0]], C=[[0.0]], D=[[1.0, 0.0, 0.5]],
                                noise_std=0.01, actions=budget_allocations(3, 1.5, 1.0))


def fooling_model() -> DLBModel:
    """Action 0 pays 1 at once but drives the state to -2 (h = -1); action 1 pays 0 (h = 0)."""
    return DLBModel.from_kwargs(None, A=[[0.5]], B=[[-1.0, 0.0]], C=[[1.0]], D=[[1.0, 0.0]], noise_std=0.01,
                                actions=[[1.0, 0.0], [0.0, 1.0]])


def test_epoch_lengths_follow_one_plus_floor_log_m_over_log_inverse_rho():
    assert [epoch_length(m, 0.5) for m in range(1, 10)] == [1, 2, 2, 3, 3, 3, 3, 4, 4]
    assert [epoch_length(m, 0.2) for m in (1, 4, 5, 24, 25, 124, 125)] == [1, 1, 2, 2, 3, 3, 4]
    assert all(epoch_length(m, 0.0) == 1 for m in (1, 10, 10**6))
    for m in range(1, 2000):
        assert epoch_length(m, 0.3) == 1 + math.floor(math.log(m) / math.log(1 / 0.3) + 1e-9)


def test_dynlin_ucb_holds_each_action_for_its_epoch_and_learns_only_from_epoch_ends(synthetic):
    agent = DynLinUCB(synthetic, horizon=300, rho_bar=0.5, seed=0)
    rng = np.random.default_rng(0)
    played, rewards = [], []
    for _ in range(300):
        action = agent.act()
        reward = float(rng.normal())
        agent.update(action, reward)
        played.append(action)
        rewards.append(reward)
    boundaries = np.cumsum([epoch_length(m, 0.5) for m in range(1, 80)])
    boundaries = boundaries[boundaries <= 300]
    starts = np.concatenate([[0], boundaries[:-1]])
    for start, end in zip(starts, boundaries):
        assert len(set(played[start:end])) == 1  # one action per epoch
    assert agent.epochs_completed == len(boundaries)
    # h_hat is the ridge regression of the epochs' last rewards on their actions, nothing else.
    last = boundaries - 1
    design = synthetic.actions[np.array(played)[last]]
    gram = np.eye(3) + design.T @ design
    expected = np.linalg.solve(gram, design.T @ np.array(rewards)[last])
    np.testing.assert_allclose(agent.estimate, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(agent.state[0], np.linalg.inv(gram), rtol=1e-9, atol=1e-12)


def test_confidence_radius_is_the_papers_formula(synthetic):
    bounds = SystemBounds.from_model(synthetic)
    agent = DynLinUCB(synthetic, horizon=10**6, lam=2.0)
    rho, phi, omega, theta = 0.2, 1.0, math.hypot(1.0, 0.1), math.hypot(0.5, 0.1)
    b_norm, u_norm = 0.45, math.hypot(1.0, 0.5)
    c1 = theta + omega * b_norm * phi / (1 - rho)
    c2 = u_norm * omega * phi * (u_norm * b_norm / (1 - rho) + u_norm / (1 - rho))
    # As in the authors' runs, the reward noise scale is one output's sigma (the sum of 3 outputs has sqrt(3) sigma).
    noise_var = 0.01**2 + 0.01**2 * omega**2 * phi**2 / (1 - rho**2)
    exact = SystemBounds.from_model(synthetic, reward_noise_std=0.01 * math.sqrt(3))
    assert exact.epoch_noise_var == pytest.approx(noise_var + 2 * 0.01**2)
    assert bounds.gain_bound == pytest.approx(c1)
    assert bounds.transient_bound == pytest.approx(c2)
    assert bounds.epoch_noise_var == pytest.approx(noise_var)
    t = 1234
    expected = (c1 * math.sqrt(2.0) + c2 / math.sqrt(2.0) * math.log(math.e * (t + 1))
                + math.sqrt(2 * noise_var * (math.log(10**6) + 1.5 * math.log(1 + t * u_norm**2 / (3 * 2.0)))))
    assert _dynlin_radius(agent._params, t) == pytest.approx(expected, rel=1e-12)


def test_linucb_sherman_morrison_equals_the_direct_least_squares(synthetic):
    agent = LinUCB(synthetic, horizon=100, lam=3.0, seed=1)
    actions, rewards = [], []
    for step in range(40):
        action = agent.act()
        agent.update(action, 0.1 * step)
        actions.append(action)
        rewards.append(0.1 * step)
    design = synthetic.actions[actions]
    gram = 3.0 * np.eye(3) + design.T @ design
    np.testing.assert_allclose(agent.state[0], np.linalg.inv(gram), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(agent.estimate, np.linalg.solve(gram, design.T @ np.array(rewards)), rtol=1e-9)


def test_dlinucb_estimate_is_the_discounted_least_squares_with_a_growing_regulariser(synthetic):
    gamma, lam = 0.9, 2.0
    agent = DLinUCB(synthetic, horizon=100, lam=lam, gamma=gamma, seed=2)
    actions = [0, 3, 5, 5, 1, 2, 4, 0]
    rewards = np.linspace(-1, 1, len(actions))
    for action, reward in zip(actions, rewards):
        agent.update(action, reward)
    t = len(actions)
    weights = gamma ** np.arange(t)[::-1]
    design = synthetic.actions[actions]
    # The regulariser added at round s (0-based) is (1 - gamma) lambda gamma^-s, then discounted t - 1 - s times.
    rounds = np.arange(t)
    regulariser = lam * gamma**t + np.sum((1 - gamma) * lam * gamma ** (-rounds) * gamma ** (t - 1 - rounds))
    regulariser_tilde = lam * gamma ** (2 * t) + np.sum(
        (1 - gamma**2) * lam * gamma ** (-rounds) * gamma ** (2 * (t - 1 - rounds)))
    gram = regulariser * np.eye(3) + (design.T * weights) @ design
    gram_tilde = regulariser_tilde * np.eye(3) + (design.T * weights**2) @ design
    np.testing.assert_allclose(agent.state[0], gram, rtol=1e-12)
    np.testing.assert_allclose(agent.state[1], gram_tilde, rtol=1e-12)
    np.testing.assert_allclose(agent.state[4], np.linalg.inv(gram), rtol=1e-9)
    np.testing.assert_allclose(agent.estimate, np.linalg.solve(gram, design.T @ (weights * rewards)), rtol=1e-9)


def test_dlinucb_index_uses_the_authors_constants(synthetic):
    """beta_t = ||D'1|| sqrt(lambda_t) + sigma sqrt(2 log T + d log(1 + L^2 (1 - g^2t) / (d lambda_t (1 - g^2))))
    with sigma one output's noise std and L the daily budget, on the norm ||u||_{V^-1 V~ V^-1}."""
    horizon, gamma, lam, d = 500, 0.99, 1.0, 3
    agent = DLinUCB(synthetic, horizon, lam=lam, gamma=gamma, seed=0)
    rng = np.random.default_rng(4)
    for _ in range(60):
        agent.act()
        agent.update(int(rng.integers(synthetic.n_actions)), float(rng.normal(0.5, 0.3)))
    t = agent.rounds_done
    lam_t = lam * gamma**-t
    beta = math.hypot(0.5, 0.1) * math.sqrt(lam_t) + 0.01 * math.sqrt(
        2 * math.log(horizon) + d * math.log(1 + 1.5**2 * (1 - gamma ** (2 * t)) / (d * lam_t * (1 - gamma**2))))
    inverse = np.linalg.inv(agent.state[0])
    widths = np.einsum("kd,de,ef,fg,kg->k", synthetic.actions, inverse, agent.state[1], inverse, synthetic.actions)
    scores = synthetic.actions @ agent.estimate + beta * np.sqrt(widths)
    assert agent.act() == int(np.argmax(scores))
    assert np.sort(scores)[-1] - np.sort(scores)[-2] > 1e-6  # no tie: the check can fail


def test_undiscounted_dlinucb_is_linucb_with_the_discount_factor_in_its_radius(synthetic):
    horizon, lam, gamma = 10**6, math.log(10**6), 1 - 1e-6
    agent = UndiscountedDLinUCB(synthetic, horizon, lam=lam, gamma=gamma, seed=0)
    plain = LinUCB(synthetic, horizon, lam=lam, seed=0)
    bounds, d, t = SystemBounds.from_model(synthetic), 3, 400_000
    factor = (1 - gamma ** (2 * t)) / (1 - gamma**2)
    expected = bounds.gain_bound * math.sqrt(lam) + math.sqrt(2 * bounds.epoch_noise_var * (
        math.log(horizon) + d / 2 * math.log(1 + t * bounds.action_norm**2 / (d * lam) * factor)))
    assert _dynlin_radius(agent._params, t) == pytest.approx(expected, rel=1e-9)
    assert _dynlin_radius(agent._params, t) > _dynlin_radius(plain._params, t)
    assert _dynlin_radius(agent._params, 0) == _dynlin_radius(plain._params, 0)
    for step, action in enumerate([0, 2, 5, 1, 1, 3]):
        for learner in (agent, plain):
            learner.update(action, 0.1 * step)
    np.testing.assert_array_equal(agent.estimate, plain.estimate)  # the regression is not discounted


@pytest.mark.parametrize("agent_class", [DynLinUCB, LinUCB, DLinUCB, UCB1, Exp3])
def test_regret_grows_sublinearly_on_an_easy_case(agent_class):
    model, horizon = easy_model(), 20_000
    regret = cumulative_regret(model, simulate(agent_class(model, horizon, seed=0), trial_noise(model, horizon, 0)))
    first_half, second_half = regret[horizon // 2 - 1], regret[-1] - regret[horizon // 2 - 1]
    assert second_half < 0.3 * first_half
    uniform_play = horizon * (model.optimal_value - model.steady_state_values.mean())
    assert regret[-1] < 0.5 * uniform_play


def test_linucb_is_fooled_by_a_delayed_effect_of_opposite_sign_and_dynlin_ucb_is_not():
    model, horizon = fooling_model(), 5000
    np.testing.assert_allclose(model.markov_gain, [-1.0, 0.0])
    noise = trial_noise(model, horizon, 1)
    half = horizon // 2

    def regret_halves(agent):
        regret = cumulative_regret(model, simulate(agent, noise))
        return regret[half - 1], regret[-1] - regret[half - 1]

    _, lin_second = regret_halves(LinUCB(model, horizon, seed=0))
    assert lin_second > 0.95 * half  # linear: it settles on the action with the good immediate reward
    dyn_first, dyn_second = regret_halves(DynLinUCB(model, horizon, seed=0))
    assert dyn_second < dyn_first and dyn_second < 0.5 * lin_second


def test_clairvoyant_has_zero_regret_and_expert_plays_its_allocation(synthetic):
    horizon = 1000
    chosen = simulate(Clairvoyant(synthetic, horizon), trial_noise(synthetic, horizon, 0))
    assert cumulative_regret(synthetic, chosen)[-1] == 0
    real_actions = DLBModel.from_kwargs("real").actions
    extended = DLBModel.from_kwargs("real", actions=np.vstack([real_actions, [0.1, 0.4, 1.0]]))
    expert = Expert(extended, horizon, [0.1, 0.4, 1.0])
    assert np.all(simulate(expert, trial_noise(extended, horizon, 0)) == 6)
    with pytest.raises(ValueError, match="allocation"):
        Expert(synthetic, horizon, [0.1, 0.4, 1.0])


@pytest.mark.parametrize("agent_class", [DynLinUCB, LinUCB, DLinUCB, UndiscountedDLinUCB, AR2, Exp3, BatchExp3,
                                         UCB1])
def test_simulation_is_deterministic_under_seeds_and_matches_the_environment(agent_class):
    model, horizon = DLBModel.from_kwargs("real"), 400
    noise = trial_noise(model, horizon, 5)
    first = simulate(agent_class(model, horizon, seed=3), noise)
    np.testing.assert_array_equal(first, simulate(agent_class(model, horizon, seed=3), noise))
    # The compiled simulation and the Gymnasium environment with the same seed play identically.
    env = DynamicalLinearBanditEnv(preset="real", horizon=horizon)
    env.reset(seed=5)
    agent = agent_class(model, horizon, seed=3)
    agent.rng.random(horizon)  # simulate draws the agent's uniforms up front: do the same here
    uniforms = np.random.default_rng(3).random(horizon)
    online = []
    for t in range(horizon):
        action = int(type(agent).act_kernel(agent.state, agent._params, t, uniforms[t]))
        _, reward, _, _, _ = env.step(action)
        agent.update(action, reward)
        online.append(action)
    np.testing.assert_array_equal(first, online)


def test_randomised_agents_differ_across_seeds():
    model, horizon = DLBModel.from_kwargs("synthetic-0.01"), 2000
    noise = trial_noise(model, horizon, 0)
    for agent_class in (Exp3, AR2):
        first = simulate(agent_class(model, horizon, seed=0), noise)
        assert not np.array_equal(first, simulate(agent_class(model, horizon, seed=1), noise))


def test_predict_learns_from_the_observed_reward_and_works_with_evaluate():
    env = gym.make(ENV_ID, preset="synthetic-0.01", horizon=200)
    agent = DynLinUCB.from_env(env, seed=0)
    result = evaluate(agent, env, n_episodes=2, seed=0, info_keys=("regret",))
    assert result.lengths.tolist() == [200, 200]
    assert agent.rounds_done == 199  # the last reward of an episode is never observed by predict
    assert agent.epochs_completed > 0 and np.any(agent.estimate != 0.0)
    with pytest.raises(ValueError, match="observation"):
        agent.predict(np.zeros((2, 2), dtype=np.float32))


@pytest.mark.parametrize("name", ["dynlin-ucb", "dlb-linucb", "dlb-d-linucb", "dlb-undiscounted-d-linucb",
                                  "dlb-ar2", "dlb-exp3", "dlb-batch-exp3", "dlb-ucb1", "dlb-clairvoyant"])
def test_agents_registry_builds_every_dlb_agent(name):
    env = gym.make(ENV_ID, horizon=10)
    agent = AGENTS[name](env)
    observation, _ = env.reset(seed=0)
    action, _ = agent.predict(observation)
    assert env.action_space.contains(int(action))


def _numpy_optimistic_choice(actions, history, lam, radius):
    """argmax_u h'u + radius ||u||_{V^-1} from the ridge regression of the history, in plain numpy."""
    gram = lam * np.eye(actions.shape[1]) + sum(np.outer(actions[a], actions[a]) for a, _ in history)
    target = sum(reward * actions[a] for a, reward in history)
    inverse = np.linalg.inv(gram)
    estimate = inverse @ target
    scores = actions @ estimate + radius * np.sqrt(np.einsum("kd,de,ke->k", actions, inverse, actions))
    return int(np.argmax(scores))


@pytest.mark.parametrize("lam", [1.0, math.log(10_000)])
def test_the_two_linucb_radii_match_their_definitions(synthetic, lam):
    horizon, d = 10_000, synthetic.action_dim
    unit = LinUCBUnitNoise(synthetic, horizon, lam=lam, seed=0)
    largest = synthetic.actions.sum(axis=1).max()
    assert largest == pytest.approx(1.5)
    assert unit.radius == pytest.approx(np.linalg.norm(synthetic.theta) * math.sqrt(lam) + math.sqrt(
        2 * math.log(horizon) + d * math.log(1 + horizon * largest**2 / (d * lam))))
    scaled = LinUCB(synthetic, horizon, lam=lam, seed=0)
    bounds = SystemBounds.from_model(synthetic)
    rng = np.random.default_rng(3)
    history = [(int(rng.integers(synthetic.n_actions)), float(rng.normal(0.5, 0.3))) for _ in range(40)]
    for agent in (unit, scaled):
        for action, reward in history:
            agent.act()
            agent.update(action, reward)
    t = len(history)
    scaled_radius = bounds.gain_bound * math.sqrt(lam) + math.sqrt(2 * bounds.epoch_noise_var * (
        math.log(horizon) + d / 2 * math.log(1 + t * bounds.action_norm**2 / (d * lam))))
    assert unit.act() == _numpy_optimistic_choice(synthetic.actions, history, lam, unit.radius)
    assert scaled.act() == _numpy_optimistic_choice(synthetic.actions, history, lam, scaled_radius)
    assert unit.radius > 20 * (scaled_radius - bounds.gain_bound * math.sqrt(lam))  # sigma = 0.01


def test_reproduction_runs_the_authors_two_linucb_and_two_dlinucb(synthetic):
    from papergym.experiments.dlb import paper_agents

    factories = paper_agents(synthetic, 1000)
    assert isinstance(factories["LinUCB (lambda=1)"](), LinUCBUnitNoise)
    log_t = factories["LinUCB (lambda=log T)"]()
    assert type(log_t) is LinUCB and log_t.lam == pytest.approx(math.log(1000))
    discounted, undiscounted = factories["D-LinUCB (lambda=1)"](), factories["D-LinUCB (lambda=log T)"]()
    assert type(discounted) is DLinUCB and (discounted.lam, discounted.gamma) == (1.0, 1 - 1e-9)
    assert type(undiscounted) is UndiscountedDLinUCB and undiscounted.radius_gamma == 1 - 1e-6
    assert undiscounted.lam == pytest.approx(math.log(1000))


@pytest.mark.parametrize("rule", ["persistent", "once"])
def test_ar2_concentrates_its_pulls_when_the_gaps_are_large_against_the_noise(rule):
    quiet = DLBModel.from_kwargs("synthetic-0.01", noise_std=1e-6)
    agent = AR2(quiet, 20_000, trigger_rule=rule, seed=0)
    assert agent.c1 * quiet.noise_std < 0.01 < np.diff(np.sort(quiet.steady_state_values)).min()
    pulls = np.bincount(simulate(agent, trial_noise(quiet, 20_000, 0)), minlength=quiet.n_actions)
    assert pulls.max() >= 0.99 * pulls.sum()


def test_ar2_trigger_rules_when_the_width_exceeds_every_gap(synthetic):
    """sigma = 0.01: c1 sigma ~ 2.6 exceeds every gap; "once" cycles through the arms, "persistent" keeps
    exploring the arms triggered first on odd rounds and plays the superior arm on even rounds."""
    horizon = 6_000
    noise = trial_noise(synthetic, horizon, 0)
    once = np.bincount(simulate(AR2(synthetic, horizon, trigger_rule="once", seed=0), noise), minlength=6)
    assert once.min() >= 0.95 * horizon / 6
    agent = AR2(synthetic, horizon, trigger_rule="persistent", seed=0)
    chosen = simulate(agent, noise)
    triggered_at = agent.state[2]
    first = synthetic.n_actions + 1  # the first round after the initial pulls (t counted from 1)
    assert np.all(triggered_at >= first) and np.sum(triggered_at == first) == synthetic.n_actions - 1
    odd_rounds = chosen[first + 1::2]  # rounds t = K + 3, K + 5, ... explore the arms triggered at K + 1
    assert set(odd_rounds.tolist()) == set(np.flatnonzero(triggered_at == first).tolist())


@pytest.mark.parametrize(("build", "message"), [
    (lambda m: DynLinUCB(m, 100, lam=0.0), "lam"),
    (lambda m: DynLinUCB(m, 100, rho_bar=0.1), "rho_bar"),
    (lambda m: DynLinUCB(m, 100, rho_bar=1.0), "rho_bar"),
    (lambda m: DynLinUCB(m, 0), "horizon"),
    (lambda m: DynLinUCB(m, 100, delta=0.0), "delta"),
    (lambda m: DLinUCB(m, 100, gamma=1.0), "gamma"),
    (lambda m: DLinUCB(m, 10**6, gamma=0.999), "gamma"),
    (lambda m: DLinUCB(m, 100, noise_std=-1.0), "noise_std"),
    (lambda m: UndiscountedDLinUCB(m, 100, gamma=1.0), "gamma"),
    (lambda m: SystemBounds.from_model(m, reward_noise_std=-0.1), "reward_noise_std"),
    (lambda m: Exp3(m, 100, batch_size=0), "batch_size"),
    (lambda m: AR2(m, 100, alpha=1.5), "alpha"),
    (lambda m: AR2(m, 100, trigger_rule="sometimes"), "trigger_rule"),
    (lambda m: UCB1(m, 100, scale=-1.0), "scale"),
])
def test_bad_agent_arguments_raise_value_errors(synthetic, build, message):
    with pytest.raises(ValueError, match=message):
        build(synthetic)
    with pytest.raises(ValueError, match="DynamicalLinearBandit"):
        DynLinUCB.from_env(gym.make("papergym/LQG-v0"))


def first_arm_agent(env):
    """A user agent for the reproduction test: always the first allocation."""
    from papergym.agents.dlb import FixedAllocation

    return FixedAllocation.from_env(env, action=0)


def test_reproduction_writes_its_tables_and_plot_and_adds_a_user_agent(tmp_path):
    from papergym.experiments import get_reproduction
    from papergym.experiments.runner import run_reproduction

    reproduction = get_reproduction("dlb")
    settings = reproduction.preset("quick").replace(seeds=2, horizon=3000, cases=("synthetic-0.01", "real"),
                                                    agents=("test_dlb_agents:first_arm_agent",))
    records = run_reproduction(reproduction, settings, tmp_path, workers=1, progress=False, verbose=False)
    by_case = {}
    for record in records:
        by_case.setdefault(record["case"], {}).setdefault(record["agent"], []).append(record["regret"])
    assert "Expert" in by_case["real"] and by_case["real"]["Clairvoyant"] == [0.0, 0.0]
    model = DLBModel.from_kwargs("synthetic-0.01")
    gap = model.optimal_value - model.steady_state_values[0]
    assert by_case["synthetic-0.01"]["first_arm_agent"] == pytest.approx([3000 * gap] * 2)
    for name in ("dlb_final_regret.csv", "dlb_regret_curves.csv", "dlb_regret.png", "report.txt", "claims.csv"):
        assert (tmp_path / name).stat().st_size > 0
    text = (tmp_path / "report.txt").read_text()
    assert "cumulative regret after T=3,000" in text and "dynlin-lowest-real" in text


def test_a_user_agent_plays_the_paper_agents_noise_of_its_trial():
    """A user agent's unit of a trial resets the environment with the seed of the trial's noise stream, whose
    draws are the noise of the paper agents' simulations of that trial."""
    from papergym.experiments.contract import Unit
    from papergym.experiments.dlb import NOISE, PRESETS, TRIAL, run_trial

    settings = PRESETS["quick"].replace(seeds=1, horizon=300, cases=("synthetic-0.1",))
    paper_unit, user_unit = Unit(TRIAL, 0, {"case": "synthetic-0.1"}), Unit("agent", 0, {"case": "synthetic-0.1"})
    seed = user_unit.stream_seed(settings, NOISE, kind=TRIAL)
    assert seed == paper_unit.stream_seed(settings, NOISE, kind=TRIAL)
    assert seed != Unit(TRIAL, 1).stream_seed(settings, NOISE, kind=TRIAL)
    model = DLBModel.from_kwargs("synthetic-0.1")
    output_noise = 0.1 * trial_noise(model, 300, seed)[:, model.state_dim:].sum(axis=1)
    env = DynamicalLinearBanditEnv(preset="synthetic-0.1", horizon=300)
    env.reset(seed=seed)
    for t in range(300):
        _, reward, _, _, info = env.step(t % model.n_actions)
        assert reward - info["mean_reward"] == pytest.approx(output_noise[t], abs=1e-12)
    first, again = run_trial(settings, paper_unit), run_trial(settings, paper_unit)
    assert {record["agent"] for record in first} >= {"DynLin-UCB (lambda=log T)", "LinUCB (lambda=1)"}
    for one, other in zip(first, again):  # a trial depends on the settings and its unit alone
        assert one["regret"] == other["regret"] and np.array_equal(one["curve"], other["curve"])
