"""Agents of papergym/ThreeBody-v0: fixed eta, the distance heuristic, the paper's DQN settings on SB3."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.agents import AGENTS
from papergym.agents.threebody import AuthorsDQN, DistanceHeuristic, FixedEta, dqn_hyperparameters, make_dqn
from papergym.agents.training import paper_hyperparameters
from papergym.envs.threebody import PAPER_ACTIONS

ENV_ID = "papergym/ThreeBody-v0"


def observation_with_positions(positions_au: np.ndarray) -> np.ndarray:
    observation = np.zeros(13)
    observation[:6] = np.asarray(positions_au, dtype=float).ravel() / 10.0
    return observation


def test_fixed_eta_picks_the_nearest_grid_value_and_always_plays_it():
    env = gym.make(ENV_ID)
    agent = FixedEta.from_env(env, eta=1.1e-3)
    assert PAPER_ACTIONS[agent.index] == pytest.approx(1e-3)
    observations = np.zeros((4, 13))
    actions, _ = agent.predict(observations)
    assert actions.tolist() == [agent.index] * 4
    with pytest.raises(ValueError, match="eta"):
        FixedEta.from_env(env, eta=0.0)


def test_distance_heuristic_shrinks_eta_as_the_closest_pair_approaches():
    env = gym.make(ENV_ID)
    agent = DistanceHeuristic.from_env(env, near_au=0.5, far_au=10.0, eta_near=1e-4, eta_far=1e-1)
    far = observation_with_positions([[0, 0], [30, 0], [0, 30]])
    near = observation_with_positions([[0, 0], [0.1, 0], [0, 30]])
    assert agent.predict(far)[0] == 9 and agent.predict(near)[0] == 0
    distances = np.logspace(-1, 1.5, 30)
    actions = [int(agent.predict(observation_with_positions([[0, 0], [d, 0], [0, 40]]))[0]) for d in distances]
    assert actions == sorted(actions) and len(set(actions)) == 10
    with pytest.raises(ValueError, match="far_au"):
        DistanceHeuristic.from_env(env, near_au=2.0, far_au=1.0)
    default = DistanceHeuristic.from_env(env)  # eta from 1e-3 (near) to 1e-2 (far)
    assert PAPER_ACTIONS[int(default.predict(near)[0])] == pytest.approx(1e-3)
    assert PAPER_ACTIONS[int(default.predict(far)[0])] == pytest.approx(1e-2)


def test_agents_are_registered_by_name():
    env = gym.make(ENV_ID)
    assert isinstance(AGENTS["threebody-distance"](env), DistanceHeuristic)
    assert AGENTS["threebody-eta-1e-04"](env).index == 0 and AGENTS["threebody-eta-1e-01"](env).index == 9


def test_dqn_carries_the_authors_settings():
    import torch

    model = make_dqn(gym.make(ENV_ID), seed=0)
    assert (model.batch_size, model.buffer_size, model.gamma, model.tau) == (1000, 10_000, 0.99, 0.005)
    assert model.learning_rate == 1e-3 and model.max_grad_norm == 100.0
    assert (model.exploration_initial_eps, model.exploration_final_eps) == (0.9, 0.05)
    assert model.target_update_interval == 1 and model.learning_starts == 1000
    assert isinstance(model.policy.optimizer, torch.optim.AdamW)
    widths = [layer.out_features for layer in model.q_net.q_net if isinstance(layer, torch.nn.Linear)]
    assert widths == [200, 200, 10]


def test_train_command_uses_the_paper_hyperparameters_for_this_id_only():
    assert paper_hyperparameters(ENV_ID, "dqn")["batch_size"] == dqn_hyperparameters()["batch_size"]
    assert paper_hyperparameters(ENV_ID, "ppo") == {}
    assert paper_hyperparameters("papergym/LQG-v0", "dqn") == {}


def test_a_short_dqn_run_learns_and_predicts_greedily():
    """40 steps, learning after the first 16: 24 gradient steps move the Q-network, the target network follows it
    by soft updates (tau = 0.005: still close to its start), and predict is the Q-network's arg-max."""
    import torch

    env = gym.make(ENV_ID, max_episode_steps=5)
    model = make_dqn(env, seed=0, batch_size=16, width=16)
    before = [p.detach().clone() for p in model.q_net.parameters()]
    target_before = [p.detach().clone() for p in model.q_net_target.parameters()]
    model.learn(total_timesteps=40)
    assert model._n_updates == 40 - 16  # SB3 trains once per step after the first 16
    moved = sum(float((p - b).abs().sum()) for p, b in zip(model.q_net.parameters(), before))
    assert moved > 0.0
    for online, target, start in zip(model.q_net.parameters(), model.q_net_target.parameters(), target_before):
        step = (target - start).abs().max()  # at most 24 soft updates of 0.5 %: about an eighth of the gap
        assert 0.0 < step <= 0.2 * (online - start).abs().max() + 1e-12
    observation, _ = env.reset(seed=0)
    action, _ = model.predict(observation, deterministic=True)
    with torch.no_grad():
        q_values = model.q_net(torch.as_tensor(observation[None], dtype=torch.float32))
    assert int(action) == int(q_values.argmax())


AUTHORS_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "threebody-authors"
AUTHORS_WEIGHTS = AUTHORS_DIR / "model_weights88.pth"
needs_authors_files = pytest.mark.skipif(not AUTHORS_WEIGHTS.is_file(), reason=(
    "the authors' released network is not in ../shared/data/threebody-authors/ (models/model_weights88.pth of "
    "veronicasaz/ThreeBodyProblem_astronomy; the project does not ship it)"))


@needs_authors_files
def test_authors_network_is_their_forward_pass_with_the_hidden_layer_repeated():
    import torch

    env = gym.make(ENV_ID)
    agent = AuthorsDQN.from_env(env, AUTHORS_WEIGHTS)
    assert agent.hidden_layers == 9 and agent.settings["weights"][0] == 3000.0
    state = torch.load(AUTHORS_WEIGHTS, map_location="cpu", weights_only=True)
    w = {key: value.double().numpy() for key, value in state.items()}
    observations = np.random.default_rng(0).normal(size=(5, 13))
    x = np.maximum(observations @ w["layer1.weight"].T + w["layer1.bias"], 0.0)
    for _ in range(9):
        x = np.maximum(x @ w["layer2.weight"].T + w["layer2.bias"], 0.0)
    expected = x @ w["layer3.weight"].T + w["layer3.bias"]
    np.testing.assert_allclose(agent.q_values(observations), expected, rtol=1e-4, atol=1e-4)
    # at an episode start the energy term is the authors' reset value (0), not ours (16)
    observation = observations[0].copy()
    observation[-1] = 16.0
    at_start = agent.predict(observation, episode_start=np.ones(1, dtype=bool))[0]
    zeroed = observation.copy()
    zeroed[-1] = 0.0
    assert at_start == agent.predict(zeroed)[0] and observation[-1] == 16.0


@needs_authors_files
def test_authors_network_refuses_other_grids_and_missing_files(tmp_path):
    env = gym.make(ENV_ID, action_values=np.logspace(-5, -1, 10))
    with pytest.raises(ValueError, match="log-spaced"):
        AuthorsDQN.from_env(env, AUTHORS_WEIGHTS)
    with pytest.raises(ValueError, match="do not exist"):
        AuthorsDQN.from_env(gym.make(ENV_ID), tmp_path / "none.pth",
                            AUTHORS_DIR / "settings_integration_3BP_hermite.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not the authors' settings"):
        AuthorsDQN.from_env(gym.make(ENV_ID), AUTHORS_WEIGHTS, tmp_path / "bad.json")
