"""POIS and TT-POIS as Stable-Baselines3 algorithms: importance weights, learning on LQG, SB3 plumbing."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import linear_policy_return, riccati_gain
from papergym.agents.ttpois import POIS, TTPOIS, ActionPolicy, HyperPolicy

LQG_POLICY = dict(with_bias=False, log_std_init=float(np.log(0.3)))


def _lqg(algorithm, policy, budget=500, seed=0, **kwargs):
    return algorithm(policy, "papergym/LQG-v0", budget=budget, gamma=0.99, seed=seed,
                     policy_kwargs=LQG_POLICY, **kwargs)


def _one_batch(model):
    model._setup_learn(1, None)
    return model._collect(model._init_callback(None))


@pytest.mark.parametrize("algorithm", [POIS, TTPOIS])
@pytest.mark.parametrize("policy", ["ActionPolicy", "HyperPolicy"])
def test_importance_weights_are_one_at_the_behaviour_policy(algorithm, policy):
    model = _lqg(algorithm, policy, budget=200)
    data = _one_batch(model)
    weights = model.importance_weights(data["behaviour"], data)
    np.testing.assert_allclose(weights.numpy(), 1.0, rtol=1e-12)
    moved = model.importance_weights(data["behaviour"] + 0.05, data)
    assert not np.allclose(moved.numpy(), 1.0)


@pytest.mark.parametrize("policy", ["ActionPolicy", "HyperPolicy"])
def test_truncated_surrogate_at_the_behaviour_is_the_plain_truncated_estimate(policy):
    model = _lqg(TTPOIS, policy, budget=300)
    data = _one_batch(model)
    _, parts = model.surrogate(data["behaviour"], data)
    plain = model.schedule.estimate(data["rewards"].numpy(), model.schedule.lengths)
    assert parts["estimate"] == pytest.approx(plain)
    assert parts["d2"] == pytest.approx(1.0)


def test_truncated_penalty_reduces_to_the_pois_form_on_full_length_trajectories():
    # Full-length trajectories and d2 = 1: Var_bound = (sum_t gamma^t r_max,t)^2 / N.
    model = _lqg(TTPOIS, "HyperPolicy", budget=200)
    model.schedule = POIS._make_schedule(model)
    data = _one_batch(model)
    _, parts = model.surrogate(data["behaviour"], data)
    per_step_max = data["rewards"].abs().amax(dim=0).numpy()
    majorant = float(np.sum(0.99 ** np.arange(50) * per_step_max))
    expected = np.sqrt((1 - model.delta) / model.delta) * majorant / np.sqrt(4)
    assert parts["penalty"] == pytest.approx(expected)


@pytest.mark.parametrize("algorithm", [POIS, TTPOIS])
@pytest.mark.parametrize("policy", ["ActionPolicy", "HyperPolicy"])
def test_pois_moves_the_lqg_gain_towards_the_riccati_gain(algorithm, policy):
    # The controller starts at gain 0; u = theta x, so the learnt gain is -theta.
    model = _lqg(algorithm, policy, budget=500)
    lqg = model.env.envs[0].unwrapped.model
    optimal_gain = riccati_gain(lqg)[0][0, 0]
    model.learn(3_000)
    gain = -float(model.policy.get_vector()[0])
    assert 0.0 < gain < optimal_gain
    if policy == "HyperPolicy":  # one weight per trajectory: far smaller variance than per-step weights
        assert abs(gain - optimal_gain) < 0.6 * optimal_gain
    assert linear_policy_return(lqg, np.array([[gain]]), 50) > linear_policy_return(lqg, np.zeros((1, 1)), 50)


def test_natural_gradient_learns_too():
    model = _lqg(POIS, "HyperPolicy", natural_gradient=True)
    model.learn(2_000)
    optimal_gain = riccati_gain(model.env.envs[0].unwrapped.model)[0][0, 0]
    assert abs(-float(model.policy.get_vector()[0]) - optimal_gain) < 0.5 * optimal_gain


def test_learning_is_deterministic_for_a_seed():
    vectors = [_lqg(TTPOIS, "ActionPolicy", seed=seed).learn(1_000).policy.get_vector() for seed in (3, 3, 4)]
    assert th.equal(vectors[0], vectors[1])
    assert not th.equal(vectors[0], vectors[2])


class _CountSteps(BaseCallback):
    def __init__(self):
        super().__init__()
        self.steps = self.rollouts = 0

    def _on_step(self) -> bool:
        self.steps += 1
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1


def test_callbacks_see_every_step_and_progress_bar_runs():
    model = _lqg(TTPOIS, "HyperPolicy", budget=100)
    callback = _CountSteps()
    model.learn(300, callback=callback, progress_bar=True)
    assert callback.steps == model.num_timesteps == 300
    assert callback.rollouts == 3


def test_callback_returning_false_stops_learning():
    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return self.num_timesteps < 10

    model = _lqg(POIS, "HyperPolicy", budget=100)
    before = model.policy.get_vector()
    model.learn(1_000, callback=Stop())
    assert model.num_timesteps == 10
    assert th.equal(model.policy.get_vector(), before)


@pytest.mark.parametrize("algorithm, policy", [(POIS, "ActionPolicy"), (TTPOIS, "HyperPolicy")])
def test_save_load_round_trip_predicts_the_same(tmp_path, algorithm, policy):
    model = _lqg(algorithm, policy, budget=100).learn(200)
    path = tmp_path / "model.zip"
    model.save(path)
    loaded = algorithm.load(path, env=gym.make("papergym/LQG-v0"))
    assert th.equal(loaded.policy.get_vector(), model.policy.get_vector())
    np.testing.assert_array_equal(loaded.schedule.reach, model.schedule.reach)
    observations = np.linspace(-1, 1, 7, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0],
                                  model.predict(observations, deterministic=True)[0])
    loaded.learn(100)  # keeps training after loading
    assert type(algorithm.load(path).policy) is type(model.policy)


def test_predict_and_evaluate_policy_on_discrete_and_continuous_actions():
    cartpole = TTPOIS("ActionPolicy", "CartPole-v1", budget=600, horizon=200, seed=0).learn(600)
    action, _ = cartpole.predict(np.zeros(4, dtype=np.float32), deterministic=True)
    assert cartpole.action_space.contains(action)
    pendulum = POIS("HyperPolicy", "Pendulum-v1", budget=400, seed=0).learn(400)
    actions, _ = pendulum.predict(np.zeros((5, 3), dtype=np.float32))
    assert actions.shape == (5, 1) and np.all(np.abs(actions) <= 2.0)
    mean, _ = evaluate_policy(pendulum, gym.make("Pendulum-v1"), n_eval_episodes=2)
    assert np.isfinite(mean)


def test_policy_aliases_build_the_two_families():
    model = _lqg(POIS, "HyperPolicy")
    assert isinstance(model.policy, HyperPolicy) and model.parameter_based
    model = _lqg(POIS, "ActionPolicy")
    assert isinstance(model.policy, ActionPolicy) and not model.parameter_based


@pytest.mark.parametrize("kwargs, name", [
    (dict(budget=10), "budget"),
    (dict(horizon=60), "horizon"),
    (dict(gamma=0.0), "gamma"),
    (dict(delta=1.0), "delta"),
    (dict(max_offline_iterations=0), "max_offline_iterations"),
])
def test_invalid_arguments_name_themselves(kwargs, name):
    arguments = dict(budget=500, gamma=0.99, seed=0) | kwargs
    with pytest.raises(ValueError, match=name):
        POIS("HyperPolicy", "papergym/LQG-v0", **arguments)


def test_the_schedules_spend_the_budget():
    pois, ttpois = _lqg(POIS, "HyperPolicy", budget=1_000), _lqg(TTPOIS, "HyperPolicy", budget=1_000)
    assert pois.schedule.budget == 1_000 and np.all(pois.schedule.lengths == 50)
    assert ttpois.schedule.budget == 1_000 and ttpois.schedule.lengths.min() < 50


def test_natural_direction_uses_the_closed_form_fisher_of_the_hyper_policy():
    # For N(mu, diag(sigma^2)) in (mu, log sigma) the Fisher matrix is diag(1 / sigma^2, 2).
    model = _lqg(POIS, "HyperPolicy", natural_gradient=True)
    behaviour = model.policy.get_vector().double()
    gradient = th.tensor([0.3, -1.2], dtype=th.float64)
    direction = model._direction(gradient, {"behaviour": behaviour})
    sigma = float(th.exp(behaviour[1]))
    np.testing.assert_allclose(direction.numpy(), [0.3 * sigma**2, -1.2 / 2], rtol=1e-4)


def test_natural_gradient_changes_the_step_of_softmax_policies():
    """Same seed, same data: the natural-gradient step is finite and differs from the plain gradient's."""
    vectors = {}
    for natural in (True, False):
        model = TTPOIS("ActionPolicy", gym.make("CartPole-v1", max_episode_steps=50), budget=200,
                       natural_gradient=natural, seed=0)
        before = model.policy.get_vector()
        model.learn(200)
        vectors[natural] = model.policy.get_vector()
        assert th.all(th.isfinite(vectors[natural])) and not th.equal(before, vectors[natural])
    assert not th.allclose(vectors[True], vectors[False])


def test_exported_beside_the_other_agents_and_offered_by_train(tmp_path):
    from papergym.agents import POIS as exported_pois
    from papergym.agents import TTPOIS as exported_ttpois
    from papergym.agents.training import ALGORITHMS, POLICIES, algorithm_class, load_model
    from papergym.agents.ttpois import POIS as pois_class
    from papergym.agents.ttpois import TTPOIS as ttpois_class

    assert (exported_pois, exported_ttpois) == (pois_class, ttpois_class)
    assert {"pois", "ttpois"} <= set(ALGORITHMS)
    assert (algorithm_class("pois"), algorithm_class("ttpois")) == (pois_class, ttpois_class)
    model = algorithm_class("ttpois")(POLICIES["ttpois"], gym.make("papergym/LQG-v0"), budget=100, seed=0)
    model.learn(100)
    model.save(tmp_path / "model.zip")
    assert isinstance(load_model(tmp_path / "model.zip", "ttpois"), ttpois_class)
