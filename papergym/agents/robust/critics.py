"""The critics of SB3 agents as IWOCS reads them: Q(s, pi(s)) (:func:`critic_values`) and Q(s, a)
(:func:`action_values`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from papergym.core.errors import PapergymError

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm


def critic_values(model: BaseAlgorithm, observations: np.ndarray) -> np.ndarray:
    """Q(s, pi(s)) of an SB3 agent at each observation of a batch (the agent's own value of its action).

    DQN-like: max_a Q(s, a); SAC/TD3/DDPG: the critic at the deterministic action (minimum over the
    critic's heads, as SAC and TD3 use it); PPO/A2C: the state value V(s), whose expectation over the
    policy's action is Q(s, pi(s)).
    """
    import torch

    policy = model.policy
    tensor, _ = policy.obs_to_tensor(np.asarray(observations))
    with torch.no_grad():
        if hasattr(policy, "q_net"):
            values = policy.q_net(tensor).max(dim=1).values
        elif getattr(policy, "critic", None) is not None and hasattr(policy, "actor"):
            actions = policy._predict(tensor, deterministic=True)
            values = torch.cat(policy.critic(tensor, actions), dim=1).min(dim=1).values
        elif hasattr(policy, "predict_values"):
            values = policy.predict_values(tensor).flatten()
        else:
            raise PapergymError(f"cannot read a critic from {type(model).__name__}; "
                             "IWOCS needs an SB3 algorithm with a Q-network, a critic or a value function")
    return values.cpu().numpy().astype(np.float64)


def action_values(model: BaseAlgorithm, observations: np.ndarray, actions: np.ndarray) -> np.ndarray | None:
    """Q(s, a) of an SB3 agent for a batch of observations and of actions in the environment's units, or
    None for an agent with a state-value function only (PPO, A2C).

    DQN-like: the Q-network's entry of the action; SAC/TD3/DDPG: the critic at the action rescaled to the
    actor's [-1, 1] (the minimum over the critic's heads, as SAC and TD3 use it).
    """
    import torch

    policy = model.policy
    if not _has_q_function(policy):
        return None
    tensor, _ = policy.obs_to_tensor(np.asarray(observations))
    with torch.no_grad():
        if hasattr(policy, "q_net"):
            indices = torch.as_tensor(np.asarray(actions, dtype=np.int64).reshape(-1, 1), device=policy.device)
            values = policy.q_net(tensor).gather(1, indices).flatten()
        else:
            scaled = policy.scale_action(np.asarray(actions, dtype=np.float32).reshape(len(tensor), -1))
            values = torch.cat(policy.critic(tensor, torch.as_tensor(scaled, device=policy.device)),
                               dim=1).min(dim=1).values
    return values.cpu().numpy().astype(np.float64)


def _has_q_function(policy: Any) -> bool:
    """Whether an SB3 policy has Q(s, a): a Q-network (DQN) or an actor's critic (SAC, TD3, DDPG)."""
    return hasattr(policy, "q_net") or (getattr(policy, "critic", None) is not None and hasattr(policy, "actor"))


def _critics(agent: BaseAlgorithm) -> tuple[Callable[[np.ndarray], np.ndarray],
                                             Callable[[np.ndarray, np.ndarray], np.ndarray] | None]:
    """An SB3 agent's Q(s, pi(s)) and, when it has a Q-function (not PPO or A2C), its Q(s, a)."""
    q_function = None
    if _has_q_function(agent.policy):
        q_function = lambda observations, actions: action_values(agent, observations, actions)  # noqa: E731
    return (lambda observations: critic_values(agent, observations)), q_function
