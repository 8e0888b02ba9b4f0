"""The DTR bandit as a Gymnasium environment (one patient per episode) and a native vector environment."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import step_before_reset
from papergym.core.validation import require_choice, validated_action
from papergym.core.vector import ArrayVectorEnv, validated_batch_action
from papergym.envs.dtr.model import DEFAULT_PRESET, MAX_MAGNITUDE, DTRModel, Patients, make_model

INFO_KEYS = ("stage", "v_star", "q_value", "regret", "oracle_return", "realised_regret", "auto_action2", "reward2",
             "remitted")


def dtr_spaces(model: DTRModel) -> tuple[spaces.Box, spaces.Discrete]:
    """Observation: (stage, features padded with zeros to max(p1, p2)); action: Discrete(max(K1, K2))."""
    width = max(model.dim1, model.dim2)
    low, high = model.observation_bounds
    observation_space = spaces.Box(low=np.array([0.0] + [low] * width, dtype=np.float32),
                                   high=np.array([1.0] + [high] * width, dtype=np.float32), dtype=np.float32)
    return observation_space, spaces.Discrete(max(model.n_actions1, model.n_actions2))


def observations(model: DTRModel, patients: Patients, stage: np.ndarray, a1: np.ndarray) -> np.ndarray:
    """The observation of each patient at its stage (rows); ``a1`` selects the stage-2 features."""
    n = len(patients)
    width = max(model.dim1, model.dim2)
    out = np.zeros((n, 1 + width), dtype=np.float32)
    out[:, 0] = stage
    first = stage == 0
    out[first, 1:1 + model.dim1] = patients.x1[first]
    second = ~first
    rows = np.flatnonzero(second)
    out[second, 1:1 + model.dim2] = patients.x2[rows, a1[rows]]
    return out


def check_stage_actions(model: DTRModel, stage: np.ndarray, a1: np.ndarray, actions: np.ndarray) -> None:
    """Refuse a first-line arm >= K1, or a second-line arm not allowed after the first-line one."""
    for row in range(actions.shape[0]):
        action = int(actions[row])
        if stage[row] == 0 and action >= model.n_actions1:
            raise PapergymError(f"action at stage 1 must be an integer in [0, {model.n_actions1 - 1}], got {action}")
        if stage[row] == 1 and not model.allowed2[a1[row], action]:
            allowed = np.flatnonzero(model.allowed2[a1[row]]).tolist()
            raise PapergymError(f"action at stage 2 after first-line arm {a1[row]} must be one of {allowed}, "
                                f"got {action}")


def only_continuation(model: DTRModel, patients: Patients, a1: np.ndarray) -> np.ndarray:
    """The stage-2 arm played without a decision (remission, or one allowed arm), else -1."""
    rows = np.arange(len(patients))
    single = model.allowed2[a1].sum(axis=1) == 1
    automatic = np.where(single, model.allowed2[a1].argmax(axis=1), -1)
    return np.where(patients.remitted[rows, a1], model.allowed2[a1].argmax(axis=1), automatic)


def advance(model: DTRModel, patients: Patients, stage: np.ndarray, a1: np.ndarray, actions: np.ndarray,
            returns: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One decision for every patient (arrays updated in place): rewards, terminated and info."""
    n = len(patients)
    rows = np.arange(n)
    first = stage == 0
    info = {key: np.zeros(n) for key in INFO_KEYS}
    info["stage"] = stage.astype(np.float64) + 1.0
    info["auto_action2"] = np.full(n, -1.0)
    info["x2"] = np.zeros((n, model.dim2))
    rewards = np.zeros(n)
    terminated = np.zeros(n, dtype=bool)
    if first.any():
        index = np.flatnonzero(first)
        chosen = actions[index]
        part = patients.take(index)
        q1 = model.q1(part.x1)
        info["v_star"][index] = q1.max(axis=1)
        info["q_value"][index] = q1[np.arange(index.size), chosen]
        a1[index] = chosen
        automatic = only_continuation(model, part, chosen)
        rewards[index] = part.r1[np.arange(index.size), chosen]
        done = automatic >= 0
        reward2 = part.r2[np.arange(index.size), chosen, np.maximum(automatic, 0)]
        rewards[index[done]] += reward2[done]
        info["reward2"][index] = np.where(done, reward2, 0.0)
        info["remitted"][index] = part.remitted[np.arange(index.size), chosen]
        info["auto_action2"][index] = automatic
        info["x2"][index] = part.x2[np.arange(index.size), chosen]
        terminated[index[done]] = True
        stage[index[~done]] = 1
    if (~first).any():
        index = np.flatnonzero(~first)
        chosen = actions[index]
        x2 = patients.x2[index, a1[index]]
        q2 = model.q2_allowed(x2, a1[index])
        info["v_star"][index] = q2.max(axis=1)
        info["q_value"][index] = q2[np.arange(index.size), chosen]
        rewards[index] = patients.r2[index, a1[index], chosen]
        terminated[index] = True
    info["regret"] = info["v_star"] - info["q_value"]
    returns += rewards
    if terminated.any():
        index = np.flatnonzero(terminated)
        part = patients.take(index)
        oracle_a1, oracle_a2 = model.optimal_actions(part)
        oracle = model.realised_return(part, oracle_a1, oracle_a2)
        info["oracle_return"][index] = oracle
        info["realised_regret"][index] = oracle - returns[index]
    del rows
    return rewards, terminated, info


class DTRBanditEnv(gym.Env[np.ndarray, np.int64]):
    """
    ## Description

    The DTR bandit of Hu & Kallus ("DTR Bandit: Learning to Make Response-Adaptive Decisions With Low
    Regret", arXiv 2005.02791): patients arrive one after another; for each, a first-line treatment is
    chosen from the initial features x1 and a second-line treatment from the intermediate features x2,
    whose law depends on the first choice. One episode is one patient; a learner's regret over T patients
    is the sum of the episodes' ``info["regret"]``. Every patient's potential outcomes (x2 under each
    first-line arm, rewards under each sequence) are drawn at reset, so the noise-matched oracle's
    realised return is known at the end (``info["oracle_return"]``).

    ## Action Space

    ``Discrete(max(K1, K2))``: the arm of the current stage (presets: 2 arms per stage). At stage 1 the
    arm must be < K1; at stage 2 it must be allowed after the first-line arm. In ``depression`` arm 0 is
    *switch* and arm 1 *augment*; after a switch only a switch is allowed, so that stage is played without
    a decision (as after a remission) and the episode ends after one step. Anything else, NaN, or a
    non-integer raises ``ValueError``.

    ## Observation Space

    ``Box((1 + max(p1, p2),), float32)``: element 0 is the stage (0 = first line, 1 = second line), then
    the stage's features, zero-padded: ``beta-mixture`` (x1) then (x2), bounds [0, 1]; ``linear-gaussian``
    X1 in R^d then X2 in R^d (unbounded); ``depression`` (start score, slope of the previous level,
    preference for augmentation), unbounded (a continuous QIDS-like scale).

    ## Rewards

    Stage 1: r1 (0 in ``beta-mixture``); stage 2: r2 (the paper's final outcome Y). Where stage 2 is
    played without a decision its reward is added to the stage-1 reward. ``info`` every step:
    ``stage`` (1 or 2), ``v_star`` (stage 1: V*(x1) = max_a Q1(x1, a); stage 2: max_a Q2(x2, a)),
    ``q_value`` (the value of the arm taken followed by the optimal continuation: Q1(x1, a1) at stage 1,
    Q2(x2, a2) at stage 2), ``regret`` (v_star - q_value; summed over the episode its expectation is
    V*(x1) minus the value of the sequence played), ``auto_action2`` (the arm played without decision,
    else -1), ``reward2`` (its stage-2 reward, included in the step's reward), ``remitted`` (1 if the
    patient remitted after stage 1), ``x2`` (stage 1: the intermediate features, so that a learner sees
    them when stage 2 is played without decision; zeros at stage 2) and, on the last step,
    ``oracle_return`` (the optimal regime's realised return under the same
    noise) and ``realised_regret`` (oracle_return - episode return); 0 elsewhere.

    ## Starting State

    x1 drawn from the preset's law (and all potential outcomes of the patient).

    ## Episode End

    Terminates after the second-line decision, or after the first when no second-line decision is left.

    ## Arguments

    * ``preset``: ``"beta-mixture"`` (default; the paper's current synthetic experiment),
      ``"linear-gaussian"`` (the earlier one; ``dim``, ``n_actions1``, ``n_actions2`` configurable) or
      ``"depression"`` (a synthetic simulator shaped like STAR*D levels 2 and 3; illustrative only).
    * keyword arguments of the preset's model (see ``papergym.envs.dtr.model``), e.g. ``theta``,
      ``noise_std`` (beta-mixture), ``dim``, ``beta1``, ``transition``, ``beta2`` (linear-gaussian),
      ``delta1``, ``noise1`` (depression). Anything else raises ``ValueError``. Coefficients and noise
      scales lie within +-1e6 (``MODEL_PARAMETER_RANGES`` lists the default preset's numeric ones).
    * ``render_mode``: ``"ansi"``, ``"rgb_array"`` or None.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    #: The default preset's numeric keyword arguments and their allowed ranges.
    MODEL_PARAMETER_RANGES = {"noise_std": (0.0, MAX_MAGNITUDE)}

    def __init__(self, preset: str = DEFAULT_PRESET, render_mode: str | None = None, **model_parameters: Any):
        self.model = make_model(preset, **model_parameters)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.observation_space, self.action_space = dtr_spaces(self.model)
        self._patient: Patients | None = None
        self._stage = np.zeros(1, dtype=np.int64)
        self._a1 = np.zeros(1, dtype=np.int64)
        self._return = np.zeros(1)
        self._last: tuple[int, int, float] | None = None

    @property
    def patient(self) -> Patients | None:
        """The current patient's potential outcomes (for analysis; a learner must not read it)."""
        return self._patient

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._patient = self.model.draw(self.np_random, 1)
        self._stage[:] = 0
        self._a1[:] = 0
        self._return[:] = 0.0
        self._last = None
        return self._observation(), {}

    def step(self, action: Any):
        if self._patient is None:
            raise step_before_reset(self)
        action = validated_action(self.action_space, action)
        check_stage_actions(self.model, self._stage, self._a1, np.array([action]))
        stage = int(self._stage[0])
        rewards, terminated, info = advance(self.model, self._patient, self._stage, self._a1, np.array([action]),
                                            self._return)
        self._last = (stage, action, float(rewards[0]))
        observation = self._observation()
        if terminated[0]:
            self._patient = None
        return observation, float(rewards[0]), bool(terminated[0]), False, {
            key: (value[0].copy() if value.ndim > 1 else float(value[0])) for key, value in info.items()}

    def _observation(self) -> np.ndarray:
        if self._patient is None:  # after the end: the last stage's observation is kept
            return self._final_observation
        self._final_observation = observations(self.model, self._patient, self._stage, self._a1)[0]
        return self._final_observation

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return self._render_image()
        return None

    def _render_text(self) -> str:
        features = np.array2string(self._final_observation[1:], precision=3)
        if self._last is None:
            return f"stage 1, features {features}: no decision yet"
        stage, action, reward = self._last
        return f"stage {stage + 1}: arm {action}, reward {reward:.3f}; next features {features}"

    def _render_image(self) -> np.ndarray:
        """A 64 x 96 chart: one bar per feature of the current observation, the stage as a top strip."""
        image = np.full((64, 96, 3), 255, dtype=np.uint8)
        observation = self._final_observation
        image[:6, :] = (70, 130, 180) if observation[0] == 0 else (220, 120, 40)
        values = np.tanh(np.abs(observation[1:]) / 10.0) if self.model.name != "beta-mixture" else observation[1:]
        width = 96 // max(1, values.size)
        for index, value in enumerate(values):
            height = round(float(value) * 54)
            image[64 - height:, index * width + 2:(index + 1) * width - 2] = (60, 60, 60)
        return image


class DTRBanditVectorEnv(ArrayVectorEnv):
    """``num_envs`` patients of :class:`DTRBanditEnv` treated at once (state held as arrays).

    Same arguments as the single environment. An episode is at most two steps.
    """

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, render_mode: str | None = None,
                 preset: str = DEFAULT_PRESET, **model_parameters: Any):
        self.model = make_model(preset, **model_parameters)
        observation_space, action_space = dtr_spaces(self.model)
        super().__init__(num_envs, observation_space, action_space, max_episode_steps=max_episode_steps,
                         autoreset_mode=autoreset_mode, render_mode=render_mode)
        self.patients = self.model.draw(np.random.default_rng(0), self.num_envs)
        self.stage = np.zeros(self.num_envs, dtype=np.int64)
        self.a1 = np.zeros(self.num_envs, dtype=np.int64)
        self.returns = np.zeros(self.num_envs)

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        count = int(mask.sum())
        if count == 0:
            return
        fresh = self.model.draw(self.np_random, count)
        for name in ("x1", "x2", "r1", "r2", "remitted"):
            getattr(self.patients, name)[mask] = getattr(fresh, name)
        self.stage[mask] = 0
        self.a1[mask] = 0
        self.returns[mask] = 0.0

    def _observe(self) -> np.ndarray:
        return observations(self.model, self.patients, self.stage, self.a1)

    def _validated_actions(self, actions: Any) -> np.ndarray:
        actions = validated_batch_action(self.single_action_space, actions, self.num_envs)
        check_stage_actions(self.model, np.where(self._needs_reset, 0, self.stage), self.a1, actions)
        return actions

    def _transition(self, actions: np.ndarray):
        # Patients waiting for a NEXT_STEP reset are advanced on copies (their step is discarded).
        waiting = self._needs_reset.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP else None
        if waiting is not None and waiting.any():
            self.stage[waiting] = 0
        return advance(self.model, self.patients, self.stage, self.a1, actions, self.returns)
