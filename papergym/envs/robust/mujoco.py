"""The MuJoCo uncertainty sets of IWOCS and of the Robust RL Suite (RRLS) on Gymnasium's MuJoCo v5 models.

Needs the optional extra ``papergym[mujoco]`` (the ``mujoco`` package); it is imported when an environment
is built, never when ``papergym`` is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import is_finite_step, nonfinite_step, step_before_reset
from papergym.core.validation import require_choice, validated_action
from papergym.envs.robust.parametric import ParametricEnv

#: Ranges in which a body mass (kg) and a sliding-friction coefficient keep MuJoCo's simulation meaningful.
MASS_RANGE = (0.001, 1000.0)
FRICTION_RANGE = (0.001, 10.0)


@dataclass(frozen=True)
class MujocoModel:
    """A Gymnasium MuJoCo v5 model and its parameters: body masses (by body index) and the floor friction.

    ``friction`` is where ``worldfriction`` acts: ``"floor"`` (the sliding friction of geom 0) or ``"all"``
    (every geom's sliding friction, as RRLS does for HalfCheetah); ``nominal_friction`` is RRLS's nominal
    value. ``sets`` are RRLS's 1-, 2- and 3-parameter uncertainty sets.
    """

    gym_class: str
    masses: dict[str, int]
    sets: dict[str, dict[str, tuple[float, float]]]
    friction: str | None = None
    nominal_friction: float = 1.0


MODELS: dict[str, MujocoModel] = {
    "Hopper": MujocoModel(
        "hopper_v5:HopperEnv", {"torsomass": 1, "thighmass": 2, "legmass": 3, "footmass": 4},
        {"1d": {"worldfriction": (0.1, 3.0)},
         "2d": {"worldfriction": (0.1, 3.0), "torsomass": (0.1, 3.0)},
         "3d": {"worldfriction": (0.1, 3.0), "torsomass": (0.1, 3.0), "thighmass": (0.1, 4.0)}},
        friction="floor", nominal_friction=0.7),
    "HalfCheetah": MujocoModel(
        "half_cheetah_v5:HalfCheetahEnv",
        {"torsomass": 1, "backthighmass": 2, "backshinmass": 3, "backfootmass": 4, "forwardthighmass": 5,
         "forwardshinmass": 6, "forwardfootmass": 7},
        {"1d": {"worldfriction": (0.1, 3.0)},
         "2d": {"worldfriction": (0.1, 4.0), "torsomass": (0.1, 7.0)},
         "3d": {"worldfriction": (0.1, 4.0), "torsomass": (0.1, 7.0), "backthighmass": (0.1, 3.0)}},
        friction="all", nominal_friction=0.4),
    "Walker2d": MujocoModel(
        "walker2d_v5:Walker2dEnv",
        {"torsomass": 1, "thighmass": 2, "legmass": 3, "footmass": 4, "leftthighmass": 5, "leftlegmass": 6,
         "leftfootmass": 7},
        {"1d": {"worldfriction": (0.1, 4.0)},
         "2d": {"worldfriction": (0.1, 4.0), "torsomass": (0.1, 5.0)},
         "3d": {"worldfriction": (0.1, 4.0), "torsomass": (0.1, 5.0), "thighmass": (0.1, 6.0)}},
        friction="floor", nominal_friction=0.7),
    "Ant": MujocoModel(
        "ant_v5:AntEnv",
        {"torsomass": 1, "frontleftlegmass": 2, "frontleftlegauxmass": 3, "frontleftleganklemass": 4,
         "frontrightlegmass": 5, "frontrightlegauxmass": 6, "frontrightleganklemass": 7, "backleftlegmass": 8,
         "backleftlegauxmass": 9, "backleftleganklemass": 10, "backrightlegmass": 11, "backrightlegauxmass": 12,
         "backrightleganklemass": 13},
        {"1d": {"torsomass": (0.1, 3.0)},
         "2d": {"torsomass": (0.1, 3.0), "frontleftlegmass": (0.01, 3.0)},
         "3d": {"torsomass": (0.1, 3.0), "frontleftlegmass": (0.01, 3.0), "frontrightlegmass": (0.01, 3.0)}}),
    "HumanoidStandup": MujocoModel(
        "humanoidstandup_v5:HumanoidStandupEnv",
        {"torsomass": 1, "lwaistmass": 2, "pelvismass": 3, "rightthighmass": 4, "rightshinmass": 5,
         "rightfootmass": 6, "leftthighmass": 7, "leftshinmass": 8, "leftfootmass": 9, "rightupperarmmass": 10,
         "rightlowerarmmass": 11, "leftupperarmmass": 12, "leftlowerarmmass": 13},
        {"1d": {"torsomass": (0.1, 16.0)},
         "2d": {"torsomass": (0.1, 16.0), "rightfootmass": (0.1, 8.0)},
         "3d": {"torsomass": (0.1, 16.0), "leftthighmass": (0.1, 5.0), "rightfootmass": (0.1, 8.0)}}),
    "InvertedPendulum": MujocoModel(
        "inverted_pendulum_v5:InvertedPendulumEnv", {"cartmass": 1, "polemass": 2},
        {"1d": {"polemass": (1.0, 31.0)}, "2d": {"polemass": (1.0, 31.0), "cartmass": (1.0, 11.0)}}),
}


def _load_mujoco_class(path: str) -> type:
    if importlib.util.find_spec("mujoco") is None:
        raise PapergymError("the MuJoCo environments need the mujoco package: pip install 'papergym[mujoco]'")
    module, name = path.split(":")
    return getattr(importlib.import_module(f"gymnasium.envs.mujoco.{module}"), name)


class RobustMujocoEnv(ParametricEnv, gym.Env):
    """
    ## Description

    A Gymnasium MuJoCo v5 task (``NAME-v5``, its dynamics, reward and termination unchanged) whose body
    masses and floor friction form the transition model of a robust MDP (static model: fixed for an
    episode), with the uncertainty sets of IWOCS (Zouitine, Geist & Rachelson, 2024) and of the
    Robust RL Suite (RRLS; Zouitine et al., 2024), parameter names included. Registered as
    ``papergym/Robust<Name>-v0`` for Hopper, HalfCheetah, Walker2d, Ant, HumanoidStandup and
    InvertedPendulum.

    ## Parameters (the parametric-environment protocol)

    Every body mass of the model under RRLS's name (e.g. ``torsomass``, ``thighmass``; nominal: the
    model's own mass) and, for the walkers, ``worldfriction`` (the floor's sliding friction, every geom's
    for HalfCheetah; nominal: RRLS's 0.7 for Hopper and Walker2d, 0.4 for HalfCheetah). The sets
    (``uncertainty_set="1d"``, ``"2d"`` or ``"3d"``, or a dict) are RRLS's:

    | env              | 1d                     | 2d adds                   | 3d adds                    |
    |------------------|------------------------|---------------------------|----------------------------|
    | Hopper           | worldfriction [0.1, 3] | torsomass [0.1, 3]        | thighmass [0.1, 4]         |
    | HalfCheetah      | worldfriction [0.1, 3] | (friction [0.1, 4]) torsomass [0.1, 7] | backthighmass [0.1, 3] |
    | Walker2d         | worldfriction [0.1, 4] | torsomass [0.1, 5]        | thighmass [0.1, 6]         |
    | Ant              | torsomass [0.1, 3]     | frontleftlegmass [0.01, 3] | frontrightlegmass [0.01, 3] |
    | HumanoidStandup  | torsomass [0.1, 16]    | rightfootmass [0.1, 8]    | leftthighmass [0.1, 5]     |
    | InvertedPendulum | polemass [1, 31]       | cartmass [1, 11]          | (none)                     |

    ## Action Space, Observation Space, Rewards, Starting State, Episode End

    Those of the Gymnasium v5 task (a ``Box`` of joint torques; joint positions and velocities). Actions
    outside the space, NaN or inf raise ``ValueError``. Each reset seeds the MuJoCo task from this
    environment's generator. Truncation at 1000 steps in the registered ids.

    ## Arguments

    * ``uncertainty_set``: ``"1d"``, ``"2d"``, ``"3d"`` (default: the largest) or ``{name: (low, high)}``.
    * any parameter by name (initial value), e.g. ``torsomass=2.0``: a body mass in [0.001, 1000] kg, the
      friction coefficient in [0.001, 10].
    * ``render_mode``: ``"ansi"`` or ``"rgb_array"`` (a numpy side view of the bodies' positions).

    ## Version History

    * v0: initial version, on Gymnasium's MuJoCo v5 models.
    """

    NAME: ClassVar[str] = ""
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 20}

    def __init__(self, uncertainty_set: Any = None, render_mode: str | None = None, **params: float):
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.spec_model = MODELS[self.NAME]
        self._task = _load_mujoco_class(self.spec_model.gym_class)()
        self.observation_space, self.action_space = self._task.observation_space, self._task.action_space
        model = self._task.unwrapped.model
        self._nominal_friction = np.array(model.geom_friction[:, 0], copy=True)
        nominal = {name: float(model.body_mass[index]) for name, index in self.spec_model.masses.items()}
        if self.spec_model.friction is not None:
            nominal = {"worldfriction": self.spec_model.nominal_friction, **nominal}
        self.NOMINAL_PARAMS = nominal
        self.PARAMETER_RANGES = {name: MASS_RANGE for name in self.spec_model.masses}
        if self.spec_model.friction is not None:
            self.PARAMETER_RANGES["worldfriction"] = FRICTION_RANGE
        self.DEFAULT_UNCERTAINTY_SET = self.spec_model.sets[max(self.spec_model.sets)]
        if isinstance(uncertainty_set, str):
            uncertainty_set = require_choice("uncertainty_set", uncertainty_set, list(self.spec_model.sets))
            uncertainty_set = self.spec_model.sets[uncertainty_set]
        unknown = set(params) - set(nominal)
        if unknown:
            raise PapergymError(f"unknown parameters {sorted(unknown)}; the parameters are {list(nominal)}")
        self._init_params(params, uncertainty_set)
        self._stepped = False

    def _apply_params(self, params: dict[str, float]) -> None:
        model = self._task.unwrapped.model
        for name, index in self.spec_model.masses.items():
            model.body_mass[index] = params[name]
        if self.spec_model.friction == "floor":
            model.geom_friction[0, 0] = params["worldfriction"]
        elif self.spec_model.friction == "all":
            model.geom_friction[:, 0] = params["worldfriction"]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._split_reset_options(options)
        gym.Env.reset(self, seed=seed)
        observation, info = self._task.reset(seed=int(self.np_random.integers(2**31 - 1)))
        self._stepped = True
        return observation, self._with_params(dict(info))

    def step(self, action: Any):
        if not self._stepped:
            raise step_before_reset(self)
        action = validated_action(self.action_space, action)
        observation, reward, terminated, truncated, info = self._task.step(action)
        info = {key: value for key, value in info.items() if np.ndim(value) == 0 or isinstance(value, np.ndarray)}
        if not is_finite_step(observation, float(reward)):
            self._stepped = False  # the simulation diverged: the episode ends here and needs a reset
            return nonfinite_step(self.observation_space, observation, float(reward), self._with_params(info),
                                  f"MuJoCo state with parameters {self.get_params()}")
        return observation, float(reward), bool(terminated), bool(truncated), self._with_params(info)

    def render(self) -> Any:
        data = self._task.unwrapped.data
        if self.render_mode == "ansi":
            return (f"qpos[:3]={np.round(data.qpos[:3], 3).tolist()} "
                    + " ".join(f"{name}={value:g}" for name, value in self._params.items()))
        if self.render_mode == "rgb_array":
            return _side_view(np.asarray(data.xpos)[1:])
        return None

    def close(self) -> None:
        self._task.close()

    def __getstate__(self) -> dict[str, Any]:
        """The constructor's arguments and MuJoCo's data (the whole simulation state, with its model)."""
        return {"init": {"uncertainty_set": self.uncertainty_set.as_dict(), "render_mode": self.render_mode,
                         **self._params},
                "data": self._task.unwrapped.data, "np_random": self.np_random, "stepped": self._stepped}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state["init"])
        task = self._task.unwrapped
        task.data = state["data"]
        task.model = task.data.model
        self.np_random, self._stepped = state["np_random"], state["stepped"]


def _side_view(positions: np.ndarray, size: int = 96) -> np.ndarray:
    """A white image with one dark square per body at its (x, z) position, centred on the bodies' mean."""
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    points = positions[:, [0, 2]] - positions[:, [0, 2]].mean(axis=0)
    pixels = np.clip((points / 4.0 + 0.5) * (size - 1), 1, size - 2).astype(int)
    for x, z in pixels:
        image[size - 1 - z - 1: size - z + 1, x - 1: x + 2] = (40, 40, 160)
    return image


def _robust_class(name: str) -> type[RobustMujocoEnv]:
    return type(f"Robust{name}Env", (RobustMujocoEnv,), {"NAME": name, "__doc__": RobustMujocoEnv.__doc__})


RobustHopperEnv = _robust_class("Hopper")
RobustHalfCheetahEnv = _robust_class("HalfCheetah")
RobustWalker2dEnv = _robust_class("Walker2d")
RobustAntEnv = _robust_class("Ant")
RobustHumanoidStandupEnv = _robust_class("HumanoidStandup")
RobustInvertedPendulumEnv = _robust_class("InvertedPendulum")
