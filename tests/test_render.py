"""The numpy-only charts of the rgb_array render mode, and the error when pygame is missing."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import DependencyNotInstalled

import papergym.envs.robust.parametric as parametric
from papergym.core.render import BACKGROUND, HEIGHT, PALETTE, WIDTH, ChartHistory, draw_chart


def test_chart_draws_each_series_in_its_colour_and_keeps_its_size():
    history = ChartHistory(2, length=3)
    for step in range(5):
        history.append(step, -step)
    series = history.series()
    np.testing.assert_array_equal(series, [[2, 3, 4], [-2, -3, -4]])  # the last `length` rows only
    image = draw_chart([series[:1], series[1:]])
    assert image.shape == (HEIGHT, WIDTH, 3) and image.dtype == np.uint8
    top, bottom = image[: HEIGHT // 2], image[HEIGHT // 2:]
    assert np.all(top.reshape(-1, 3) == PALETTE[0], axis=1).any()
    assert np.all(bottom.reshape(-1, 3) == PALETTE[0], axis=1).any()  # each panel starts its own palette
    # An increasing series ends at the top right corner of its panel's plotting area.
    assert np.array_equal(top[2, WIDTH - 3], PALETTE[0])


def test_empty_and_non_finite_histories_draw_frames_only():
    image = draw_chart([np.zeros((1, 0)), np.array([[np.nan, np.inf]])])
    assert image.shape == (HEIGHT, WIDTH, 3)
    inner = image[2:HEIGHT // 2 - 2, 2:-2]
    assert np.all(inner == BACKGROUND)


@pytest.mark.parametrize("env_id", ["papergym/RobustCartPole-v0", "papergym/RobustPendulum-v0"])
def test_gymnasium_drawing_without_pygame_says_how_to_install_it(env_id, monkeypatch):
    env = gym.make(env_id, render_mode="rgb_array")  # constructing and stepping need no pygame
    env.reset(seed=0)
    env.step(env.action_space.sample())
    monkeypatch.setattr(parametric.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DependencyNotInstalled, match=r"papergym\[render\]"):
        env.render()
