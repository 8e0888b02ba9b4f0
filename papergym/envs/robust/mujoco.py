"""The MuJoCo uncertainty sets of IWOCS and of the Robust RL Suite (RRLS) on Gymnasium's MuJoCo v5 models.

Needs the optional extra ``papergym[mujoco]`` (the ``mujoco`` package); it is imported when an environment
is built, never when ``papergym`` is imported.

Two families, as in RRLS: ``Robust<Name>Env`` (body masses and floor friction) and ``Force<Name>Env``
(external forces on the bodies, with RRLS's RARL sets). :func:`make_rrls` builds what each of RRLS's
registered ids builds (the bare environment, or it wrapped for domain randomisation, the adversarial
setting or the probabilistic action-robust setting); ``papergym.registration`` registers those ids under
our namespace.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import is_finite_step, nonfinite_step, step_before_reset
from papergym.core.validation import require_choice, require_int, validated_action
from papergym.envs.robust.parametric import ParametricEnv

#: Ranges in which a body mass (kg), a sliding-friction coefficient and an external force (N) keep MuJoCo's
#: simulation meaningful.
MASS_RANGE = (0.001, 1000.0)
FRICTION_RANGE = (0.001, 10.0)
FORCE_RANGE = (-1000.0, 1000.0)

#: RRLS's RARL sets: forces along x and y on some bodies (the sets of Pinto et al.'s robust adversarial RL).
RARL_SETS = {
    "Hopper": ("foot",),
    "HalfCheetah": ("torso", "backfoot", "forwardfoot"),
    "Walker2d": ("leg", "leftfoot"),
    "Ant": ("torso", "frontleftleg", "frontrightleg"),
    "HumanoidStandup": ("torso", "rightthigh", "leftfoot"),
    "InvertedPendulum": ("pole",),
}


@dataclass(frozen=True)
class MujocoModel:
    """A Gymnasium MuJoCo v5 model and its parameters: body masses (by body index) and the floor friction.

    ``friction`` is where ``worldfriction`` acts: ``"floor"`` (the sliding friction of geom 0) or ``"all"``
    (every geom's sliding friction, as RRLS does for HalfCheetah); ``nominal_friction`` is RRLS's nominal
    value. ``sets`` are RRLS's 1-, 2- and 3-parameter uncertainty sets. ``xml_total_mass``: the total mass
    the model's XML sets with MuJoCo's deprecated ``settotalmass`` compiler attribute (applied after
    compilation instead, see :func:`_build_task`).
    """

    gym_class: str
    masses: dict[str, int]
    sets: dict[str, dict[str, tuple[float, float]]]
    friction: str | None = None
    nominal_friction: float = 1.0
    xml_total_mass: float | None = None

    def force_names(self) -> dict[str, tuple[int, int]]:
        """RRLS's force parameters: ``<body>force_<x|y|z>`` -> (body index, axis), in RRLS's order."""
        names = {}
        for mass_name, body in self.masses.items():
            stem = _RRLS_FORCE_STEMS.get(mass_name, mass_name.removesuffix("mass"))
            for axis, letter in enumerate("xyz"):
                names[f"{stem}force_{letter}"] = (body, axis)
        return names


_RRLS_FORCE_STEMS = {"lwaistmass": "lwais"}  # RRLS's spelling of the humanoid's waist force


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
        friction="all", nominal_friction=0.4, xml_total_mass=14.0),
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


def _build_task(spec: MujocoModel) -> Any:
    """Gymnasium's v5 environment of ``spec``, its model equal to the one Gymnasium compiles.

    HalfCheetah's XML scales its masses with ``settotalmass``, which MuJoCo deprecates (it prints a warning
    at every compilation). We compile the XML without the attribute and scale the compiled model with
    ``mj_setTotalmass`` and ``mj_setConst``, as MuJoCo's migration note says; the mean mass and mean inertia
    of ``model.stat`` (which the compiler computes after scaling) are recomputed the compiler's way. The
    model then equals Gymnasium's field for field, and so do trajectories (``tests/test_robust_mujoco.py``).
    """
    task_class = _load_mujoco_class(spec.gym_class)
    if spec.xml_total_mass is None:
        return task_class()
    import mujoco

    assets = os.path.join(os.path.dirname(importlib.import_module("gymnasium.envs.mujoco").__file__), "assets")
    with open(os.path.join(assets, f"{spec.gym_class.split('_v5')[0]}.xml")) as source:
        xml = source.read()
    attribute = f' settotalmass="{spec.xml_total_mass:g}"'
    if attribute not in xml:
        raise PapergymError(f"Gymnasium's {spec.gym_class} XML no longer sets{attribute}: update papergym")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.xml")
        with open(path, "w") as target:
            target.write(xml.replace(attribute, ""))
        task = task_class(xml_file=path)
    model, data = task.model, task.data
    mujoco.mj_setTotalmass(model, spec.xml_total_mass)
    mujoco.mj_setConst(model, data)
    model.stat.meanmass = float(np.mean(model.body_mass[1:]))
    model.stat.meaninertia = _mean_inertia(mujoco, model)
    return task


def _mean_inertia(mujoco: Any, model: Any) -> float:
    """The mean diagonal of the joint-space inertia at the reference pose (the compiler's ``meaninertia``)."""
    scratch = mujoco.MjData(model)
    mujoco.mj_forward(model, scratch)
    inertia = np.zeros((model.nv, model.nv))
    try:
        mujoco.mj_fullM(model, scratch, inertia)  # MuJoCo 3.4 and later
    except TypeError:
        mujoco.mj_fullM(model, inertia, scratch.qM)
    return float(np.trace(inertia) / model.nv)


class RobustMujocoEnv(ParametricEnv, gym.Env):
    """
    ## Description

    A Gymnasium MuJoCo v5 task (``NAME-v5``, its dynamics, reward and termination unchanged) whose body
    masses and floor friction form the transition model of a robust MDP (static model: fixed for an
    episode), with the uncertainty sets of IWOCS (Zouitine, Geist & Rachelson, 2024) and of the
    Robust RL Suite (RRLS; Zouitine et al., 2024), parameter names included. Registered as
    ``papergym/Robust<Name>-v0`` for Hopper, HalfCheetah, Walker2d, Ant, HumanoidStandup and
    InvertedPendulum, and under RRLS's own ids in our namespace (``papergym/robust-hopper-v0``, ...; the
    mapping is in the README).

    ``gymnasium.make`` returns this environment itself, as RRLS's ids return theirs (no ``TimeLimit``,
    ``OrderEnforcing`` or checker wrapper in front): ``env.set_params(...)``, ``env.get_params()``,
    ``env.unwrapped.model``, ``env.unwrapped.data`` and ``env.get_wrapper_attr("model")`` all work on what
    ``make`` returns. The environment truncates its episodes itself (``time_limit``, default 1000,
    Gymnasium's limit for these tasks); ``env.spec.max_episode_steps`` is therefore ``None``, and
    ``gymnasium.make(..., max_episode_steps=n)`` adds Gymnasium's ``TimeLimit`` in front, as for any id
    (then ``env.get_wrapper_attr("set_params")`` or ``papergym.wrappers.robust.set_params(env, ...)``).

    ## Parameters (the parametric-environment protocol)

    Every body mass of the model under RRLS's name (e.g. ``torsomass``, ``thighmass``; nominal: the
    model's own mass) and, for the walkers, ``worldfriction`` (the floor's sliding friction, every geom's
    for HalfCheetah; nominal: RRLS's 0.7 for Hopper and Walker2d, 0.4 for HalfCheetah; Gymnasium's Hopper
    floor has 1.0). The sets (``uncertainty_set="1d"``, ``"2d"`` or ``"3d"``, or a dict) are RRLS's:

    | env              | 1d                     | 2d adds                   | 3d adds                    |
    |------------------|------------------------|---------------------------|----------------------------|
    | Hopper           | worldfriction [0.1, 3] | torsomass [0.1, 3]        | thighmass [0.1, 4]         |
    | HalfCheetah      | worldfriction [0.1, 3] | (friction [0.1, 4]) torsomass [0.1, 7] | backthighmass [0.1, 3] |
    | Walker2d         | worldfriction [0.1, 4] | torsomass [0.1, 5]        | thighmass [0.1, 6]         |
    | Ant              | torsomass [0.1, 3]     | frontleftlegmass [0.01, 3] | frontrightlegmass [0.01, 3] |
    | HumanoidStandup  | torsomass [0.1, 16]    | rightfootmass [0.1, 8]    | leftthighmass [0.1, 5]     |
    | InvertedPendulum | polemass [1, 31]       | cartmass [1, 11]          | (none)                     |

    **Inert friction.** MuJoCo gives a contact the larger sliding friction of its two geoms. Hopper's and
    Walker2d's bodies have their own friction (0.9; the feet 2.0 for Hopper, 1.9 for Walker2d), so a floor
    friction below a body's changes nothing for that body's contacts, and the feet make most contacts.
    Measured (seed 0, 300 steps of full torque or of seeded random actions, ``worldfriction`` on a 0.1
    grid): every value from 0.1 to 2.0 gives Hopper the same trajectory to the last bit, every value from
    0.1 to 1.9 Walker2d's; only the rest of RRLS's range (2.1-3.0 of [0.1, 3] for Hopper, 2.0-4.0 of [0.1, 4]
    for Walker2d) acts. RRLS's environments behave the same way. ``contact_friction=True`` gives the floor
    MuJoCo's contact priority (``model.geom_priority``), so that ``worldfriction`` is the friction of every
    contact with the floor and each value of the range gives other dynamics (a variant, not Gymnasium's
    model: at the nominal 0.7 the feet grip less than on Gymnasium's floor). HalfCheetah's
    ``worldfriction`` sets every geom's friction, so its whole range acts.

    **InvertedPendulum's nominal masses.** Here the nominal cart and pole masses are the MuJoCo model's
    (cart 10.47 kg, pole 5.02 kg), so ``papergym/RobustInvertedPendulum-v0`` at nominal parameters is
    Gymnasium's ``InvertedPendulum-v5``. RRLS's nominal values are swapped (cart 5.02, pole 10.47); the ids
    registered under RRLS's names (``papergym/robust-invertedpendulum-*``) start from RRLS's values, so
    that an RRLS user's numbers stay comparable.

    ## Action Space, Observation Space, Rewards, Starting State, Episode End

    Those of the Gymnasium v5 task (a ``Box`` of joint torques; joint positions and velocities). Actions
    outside the space, NaN or inf raise ``ValueError``. ``reset(seed=s)`` gives the start state of
    Gymnasium's ``NAME-v5`` for the same seed (the task is seeded with ``s`` itself); the environment's
    ``np_random`` is the task's generator. Truncation after ``time_limit`` steps.

    ## Arguments

    * ``uncertainty_set``: ``"1d"``, ``"2d"``, ``"3d"`` (default: the largest) or ``{name: (low, high)}``.
    * any parameter by name (initial value), e.g. ``torsomass=2.0``: a body mass in [0.001, 1000] kg, the
      friction coefficient in [0.001, 10].
    * ``contact_friction``: ``False`` (default, RRLS's floor friction) or ``True`` (see above); walkers only.
    * ``time_limit``: the episode length, an integer >= 1 (default 1000).
    * ``render_mode``: ``"ansi"`` or ``"rgb_array"`` (a numpy side view of the bodies' positions).

    ## Version History

    * v0: initial version, on Gymnasium's MuJoCo v5 models.
    """

    NAME: ClassVar[str] = ""
    FORCES: ClassVar[bool] = False
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 20}

    def __init__(self, uncertainty_set: Any = None, render_mode: str | None = None, *,
                 time_limit: int = 1000, contact_friction: bool = False, **params: float):
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.time_limit = require_int("time_limit", time_limit, low=1)
        self.spec_model = MODELS[self.NAME]
        if not isinstance(contact_friction, bool):
            raise PapergymError(f"contact_friction must be True or False, got {contact_friction!r}")
        if contact_friction and self.spec_model.friction != "floor":
            raise PapergymError(f"contact_friction applies to Hopper and Walker2d (a floor friction), not {self.NAME}")
        self.contact_friction = contact_friction
        self._task = _build_task(self.spec_model)
        self.observation_space, self.action_space = self._task.observation_space, self._task.action_space
        if contact_friction:
            self.model.geom_priority[0] = 1  # the floor's friction is the contact's (MuJoCo's geom priority)
        nominal, ranges, sets = self._parameters()
        self.NOMINAL_PARAMS, self.PARAMETER_RANGES = nominal, ranges
        self.DEFAULT_UNCERTAINTY_SET = sets[max(sets)]
        if isinstance(uncertainty_set, str):
            uncertainty_set = sets[require_choice("uncertainty_set", uncertainty_set, list(sets))]
        unknown = set(params) - set(nominal)
        if unknown:
            raise PapergymError(f"unknown parameters {sorted(unknown)}; the parameters are {list(nominal)}")
        self._elapsed: int | None = None
        self._init_params(params, uncertainty_set)

    def _parameters(self) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, dict]]:
        spec = self.spec_model
        nominal = {name: float(self.model.body_mass[index]) for name, index in spec.masses.items()}
        ranges = {name: MASS_RANGE for name in spec.masses}
        if spec.friction is not None:
            nominal = {"worldfriction": spec.nominal_friction, **nominal}
            ranges["worldfriction"] = FRICTION_RANGE
        return nominal, ranges, spec.sets

    @property
    def model(self) -> Any:
        """The MuJoCo model (``mujoco.MjModel``) of the task: masses, friction, everything MuJoCo simulates."""
        return self._task.model

    @property
    def data(self) -> Any:
        """The MuJoCo simulation state (``mujoco.MjData``) of the task."""
        return self._task.data

    # Gymnasium's ``np_random`` (and its seed) are the task's: the start states' source, so that a seed
    # means here what it means in v5.
    @property
    def _np_random(self) -> np.random.Generator | None:
        return self._task._np_random

    @_np_random.setter
    def _np_random(self, value: np.random.Generator | None) -> None:
        self._task._np_random = value

    @property
    def _np_random_seed(self) -> int | None:
        return self._task._np_random_seed

    @_np_random_seed.setter
    def _np_random_seed(self, value: int | None) -> None:
        self._task._np_random_seed = value

    def _apply_params(self, params: dict[str, float]) -> None:
        model = self.model
        for name, index in self.spec_model.masses.items():
            model.body_mass[index] = params[name]
        if self.spec_model.friction == "floor":
            model.geom_friction[0, 0] = params["worldfriction"]
        elif self.spec_model.friction == "all":
            model.geom_friction[:, 0] = params["worldfriction"]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._split_reset_options(options)
        observation, info = self._task.reset(seed=seed)
        self._after_reset()
        self._elapsed = 0
        return observation, self._with_params(dict(info))

    def _after_reset(self) -> None:
        """What MuJoCo's reset clears and the parameters must restore (nothing for masses and friction)."""

    def step(self, action: Any):
        if self._elapsed is None:
            raise step_before_reset(self)
        checked = validated_action(self.action_space, action)
        # The task gets an array action as given (its control cost then equals v5's to the last bit).
        observation, reward, terminated, truncated, info = self._task.step(
            action if isinstance(action, np.ndarray) else checked)
        self._elapsed += 1
        truncated = bool(truncated) or self._elapsed >= self.time_limit
        info = {key: value for key, value in info.items() if np.ndim(value) == 0 or isinstance(value, np.ndarray)}
        if not is_finite_step(observation, float(reward)):
            self._elapsed = None  # the simulation diverged: the episode ends here and needs a reset
            return nonfinite_step(self.observation_space, observation, float(reward), self._with_params(info),
                                  f"MuJoCo state with parameters {self.get_params()}")
        return observation, float(reward), bool(terminated), truncated, self._with_params(info)

    def render(self) -> Any:
        data = self.data
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
                         "time_limit": self.time_limit, "contact_friction": self.contact_friction,
                         **self._params},
                "data": self.data, "np_random": self.np_random, "elapsed": self._elapsed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state["init"])
        task = self._task.unwrapped
        task.data = state["data"]
        task.model = task.data.model
        self.np_random, self._elapsed = state["np_random"], state["elapsed"]


class ForceMujocoEnv(RobustMujocoEnv):
    """
    ## Description

    A Gymnasium MuJoCo v5 task (``NAME-v5``) with external forces on its bodies as the parameters of the
    transition model, as RRLS's ``Force<Name>`` environments: ``<body>force_x``, ``_y``, ``_z`` (N, world
    frame, at the body's centre of mass; MuJoCo's ``data.xfrc_applied``) for every body, under RRLS's names
    (the humanoid's waist is RRLS's ``lwaisforce_*``). The default uncertainty set is RRLS's RARL set
    (``uncertainty_set="rarl"``): x and y forces in [-3, 3] on some bodies (Hopper: the foot; HalfCheetah:
    torso and both feet; Walker2d: the right leg and the left foot; Ant: torso and both front legs;
    HumanoidStandup: torso, right thigh, left foot; InvertedPendulum: the pole). Registered as
    ``papergym/force-<name>-v0`` (RRLS's ids in our namespace).

    **Inert half of the RARL sets on planar models.** Hopper, HalfCheetah, Walker2d and InvertedPendulum
    move in the x-z plane, and a force applied at a body's centre of mass along y moves none of their
    joints: their ``*force_y`` parameters change nothing (measured: identical trajectories at -3, 0 and 3;
    the same in RRLS). Their ``*force_z`` parameters act, and Ant's and HumanoidStandup's y forces act.

    ## Parameters

    Every force, nominal 0, range [-1000, 1000]. A force stays applied (across steps and resets) until it is
    changed: MuJoCo's reset clears ``xfrc_applied`` and the environment applies the forces again. (RRLS
    leaves them cleared after a reset while ``get_params()`` still reports them, and its ``set_params``
    forgets every force not given; here a force not given keeps its value, as every other parameter.)

    ## Action Space, Observation Space, Rewards, Starting State, Episode End, Arguments

    As :class:`RobustMujocoEnv` (``uncertainty_set``: ``"rarl"`` or a dict; no ``contact_friction``).

    ## Version History

    * v0: initial version, on Gymnasium's MuJoCo v5 models.
    """

    FORCES = True

    def _parameters(self) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, dict]]:
        forces = self.spec_model.force_names()
        rarl = {f"{body}force_{axis}": (-3.0, 3.0) for body in RARL_SETS[self.NAME] for axis in "xy"}
        return {name: 0.0 for name in forces}, {name: FORCE_RANGE for name in forces}, {"rarl": rarl}

    def _apply_params(self, params: dict[str, float]) -> None:
        applied = self.data.xfrc_applied
        for name, (body, axis) in self.spec_model.force_names().items():
            applied[body, axis] = params[name]

    def _after_reset(self) -> None:
        self._apply_params(self._params)


def _side_view(positions: np.ndarray, size: int = 96) -> np.ndarray:
    """A white image with one dark square per body at its (x, z) position, centred on the bodies' mean."""
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    points = positions[:, [0, 2]] - positions[:, [0, 2]].mean(axis=0)
    pixels = np.clip((points / 4.0 + 0.5) * (size - 1), 1, size - 2).astype(int)
    for x, z in pixels:
        image[size - 1 - z - 1: size - z + 1, x - 1: x + 2] = (40, 40, 160)
    return image


def _env_class(base: type[RobustMujocoEnv], prefix: str, name: str) -> type[RobustMujocoEnv]:
    return type(f"{prefix}{name}Env", (base,), {"NAME": name, "__doc__": base.__doc__,
                                                 "__module__": __name__})


RobustHopperEnv = _env_class(RobustMujocoEnv, "Robust", "Hopper")
RobustHalfCheetahEnv = _env_class(RobustMujocoEnv, "Robust", "HalfCheetah")
RobustWalker2dEnv = _env_class(RobustMujocoEnv, "Robust", "Walker2d")
RobustAntEnv = _env_class(RobustMujocoEnv, "Robust", "Ant")
RobustHumanoidStandupEnv = _env_class(RobustMujocoEnv, "Robust", "HumanoidStandup")
RobustInvertedPendulumEnv = _env_class(RobustMujocoEnv, "Robust", "InvertedPendulum")
ForceHopperEnv = _env_class(ForceMujocoEnv, "Force", "Hopper")
ForceHalfCheetahEnv = _env_class(ForceMujocoEnv, "Force", "HalfCheetah")
ForceWalker2dEnv = _env_class(ForceMujocoEnv, "Force", "Walker2d")
ForceAntEnv = _env_class(ForceMujocoEnv, "Force", "Ant")
ForceHumanoidStandupEnv = _env_class(ForceMujocoEnv, "Force", "HumanoidStandup")
ForceInvertedPendulumEnv = _env_class(ForceMujocoEnv, "Force", "InvertedPendulum")

#: RRLS's environment names (in its ids) -> ours.
RRLS_NAMES = {"hopper": "Hopper", "halfcheetah": "HalfCheetah", "walker": "Walker2d", "ant": "Ant",
              "humanoidstandup": "HumanoidStandup", "invertedpendulum": "InvertedPendulum"}
#: RRLS's probabilistic action-robust ids mix the adversary's action with this weight.
RRLS_PAR_ALPHA = 0.1


def make_rrls(name: str, family: str = "robust", wrapper: str | None = None, bounds: str | None = None,
              **kwargs: Any) -> gym.Env:
    """What RRLS's id for environment ``name`` (RRLS's spelling, e.g. ``"walker"``) builds.

    ``family``: ``"robust"`` (masses and friction) or ``"force"``; ``wrapper``: None, ``"adversarial"``
    (``DynamicAdversarial`` over the set ``bounds``: ``"1d"``, ``"2d"``, ``"3d"`` or ``"rarl"``),
    ``"domain-randomization"`` (over ``bounds``) or ``"probabilistic-action-robust"`` (alpha 0.1). The
    inverted pendulum starts from RRLS's nominal masses (cart and pole swapped against the model's).
    """
    ours = RRLS_NAMES[require_choice("name", name, list(RRLS_NAMES))]
    base = (ForceMujocoEnv if require_choice("family", family, ["robust", "force"]) == "force"
            else RobustMujocoEnv)
    env_class = globals()[f"{'Force' if base is ForceMujocoEnv else 'Robust'}{ours}Env"]
    if ours == "InvertedPendulum" and base is RobustMujocoEnv:
        model = env_class().model  # RRLS's nominal: the model's cart mass on the pole and its pole mass on the cart
        kwargs = {"cartmass": float(model.body_mass[2]), "polemass": float(model.body_mass[1]), **kwargs}
    env = env_class(**kwargs)
    if wrapper is None:
        return env
    from papergym.wrappers import robust as wrappers

    require_choice("wrapper", wrapper, ["adversarial", "domain-randomization", "probabilistic-action-robust"])
    if wrapper == "probabilistic-action-robust":
        return wrappers.ProbabilisticActionRobust(env, alpha=RRLS_PAR_ALPHA)
    sets = env._parameters()[2]
    box = sets[require_choice("bounds", bounds, list(sets))]
    if wrapper == "adversarial":
        return wrappers.DynamicAdversarial(env, box)
    return wrappers.DomainRandomization(env, box)
