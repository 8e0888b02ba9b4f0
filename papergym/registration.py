"""Every papergym environment id, in one place. Importing ``papergym`` registers them all.

Single-agent environments go to Gymnasium's registry (``gymnasium.make("papergym/<Name>-v0")``),
multi-agent ones to PettingZoo's (``pettingzoo.make("parallel", "papergym/<Name>-v0")``). Registering
twice is harmless: ids already present are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from papergym.core.errors import PapergymError
from papergym.envs.lqg.model import DOUBLE_INTEGRATOR


@dataclass(frozen=True)
class EnvEntry:
    """An environment id with its entry points and what ``papergym list`` shows of it."""

    id: str
    entry_point: str
    paper: str
    controls: str
    max_episode_steps: int | None = None
    vector_entry_point: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: ``gymnasium.make`` returns the environment itself (no TimeLimit, OrderEnforcing or checker wrapper),
    #: as RRLS's ids do, so that its own methods are reachable; it then truncates its episodes itself.
    bare: bool = False


LQG_PAPER = "Linear-quadratic Gaussian regulator (benchmark of POIS / TT-POIS)"
ROBUST_PAPER = "Solving robust MDPs as a sequence of static RL problems (IWOCS; Zouitine et al., 2024)"

ENVIRONMENTS: tuple[EnvEntry, ...] = (
    # --- linear-quadratic Gaussian regulator ---
    EnvEntry(
        id="papergym/LQG-v0",
        entry_point="papergym.envs.lqg:LQGEnv",
        vector_entry_point="papergym.envs.lqg:LQGVectorEnv",
        max_episode_steps=50,
        paper=LQG_PAPER,
        controls="the force u on a 1-D linear system with Gaussian noise",
    ),
    EnvEntry(
        id="papergym/LQG2D-v0",
        entry_point="papergym.envs.lqg:LQGEnv",
        vector_entry_point="papergym.envs.lqg:LQGVectorEnv",
        max_episode_steps=50,
        kwargs=DOUBLE_INTEGRATOR,
        paper=LQG_PAPER,
        controls="the force on a noisy double integrator (position, velocity)",
    ),
    # --- Solving robust MDPs as a sequence of static RL problems (IWOCS; Zouitine et al., 2024) ---
    EnvEntry(
        id="papergym/RobustCartPole-v0",
        entry_point="papergym.envs.robust:RobustCartPoleEnv",
        max_episode_steps=500,
        paper=ROBUST_PAPER,
        controls="the push on a cart-pole with uncertain masses, pole length and force",
    ),
    EnvEntry(
        id="papergym/RobustPendulum-v0",
        entry_point="papergym.envs.robust:RobustPendulumEnv",
        max_episode_steps=200,
        paper=ROBUST_PAPER,
        controls="the torque swinging up a pendulum of uncertain mass, length and gravity",
    ),
    EnvEntry(
        id="papergym/RobustLQG-v0",
        entry_point="papergym.envs.robust:RobustLQGEnv",
        max_episode_steps=50,
        paper=ROBUST_PAPER,
        controls="the force on the 1-D LQG system with uncertain scales of A and B",
    ),
    # --- Real-Time Bidding by Reinforcement Learning in Display Advertising (Cai et al., WSDM 2017) ---
    EnvEntry(
        id="papergym/RTB-v0",
        entry_point="papergym.envs.rtb:RTBEnv",
        vector_entry_point="papergym.envs.rtb:RTBVectorEnv",
        paper="Real-Time Bidding by Reinforcement Learning in Display Advertising (Cai et al., WSDM 2017)",
        controls="the bid in each of T second-price auctions under an episode budget (iPinYou logs)",
    ),
    # --- Dynamical Linear Bandits (Mussi, Metelli & Restelli, ICML 2023) ---
    EnvEntry(
        id="papergym/DynamicalLinearBandit-v0",
        entry_point="papergym.envs.dlb:DynamicalLinearBanditEnv",
        vector_entry_point="papergym.envs.dlb:DynamicalLinearBanditVectorEnv",
        paper="Dynamical Linear Bandits (Mussi, Metelli & Restelli, ICML 2023)",
        controls="the budget allocation over campaigns whose effect on reward goes through a hidden state",
    ),
    # --- RL for adaptive time-stepping in the chaotic three-body problem (Saz Ulibarrena & Portegies Zwart,
    # 2025) ---
    EnvEntry(
        id="papergym/ThreeBody-v0",
        entry_point="papergym.envs.threebody:ThreeBodyEnv",
        vector_entry_point="papergym.envs.threebody:ThreeBodyVectorEnv",
        max_episode_steps=100,
        paper="RL for Adaptive Time-Stepping in the Chaotic Gravitational Three-Body Problem "
              "(Saz Ulibarrena & Portegies Zwart, 2025)",
        controls="the accuracy parameter (eta) of an N-body integrator for each 0.1-yr interval",
    ),
    # --- Learning to Suggest Breaks (Saig & Rosenfeld, ICML 2023) ---
    EnvEntry(
        id="papergym/Breaks-v0",
        entry_point="papergym.envs.breaks:BreaksEnv",
        vector_entry_point="papergym.envs.breaks:BreaksVectorEnv",
        paper="Learning to Suggest Breaks: Sustainable Optimization of Long-Term User Engagement "
              "(Saig & Rosenfeld, ICML 2023)",
        controls="the break probability of a user's feed, period by period, under Lotka-Volterra engagement",
    ),
    EnvEntry(
        id="papergym/BreaksBandit-v0",
        entry_point="papergym.envs.breaks:BreaksBanditEnv",
        paper="Learning to Suggest Breaks: Sustainable Optimization of Long-Term User Engagement "
              "(Saig & Rosenfeld, ICML 2023)",
        controls="one break probability per user for the whole horizon (the paper's one-shot setting)",
    ),
    # --- DTR bandit (Hu & Kallus, arXiv 2005.02791) ---
    EnvEntry(
        id="papergym/DTRBandit-v0",
        entry_point="papergym.envs.dtr:DTRBanditEnv",
        vector_entry_point="papergym.envs.dtr:DTRBanditVectorEnv",
        max_episode_steps=2,
        paper="DTR Bandit: learning to make response-adaptive decisions with low regret (Hu & Kallus)",
        controls="the first- and second-line treatments of each arriving patient (two-stage regime)",
    ),
)

#: PettingZoo parallel environments (multi-agent); same fields, ``max_episode_steps`` = ``max_cycles``.
MULTI_AGENT_ENVIRONMENTS: tuple[EnvEntry, ...] = (
    # --- budget-constrained bidders in real-time auctions (multi-agent RTB; Cai et al., WSDM 2017) ---
    EnvEntry(
        id="papergym/Auction-v0",
        entry_point="papergym.envs.auction:parallel_env",
        paper="Multi-agent real-time bidding: budget-constrained bidders (RLB of Cai et al., WSDM 2017)",
        controls="each bidder's bid in a stream of second-price auctions against the others and the market",
    ),
)


def register_all() -> None:
    """Register every papergym environment with Gymnasium and PettingZoo (idempotent)."""
    for entry in ENVIRONMENTS:
        if entry.id in gym.registry:
            continue
        gym.register(id=entry.id, entry_point=entry.entry_point, vector_entry_point=entry.vector_entry_point,
                     max_episode_steps=entry.max_episode_steps, kwargs=dict(entry.kwargs),
                     order_enforce=not entry.bare, disable_env_checker=entry.bare)
    for env_id, kwargs in RRLS_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="papergym.envs.robust.mujoco:make_rrls", kwargs=kwargs,
                         order_enforce=False, disable_env_checker=True)
    if MULTI_AGENT_ENVIRONMENTS:
        import pettingzoo

        for entry in MULTI_AGENT_ENVIRONMENTS:
            if entry.id in pettingzoo.parallel_registry:
                continue
            pettingzoo.register("parallel", entry.id, entry.entry_point, max_cycles=entry.max_episode_steps,
                                kwargs=dict(entry.kwargs))


def env_ids() -> list[str]:
    """All registered single-agent papergym ids, in registration order."""
    return [entry.id for entry in ENVIRONMENTS]


def entry(env_id: str) -> EnvEntry:
    """The entry of a papergym id; ``ValueError`` lists the known ids when it is unknown."""
    for candidate in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS:
        if candidate.id == env_id:
            return candidate
    known = ", ".join(e.id for e in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS)
    raise PapergymError(f"unknown environment id {env_id!r}; known ids: {known}")


# --- IWOCS / RRLS MuJoCo uncertainty sets on Gymnasium's MuJoCo v5 models (need papergym[mujoco]) ---
ROBUST_MUJOCO_TASKS = {
    "Hopper": "the joint torques of a one-legged hopper with uncertain floor friction and masses",
    "HalfCheetah": "the joint torques of a 2-D cheetah with uncertain friction and masses",
    "Walker2d": "the joint torques of a 2-D biped walker with uncertain floor friction and masses",
    "Ant": "the joint torques of a four-legged ant with uncertain torso and leg masses",
    "HumanoidStandup": "the joint torques of a humanoid standing up, with uncertain body masses",
    "InvertedPendulum": "the force on a cart balancing a pole of uncertain pole and cart masses",
}
ENVIRONMENTS += tuple(
    EnvEntry(id=f"papergym/Robust{name}-v0", entry_point=f"papergym.envs.robust.mujoco:Robust{name}Env",
             paper=ROBUST_PAPER, controls=controls, bare=True)  # truncates at 1000 steps itself, as RRLS's
    for name, controls in ROBUST_MUJOCO_TASKS.items())


def _rrls_ids() -> dict[str, dict[str, Any]]:
    """RRLS's registered ids in our namespace (``rrls/<id>`` -> ``papergym/<id>``), with make_rrls's kwargs."""
    sets = {"hopper": 3, "halfcheetah": 3, "walker": 3, "ant": 3, "humanoidstandup": 3, "invertedpendulum": 2}
    ids: dict[str, dict[str, Any]] = {}
    for name, largest in sets.items():
        ids[f"papergym/robust-{name}-v0"] = {"name": name}
        ids[f"papergym/force-{name}-v0"] = {"name": name, "family": "force"}
        for dim in range(1, largest + 1):
            for wrapper in ("adversarial", "domain-randomization"):
                ids[f"papergym/robust-{name}-{wrapper}-{dim}d-v0"] = {"name": name, "wrapper": wrapper,
                                                                      "bounds": f"{dim}d"}
        ids[f"papergym/robust-{name}-adversarial-forces-v0"] = {"name": name, "family": "force",
                                                                "wrapper": "adversarial", "bounds": "rarl"}
        ids[f"papergym/probabilistic-action-robust-{name}-v0"] = {"name": name,
                                                                  "wrapper": "probabilistic-action-robust"}
    return ids


#: RRLS's ids under our namespace (not in ``ENVIRONMENTS``: aliases of the ids above, wrapped as RRLS wraps
#: them; ``gymnasium.make`` returns the wrapper itself, as RRLS's do).
RRLS_IDS = _rrls_ids()
