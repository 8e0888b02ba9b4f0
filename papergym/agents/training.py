"""The one home of SB3 training helpers: algorithm lookup, the reproductions' hyperparameters (RL Baselines3
Zoo's YAML files in ``hyperparams/``), ``--hyperparams`` parsed as rl-zoo3 parses them, a seeded fit on the CPU,
and loading a saved model. Paper modules and the command line's ``train`` build their SB3 models here."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.core.errors import PapergymError

ALGORITHMS = ("ppo", "a2c", "dqn", "sac", "td3", "pois", "ttpois")
#: POIS and TT-POIS (papergym.agents.ttpois) train their action-based policy; SB3's algorithms an MLP.
POLICIES = {"pois": "ActionPolicy", "ttpois": "ActionPolicy"}
CONTINUOUS_ONLY = {"sac", "td3"}
DISCRETE_ONLY = {"dqn"}
#: RL Baselines3 Zoo's layout: ``<algo>.yml`` maps environment ids to that algorithm's hyperparameters, the
#: ones the reproductions use; rl-zoo3 reads the same file with ``--conf-file``.
HYPERPARAMETERS_DIR = Path(__file__).with_name("hyperparams")
#: rl-zoo3 keys that are not the model's keyword arguments: handled by :func:`model_kwargs` or ``train``.
ZOO_KEYS = ("policy", "n_timesteps", "n_envs", "noise_type", "noise_std")
#: rl-zoo3 keys papergym's ``train`` does not offer (wrappers, normalisation): refused rather than ignored.
UNSUPPORTED_ZOO_KEYS = ("normalize", "env_wrapper", "vec_env_wrapper", "frame_stack", "callback",
                        "monitor_kwargs", "env_kwargs")
#: The names rl-zoo3 evaluates ``policy_kwargs`` strings and ``--hyperparams`` values with (``th.optim.AdamW``,
#: ``nn.ReLU``, ``dict(net_arch=[64, 64])``); nothing else is reachable.
_EXPRESSION_NAMES = ("dict", "th", "nn")

#: The file beside a saved model that names its algorithm (written by ``papergym train``).
METADATA_FILE = "papergym.json"


def algorithm_class(name: str):
    """The SB3 class for ``name`` (one of ALGORITHMS)."""
    if name not in ALGORITHMS:
        raise PapergymError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    if name in POLICIES:
        from papergym.agents import ttpois

        return getattr(ttpois, name.upper())
    import stable_baselines3

    return getattr(stable_baselines3, name.upper())


def check_compatible(name: str, action_space: gym.Space) -> None:
    """Refuse algorithm/action-space pairs SB3 does not support, with the reason."""
    discrete = isinstance(action_space, gym.spaces.Discrete)
    if name in CONTINUOUS_ONLY and discrete:
        raise PapergymError(f"{name} needs a continuous (Box) action space; this environment's is {action_space}")
    if name in DISCRETE_ONLY and not discrete:
        raise PapergymError(f"{name} needs a Discrete action space; this environment's is {action_space}")


def fit(algorithm: str | type, env: Any, timesteps: int, *, seed: int, policy: str = "MlpPolicy",
        callback: Any = None, progress_bar: bool = False, **hyperparameters: Any) -> Any:
    """Build ``algorithm`` (a name of :data:`ALGORITHMS` or an SB3 class) on ``env`` with ``seed`` on the
    CPU, silent, and train it for ``timesteps`` steps; the trained model."""
    cls = algorithm_class(algorithm) if isinstance(algorithm, str) else algorithm
    model = cls(policy, env, seed=seed, verbose=0, device="cpu", **hyperparameters)
    model.learn(total_timesteps=timesteps, callback=callback, progress_bar=progress_bar)
    return model


@cache
def _zoo_file(algo: str) -> dict[str, dict[str, Any]]:
    import yaml

    path = HYPERPARAMETERS_DIR / f"{algo}.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def zoo_hyperparameters(env_id: str, algo: str) -> dict[str, Any]:
    """The reproductions' rl-zoo3 entry for this id and algorithm, as the YAML holds it ({} if none)."""
    return dict(_zoo_file(algo).get(env_id, {}))


def hyperparameter_ids(algo: str) -> list[str]:
    """The ids with an entry in ``<algo>.yml``."""
    return list(_zoo_file(algo))


def paper_hyperparameters(env_id: str, algo: str) -> dict[str, Any]:
    """The SB3 keyword arguments the reproductions use for this environment and algorithm ({} if none)."""
    entry = zoo_hyperparameters(env_id, algo)
    if not entry:
        return {}
    return model_kwargs(entry, gym.spec(env_id))


def evaluate_expression(text: str, what: str) -> Any:
    """A value as rl-zoo3 reads one: a Python literal, or an expression of ``dict``, ``th`` and ``nn``."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    import torch

    names = {"dict": dict, "th": torch, "nn": torch.nn}
    try:
        return eval(text, {"__builtins__": {}}, names)  # no builtins, three names: rl-zoo3's syntax
    except Exception as error:
        raise PapergymError(f"{what}: cannot read {text!r} as a Python value ({type(error).__name__}: {error}); "
                            f"give a number, True/False, a quoted string, a list or dict(...), th.* or nn.*"
                            ) from None


def parse_hyperparameters(assignments: Sequence[str]) -> dict[str, Any]:
    """``--hyperparams`` as rl-zoo3's ``StoreDict`` reads it: ``key:value`` (``key=value`` also), each value
    a Python expression (``learning_rate:1e-3 policy_kwargs:"dict(net_arch=[64, 64])"``)."""
    parsed: dict[str, Any] = {}
    for assignment in assignments:
        colon, equals = assignment.find(":"), assignment.find("=")
        cuts = [cut for cut in (colon, equals) if cut > 0]
        if not cuts:
            raise PapergymError(f"--hyperparams takes key:value (or key=value), got {assignment!r}")
        cut = min(cuts)
        key, text = assignment[:cut].strip(), assignment[cut + 1:].strip()
        if not key.isidentifier():
            raise PapergymError(f"--hyperparams {assignment!r}: {key!r} is not a hyperparameter name")
        if key in UNSUPPORTED_ZOO_KEYS:
            raise PapergymError(f"--hyperparams {key}: rl-zoo3's {key} is not offered by papergym train "
                                f"(it takes the model's keyword arguments and {', '.join(ZOO_KEYS)})")
        parsed[key] = evaluate_expression(text, f"--hyperparams {key}")
    return parsed


def model_kwargs(hyperparameters: Mapping[str, Any], spec: gym.envs.registration.EnvSpec | None = None,
                 action_space: gym.Space | None = None) -> dict[str, Any]:
    """An rl-zoo3 entry as SB3 keyword arguments: rl-zoo3's own keys (policy, n_timesteps, n_envs) left out,
    ``policy_kwargs`` strings evaluated, ``noise_type``/``noise_std`` made the ``action_noise`` they name."""
    kwargs = {key: value for key, value in hyperparameters.items() if key not in ZOO_KEYS}
    refused = sorted(set(kwargs) & set(UNSUPPORTED_ZOO_KEYS))
    if refused:
        raise PapergymError(f"hyperparameters {', '.join(refused)}: not offered by papergym train")
    if isinstance(kwargs.get("policy_kwargs"), str):
        kwargs["policy_kwargs"] = evaluate_expression(kwargs["policy_kwargs"], "policy_kwargs")
    if isinstance(kwargs.get("train_freq"), list):  # YAML has no tuple: (frequency, unit)
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    noise_type = hyperparameters.get("noise_type")
    if noise_type is not None:
        if action_space is None:
            action_space = gym.make(spec.id).action_space if spec is not None else None
        kwargs["action_noise"] = _action_noise(noise_type, float(hyperparameters.get("noise_std", 0.1)),
                                               action_space)
    return kwargs


def _action_noise(noise_type: str, std: float, action_space: gym.Space | None):
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    if not isinstance(action_space, gym.spaces.Box):
        raise PapergymError(f"noise_type {noise_type}: action noise needs a Box action space, got {action_space}")
    size = int(np.prod(action_space.shape))
    noises = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}
    if noise_type not in noises:
        raise PapergymError(f"noise_type {noise_type!r}: choose normal or ornstein-uhlenbeck (rl-zoo3's names)")
    return noises[noise_type](mean=np.zeros(size), sigma=std * np.ones(size))


def load_model(path: Path, algo: str | None = None):
    """Load a saved SB3 model; the algorithm comes from ``algo``, the metadata beside it, or a trial."""
    path = Path(path)
    if not path.exists():
        raise PapergymError(f"no saved model at {path}")
    metadata = path.parent / METADATA_FILE
    if algo is None and metadata.exists():
        algo = json.loads(metadata.read_text()).get("algo")
    candidates = [algo] if algo else list(ALGORITHMS)
    for name in candidates:
        try:
            return algorithm_class(name).load(path, device="cpu")
        except (KeyError, ValueError, TypeError, AttributeError, RuntimeError):
            continue
    raise PapergymError(f"could not load {path} as any of {', '.join(candidates)}")
