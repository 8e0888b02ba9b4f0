"""Your own agent in a paper's table: a factory that takes the environment and returns an agent.

    papergym reproduce lqg --quick --agent examples/my_agent.py:make_agent
    papergym evaluate papergym/LQG-v0 --agent examples/my_agent.py:make_agent
"""

import numpy as np


class ProportionalController:
    """u = -gain * x, clipped to the action bounds: anything with SB3's ``predict`` will do."""

    def __init__(self, action_space, gain: float = 0.5):
        self.action_space, self.gain = action_space, gain

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        action = np.clip(-self.gain * np.asarray(observation), self.action_space.low, self.action_space.high)
        return action.astype(self.action_space.dtype), state


def make_agent(env):
    return ProportionalController(env.action_space)
