"""The one home of SB3 training helpers: algorithm lookup, the papers' hyperparameters, a seeded fit on the
CPU, and loading a saved model. Paper modules and the command line's ``train`` build their SB3 models here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym

from papergym.core.errors import PapergymError

ALGORITHMS = ("ppo", "a2c", "dqn", "sac", "td3", "pois", "ttpois")
#: POIS and TT-POIS (papergym.agents.ttpois) train their action-based policy; SB3's algorithms an MLP.
POLICIES = {"pois": "ActionPolicy", "ttpois": "ActionPolicy"}
CONTINUOUS_ONLY = {"sac", "td3"}
DISCRETE_ONLY = {"dqn"}
#: A paper's own hyperparameters for (env id, algorithm): a "module:function" returning SB3 keyword arguments.
PAPER_HYPERPARAMETERS = {("papergym/ThreeBody-v0", "dqn"): "papergym.agents.threebody:dqn_hyperparameters"}

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


def paper_hyperparameters(env_id: str, algo: str) -> dict[str, Any]:
    """The paper's SB3 keyword arguments for this environment and algorithm ({} if it has none)."""
    spec = PAPER_HYPERPARAMETERS.get((env_id, algo))
    if spec is None:
        return {}
    import importlib

    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)()


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
