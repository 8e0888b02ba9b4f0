"""IWOCS and the robust baselines on tiny budgets: bookkeeping, closed-form worst cases, persistence."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import DQN, PPO, SAC, TD3

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import LQROptimal, linear_policy_return
from papergym.agents.robust import (
    IWOCS,
    CartPoleLQR,
    Episode,
    TransitionModel,
    action_values,
    cma_worst_case,
    critic_values,
    evaluate_grid,
    evaluate_params,
    train_domain_randomization,
    train_on_params,
    worst_corner,
)
from papergym.core.errors import PapergymError
from papergym.envs.robust import RobustLQGEnv

LQG = "papergym/RobustLQG-v0"
TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _closed_form_objective(gain: np.ndarray):
    env = RobustLQGEnv()

    def objective(points):
        values = []
        for params in points:
            env.set_params(**params)
            values.append(linear_policy_return(env.model, gain, 50))
        return np.array(values)

    return objective


def test_cma_finds_the_closed_form_worst_case_of_a_fixed_linear_policy():
    env = RobustLQGEnv()
    gain = LQROptimal.from_env(env).gain
    objective = _closed_form_objective(gain)
    box = env.uncertainty_set
    dense = box.grid(41)
    brute_force = objective(dense)
    result = cma_worst_case(objective, box, budget=150, seed=0)
    assert result.evaluations == 150 == len(result.history)
    assert result.value == pytest.approx(brute_force.min(), rel=1e-3)  # the grid holds the corner
    assert result.params["a_scale"] == pytest.approx(1.2, abs=0.02)
    assert result.params["b_scale"] == pytest.approx(0.5, abs=0.02)
    assert result.value == min(value for _, value in result.history)


def test_cma_searches_one_dimensional_sets_and_counts_candidates():
    box = RobustLQGEnv(uncertainty_set={"a_scale": (0.8, 1.2)}).uncertainty_set

    def objective(points):
        return np.array([(p["a_scale"] - 0.9) ** 2 for p in points])

    result = cma_worst_case(objective, box, budget=30, seed=1, candidates=[{"a_scale": 1.2}])
    assert result.evaluations == 31 and result.history[0] == ({"a_scale": 1.2}, pytest.approx(0.09))
    assert result.params["a_scale"] == pytest.approx(0.9, abs=0.02)


def test_a_flat_objective_restarts_the_search_and_the_vertices_find_a_corner_optimum():
    box = RobustLQGEnv().uncertainty_set
    calls = []

    def capped(points):  # a capped return: flat everywhere except a dip at one vertex
        calls.append(len(points))
        return np.array([500.0 - 100.0 * (p["a_scale"] > 1.19 and p["b_scale"] < 0.51) for p in points])

    result = cma_worst_case(capped, box, budget=30, seed=0)
    assert result.evaluations == 30 == sum(calls) and result.restarts > 1
    assert result.params == {"a_scale": 1.2, "b_scale": 0.5} and result.value == 400.0
    flat = cma_worst_case(lambda points: np.full(len(points), 500.0), box, budget=20, seed=0)
    assert flat.evaluations == 20 and flat.restarts > 1


def test_critic_values_for_value_q_and_actor_critic_agents():
    observations = np.zeros((5, 1), dtype=np.float32)
    for model in (PPO("MlpPolicy", gym.make(LQG), n_steps=32, batch_size=32),
                  SAC("MlpPolicy", gym.make(LQG), buffer_size=100)):
        assert critic_values(model, observations).shape == (5,)
    dqn = DQN("MlpPolicy", gym.make("papergym/RobustCartPole-v0"), buffer_size=100)
    values = critic_values(dqn, np.zeros((3, 4), dtype=np.float32))
    q_values = dqn.q_net(dqn.policy.obs_to_tensor(np.zeros((3, 4), dtype=np.float32))[0]).detach().numpy()
    np.testing.assert_allclose(values, q_values.max(axis=1), rtol=1e-6)


def test_action_values_of_q_and_actor_critic_agents():
    dqn = DQN("MlpPolicy", gym.make("papergym/RobustCartPole-v0"), buffer_size=100)
    observations = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    q_values = dqn.q_net(dqn.policy.obs_to_tensor(observations)[0]).detach().numpy()
    np.testing.assert_allclose(action_values(dqn, observations, np.array([0, 1, 1])), q_values[np.arange(3), [0, 1, 1]],
                               rtol=1e-6)
    # Actions in the environment's units (Pendulum-v1 torques in [-2, 2]) are rescaled for the critic: at the
    # actor's own action Q(s, a) is the critic's value of the policy.
    td3 = TD3("MlpPolicy", gym.make("Pendulum-v1"), buffer_size=100, seed=0)
    observations = np.random.default_rng(2).uniform(-1.0, 1.0, (4, 3)).astype(np.float32)
    own = td3.predict(observations, deterministic=True)[0]
    np.testing.assert_allclose(action_values(td3, observations, own), critic_values(td3, observations), rtol=1e-5)
    assert action_values(PPO("MlpPolicy", gym.make(LQG), n_steps=32, batch_size=32), observations[:, :1], own) is None


CARTPOLE = "papergym/RobustCartPole-v0"
CARTPOLE_SET = {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)}
NOMINAL = {"length": 0.5, "force_mag": 10.0}
SHORT_STRONG = {"length": 0.25, "force_mag": 15.0}
LONG_WEAK = {"length": 2.0, "force_mag": 3.0}
LONG_STRONG = {"length": 2.0, "force_mag": 15.0}


def _cartpole_specialist(params):
    env = gym.make(CARTPOLE)
    env.unwrapped.set_params(**params)
    return CartPoleLQR.from_env(env)


def _episodes(agent, params, n, seed):
    episodes = []
    evaluate_params(agent, CARTPOLE, [params], n, seed=seed, episodes=episodes)
    return episodes


def test_transition_model_explains_its_own_dynamics_and_not_another_models():
    short = _cartpole_specialist(SHORT_STRONG)
    model = TransitionModel(_episodes(short, SHORT_STRONG, 4, seed=0), gym.spaces.Discrete(2), quantile=0.95)
    fresh = _episodes(short, SHORT_STRONG, 1, seed=100)[0]
    assert model.explains(fresh.visited, fresh.actions, fresh.observations[1:]).mean() > 0.8
    other = _episodes(_cartpole_specialist(LONG_WEAK), LONG_WEAK, 1, seed=100)[0]
    assert model.explains(other.visited, other.actions, other.observations[1:]).mean() < 0.05
    with pytest.raises(ValueError, match="at least 2 episodes"):
        TransitionModel([fresh], gym.spaces.Discrete(2))


def test_quadratic_indicator_features_fit_dynamics_quadratic_in_state_and_action():
    rng = np.random.default_rng(0)
    episodes = []
    for _ in range(3):  # s' = s + (0.1 s0 s1 + 0.2 a^2, -0.3 s0 a): exactly quadratic in (s, a)
        observations, actions = [rng.normal(size=2)], rng.uniform(-1.0, 1.0, (20, 1))
        for action in actions[:, 0]:
            s0, s1 = observations[-1]
            observations.append(observations[-1] + np.array([0.1 * s0 * s1 + 0.2 * action**2, -0.3 * s0 * action]))
        episodes.append(Episode(np.array(observations), actions))
    space = gym.spaces.Box(-1.0, 1.0, (1,))
    quadratic = TransitionModel(episodes, space, features="quadratic")
    linear = TransitionModel(episodes, space)
    fresh = episodes[0]
    np.testing.assert_allclose(quadratic.errors(fresh.visited, fresh.actions, fresh.observations[1:]), 0.0, atol=1e-5)
    assert linear.errors(fresh.visited, fresh.actions, fresh.observations[1:]).mean() > 0.05
    restored = TransitionModel.from_state(quadratic.state(), space)
    np.testing.assert_allclose(restored.errors(fresh.visited, fresh.actions, fresh.observations[1:]),
                               quadratic.errors(fresh.visited, fresh.actions, fresh.observations[1:]))
    with pytest.raises(ValueError, match="features must be one of"):
        TransitionModel(episodes, space, features="cubic")


def _specialist_iwocs():
    """IWOCS's set holding two CartPole models, each with its Riccati controller as the specialist."""
    iwocs = IWOCS(None, CARTPOLE, {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)}, value_episodes=4)
    for params in (SHORT_STRONG, LONG_WEAK):
        specialist = _cartpole_specialist(params)
        iwocs.add_member(params, specialist, specialist.values)
    return iwocs


def test_combined_policy_reaches_90_percent_of_each_specialist_on_its_model():
    iwocs = _specialist_iwocs()
    # The short-pole controller drops the long, weakly pushed pole: a rule that picked it there would fail.
    short = iwocs.members[0].agent
    assert evaluate_params(short, CARTPOLE, [LONG_WEAK], 3, seed=7).mean() < 100
    for member in iwocs.members:
        combined = evaluate_params(iwocs, CARTPOLE, [member.params], 3, seed=7).mean()
        specialist = evaluate_params(member.agent, CARTPOLE, [member.params], 3, seed=7).mean()
        assert combined >= 0.9 * specialist, (member.params, combined, specialist)


def test_without_q_functions_the_member_whose_model_explains_the_episode_acts():
    iwocs = _specialist_iwocs()
    assert not iwocs.has_q_functions
    episode = _episodes(iwocs.members[1].agent, LONG_WEAK, 1, seed=3)[0]
    observations, actions, following = episode.visited, episode.actions, episode.observations[1:]
    errors = iwocs.transition_errors(observations, actions, following)
    mean_errors = np.cumsum(errors, axis=1) / np.arange(1, len(following) + 1)
    thresholds = np.array([member.transitions.threshold for member in iwocs.members])[:, None]
    eligible = mean_errors <= np.maximum(thresholds, iwocs.explained_ratio * mean_errors.min(axis=0))
    values = np.stack([member.value_function(following) for member in iwocs.members])
    chosen = iwocs.selected_members(following, mean_errors)
    np.testing.assert_array_equal(chosen, np.argmin(np.where(eligible, values, np.inf), axis=0))
    assert (chosen == 1).all()  # on the long pole, from the first transition on, the long-pole controller acts
    # Without a transition (an episode's first step) every member counts: the lowest value acts.
    np.testing.assert_array_equal(iwocs.selected_members(following), np.argmin(values, axis=0))


def test_predict_accumulates_each_members_errors_over_the_episode_and_resets_them():
    iwocs = _specialist_iwocs()
    episode = _episodes(iwocs.members[1].agent, LONG_WEAK, 1, seed=3)[0]
    observations, actions = episode.observations, episode.actions
    state = (observations[:1], actions[:1], np.zeros((2, 1)), np.zeros(1))
    for step in range(1, 6):
        _, state = iwocs.predict(observations[step], state=(observations[step - 1:step], actions[step - 1:step],
                                                             state[2], state[3]), episode_start=np.zeros(1, bool))
    expected = iwocs.transition_errors(observations[:5], actions[:5], observations[1:6]).sum(axis=1)
    np.testing.assert_allclose(state[2][:, 0], expected)
    assert state[3][0] == 5
    _, fresh = iwocs.predict(observations[0], state=state, episode_start=np.ones(1, bool))
    assert fresh[3][0] == 0 and not fresh[2].any()


def _q_specialist_iwocs(models):
    """IWOCS's set of CartPole models whose Riccati controllers also give Q(s, a) (one-step lookahead)."""
    iwocs = IWOCS(None, CARTPOLE, CARTPOLE_SET, value_episodes=3)
    for params in models:
        specialist = _cartpole_specialist(params)
        iwocs.add_member(params, specialist, specialist.values, specialist.action_values)
    return iwocs


def test_with_q_functions_the_action_maximises_the_members_lowest_q():
    iwocs = _q_specialist_iwocs((NOMINAL, LONG_WEAK, SHORT_STRONG))
    assert iwocs.has_q_functions
    observations = np.random.default_rng(0).normal(0.0, 0.05, (200, 4))
    members = iwocs.members
    candidates = np.stack([member.agent.predict(observations)[0] for member in members])
    # Brute force: each candidate action's lowest Q over the members, and the best candidate.
    robust = [[min(m.q_function(observations[i:i + 1], candidates[c, i:i + 1])[0] for m in members)
               for i in range(len(observations))] for c in range(len(members))]
    expected = candidates[np.argmax(np.array(robust), axis=0), np.arange(len(observations))]
    np.testing.assert_array_equal(iwocs.robust_actions(observations), expected)
    np.testing.assert_array_equal(iwocs.predict(observations)[0], expected)


def test_greedy_on_the_lowest_q_of_the_nominal_and_worst_models_is_robust_over_the_set():
    nominal = _cartpole_specialist(NOMINAL)
    worst = evaluate_grid(nominal, CARTPOLE, CARTPOLE_SET, 4, 1, seed=5)
    assert worst.worst_case < 100 and worst.worst_params == LONG_STRONG  # the nominal gain drops the long pole
    iwocs = _q_specialist_iwocs((NOMINAL, LONG_STRONG))
    assert evaluate_grid(iwocs, CARTPOLE, CARTPOLE_SET, 4, 1, seed=5).worst_case == 500
    for member in iwocs.members:
        combined = evaluate_params(iwocs, CARTPOLE, [member.params], 3, seed=7).mean()
        specialist = evaluate_params(member.agent, CARTPOLE, [member.params], 3, seed=7).mean()
        assert combined >= 0.9 * specialist, (member.params, combined, specialist)


def test_iwocs_loop_bookkeeping_and_honest_estimates():
    records, weakest = [], []

    def on_iteration(record):
        records.append(record)
        weakest.append(min(member.value for member in agent.members))  # the set as it is at this iteration

    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=2, tolerance=None, search_budget=6,
                  search_episodes=2, value_episodes=2, seed=3)
    agent.learn(192, on_iteration=on_iteration)
    assert records == agent.trace and [r.iteration for r in records] == list(range(len(records)))
    steps = [r.next_step for r in records]
    assert steps[-1] == "" and set(steps[:-1]) <= {"add model", "train further"}
    assert [r.n_models for r in records] == list(itertools.accumulate(
        [1] + [step == "add model" for step in steps[:-1]]))
    assert agent.num_timesteps == 64 * len(records)  # one static problem's budget per iteration
    assert agent.members[0].params == {"a_scale": 1.0, "b_scale": 1.0}
    added = [r for r in records if r.next_step == "add model"]
    for record, member in zip(added, agent.members[1:]):
        assert member.params == record.worst_params  # the worst model found is the next one solved
    for record in records:
        if record.next_step == "train further":  # the worst model found is one the set has
            assert agent._known(record.worst_params)
    for index, record in enumerate(records):
        assert agent.uncertainty_set.contains(record.worst_params)
        assert record.min_specialist_return == pytest.approx(weakest[index])
        assert record.search_evaluations == 6 + record.n_models  # the budget (vertices included) + the set
    # The last worst return is re-measured on the value episodes, not the search's (biased) minimum.
    again = evaluate_params(agent, LQG, [records[-1].worst_params], 2, seed=agent._value_seed)
    assert records[-1].worst_found_return == pytest.approx(again.mean())
    assert records[-1].stop_reason == "max_iterations"
    units = [np.array(list(m.params.values())) for m in agent.members]
    assert all(np.max(np.abs(a - b)) > 0 for a, b in itertools.combinations(units, 2))  # no duplicates


def test_iwocs_recognises_the_models_it_already_has():
    agent = _specialist_iwocs()
    search = agent.worst_case(budget=4)
    assert search.params in [{"length": 0.25, "force_mag": 15.0}, {"length": 2.0, "force_mag": 3.0},
                             {"length": 0.25, "force_mag": 3.0}, {"length": 2.0, "force_mag": 15.0}]
    assert agent._known(SHORT_STRONG) and agent._known({"length": 0.26, "force_mag": 15.0})
    assert not agent._known({"length": 1.0, "force_mag": 15.0})


def test_iwocs_trains_a_member_further_when_its_model_is_the_worst_found_again():
    # A set of one model: every search finds the nominal model, which the set already holds.
    agent = IWOCS(PPO, LQG, {"a_scale": (1.0, 1.0)}, inner_kwargs=TINY_PPO, max_iterations=2, tolerance=None,
                  search_budget=2, search_episodes=1, value_episodes=2)
    agent.learn(96)
    assert [r.next_step for r in agent.trace] == ["train further", "train further", ""]
    assert len(agent.members) == 1 and agent.members[0].agent.num_timesteps == agent.num_timesteps == 96
    # An exact solver has nothing to add on a model it solved: IWOCS stops there.
    def solver(params):
        return LQROptimal.from_env(gym.make(LQG)), lambda observations: -observations[:, 0] ** 2

    exact = IWOCS(None, LQG, {"a_scale": (1.0, 1.0)}, solver=solver,
                  max_iterations=2, tolerance=None, search_budget=2, search_episodes=1, value_episodes=2)
    exact.learn(3)
    assert [r.stop_reason for r in exact.trace] == ["worst model already in the set"]


def test_iwocs_stops_when_the_gap_closes():
    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=3, tolerance=1e9, search_budget=4,
                  search_episodes=1, value_episodes=2)
    agent.learn(128)
    assert len(agent.trace) == 1 and len(agent.members) == 1
    assert agent.trace[0].stop_reason == "gap closed"


def test_iwocs_save_load_round_trip(tmp_path):
    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=1, tolerance=None, search_budget=4,
                  search_episodes=1, value_episodes=2, indicator_features="quadratic", explained_ratio=1.5)
    agent.learn(64)
    agent.save(tmp_path / "iwocs.zip")
    loaded = IWOCS.load(tmp_path / "iwocs.zip")
    assert (loaded.indicator_features, loaded.explained_ratio) == ("quadratic", 1.5)
    assert all(m.transitions.feature_kind == "quadratic" for m in loaded.members)
    observations = np.linspace(-2.0, 2.0, 9, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0],
                                  agent.predict(observations, deterministic=True)[0])
    assert loaded.trace == agent.trace and loaded.num_timesteps == agent.num_timesteps
    assert [m.params for m in loaded.members] == [m.params for m in agent.members]
    assert loaded.uncertainty_set == agent.uncertainty_set
    with pytest.raises(ValueError, match="SB3"):
        _specialist_iwocs().save(tmp_path / "lqr.zip")


def test_iwocs_validates_its_arguments():
    with pytest.raises(ValueError, match="inner"):
        IWOCS(LQROptimal, LQG)
    with pytest.raises(ValueError, match="parametric"):
        IWOCS(PPO, "papergym/LQG-v0")
    with pytest.raises(ValueError, match="search_budget"):
        IWOCS(PPO, LQG, search_budget=1)
    with pytest.raises(ValueError, match="unknown parameters"):
        IWOCS(PPO, LQG, uncertainty_set={"c_scale": (0.5, 1.0)})
    with pytest.raises(ValueError, match="indicator_features must be one of linear, quadratic"):
        IWOCS(PPO, LQG, indicator_features="cubic")
    with pytest.raises(ValueError, match="explained_ratio"):
        IWOCS(PPO, LQG, explained_ratio=0.5)
    with pytest.raises(PapergymError, match="seed"):
        IWOCS(PPO, LQG, seed=-1)


def test_baselines_train_on_their_models():
    nominal = train_on_params(PPO, LQG, None, 32, inner_kwargs=TINY_PPO)
    assert nominal.get_env().get_attr("params")[0] == {"a_scale": 1.0, "b_scale": 1.0}
    randomized = train_domain_randomization(PPO, LQG, 32, inner_kwargs=TINY_PPO, seed=1)
    assert randomized.num_timesteps == 32
    corner = worst_corner(LQROptimal.from_env(gym.make(LQG)), LQG, n_episodes=2)
    assert corner == {"a_scale": 1.2, "b_scale": 0.5}


def _riccati_solver(params):
    specialist = _cartpole_specialist(params)
    return specialist, specialist.values


def test_iwocs_with_an_exact_solver_adds_the_worst_vertex_and_then_masters_it():
    iwocs = IWOCS(None, CARTPOLE, {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)}, solver=_riccati_solver,
                  max_iterations=1, tolerance=None, search_budget=4, search_episodes=1, value_episodes=2)
    iwocs.learn(2)
    first, second = iwocs.trace
    assert first.worst_params["length"] == 2.0 and first.worst_found_return < 100  # the nominal gain drops it
    assert iwocs.members[1].params == first.worst_params
    assert evaluate_params(iwocs, CARTPOLE, [first.worst_params], 2, seed=11).mean() >= 450
    assert second.stop_reason in ("max_iterations", "worst model already in the set")
