"""The compiled bandit trials are cached on disk correctly: fresh processes reuse the cache, never grow it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import papergym

PACKAGE = Path(papergym.__file__).resolve().parent

# Every compiled agent (one per pair of kernels) plays a short trial in compiled code.
SCRIPT = """
import gymnasium as gym
import papergym
from papergym.agents import dlb

env = gym.make("papergym/DynamicalLinearBandit-v0", horizon=300)
model = env.unwrapped.model
pairs, played = set(), set()
for cls in vars(dlb).values():
    if isinstance(cls, type) and issubclass(cls, dlb.DLBAgent) and hasattr(cls, "act_kernel"):
        pairs.add((cls.act_kernel, cls.update_kernel))
        try:
            agent = cls.from_env(env)
        except TypeError:  # needs more arguments (a fixed allocation): another class covers its kernels
            continue
        dlb.simulate(agent, dlb.trial_noise(model, 300, 0))
        played.add((cls.act_kernel, cls.update_kernel))
dlb.simulate(dlb.Clairvoyant(model, 300), dlb.trial_noise(model, 300, 0))
played.add((dlb.Clairvoyant.act_kernel, dlb.Clairvoyant.update_kernel))
assert played == pairs, sorted(str(p) for p in pairs - played)
print(len(played))
"""


def _cache_files() -> set[Path]:
    return {path for pattern in ("*.nbi", "*.nbc") for path in PACKAGE.rglob(pattern)}


def _fresh_process() -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    environment["PYTHONPATH"] = str(PACKAGE.parent)
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environment,
                          timeout=600)


def test_fresh_processes_reuse_the_compiled_cache_without_growing_it():
    first = _fresh_process()
    assert first.returncode == 0, first.stderr
    after_first = _cache_files()
    assert any("_rollout_" in path.name for path in after_first), "the trial loops must be cached on disk"
    for _ in range(2):
        again = _fresh_process()
        assert again.returncode == 0, again.stderr
        assert again.stdout == first.stdout
        assert _cache_files() == after_first
