"""Adaptive time-stepping of the chaotic three-body problem (Saz Ulibarrena & Portegies Zwart, 2025)."""

from papergym.envs.threebody.backends import BACKENDS
from papergym.envs.threebody.env import PAPER_ACTIONS, REWARDS, ThreeBodyEnv
from papergym.envs.threebody.initial_conditions import paper_initial_conditions
from papergym.envs.threebody.units import PAPER_UNITS, NBodyUnits
from papergym.envs.threebody.vector import ThreeBodyVectorEnv

__all__ = ["BACKENDS", "PAPER_ACTIONS", "PAPER_UNITS", "REWARDS", "NBodyUnits", "ThreeBodyEnv", "ThreeBodyVectorEnv",
           "paper_initial_conditions"]
