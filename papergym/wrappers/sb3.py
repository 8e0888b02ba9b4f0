"""Stable-Baselines3's ``VecEnv`` over a papergym native vector environment.

SB3 trains on its own ``VecEnv`` interface: ``step`` returns ``dones`` and a list of per-environment info
dicts, an ending environment is reset in the same step and its last observation is in
``infos[i]["terminal_observation"]``, and a time-limit end is flagged by ``"TimeLimit.truncated"``. A
papergym vector env built with ``autoreset_mode="SameStep"`` provides exactly this; the adapter only
reshapes it, so SB3 collects ``num_envs`` transitions per array step.

    envs = gymnasium.make_vec("papergym/LQG-v0", num_envs=16, vectorization_mode="vector_entry_point",
                              autoreset_mode="SameStep")
    model = PPO("MlpPolicy", SB3VecEnv(envs))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from papergym.core.errors import PapergymError

FINAL_KEYS = ("final_obs", "final_info")


class SB3VecEnv(VecEnv):
    """Present a SAME_STEP Gymnasium ``VectorEnv`` as an SB3 ``VecEnv``."""

    def __init__(self, vector_env: VectorEnv):
        mode = vector_env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise PapergymError(f"SB3VecEnv needs a vector env with autoreset_mode=SameStep (SB3's convention), "
                             f"got {mode}")
        self.vector_env = vector_env
        self._actions: np.ndarray | None = None
        super().__init__(vector_env.num_envs, vector_env.single_observation_space,
                         vector_env.single_action_space)

    def reset(self):
        seed = self._seeds[0]
        observations, info = self.vector_env.reset(seed=seed, options=self._options[0] or None)
        self.reset_infos = _split_info(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        observations, rewards, terminated, truncated, info = self.vector_env.step(self._actions)
        dones = terminated | truncated
        infos = _split_info(info, self.num_envs)
        final_obs = info.get("final_obs")
        for index in np.flatnonzero(dones):
            infos[index]["terminal_observation"] = final_obs[index]
            infos[index]["TimeLimit.truncated"] = bool(truncated[index] and not terminated[index])
        return observations, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.vector_env.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.vector_env, attr_name, None)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.vector_env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self.vector_env, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._get_indices(indices))

    def _get_indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)


def _split_info(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's dict of arrays (with ``_key`` masks) -> SB3's list of per-environment dicts."""
    infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, values in info.items():
        if key.startswith("_") or key in FINAL_KEYS:
            continue
        mask = info.get(f"_{key}")
        if mask is None or mask.all():  # every environment has the key (the usual case): no index lookups
            for entry, value in zip(infos, values[:num_envs]):
                entry[key] = value
            continue
        for index in np.flatnonzero(mask):
            infos[index][key] = values[index]
    return infos
