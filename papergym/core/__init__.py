"""Seeding, validation, the agent protocol, rollouts and statistics shared by every paper."""

from papergym.core.agent import Agent, BaseAgent, RandomAgent
from papergym.core.rollout import EvaluationResult, evaluate, make_env
from papergym.core.stats import Summary, summarize

__all__ = ["Agent", "BaseAgent", "EvaluationResult", "RandomAgent", "Summary", "evaluate", "make_env",
           "summarize"]
